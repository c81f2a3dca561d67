"""Tools over data, the engine: a bounded window of concurrent calls fed from an iterator, outcomes in input order.

``run`` works on the loop thread: ``concurrency`` workers share one feed of
rows (``feed.py``) and each takes the next row only when it is free, so at
most ``concurrency`` rows are ever running, and at most ``concurrency`` more
(``feed.READ_AHEAD``: 64, or the concurrency if larger) read ahead by the reader thread of a person's iterator — a generator of a
million rows is never materialised (the outcomes are kept, the inputs are
not); rows read ahead when the run ends are reported as not started.  A row's error is collected as a ``RowError``, or, with
``errors="raise"``, stops the run and is raised.  ``wait`` is the kernel's
side: it ticks the progress view about ten times a second and, on a kernel
interrupt, cancels the calls still running (each server is told) and returns
what finished.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.mapping.feed import LoopFeed, ThreadFeed
from mcpomni_jupyter.errors import ArgumentError, McpJupyterError, ToolCallError
from mcpomni_jupyter.results.batch import MapResults, RowError, kind_of, one_line

if TYPE_CHECKING:
    from mcpomni_jupyter.core.loop import LoopThread
    from mcpomni_jupyter.results import CallResult

Feed = LoopFeed | ThreadFeed
Call = Callable[[dict[str, Any]], Awaitable["CallResult"]]

TICK = 0.1  # seconds between progress updates on the kernel's thread
CANCEL_WAIT = 10.0  # seconds the kernel's thread waits for cancelled calls to settle after an interrupt
MAX_CONCURRENCY = 1_000
ERRORS = ("collect", "raise")
_PENDING = object()


class MapRun:
    """One run's outcomes and counts: written on the loop thread, read by the kernel's thread (the progress view)."""

    def __init__(self, tool: str, total: int | None = None) -> None:
        self.tool = tool
        self.total = total  # rows expected (None: an iterator of unknown length)
        self.outcomes: list[Any] = []  # in input order; _PENDING while a row runs
        self.labels: list[Any] = []  # each row's index
        self.running: dict[int, Any] = {}  # position -> arguments of the rows in flight (at most `concurrency`)
        self.done = self.failed = self.cancelled = 0
        self.started = time.monotonic()
        self.ended: float | None = None
        self.interrupted = False
        self.finished = threading.Event()

    @property
    def pulled(self) -> int:
        """Rows taken from the iterator so far."""
        return len(self.outcomes)

    @property
    def settled(self) -> int:
        return self.done + self.failed + self.cancelled

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        """Rows finished per second."""
        elapsed = self.elapsed
        return self.settled / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, when the total is known and something has finished."""
        if self.total is None or not self.settled or self.ended is not None:
            return None
        return max(self.total - self.settled, 0) / self.rate if self.rate else None

    def settle(self, position: int, outcome: Any) -> None:
        self.outcomes[position] = outcome
        self.running.pop(position, None)
        if not isinstance(outcome, RowError):
            self.done += 1
        elif outcome.cancelled:
            self.cancelled += 1
        else:
            self.failed += 1

    def snapshot(self) -> list[Any]:
        """The outcomes so far, in input order; a row still running (its cancellation not yet settled) as cancelled."""
        outcomes = list(self.outcomes)
        for position, outcome in enumerate(outcomes):
            if outcome is _PENDING:
                label = self.labels[position]
                outcomes[position] = RowError(label, self.running.get(position), "still running when it was interrupted", cancelled=True)
        return outcomes

    def results(self) -> MapResults:
        """The outcomes so far, in input order, as the value ``map`` returns."""
        return MapResults(self.snapshot(), self.tool, self.elapsed, self.interrupted)


def check_options(concurrency: Any, errors: Any) -> None:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ArgumentError(f"map(): concurrency must be a whole number from 1 to {MAX_CONCURRENCY}, got {concurrency!r}")
    if errors not in ERRORS:
        raise ArgumentError(f"map(): errors must be 'collect' (the default: failed rows are kept as RowError) or 'raise', got {errors!r}")


def _row_failed(label: Any, result: CallResult) -> ToolCallError:
    return ToolCallError(f"row {label!r}: tool {result.server}.{result.tool} returned an error: {one_line(result.text)}", result)


def _reraised(label: Any, exc: McpJupyterError) -> McpJupyterError:
    """``exc`` again, its message naming the row (errors="raise"); its class and context (``.server``, ``.tool``,
    ``.code``, ``.result``) kept."""
    again = copy.copy(exc)
    again.args = (f"row {label!r}: {exc}",)
    return again


async def run(rows: Feed, call: Call, state: MapRun, concurrency: int, raise_errors: bool) -> None:
    """Call ``call(arguments)`` for every row, ``concurrency`` at a time; outcomes land in ``state`` in input order."""

    async def worker() -> None:
        while (item := await rows.take()) is not None:  # one shared feed: a worker takes the next row only when it is free
            label, arguments, refused = item
            position = len(state.outcomes)
            state.outcomes.append(_PENDING)
            state.labels.append(label)
            if not isinstance(arguments, Mapping):
                message = f"row {label!r} is {kind_of(arguments)}, not a dict of arguments"
                state.settle(position, RowError(label, arguments, message, ArgumentError(message)))
                if raise_errors:
                    raise ArgumentError(f"{message}; map() takes an iterable of dicts or a DataFrame")
                continue
            arguments = dict(arguments)
            state.running[position] = arguments
            try:
                if refused is not None:  # its check failed (on the reader thread): no call
                    raise refused
                result = await call(arguments)
            except McpJupyterError as exc:
                state.settle(position, RowError(label, arguments, one_line(str(exc)), error=exc))
                if raise_errors:
                    raise _reraised(label, exc) from exc
                continue
            if result.is_error:
                state.settle(position, RowError(label, arguments, one_line(result.text), result=result))
                if raise_errors:
                    raise _row_failed(label, result)
            else:
                state.settle(position, result)

    workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            if not task.done() and not task.cancelling():  # once: a second cancel would cut short telling the server
                task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)  # every cancelled call has ended (its server was told)
        for position, arguments in list(state.running.items()):
            label = state.labels[position]
            state.settle(position, RowError(label, arguments, "cancelled before it finished", cancelled=True))
        for label, arguments, _ in await _closed(rows):  # read ahead but never started
            state.outcomes.append(_PENDING)
            state.labels.append(label)
            state.settle(len(state.outcomes) - 1, RowError(label, arguments, "not started before the map ended", cancelled=True))
        state.ended = time.monotonic()
        state.finished.set()


async def _closed(rows: Feed) -> list[Any]:
    """Stop the feed; the rows it read that no worker took (waited for off the loop: a reader may be mid-row)."""
    if isinstance(rows, LoopFeed):
        return rows.close()
    return await asyncio.shield(asyncio.to_thread(rows.close))


def wait(loop: LoopThread, coro: Any, state: MapRun, tick: Callable[[], Any] | None = None) -> None:
    """Run ``coro`` (``run`` for ``state``) on the loop; tick while waiting; an interrupt cancels it and returns.

    After a KeyboardInterrupt (a kernel interrupt), the calls still running are
    cancelled and ``state`` holds what finished, with ``interrupted`` set.
    """
    future = loop.submit(coro)
    try:
        while True:
            try:
                future.result(TICK)
                return
            except concurrent.futures.TimeoutError:
                if future.done():  # the run itself raised a TimeoutError (a row's, with errors="raise")
                    raise
                if tick is not None:
                    tick()
    except KeyboardInterrupt:
        state.interrupted = True
        future.cancel()
        state.finished.wait(CANCEL_WAIT)


async def await_run(coro: Any, loop: LoopThread, state: MapRun, tick: Callable[[], Any] | None = None) -> None:
    """The async twin of ``wait``, for top-level ``await``: ticks on the caller's loop; a cancellation cancels the run too."""
    future = loop.submit(coro)
    wrapped = asyncio.wrap_future(future)
    try:
        while True:
            done, _ = await asyncio.wait({wrapped}, timeout=TICK)
            if done:
                wrapped.result()
                return
            if tick is not None:
                tick()
    except KeyboardInterrupt:  # as in ``wait``: what finished is returned
        state.interrupted = True
        future.cancel()
        await asyncio.to_thread(state.finished.wait, CANCEL_WAIT)
    except asyncio.CancelledError:  # the awaiting task was cancelled: so is the run, and the cancellation goes on
        state.interrupted = True
        future.cancel()
        await asyncio.to_thread(state.finished.wait, CANCEL_WAIT)
        raise
