"""Config -> transport context: stdio, SSE or streamable HTTP, with headers on every HTTP request.

``EOFWatch`` wraps the read stream so that the owner task hears when the
server's side ends (exit, crash, hang-up).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TextIO

from ..config import ServerConfig


def http_timeout(server: ServerConfig) -> Any:
    import httpx2

    return httpx2.Timeout(server.timeout, read=server.sse_read_timeout)


@asynccontextmanager
async def open_transport(
    server: ServerConfig,
    errlog: TextIO | None = None,
    auth: Any = None,
    on_status: Callable[[int], None] | None = None,
) -> AsyncIterator[Any]:
    """Enter the transport for ``server``; yields ``(read_stream, write_stream)``.

    ``auth`` is an ``httpx2.Auth`` (OAuth) applied to every HTTP request;
    headers from the config go on every request too.  ``on_status`` sees
    every HTTP status (streamable HTTP reports a 401 only as a JSON-RPC error).
    """
    if server.transport == "stdio":
        from mcp.client.stdio import StdioServerParameters, stdio_client

        params = StdioServerParameters(
            command=server.command or "",
            args=list(server.args),
            env={**os.environ, **server.env},
            cwd=server.cwd,
        )
        kwargs = {"errlog": errlog} if errlog is not None else {}
        async with stdio_client(params, **kwargs) as streams:
            yield streams[0], streams[1]
        return

    import httpx2

    headers = dict(server.headers)

    async def hook(response: Any) -> None:
        if on_status is not None:
            on_status(response.status_code)

    hooks = {"response": [hook]}
    if server.transport == "sse":
        from mcp.client.sse import sse_client

        def factory(headers: dict[str, str] | None = None, timeout: Any = None, auth: Any = None) -> Any:
            return httpx2.AsyncClient(headers=headers, timeout=timeout or http_timeout(server), auth=auth, event_hooks=hooks)

        async with sse_client(
            server.url or "",
            headers=headers,
            timeout=server.timeout,
            sse_read_timeout=server.sse_read_timeout,
            httpx_client_factory=factory,
            auth=auth,
        ) as streams:
            yield streams[0], streams[1]
        return

    from mcp.client.streamable_http import streamable_http_client

    client = httpx2.AsyncClient(headers=headers, timeout=http_timeout(server), auth=auth, event_hooks=hooks)
    async with client, streamable_http_client(server.url or "", http_client=client) as streams:
        yield streams[0], streams[1]


class EOFWatch:
    """A read stream that sets ``closed`` when the server's stream ends (exit, crash, hang-up)."""

    def __init__(self, stream: Any, closed: asyncio.Event) -> None:
        self._stream = stream
        self._closed = closed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    async def receive(self) -> Any:
        try:
            return await self._stream.receive()
        except asyncio.CancelledError:
            raise
        except BaseException:
            self._closed.set()
            raise

    def __aiter__(self) -> EOFWatch:
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def __aenter__(self) -> EOFWatch:
        await self._stream.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._stream.__aexit__(*exc)
