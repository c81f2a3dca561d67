"""A stdio server started before the MCP SDK is imported, and the transport over its pipes.

A fresh kernel's first connection imports the SDK (a second or two of CPU);
a Python server spends about as long starting.  ``spawn`` starts the server
with asyncio alone (no SDK, no anyio), so that the two overlap: the server
boots in its own process while this one imports the SDK.  ``process_streams``
is then the SDK's stdio transport over that process: the same newline-delimited
JSON-RPC, the same memory streams, and the same shutdown as the SDK's
``stdio_client`` (close stdin, wait ``EXIT_GRACE``, SIGTERM the process group,
wait ``KILL_GRACE``, SIGKILL), every wait bounded and shielded from
cancellation so that no server process outlives its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.config import ServerConfig

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.stderr import StderrCapture

CHUNK = 65_536
EXIT_GRACE = 2.0  # for the server to exit on its own once its stdin closes
KILL_GRACE = 2.0  # after SIGTERM, before SIGKILL
FLUSH_GRACE = 0.5  # for the writer to send what was accepted before stdin closes


async def spawn(server: ServerConfig, errlog: Any) -> asyncio.subprocess.Process:
    """Start a stdio server in a session (process group) of its own; its stderr goes to ``errlog`` (a file)."""
    return await asyncio.create_subprocess_exec(
        server.command or "",
        *server.args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=errlog,
        env={**os.environ, **server.env},
        cwd=server.cwd,
        start_new_session=True,
    )


async def started(stack: contextlib.AsyncExitStack, server: ServerConfig, stderr: StderrCapture | None) -> asyncio.subprocess.Process:
    """Start ``server``, stopped when ``stack`` closes (whatever happens next); its stderr goes to ``stderr``'s pipe."""
    process = await spawn(server, stderr.file if stderr is not None else None)
    stack.push_async_callback(stop, process)
    if stderr is not None:
        stderr.spawned()  # the server holds the pipe now: its exit will be our end of file
    return process


@contextlib.asynccontextmanager
async def process_streams(process: asyncio.subprocess.Process) -> AsyncIterator[tuple[Any, Any]]:
    """``(read_stream, write_stream)`` of ``SessionMessage`` s over a started server's stdout and stdin (needs the SDK)."""
    import anyio

    read_in, read_stream = anyio.create_memory_object_stream[Any](0)
    write_stream, write_out = anyio.create_memory_object_stream[Any](0)
    writer_done = anyio.Event()

    async def writer() -> None:
        assert process.stdin is not None
        try:
            async with write_out:
                async for message in write_out:
                    process.stdin.write(message.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n")
                    await process.stdin.drain()
        except (ConnectionError, OSError, anyio.ClosedResourceError, anyio.BrokenResourceError):
            await read_in.aclose()  # the session sees the connection end rather than a request that never returns
        finally:
            writer_done.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_read, process, read_in)
        tasks.start_soon(writer)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):
                read_stream.close()
                write_stream.close()
                with anyio.move_on_after(FLUSH_GRACE):
                    await writer_done.wait()
                await stop(process)
            tasks.cancel_scope.cancel()


async def _read(process: asyncio.subprocess.Process, read_in: Any) -> None:
    """The server's stdout, a JSON-RPC message a line, into ``read_in``; once the session stops listening, drained
    (a server blocked writing could not exit)."""
    import anyio
    import mcp_types
    from mcp.shared.message import SessionMessage

    assert process.stdout is not None
    delivering = True
    async with read_in:
        parts: list[bytes] = []  # a line's pieces so far: a 20 MB line is joined once, not copied per chunk
        while chunk := await process.stdout.read(CHUNK):
            if b"\n" not in chunk:
                parts.append(chunk)
                continue
            lines = b"".join([*parts, chunk]).split(b"\n")
            parts = [lines.pop()]
            for raw in lines if delivering else ():
                line = raw.decode("utf-8", errors="replace")  # text, as the SDK's transport parses (its errors show the line)
                if not line.strip():
                    continue
                try:
                    item: Any = SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
                except ValueError as exc:
                    item = exc  # the session surfaces a line that is not JSON-RPC
                try:
                    await read_in.send(item)
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    delivering = False
                    break


async def stop(process: asyncio.subprocess.Process) -> None:
    """Close the server's stdin, give it ``EXIT_GRACE`` to exit, then SIGTERM and SIGKILL its process group."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    for signum, grace in ((None, EXIT_GRACE), (signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, KILL_GRACE)):
        if signum is not None:
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signum)  # its session's group: a server's own children go too
        if await _exited(process, grace):
            return


async def _exited(process: asyncio.subprocess.Process, timeout: float) -> bool:
    """Whether the process exits within ``timeout``: its return code, polled (``wait()`` also waits for the pipes,
    which a child of the server may still hold)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while process.returncode is None:
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True
