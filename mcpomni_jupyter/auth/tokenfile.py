"""The token directory and its files: checked ownership, bounded reads, atomic 0600 writes.

A token directory another user owns or can write is refused, not repaired;
a missing one is created 0700.  A read never hangs (a FIFO) or reads more than
``MAX_FILE_BYTES``; whatever makes a file unusable is named in ``problems``.
A write goes to a temporary file, is synced, and replaces the old one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mcpomni_jupyter.errors import ConfigError

MAX_FILE_BYTES = 1 << 20  # a token file is a few kB; anything larger is not ours


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


def read_json(path: Path, problems: list[str]) -> dict[str, Any]:
    """The file's JSON object, or {} (with the reason in ``problems``) when missing or unreadable."""
    if not check_token_dir(path.parent, create=False):
        return {}
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not hang us
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


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` with ``data`` atomically (mode 0600); a directory in the way is moved aside."""
    check_token_dir(path.parent, create=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, allow_nan=False)
            fh.flush()
            os.fsync(fh.fileno())  # a crash must not leave an empty file behind the rename
        os.chmod(tmp, 0o600)
        if path.is_dir() and not path.is_symlink():
            move_aside(path)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def move_aside(path: Path) -> None:
    """A directory where a token file belongs: remove it if empty, else rename it out of the way."""
    try:
        path.rmdir()
    except OSError:
        os.replace(path, path.with_name(f"{path.name}.corrupt-{time.time_ns()}"))


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
