"""A server's log: notifications, log messages and stderr lines, bounded and safe across threads.

The loop thread appends while the kernel's thread reads (``%mcp log``, the
status panel), so every access holds a lock and readers get a snapshot.
Memory is bounded in entries and in bytes: a message is cut at
``MESSAGE_CHARS``, a payload is kept only when small, and the oldest entries
go first once ``MAX_BYTES`` is reached.  Messages are redacted on the way in.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from mcpomni_jupyter.redact import redact

MAX_ENTRIES = 500
MAX_BYTES = 1_000_000
MESSAGE_CHARS = 4_000
DATA_CHARS = 2_000


@dataclass
class LogEntry:
    """A notification, log message or stderr line received from a server."""

    server: str
    kind: str  # "log", "stderr", "stdout", "tools", "resources", "prompts", "updated", "progress", "error", ...
    message: str
    level: str = "info"
    data: Any = None
    time: float = field(default_factory=time.time)

    @property
    def size(self) -> int:
        return len(self.message) + 64


def _small(data: Any) -> Any:
    """The payload itself when small; else None (its message says what it was)."""
    if data is None or isinstance(data, (bool, int, float)):
        return data
    try:
        text = data if isinstance(data, str) else json.dumps(data, default=str)
    except (TypeError, ValueError, RecursionError):
        return None
    return data if len(text) <= DATA_CHARS else None


def clip(text: str, limit: int = MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 40] + f"… ({len(text) - limit + 40} more characters)"


class ServerLog:
    """The entries of one server, oldest first, bounded in count and bytes."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._entries: deque[LogEntry] = deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.dropped = 0

    def add(self, server: str, kind: str, message: str, level: str = "info", data: Any = None) -> LogEntry:
        entry = LogEntry(server, kind, redact(clip(message)), level, _small(data))
        with self._lock:
            self._entries.append(entry)
            self._bytes += entry.size
            while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
                self._bytes -= self._entries.popleft().size
                self.dropped += 1
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def snapshot(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def count(self, exclude: tuple[str, ...] = ()) -> int:
        with self._lock:
            return sum(1 for e in self._entries if e.kind not in exclude)

    def last(self, kind: str) -> LogEntry | None:
        with self._lock:
            for entry in reversed(self._entries):
                if entry.kind == kind:
                    return entry
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Any:
        return iter(self.snapshot())
