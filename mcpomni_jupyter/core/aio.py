"""Small asyncio helpers for the loop thread: bounded waits that never leave a task behind."""

from __future__ import annotations

import asyncio
from typing import Any


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; whether it is set (no error on timeout)."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
    return event.is_set()


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
