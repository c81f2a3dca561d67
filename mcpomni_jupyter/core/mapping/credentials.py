"""What a cluster ``map`` sends the workers about a server: its config, and an OAuth server's access token.

Header values and ``${VAR}`` values go in the config, through Dask's own comms
(use TLS on a real cluster).  An OAuth server's config goes without its
client secret, keys or assertions; the workers get the notebook's current
access token, never its refresh token.  The notebook refreshes the token
itself (a request through its own connection, which its provider refreshes
a little before expiry) and sends the new one on: with the partitions
submitted after, and to every worker at once.  A DPoP-bound token is useless
without its key, which never leaves the notebook: such a server is refused.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from mcpomni_jupyter.authconfig import AuthConfig
from mcpomni_jupyter.core.mapping.worker import Token
from mcpomni_jupyter.core.session.state import HOP_GRACE
from mcpomni_jupyter.errors import AuthError

if TYPE_CHECKING:
    from mcpomni_jupyter.config import ServerConfig
    from mcpomni_jupyter.core.manager import MCPManager
    from mcpomni_jupyter.core.session.connection import Connection


def for_workers(config: ServerConfig) -> ServerConfig:
    """``config`` as the workers get it: an OAuth server keeps its method only (no client secret, key, assertion)."""
    if not config.auth.uses_oauth:
        return config
    return dataclasses.replace(config, auth=AuthConfig(method=config.auth.method, dpop=False))


def _margin(lifetime: float) -> float:
    """How long before expiry the notebook's provider refreshes (``StoreBound._early``)."""
    return min(60.0, max(2.0, 0.25 * lifetime), 0.5 * lifetime) if lifetime > 0 else 0.0


class Credentials:
    """An OAuth server's current access token for the workers (None for any other server)."""

    def __init__(self, manager: MCPManager, connection: Connection) -> None:
        self.manager = manager
        self.connection = connection
        self.oauth = connection.uses_oauth
        self.token: Token | None = None
        self.due: float | None = None  # when to refresh (epoch seconds)
        if self.oauth:
            self._connect()
            self._load()

    def _connect(self) -> None:
        from mcpomni_jupyter.core import resolve

        wait = self.manager.timeout
        self.manager.loop.run(resolve.ready(self.connection, wait), self.connection.config.timeout + wait + HOP_GRACE, "connecting")

    def _load(self) -> None:
        storage = self.manager.oauth.storage_for(self.connection)
        stored = storage.load()
        name = self.connection.name
        if stored.dpop_bound:  # the store marks a bound token
            raise AuthError(
                f"server {name!r} holds a DPoP-bound token, which works only with its key, and the key never leaves the notebook: "
                f'map it without cluster=, or set "auth": {{"dpop": false}} for it and authorize again'
            )
        tokens = stored.tokens
        if tokens is None or not tokens.access_token:
            raise AuthError(f"server {name!r} has no access token to send the workers; run %mcp auth {name}, then map again")
        self.token = Token(name, tokens.access_token, stored.expires_at)
        context = getattr(self.connection.auth_provider, "context", None)
        if context is not None and getattr(context, "current_tokens", None) is not None and context.token_expiry_time is not None:
            self.due = float(context.token_expiry_time)  # when the notebook's provider refreshes it (a little before expiry)
        else:
            self.due = stored.expires_at - _margin(float(tokens.expires_in or 0)) if stored.expires_at is not None else None

    def stale(self) -> bool:
        return self.due is not None and time.time() >= self.due

    def refresh(self) -> bool:
        """When the token is due, refresh it in the notebook (a request its provider refreshes first); True if it changed."""
        if not self.stale():
            return False
        before = self.token
        relist = self.connection.catalog.list(("tools",), cache_mode="refresh")  # any request: the provider refreshes before it
        self.manager.loop.run(relist, self.manager.timeout + HOP_GRACE, "refreshing the access token")
        self._load()
        return self.token != before

    def current(self) -> Token | None:
        """The token for a partition submitted now (refreshed first when due)."""
        if self.oauth:
            self.refresh()
        return self.token
