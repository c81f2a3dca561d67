"""The OAuth part of the manager's Python API: settings, authorize, paste, logout, token expiry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..connection import State
from ..errors import AuthError, ConfigError
from .oauth import AuthOptions

if TYPE_CHECKING:
    from ..connection import Connection


class OAuthAPI:
    """Mixed into ``MCPManager``; uses its registry (``connection``), loop (``_run``) and ``oauth`` coordinator."""

    oauth: Any

    def configure_auth(self, **options: Any) -> AuthOptions:
        """Change OAuth settings (callback_host/port/path, token_dir, open_browser, auth_timeout)."""
        for key, value in options.items():
            if not hasattr(self.oauth.options, key):
                raise ConfigError(f"unknown auth option {key!r}")
            setattr(self.oauth.options, key, value)
        for connection in self.connections.values():
            connection.auth_timeout = self.oauth.options.auth_timeout
        return self.oauth.options

    def _oauth_connection(self, name: str) -> Connection:
        connection = self.connection(name)
        if not connection.uses_oauth:
            raise ConfigError(
                f"server {name!r} is not configured for OAuth; set \"auth\": {{\"method\": \"oauth\"}} in its config "
                f"(or %mcp add {name} URL --auth oauth)"
            )
        return connection

    def auth(self, name: str) -> Connection:
        """Start (or resume) authorization: connects the server, which asks for authorization if needed."""
        connection = self._oauth_connection(name)
        if connection.state in (State.DISCONNECTED, State.FAILED):
            self._run(self._connect([name]), connection.config.timeout + 15, f"connecting {name!r}")
        return connection

    def complete_auth(self, url: str) -> str:
        """The paste-box path: finish a waiting authorization from the URL the browser landed on."""

        async def deliver() -> tuple[int, str, str]:
            return self.oauth.deliver_url(url)

        status, title, message = self._run(deliver(), 10, "delivering the authorization")
        if status != 200:
            raise AuthError(f"{title}: {message}")
        if title != "Authorization complete":
            raise AuthError(message)
        return message

    def logout(self, name: str) -> bool:
        """Disconnect and forget the stored tokens and client registration of an OAuth server."""
        connection = self._oauth_connection(name)
        self._run(connection.stop(), connection.config.timeout + 15, f"disconnecting {name!r}")
        return self.oauth.storage_for(connection).forget()

    def token_expiry(self, name: str) -> float | None:
        """When the stored access token of an OAuth server expires (epoch seconds), if known."""
        connection = self.connection(name)
        if not connection.uses_oauth:
            return None
        return self.oauth.storage_for(connection).expires_at
