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

from mcpomni_jupyter.core.session.errormap import is_contained, map_error, root_error
from mcpomni_jupyter.core.session.state import SETTLE_GRACE, State
from mcpomni_jupyter.errors import McpJupyterError, ReauthorizationNeeded, ServerConnectionError, with_context

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection

RECOVERY_WINDOW = 300.0  # session renewals counted over this many seconds ...
RECOVERY_DELAYS = (0.0, 1.0, 4.0)  # ... and the delay before each; one more within the window is refused


def session_lost(connection: Connection, exc: BaseException) -> bool:
    """Whether ``exc`` means the server forgot our session (HTTP 404 on a streamable-HTTP request)."""
    from mcp import MCPError

    transport = connection.config.transport
    return transport == "streamable_http" and connection.http_status == 404 and isinstance(root_error(exc), MCPError)


async def request_error(connection: Connection, exc: BaseException) -> BaseException:
    """``exc`` as one of our errors (naming the server), after reconnecting if the tokens died or letting a lost server settle."""
    name = connection.name
    if connection.auth.reauth_needed:
        # its tokens are gone for good: reconnect; the new owner task asks the person again
        connection.auth.reauth_needed = False
        await connection.restart()
        return ReauthorizationNeeded(f"server {name!r} needs authorization again: click Authorize, or run %mcp auth {name}", server=name)
    if isinstance(exc, McpJupyterError):
        return with_context(exc, name)
    config = connection.config
    error = map_error(exc, config, connection.stderr_tail() if config.transport == "stdio" else "", connection.http_status)
    task = connection.owner_task
    if isinstance(error, ServerConnectionError) and not is_contained(exc) and task is not None and not task.done():
        # the server went away: let the owner task settle the state before we report
        await asyncio.wait({task}, timeout=SETTLE_GRACE)
        if connection.error:
            error = ServerConnectionError(connection.error)
    return with_context(error, name) if isinstance(error, McpJupyterError) else error


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
