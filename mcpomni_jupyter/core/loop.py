"""The background event-loop thread: one per kernel, created lazily, stopped deterministically.

The kernel's own loop runs every cell as its own task, and the MCP SDK's anyio
context managers must be entered and exited in one task; so every connection
lives on this separate loop, and the kernel's thread only submits coroutines
to it and waits on them with a timeout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from mcpomni_jupyter.errors import RequestTimeout

T = TypeVar("T")
JOIN_TIMEOUT = 10.0  # for the loop thread to end once its loop is stopped


class LoopThread:
    """An asyncio loop running forever on a daemon thread."""

    def __init__(self, name: str = "mcpomni-loop") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, started on first use."""
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                ready = threading.Event()
                loop = asyncio.new_event_loop()

                def main() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=main, name=self._name, daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    @property
    def running(self) -> bool:
        return self._loop is not None and not self._loop.is_closed() and self._loop.is_running()

    def in_loop_thread(self) -> bool:
        return self._thread is threading.current_thread()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; returns a thread-safe future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(
        self,
        coro: Coroutine[Any, Any, T],
        timeout: float | None = None,
        what: str = "the request",
        tick: Callable[[], Any] | None = None,
    ) -> T:
        """Run ``coro`` on the loop and wait for it from this thread.

        A timeout or a KeyboardInterrupt (kernel interrupt) cancels the
        coroutine on the loop, which cancels the request, not the connection.
        ``tick`` is called on this thread about ten times a second while
        waiting (progress display): UI work stays on the caller's thread.
        """
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("LoopThread.run called from the loop thread; await the coroutine instead")
        future = self.submit(coro)
        try:
            if tick is None:
                return future.result(timeout)
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise concurrent.futures.TimeoutError
                try:
                    return future.result(0.1 if left is None else min(0.1, left))
                except concurrent.futures.TimeoutError:
                    if future.done():
                        raise
                    tick()
        except concurrent.futures.TimeoutError:
            if future.done():  # the coroutine itself raised a TimeoutError
                raise
            future.cancel()
            raise RequestTimeout(
                f"{what} got no answer within {timeout:g} s and was cancelled; raise the limit with --timeout or %config MCPMagics.timeout"
            ) from None
        except BaseException:
            future.cancel()
            raise

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the loop thread from another event loop (top-level ``await``)."""
        if self.in_loop_thread():
            return await coro
        future = self.submit(coro)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()
            raise

    def stop(self, timeout: float = JOIN_TIMEOUT) -> None:
        """Stop the loop and join the thread; safe to call twice."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or loop.is_closed():
            return
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if not loop.is_running():
            loop.close()
