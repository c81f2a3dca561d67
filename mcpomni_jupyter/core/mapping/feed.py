"""Where a map's workers take their rows: read on the loop thread, or on a thread of their own.

A list or a DataFrame (``ours``: iterating it is our own, cheap code) is read
on the loop thread as the calls go: a worker takes the next row only when it
is free.  A person's iterator (a generator may read a file, sleep, wait on the
network) and a per-row check (a JSON Schema validation) run on a reader
thread instead, at most ``window`` rows ahead of the calls (``READ_AHEAD``,
or the concurrency if it is larger), so a slow generator never stalls the
loop thread and with it every connection.  The reader is woken once per half
window, not per row: each wake-up takes the GIL from a busy loop thread, and
per row that cost a streamable-HTTP map 5-10 % of its throughput.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from mcpomni_jupyter.errors import McpJupyterError

Row = tuple[Any, Any]  # (the row's index: its position, or a DataFrame's label; its arguments)
Item = tuple[Any, Any, "McpJupyterError | None"]  # a row, and the error its check raised (None: it may be called)
Check = Callable[[dict[str, Any]], None]
READ_AHEAD = 64  # rows a reader thread reads ahead of the calls, at least
JOIN_WAIT = 1.0  # seconds the end of a run waits for the reader thread to hand back a row it is reading


def _prepared(label: Any, arguments: Any, check: Check | None) -> Item:
    """The row with its check applied (arguments that are not a dict are the worker's to report)."""
    if check is None or not isinstance(arguments, Mapping):
        return label, arguments, None
    arguments = dict(arguments)
    try:
        check(arguments)
    except McpJupyterError as exc:
        return label, arguments, exc
    return label, arguments, None


class LoopFeed:
    """Rows read on the loop thread, one when a worker is free (nothing read ahead)."""

    def __init__(self, rows: Iterator[Row], check: Check | None = None) -> None:
        self._rows = rows
        self._check = check

    async def take(self) -> Item | None:
        row = next(self._rows, None)
        return None if row is None else _prepared(row[0], row[1], self._check)

    def close(self) -> list[Item]:
        return []


class ThreadFeed:
    """Rows read (and checked) on a reader thread, at most ``window`` ahead of the workers."""

    def __init__(self, rows: Iterator[Row], window: int, check: Check | None = None) -> None:
        self._rows, self._window, self._check = rows, window, check
        self._low = window // 2  # the reader is woken when the buffer falls to this, not at every row taken
        self._buffer: deque[Item] = deque()
        self._lock = threading.Lock()
        self._room = threading.Event()  # set while the buffer has room
        self._room.set()
        self._stop = False
        self._ended: bool | BaseException = False  # True after the last row; the iterator's exception if it raised
        self._loop = asyncio.get_running_loop()
        self._arrived = asyncio.Event()  # on the loop: a row (or the end) arrived while the buffer was empty
        self._thread = threading.Thread(target=self._read, name="mcp-map-rows", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        end: bool | BaseException = True
        try:
            while self._room.wait() and not self._stop:
                row = next(self._rows, None)
                if row is None:
                    break
                item = _prepared(row[0], row[1], self._check)
                with self._lock:
                    self._buffer.append(item)  # even when stopping meanwhile: a row read is a row reported
                    first = len(self._buffer) == 1
                    if len(self._buffer) >= self._window:
                        self._room.clear()
                if first:
                    self._wake()
        except BaseException as exc:  # noqa: BLE001 - the person's iterator raised: the run raises it
            end = exc
        self._ended = end
        self._wake()

    def _wake(self) -> None:
        try:
            self._loop.call_soon_threadsafe(self._arrived.set)
        except RuntimeError:  # the loop is closed (the kernel is exiting)
            pass

    async def take(self) -> Item | None:
        """The next row, or None after the last; raises what the iterator raised."""
        while True:
            with self._lock:
                if self._buffer:
                    item = self._buffer.popleft()
                    if len(self._buffer) <= self._low:  # refill in batches: one wake-up of the reader per half window
                        self._room.set()
                    return item
                self._arrived.clear()
                ended = self._ended
            if ended is True:
                return None
            if isinstance(ended, BaseException):
                raise ended
            await self._arrived.wait()

    def close(self) -> list[Item]:
        """Stop reading; the rows read but never taken (reported as not started)."""
        self._stop = True
        self._room.set()
        self._thread.join(JOIN_WAIT)  # a row being read is handed back; a generator blocked longer is left behind
        with self._lock:
            left = list(self._buffer)
            self._buffer.clear()
        return left


def feed(rows: Iterator[Row], ours: bool, window: int, check: Check | None) -> LoopFeed | ThreadFeed:
    """The feed for a run: on the loop thread for our own rows without a check, else on a reader thread."""
    if ours and check is None:
        return LoopFeed(rows)
    return ThreadFeed(rows, max(window, READ_AHEAD), check)
