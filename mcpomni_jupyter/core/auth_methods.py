"""The OAuth part of the manager's Python API: settings, authorize, paste, logout, token expiry.

A base class of ``MCPManager`` that declares what it uses of it (the registry,
the OAuth coordinator, the operations and the thread hop), so each method is a
few lines over the coordinator in ``auth/``.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.auth.oauth import AuthOptions, OAuthCoordinator, open_browser
from mcpomni_jupyter.core.session.state import HOP_GRACE, STOP_BUDGET, State
from mcpomni_jupyter.errors import ConfigError

if TYPE_CHECKING:
    from mcpomni_jupyter.core.operations import Operations
    from mcpomni_jupyter.core.session.connection import Connection


class OAuthMethods:
    """OAuth settings and actions; mixed into ``MCPManager``, whose attributes it declares here."""

    oauth: OAuthCoordinator
    _ops: Operations

    def connection(self, name: str) -> Connection:
        raise NotImplementedError

    @property
    def connections(self) -> dict[str, Connection]:
        raise NotImplementedError

    def _run(self, coro: Coroutine[Any, Any, Any], budget: float, what: str, tick: Any = None) -> Any:
        raise NotImplementedError

    def _background(self, coro: Coroutine[Any, Any, Any]) -> Any:
        raise NotImplementedError

    def configure_auth(self, **options: Any) -> AuthOptions:
        """Change OAuth settings (callback, callback_host/port/path, token_dir, open_browser, auth_timeout)."""
        changed = self.oauth.configure(**options)
        for connection in self.connections.values():
            connection.auth.timeout = changed.auth_timeout
        return changed

    def _oauth_connection(self, name: str) -> Connection:
        connection = self.connection(name)
        if not connection.uses_oauth:
            raise ConfigError(
                f'server {name!r} is not configured for OAuth; set "auth": {{"method": "oauth"}} in its config '
                f"(or %mcp add {name} URL --auth oauth)"
            )
        return connection

    def auth(self, name: str) -> Connection:
        """Start (or resume) authorization: connects the server, which asks for authorization if needed."""
        connection = self._oauth_connection(name)
        if connection.state in (State.DISCONNECTED, State.FAILED) or self.auth_outdated(name):
            if connection.state is State.AUTH_REQUIRED:  # the page became known: restart through the relay
                self._run(connection.stop(), STOP_BUDGET, f"restarting the authorization of {name!r}")
            self._run(self._ops.connect([name]), connection.config.timeout + HOP_GRACE, f"connecting {name!r}")
        return connection

    def auth_outdated(self, name: str) -> bool:
        """Whether the authorization waiting for ``name`` comes back another way than the settings now say
        (``callback = "auto"`` chose the loopback callback before the notebook page was known)."""
        connection = self.connection(name)
        waiting = connection.state is State.AUTH_REQUIRED and connection.auth.url
        return bool(waiting) and connection.auth.via != self.oauth.via()

    def authorize_in_background(self, name: str) -> Any:
        """The Authorize button: (re)start the authorization of ``name`` without blocking; a future."""
        connection = self._oauth_connection(name)

        async def restart() -> Any:
            if self.auth_outdated(name):
                await connection.stop()
            return await self._ops.connect([name])

        return self._background(restart())

    def set_page(self, origin: Any, base_url: Any) -> bool:
        """The notebook page's origin and the Jupyter server's base URL (the bridge widget reports them);
        False if they are not a plain http(s) origin and path."""
        return self.oauth.set_page(origin, base_url) is not None

    def relay_deliver(self, message: dict[str, Any]) -> dict[str, str]:
        """A redirect the relay page posted, through the bridge: route it by state; the page's acknowledgement."""
        return self._run(self.oauth.relay_deliver(message), HOP_GRACE, "delivering the authorization")

    def opens_browser(self) -> bool:
        """Whether a waiting authorization opens a browser on the kernel's machine by itself (not through the relay)."""
        return self.oauth.options.open_browser and self.oauth.via() == "loopback"

    def open_authorization_page(self, name: str) -> bool:
        """Open the waiting authorization link of ``name`` in the browser again; False if none waits."""
        url = self.connection(name).auth.url
        if url:
            open_browser(url)
        return bool(url)

    def complete_auth(self, url: str) -> str:
        """The paste-box path: finish a waiting authorization from the URL the browser landed on."""
        return self._run(self.oauth.complete(url), HOP_GRACE, "delivering the authorization")

    def logout(self, name: str) -> bool:
        """Disconnect and forget the stored tokens and client registration of an OAuth server."""
        connection = self._oauth_connection(name)
        self._run(connection.stop(), STOP_BUDGET, f"disconnecting {name!r}")
        return self.oauth.storage_for(connection).forget()

    def token_expiry(self, name: str) -> float | None:
        """When the stored access token of an OAuth server expires (epoch seconds), if known."""
        connection = self.connection(name)
        return self.oauth.storage_for(connection).expires_at if connection.uses_oauth else None
