"""Renewing a session the server forgot: a streamable-HTTP server answering 404 mid-session.

The spec says a client that gets 404 for its session id must start a new
session.  We reconnect quietly and retry the request once; the log records
it.  A server that keeps doing so is backed off, not hammered: growing delays,
and at most ``len(RECOVERY_DELAYS)`` renewals in ``RECOVERY_WINDOW``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING

from mcpomni_jupyter.core.session.errormap import root_error
from mcpomni_jupyter.core.session.state import SETTLE_GRACE, State
from mcpomni_jupyter.errors import ServerConnectionError

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection

RECOVERY_WINDOW = 300.0  # session renewals counted over this many seconds ...
RECOVERY_DELAYS = (0.0, 1.0, 4.0)  # ... and the delay before each; one more within the window is refused


def session_lost(connection: Connection, exc: BaseException) -> bool:
    """Whether ``exc`` means the server forgot our session (HTTP 404 on a streamable-HTTP request)."""
    from mcp import MCPError

    transport = connection.config.transport
    return transport == "streamable_http" and connection.http_status == 404 and isinstance(root_error(exc), MCPError)


class SessionRecovery:
    """The renewals of one connection's session, for the backoff."""

    def __init__(self) -> None:
        self._times: deque[float] = deque(maxlen=len(RECOVERY_DELAYS) + 1)

    async def renew(self, connection: Connection) -> None:
        """Reconnect quietly; raise ServerConnectionError when backed off or when reconnecting fails."""
        name = connection.name
        now = time.monotonic()
        recent = [t for t in self._times if now - t < RECOVERY_WINDOW]
        if len(recent) >= len(RECOVERY_DELAYS):
            connection.record("session", "the server keeps losing our session; not reconnecting for now", "error")
            raise ServerConnectionError(
                f"server {name!r} keeps losing its session ({len(recent)} times in {RECOVERY_WINDOW / 60:g} min); "
                f"backing off: run %mcp connect {name} once it is stable"
            )
        await asyncio.sleep(RECOVERY_DELAYS[len(recent)])
        self._times.append(time.monotonic())
        connection.record("session", "the server no longer knew our session (HTTP 404); reconnected and retried the request", "warning")
        await connection.restart()
        await connection.wait_settled(connection.config.timeout + SETTLE_GRACE)
        if connection.state is not State.CONNECTED:
            raise ServerConnectionError(
                f"server {name!r} lost our session and reconnecting failed ({connection.error or connection.state.value}); "
                f"run %mcp connect {name}"
            )
