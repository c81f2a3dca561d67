"""What the auth code keeps per server, and the little it needs from the connection it serves.

The auth layer sits below the core: it never imports it.  A connection hands
the OAuth wiring an ``AuthHost`` (itself): its name and config, a log, and
two calls that move its state when a person is needed and when they are done.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from mcpomni_jupyter.defaults import AUTH_TIMEOUT


@dataclass
class AuthState:
    """The authorization under way for one server, if any."""

    url: str | None = None  # the authorization link while a person is needed
    redirect_uri: str | None = None  # where that authorization comes back (the loopback callback or the relay)
    via: str = ""  # "loopback" or "relay"
    waiting_page: bool = False  # through the relay: waiting for the notebook page to report its address first
    flow: Any = None  # the callback flow waiting for the redirect
    reauth_needed: bool = False  # tokens died for good: the next request reconnects and asks again
    in_session: bool = False  # the authorization under way re-authorizes a live session
    timeout: float = AUTH_TIMEOUT

    def cancel(self) -> None:
        """Stop waiting for the person (the flow's waiter sees a cancellation)."""
        flow = self.flow
        if flow is not None and not flow.future.done():
            flow.future.cancel()


class AuthHost(Protocol):
    """The connection an OAuth provider works for."""

    auth: AuthState

    @property
    def name(self) -> str: ...

    @property
    def config(self) -> Any: ...

    @property
    def is_connected(self) -> bool: ...

    def record(self, kind: str, message: str, level: str = "info", data: Any = None) -> Any: ...

    def auth_waiting(self) -> None:
        """A person is needed: the state becomes "auth required" (the link is in ``auth.url``)."""

    def auth_resumed(self, in_session: bool) -> None:
        """The person is done (or gave up on a live session): connecting goes on."""
