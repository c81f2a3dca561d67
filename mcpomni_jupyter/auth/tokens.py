"""The token store: tokens and client registrations that survive kernel restarts.

One JSON file per server URL in the token directory (default
``~/.mcpomni_jupyter/tokens``), written atomically with mode 0600 in a 0700
directory of the user's own (one that another user owns or can write is
refused, not repaired).  Each holds an absolute expiry time: the SDK's provider
keeps only a relative ``expires_in`` and so loses a reloaded token's expiry
(python-sdk issue 3250); ``Stored.expires_at`` gives it back.

Several kernels share one store: every read-modify-write holds an exclusive
``fcntl.flock`` on a ``.lock`` file next to the token file (the OAuth provider
also holds it across a refresh, see ``oauth._Provider``).  Reads take no lock:
writes replace the file atomically, so a reader sees one whole version.

A corrupt file (not JSON, not UTF-8, nested too deeply, a directory, parts of
the wrong shape, an expiry that is not a time) is reported through
``on_warning`` once per read and treated as absent; the next write replaces it.
Every token and client secret read or written is registered with
``redact.add_secret``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import math
import os
import stat
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import ConfigError
from ..redact import add_secret

DEFAULT_TOKEN_DIR = "~/.mcpomni_jupyter/tokens"
MAX_FILE_BYTES = 1 << 20  # a token file is a few kB; anything larger is not ours
LOCK_TIMEOUT = 120.0  # longest wait for another kernel's lock (it holds it across one refresh request)
LOCK_POLL = 0.05  # the longest pause between attempts (they start at 1 ms and double)
_SECRET_FIELDS = {
    "tokens": ("access_token", "refresh_token", "id_token"),
    "client_info": ("client_secret", "registration_access_token"),
}


def token_path(directory: str | os.PathLike[str], server_url: str) -> Path:
    """The file for ``server_url``: readable host prefix, then a hash of the whole URL."""
    parsed = urlparse(server_url)
    host = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in (parsed.netloc or "server"))
    digest = hashlib.sha256(server_url.encode()).hexdigest()[:16]
    return Path(directory).expanduser() / f"{host}-{digest}.json"


def check_token_dir(directory: Path, create: bool) -> bool:
    """Refuse a token directory another user owns or can write; create it 0700 if missing and ``create``.

    Returns whether the directory exists (after creating it).  A symlink is
    judged by what it points to.
    """
    fix = "set %config MCPMagics.token_dir to a directory of your own"
    try:
        info = os.stat(directory)
    except FileNotFoundError:
        if not create:
            return False
        try:
            directory.mkdir(parents=True, mode=0o700)
            os.chmod(directory, 0o700)  # the umask may have taken bits we need
        except FileExistsError:
            pass  # another kernel created it just now: check it like any other
        except OSError as exc:
            raise ConfigError(f"cannot create the token directory {directory}: {exc.strerror}; {fix}") from None
        info = os.stat(directory)
    except OSError as exc:
        raise ConfigError(f"cannot use the token directory {directory}: {exc.strerror}; {fix}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"the token directory {directory} is not a directory; remove it, or {fix}")
    if info.st_uid != os.geteuid():
        raise ConfigError(f"the token directory {directory} belongs to another user (uid {info.st_uid}); {fix}")
    if info.st_mode & 0o022:
        raise ConfigError(
            f"the token directory {directory} is writable by other users (mode {stat.S_IMODE(info.st_mode):o}); "
            f"run chmod 700 {directory}, or {fix}"
        )
    return True


def _is_time(value: Any) -> bool:
    """An absolute expiry we can use: a finite, positive number of epoch seconds."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _register_secrets(part: str, raw: Any) -> None:
    if isinstance(raw, dict):
        for key in _SECRET_FIELDS[part]:
            if isinstance(raw.get(key), str):
                add_secret(raw[key])


@dataclass
class Stored:
    """One read of a token file: its usable parts, and their JSON (``data``) for a read-modify-write."""

    data: dict[str, Any] = field(default_factory=dict)
    tokens: Any = None  # OAuthToken, its expires_in counted from expires_at
    expires_at: float | None = None
    client_info: Any = None  # OAuthClientInformationFull, None if registered for another redirect URI


class FileTokenStorage:
    """The SDK's ``TokenStorage`` protocol over one file, plus the absolute expiry and the store's lock."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        server_url: str,
        redirect_uri: str | None = None,
        on_warning: Callable[[str], Any] | None = None,
    ) -> None:
        self.server_url = server_url
        self.path = token_path(directory, server_url)
        self.lock_path = self.path.with_suffix(".lock")
        self.redirect_uri = redirect_uri
        self.last_expires_at: float | None = None  # the expiry of the tokens get_tokens returned last
        self._warn = on_warning or (lambda message: None)
        self._lock_fd: int | None = None
        self._lock_depth = 0  # re-entrant within this instance (one provider, whose flow the SDK serialises)

    # ------------------------------------------------------------------ reading

    def _read_json(self, problems: list[str]) -> dict[str, Any]:
        """The file's JSON object, or {} (with the reason in ``problems``) when missing or unreadable."""
        if not check_token_dir(self.path.parent, create=False):
            return {}
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not hang us
        except FileNotFoundError:
            return {}
        except OSError as exc:
            problems.append(f"cannot read it: {exc.strerror}")
            return {}
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                problems.append("it is not a regular file")
                return {}
            raw = _read_up_to(fd, MAX_FILE_BYTES + 1)
        except OSError as exc:
            problems.append(f"cannot read it: {exc.strerror}")
            return {}
        finally:
            os.close(fd)
        return _parse(raw, problems)

    def _take_tokens(self, data: dict[str, Any], stored: Stored, problems: list[str]) -> None:
        from mcp.shared.auth import OAuthToken

        raw, expires_at = data.pop("tokens", None), data.pop("expires_at", None)
        if raw is None:
            return
        _register_secrets("tokens", raw)
        try:
            tokens = OAuthToken.model_validate(raw)
        except (ValueError, TypeError, RecursionError):
            problems.append("its tokens are not valid")
            return
        if expires_at is not None and not _is_time(expires_at):
            problems.append(f"its expiry {str(expires_at)[:40]!r} is not a time")
            return
        data["tokens"], data["expires_at"] = tokens.model_dump(mode="json", exclude_none=True), expires_at
        if expires_at is not None:
            tokens.expires_in = max(0, int(expires_at - time.time()))
        stored.tokens, stored.expires_at = tokens, expires_at

    def _take_client_info(self, data: dict[str, Any], stored: Stored, problems: list[str]) -> None:
        from mcp.shared.auth import OAuthClientInformationFull

        raw = data.pop("client_info", None)
        if raw is None:
            return
        _register_secrets("client_info", raw)
        try:
            info = OAuthClientInformationFull.model_validate(raw)
        except (ValueError, TypeError, RecursionError):
            problems.append("its client registration is not valid")
            return
        data["client_info"] = info.model_dump(mode="json", exclude_none=True)
        if self.redirect_uri and info.redirect_uris and self.redirect_uri not in {str(u) for u in info.redirect_uris}:
            return  # registered for another callback address: register again
        stored.client_info = info

    def load(self) -> Stored:
        """Read the file once: its usable parts; a corrupt file or part is reported (once) and left out."""
        problems: list[str] = []
        data = self._read_json(problems)
        stored = Stored()
        self._take_tokens(data, stored, problems)
        self._take_client_info(data, stored, problems)
        stored.data = {key: data[key] for key in ("tokens", "expires_at", "client_info") if key in data}
        if problems:
            self._warn(
                f"the token file {self.path} is corrupt ({'; '.join(problems)}); ignoring what is bad "
                "(it is replaced at the next authorization)"
            )
        return stored

    @property
    def expires_at(self) -> float | None:
        """When the stored access token expires (epoch seconds), if known."""
        return self.load().expires_at

    # ------------------------------------------------------------------ writing

    def _write(self, data: dict[str, Any]) -> None:
        check_token_dir(self.path.parent, create=True)
        data["server_url"] = self.server_url
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, allow_nan=False)
                fh.flush()
                os.fsync(fh.fileno())  # a crash must not leave an empty file behind the rename
            os.chmod(tmp, 0o600)
            if self.path.is_dir() and not self.path.is_symlink():
                self._move_aside()
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def _move_aside(self) -> None:
        """A directory where the token file belongs: remove it if empty, else rename it out of the way."""
        try:
            self.path.rmdir()
        except OSError:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.corrupt-{time.time_ns()}"))

    def forget(self) -> bool:
        """Delete what is stored for this server; True if there was something."""
        if not check_token_dir(self.path.parent, create=False):
            return False
        with self.locked():
            try:
                self.path.unlink()
                return True
            except FileNotFoundError:
                return False
            except IsADirectoryError:
                self._move_aside()
                return True

    # ------------------------------------------------------------------ the lock

    def _open_lock(self) -> int:
        check_token_dir(self.path.parent, create=True)
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

    async def acquire(self) -> None:
        """Take the store's lock without blocking the event loop (non-blocking attempts with sleeps)."""
        import anyio

        if self._lock_depth:
            self._lock_depth += 1
            return
        fd = self._open_lock()
        deadline, pause = time.monotonic() + LOCK_TIMEOUT, 0.001
        try:
            while not self._try_lock(fd):
                if time.monotonic() > deadline:
                    return self._timed_out(fd)
                await anyio.sleep(pause)
                pause = min(2 * pause, LOCK_POLL)
        except BaseException:  # cancelled while waiting: nothing is held
            os.close(fd)
            raise
        self._held(fd)

    def acquire_blocking(self) -> None:
        """Take the store's lock from synchronous code (not on an event loop)."""
        if self._lock_depth:
            self._lock_depth += 1
            return
        fd = self._open_lock()
        deadline, pause = time.monotonic() + LOCK_TIMEOUT, 0.001
        while not self._try_lock(fd):
            if time.monotonic() > deadline:
                return self._timed_out(fd)
            time.sleep(pause)
            pause = min(2 * pause, LOCK_POLL)
        self._held(fd)

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

    # ------------------------------------------------------------------ the SDK's protocol

    async def get_tokens(self) -> Any:
        stored = self.load()
        self.last_expires_at = stored.expires_at
        return stored.tokens

    async def set_tokens(self, tokens: Any) -> None:
        raw = tokens.model_dump(mode="json", exclude_none=True)
        _register_secrets("tokens", raw)
        expires_at = time.time() + tokens.expires_in if tokens.expires_in is not None else None
        async with self.alocked():
            data = self.load().data
            data["tokens"], data["expires_at"] = raw, expires_at
            self._write(data)
        self.last_expires_at = expires_at

    async def get_client_info(self) -> Any:
        return self.load().client_info

    async def set_client_info(self, client_info: Any) -> None:
        raw = client_info.model_dump(mode="json", exclude_none=True)
        _register_secrets("client_info", raw)
        async with self.alocked():
            data = self.load().data
            data["client_info"] = raw
            self._write(data)


def _read_up_to(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _parse(raw: bytes, problems: list[str]) -> dict[str, Any]:
    """The JSON object in ``raw``, or {} with the reason in ``problems``."""
    if len(raw) > MAX_FILE_BYTES:
        problems.append(f"it is larger than {MAX_FILE_BYTES >> 20} MB")
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        problems.append("it is not UTF-8 text")
        return {}
    except RecursionError:
        problems.append("it is nested too deeply")
        return {}
    except ValueError:
        problems.append("it is not JSON" if raw.strip() else "it is empty")
        return {}
    if not isinstance(data, dict):
        problems.append("it is not a JSON object")
        return {}
    return data
