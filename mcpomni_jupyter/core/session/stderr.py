"""A stdio server's stderr: a pipe read on the loop thread, line by line, in bounded memory.

The server writes into the pipe's write end (handed to the SDK's
``stdio_client`` as ``errlog``); a reader task turns what arrives into log
lines (each cut at ``LINE_CHARS``) and keeps the last few for error messages.
Nothing accumulates: a server that floods stderr costs a bounded buffer, and
the pipe, unlike a file, never grows on disk.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from typing import IO, Any, TextIO

from mcpomni_jupyter.core.aio import end_task

LINE_CHARS = 2_000
CHUNK = 65_536


class StderrCapture:
    """The pipe behind one stdio server's stderr, and the task that reads it."""

    def __init__(self, on_line: Callable[[str], Any]) -> None:
        self._on_line = on_line
        read_fd, write_fd = os.pipe()
        self._read_file: IO[bytes] = os.fdopen(read_fd, "rb", buffering=0)
        self.file: TextIO | None = os.fdopen(write_fd, "w", encoding="utf-8")  # the ``errlog`` for the server
        self.tail: deque[str] = deque(maxlen=10)
        self._task: asyncio.Task[None] | None = None
        self._transport: Any = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=CHUNK)
        self._transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), self._read_file)
        self._task = loop.create_task(self._read(reader), name="mcp-stderr")

    def spawned(self) -> None:
        """The server has its copy of the write end: close ours, so its exit is our end of file."""
        if self.file is not None:
            self.file.close()
            self.file = None

    async def _read(self, reader: asyncio.StreamReader) -> None:
        pending = ""
        skipping = False  # inside a line already cut at LINE_CHARS
        while True:
            chunk = await reader.read(CHUNK)
            if not chunk:
                break
            lines = (pending + chunk.decode("utf-8", errors="replace")).split("\n")
            pending = lines.pop()
            for line in lines:
                if not skipping:
                    self._emit(line)
                skipping = False
            if len(pending) > LINE_CHARS:
                if not skipping:
                    self._emit(pending[:LINE_CHARS] + " …(cut)")
                pending, skipping = "", True
        if pending and not skipping:
            self._emit(pending)

    def _emit(self, line: str) -> None:
        line = line.rstrip("\r")
        if line.strip():
            self.tail.append(line[-300:])
            self._on_line(line)

    def last(self) -> str:
        return self.tail[-1] if self.tail else ""

    async def drain(self, timeout: float = 1.0) -> None:
        """Wait (a little) for the lines still in the pipe: a server's last words explain its exit."""
        if self._task is not None and not self._task.done():
            await asyncio.wait({self._task}, timeout=timeout)

    async def aclose(self) -> None:
        self.spawned()
        task, self._task = self._task, None
        if task is not None:
            await end_task(task, 0, 1.0)
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        else:
            self._read_file.close()
