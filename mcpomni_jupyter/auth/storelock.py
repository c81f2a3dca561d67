"""The token store's lock: an exclusive ``fcntl.flock`` on a ``.lock`` file beside a token file.

Several kernels share one store.  Every read-modify-write holds the lock, and
the OAuth provider holds it across a refresh request, so two kernels never
refresh with the same (rotating) refresh token.  The lock is re-entrant within
one holder; the async form waits without blocking the event loop; a lock held
for over ``LOCK_TIMEOUT`` is given up on with a warning rather than a hang.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from mcpomni_jupyter.auth.tokenfile import check_token_dir

LOCK_TIMEOUT = 120.0  # longest wait for another kernel's lock (it holds it across one refresh request)
LOCK_POLL = 0.05  # the longest pause between attempts (they start at 1 ms and double)


class StoreLock:
    """The lock of one token file (re-entrant within this object)."""

    def __init__(self, path: Path, warn: Callable[[str], Any]) -> None:
        self.lock_path = path
        self._warn = warn
        self._lock_fd: int | None = None
        self._lock_depth = 0

    def _open_lock(self) -> int:
        check_token_dir(self.lock_path.parent, create=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)
        return fd

    def _try_lock(self, fd: int) -> bool:
        """One non-blocking attempt; a file system without flock counts as locked (with a warning)."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            self._warn(f"cannot lock {self.lock_path} ({exc.strerror}); kernels sharing this token directory may race")
            return True

    def _held(self, fd: int | None) -> None:
        self._lock_fd, self._lock_depth = fd, 1

    def _timed_out(self, fd: int) -> None:
        os.close(fd)
        self._warn(
            f"another process held {self.lock_path} for over {LOCK_TIMEOUT:g} s; going on without the lock "
            "(restart the kernel that is stuck if this repeats)"
        )
        self._held(None)

    def _reenter(self) -> bool:
        if self._lock_depth:
            self._lock_depth += 1
            return True
        return False

    def _attempts(self, fd: int) -> Iterator[float]:
        """The pauses between attempts to lock ``fd``, until it is ours (or ``LOCK_TIMEOUT`` passes)."""
        deadline, pause = time.monotonic() + LOCK_TIMEOUT, 0.001
        while not self._try_lock(fd):
            if time.monotonic() > deadline:
                self._timed_out(fd)
                return
            yield pause
            pause = min(2 * pause, LOCK_POLL)
        self._held(fd)

    async def acquire(self) -> None:
        """Take the store's lock without blocking the event loop (non-blocking attempts with sleeps)."""
        import anyio

        if self._reenter():
            return
        fd = self._open_lock()
        try:
            for pause in self._attempts(fd):
                await anyio.sleep(pause)
        except BaseException:  # cancelled while waiting: nothing is held
            os.close(fd)
            raise

    def acquire_blocking(self) -> None:
        """Take the store's lock from synchronous code (not on an event loop)."""
        if self._reenter():
            return
        for pause in self._attempts(self._open_lock()):
            time.sleep(pause)

    def release(self) -> None:
        if self._lock_depth == 0:
            return
        self._lock_depth -= 1
        if self._lock_depth == 0 and self._lock_fd is not None:
            fd, self._lock_fd = self._lock_fd, None
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)  # explicit: a forked child may share this open file
            os.close(fd)

    @contextlib.asynccontextmanager
    async def alocked(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.acquire_blocking()
        try:
            yield
        finally:
            self.release()
