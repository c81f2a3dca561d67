"""The registry of configured servers, and who hears about their changes.

The kernel's thread adds and removes servers while the loop thread reads the
registry, so every access holds a lock and readers get a snapshot.  Observers
hear of every state change (from the loop thread); a bound method is held
weakly, so a status panel that is gone stops being called, and any observer
can unsubscribe.  Listeners hear of every log entry of every server.
"""

from __future__ import annotations

import contextvars
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.errors import LookupFailed, did_you_mean

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection
    from mcpomni_jupyter.core.session.serverlog import LogEntry


class Registry:
    """Name -> Connection, observers of state changes, listeners of log entries."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._connections: dict[str, Connection] = {}
        self._observers: list[Callable[[], Callable[[Connection], Any] | None]] = []
        self._listeners: list[Callable[[LogEntry], Any]] = []

    # ----------------------------------------------------------------- servers

    def snapshot(self) -> dict[str, Connection]:
        with self._lock:
            return dict(self._connections)

    @property
    def names(self) -> list[str]:
        with self._lock:
            return list(self._connections)

    def get(self, name: str) -> Connection:
        with self._lock:
            found = self._connections.get(name)
        if found is not None:
            return found
        names = self.names
        raise LookupFailed(
            f"unknown server {name!r}{did_you_mean(name, names)}; configured: {', '.join(names) or 'none'} "
            "(add one with %mcp add or %mcp load)"
        )

    def find(self, name: str) -> Connection | None:
        with self._lock:
            return self._connections.get(name)

    def put(self, connection: Connection) -> Connection | None:
        """Register ``connection``; returns the one it replaced, if any."""
        with self._lock:
            old = self._connections.get(connection.name)
            self._connections[connection.name] = connection
        return old

    def pop(self, name: str) -> None:
        with self._lock:
            self._connections.pop(name, None)

    # ----------------------------------------------------------------- observers

    def observe(self, callback: Callable[[Connection], Any]) -> Callable[[], None]:
        """Call ``callback(connection)`` on every change (from the loop thread); returns an unsubscribe.

        A bound method is held weakly (its object may go away); a function strongly.
        """
        ref: Callable[[], Any] = weakref.WeakMethod(callback) if hasattr(callback, "__self__") else (lambda: callback)
        with self._lock:
            self._observers.append(ref)

        def unsubscribe() -> None:
            with self._lock:
                if ref in self._observers:
                    self._observers.remove(ref)

        return unsubscribe

    @property
    def observer_count(self) -> int:
        with self._lock:
            return sum(1 for ref in self._observers if ref() is not None)

    def changed(self, connection: Connection) -> None:
        with self._lock:
            self._observers = [ref for ref in self._observers if ref() is not None]
            callbacks = [ref() for ref in self._observers]
        for callback in callbacks:
            if callback is None:
                continue
            try:
                callback(connection)
            except Exception:  # noqa: BLE001 - an observer must never break a connection
                pass

    # ----------------------------------------------------------------- log listeners

    def listen(self, callback: Callable[[LogEntry], Any], server: str | None = None) -> Callable[[], None]:
        """Call ``callback(entry)`` for every log entry (of ``server``), in the registering cell's context."""
        context = contextvars.copy_context()

        def listener(entry: LogEntry) -> None:
            if server is None or entry.server == server:
                context.run(callback, entry)

        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def dispatch(self, entry: LogEntry) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(entry)
            except Exception:  # noqa: BLE001 - a callback must never break a connection
                pass
