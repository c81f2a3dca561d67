"""The OAuth part of the manager's Python API: settings, authorize, paste, logout, token expiry.

A base class of ``MCPManager`` whose methods are typed against it (``self:
MCPManager``), so each is a few lines over the coordinator in ``auth/``.  The
Authorize button and the relay bridge reach it through ``manager.ui``
(``core/host.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.auth.oauth import AuthOptions
from mcpomni_jupyter.core.session.state import HOP_GRACE, STOP_BUDGET, State
from mcpomni_jupyter.errors import ConfigError

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager
    from mcpomni_jupyter.core.session.connection import Connection


class OAuthMethods:
    """OAuth settings and actions; mixed into ``MCPManager`` (each method typed against it)."""

    def set_auth_options(self: MCPManager, **options: Any) -> AuthOptions:
        """Change OAuth settings (callback, callback_host/port/path, token_dir, open_browser, auth_timeout)."""
        changed = self.oauth.configure(**options)
        for connection in self.connections.values():
            connection.auth.timeout = changed.auth_timeout
        return changed

    def _oauth_connection(self: MCPManager, name: str) -> Connection:
        connection = self.connection(name)
        if not connection.uses_oauth:
            raise ConfigError(
                f'server {name!r} is not configured for OAuth; set "auth": {{"method": "oauth"}} in its config '
                f"(or %mcp add {name} URL --auth oauth)"
            )
        return connection

    def authorize(self: MCPManager, name: str) -> Connection:
        """Start (or resume) authorization: connects the server, which asks for authorization if needed."""
        connection = self._oauth_connection(name)
        if connection.state in (State.DISCONNECTED, State.FAILED) or self._auth_outdated(name):
            if connection.state is State.AUTH_REQUIRED:  # the page became known: restart through the relay
                self._run(connection.restart(), STOP_BUDGET, f"restarting the authorization of {name!r}")
            self._run(self._ops.connect([name]), connection.config.timeout + HOP_GRACE, f"connecting {name!r}")
        return connection

    def _auth_outdated(self: MCPManager, name: str) -> bool:
        """Whether the authorization waiting for ``name`` comes back another way than the settings now say
        (``callback = "auto"`` chose the loopback callback before the notebook page was known)."""
        connection = self.connection(name)
        waiting = connection.state is State.AUTH_REQUIRED and connection.auth.url
        return bool(waiting) and connection.auth.via != self.oauth.via()

    def opens_browser(self: MCPManager) -> bool:
        """Whether a waiting authorization opens a browser on the kernel's machine by itself (not through the relay)."""
        return self.oauth.options.open_browser and self.oauth.via() == "loopback"

    def complete_auth(self: MCPManager, url: str) -> str:
        """The paste-box path: finish a waiting authorization from the URL the browser landed on."""
        return self._run(self.oauth.complete(url), HOP_GRACE, "delivering the authorization")

    def logout(self: MCPManager, name: str) -> bool:
        """Disconnect and forget the stored tokens and client registration of an OAuth server."""
        connection = self._oauth_connection(name)
        self._run(connection.stop(), STOP_BUDGET, f"disconnecting {name!r}")
        return self.oauth.storage_for(connection).forget()

    def token_expiry(self: MCPManager, name: str) -> float | None:
        """When the stored access token of an OAuth server expires (epoch seconds), if known."""
        connection = self.connection(name)
        return self.oauth.storage_for(connection).expires_at if connection.uses_oauth else None
