"""Small asyncio helpers for the loop thread: bounded waits that never leave a task behind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; whether it is set (no error on timeout)."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
    return event.is_set()


async def wait_while(busy: Callable[[], asyncio.Event | None], timeout: float | None) -> None:
    """Wait, at most ``timeout`` seconds, while ``busy()`` gives an event to wait for: after a restart it gives
    the new one (whoever waited on the old one is woken by the restart and waits on)."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while (event := busy()) is not None:
        left = None if deadline is None else deadline - loop.time()
        if left is not None and left <= 0:
            return
        await wait_event(event, left)
        if busy() is event:  # ended without news (a timeout, or set while still busy): never spin
            return


def wake(event: asyncio.Event | None) -> None:
    """Set ``event`` if it is not: its waiters go on (an event of a loop that has ended has none to wake)."""
    if event is not None and not event.is_set():
        try:
            event.set()
        except RuntimeError:  # its loop is closed
            pass


async def end_task(task: asyncio.Task[Any], timeout: float, grace: float) -> bool:
    """Wait up to ``timeout`` for ``task`` to end, then cancel it and wait up to ``grace`` more.

    Returns whether it ended.  The task's own outcome is not raised here, and a
    cancellation of the caller is never swallowed.
    """
    done, _ = await asyncio.wait({task}, timeout=timeout) if timeout > 0 else (set(), set())
    if not done and not task.done():
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=grace)
    return task.done()
