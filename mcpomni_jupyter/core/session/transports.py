"""Config -> transport: stdio, SSE or streamable HTTP, with headers (and OAuth) on every HTTP request.

``EOFWatch`` wraps the read stream so that the owner task hears when the
server's side ends (exit, crash, hang-up), and so that, once a 2026-07-28
session is negotiated, a result without ``resultType`` reads as ``"complete"``
(SEP-2322: the client MUST treat an absent ``resultType`` so).  The SDK's
2026-07-28 result validation requires the field (the revision's servers MUST
send it: spec PR #2726) and fails the request; the conformance suite sends such
a result on a 2026-07-28 session (``sep-2322-client-request-state``; the
suite's own issue #475 questions that probe), and a server that forgets the
field is better read by the rule than refused.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.config import ServerConfig
from mcpomni_jupyter.httpclient import async_client

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.stderr import StderrCapture


def http_timeout(server: ServerConfig) -> Any:
    import httpx2

    return httpx2.Timeout(server.timeout, read=server.sse_read_timeout)


@dataclass
class Wire:
    """What a connection hands its transport: credentials, and ears for what the SDK does not report."""

    auth: Any = None  # an httpx2.Auth (OAuth) applied to every HTTP request
    stderr: StderrCapture | None = None  # a stdio server's stderr goes here
    closed: asyncio.Event | None = None  # set when the server's side of the stream ends
    on_status: Callable[[int], None] | None = None  # every HTTP status (streamable HTTP hides a 401 in JSON-RPC)
    modern: bool = False  # set once a 2026-07-28 (or newer) session is negotiated
    process: Any = None  # a stdio server already started (``spawn.spawn``), whose pipes the transport uses


@asynccontextmanager
async def open_transport(server: ServerConfig, wire: Wire) -> AsyncIterator[Any]:
    """Enter the transport for ``server``; yields ``(read_stream, write_stream)`` (the SDK's ``Transport``).

    Headers from the config go on every HTTP request, SSE and streamable HTTP alike.
    """
    opener = _stdio if server.transport == "stdio" else _sse if server.transport == "sse" else _streamable_http
    async with opener(server, wire) as (read, write):
        yield (EOFWatch(read, wire) if wire.closed is not None else read), write


@asynccontextmanager
async def _stdio(server: ServerConfig, wire: Wire) -> AsyncIterator[Any]:
    if wire.process is not None:  # started while the SDK was imported
        from mcpomni_jupyter.core.session.spawn import process_streams

        async with process_streams(wire.process) as streams:
            yield streams
        return
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=server.command or "", args=list(server.args), env={**os.environ, **server.env}, cwd=server.cwd)
    errlog = wire.stderr.file if wire.stderr is not None else None
    async with stdio_client(params, **({"errlog": errlog} if errlog is not None else {})) as streams:
        if wire.stderr is not None:
            wire.stderr.spawned()  # the server holds the pipe now: its exit will be our end of file
        yield streams


def _hooks(wire: Wire) -> dict[str, list[Any]]:
    async def hook(response: Any) -> None:
        if wire.on_status is not None:
            wire.on_status(response.status_code)

    return {"response": [hook]}


@asynccontextmanager
async def _sse(server: ServerConfig, wire: Wire) -> AsyncIterator[Any]:
    from mcp.client.sse import sse_client

    def factory(headers: dict[str, str] | None = None, timeout: Any = None, auth: Any = None) -> Any:
        return async_client(headers=headers, timeout=timeout or http_timeout(server), auth=auth, event_hooks=_hooks(wire))

    async with sse_client(
        server.url or "",
        headers=dict(server.headers),
        timeout=server.timeout,
        sse_read_timeout=server.sse_read_timeout,
        httpx_client_factory=factory,
        auth=wire.auth,
    ) as streams:
        yield streams


@asynccontextmanager
async def _streamable_http(server: ServerConfig, wire: Wire) -> AsyncIterator[Any]:
    from mcp.client.streamable_http import streamable_http_client

    from mcpomni_jupyter.core.session.resend import resending_client

    # a POST that fails on the wire is resent when safe, else fails its request alone (not the transport)
    client = resending_client(server, headers=dict(server.headers), timeout=http_timeout(server), auth=wire.auth, event_hooks=_hooks(wire))
    async with client, streamable_http_client(server.url or "", http_client=client) as streams:
        yield streams


@functools.cache
def _stream_ends() -> tuple[type[BaseException], ...]:
    import anyio

    return (anyio.EndOfStream, anyio.ClosedResourceError)


def completed(item: Any, wire: Wire) -> Any:
    """``item`` (a read-stream message), a result in it given ``resultType: "complete"`` when it has none on a 2026-07-28 session."""
    if wire.modern:
        result = getattr(getattr(item, "message", None), "result", None)
        if isinstance(result, dict) and "resultType" not in result:
            result["resultType"] = "complete"
    return item


class EOFWatch:
    """A read stream that sets ``wire.closed`` when the server's stream ends (exit, crash, hang-up); see ``completed``."""

    def __init__(self, stream: Any, wire: Wire) -> None:
        self._stream = stream
        self._wire = wire
        self._closed: asyncio.Event = wire.closed  # type: ignore[assignment]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    async def receive(self) -> Any:
        try:
            return completed(await self._stream.receive(), self._wire)
        except asyncio.CancelledError:
            raise
        except BaseException:
            self._closed.set()
            raise

    def __aiter__(self) -> EOFWatch:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._stream.receive()  # one frame, not two: this runs for every message
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._closed.set()
            if isinstance(exc, _stream_ends()):
                raise StopAsyncIteration from None
            raise
        return completed(item, self._wire)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def __aenter__(self) -> EOFWatch:
        await self._stream.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._stream.__aexit__(*exc)


def client_info() -> Any:
    """Who we are, as the handshake tells the server."""
    from mcp_types import Implementation

    from mcpomni_jupyter._version import __version__

    return Implementation(name="mcpomni-jupyter", version=__version__)
