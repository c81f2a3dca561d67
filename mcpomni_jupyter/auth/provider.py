"""The SDK's ``OAuthClientProvider``, adapted: the few places where we must differ from it.

Imported only when an OAuth server connects (the SDK loads with it).

``StoreBound`` (every OAuth provider of ours, machine-to-machine ones too):

- A reloaded token gets its absolute expiry back (python-sdk issue 3250) and
  every token is refreshed a little before it expires (a token that dies in
  flight earns a 401, which the SDK answers with a whole new authorization).
- The token store's entry is bound to the authorization server's issuer: a
  reloaded token comes with its authorization server's metadata (so it is
  refreshed at that server's token endpoint, not at the MCP server's origin,
  where the SDK sends a refresh before any discovery), and when discovery
  finds that the server now trusts another authorization server, nothing of
  the old one (tokens, registration, metadata) is used again, even a
  registration that carries no issuer of its own.

``DPoPAuth`` (``dpopflow``) puts DPoP proofs on their token and MCP requests.

``AdaptedProvider`` (the authorization-code flow) adds:

- A pre-registered ``client_id`` is used instead of dynamic registration.
- A client ID metadata document (``client_metadata_url``) is preferred over
  dynamic registration wherever the authorization server supports both: the
  SDK decides so (``should_use_client_metadata_url`` looks only at
  ``client_id_metadata_document_supported``, not at the registration
  endpoint); the connection's log says which was used.
- On the 2025-03-26 path (no protected-resource metadata), the authorization
  server's ``issuer`` may carry a path on the MCP server's own origin.
- ``dpop_jkt`` on the authorization request where tokens will be DPoP-bound.
- A refresh first re-reads the shared token store under its lock, held across
  the refresh request, so kernels sharing the store never refresh with a
  refresh token another kernel has already rotated.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import urlparse

import httpx2
from mcp.client.auth import OAuthClientProvider

from mcpomni_jupyter.auth.dpopflow import DPoPAuth
from mcpomni_jupyter.auth.tokens import FileTokenStorage, Stored, same_issuer


class _LegacyIssuer(str):
    """The expected issuer on the 2025-03-26 path: any issuer on the MCP server's own origin matches.

    The SDK compares authorization-server metadata ``issuer`` with the MCP
    server's origin as an exact string (RFC 8414 3.3); servers written to the
    2025-03-26 revision publish metadata at their origin whose issuer may carry
    a path (``https://host/oauth``).  As a ``str`` subclass, this value's
    ``__eq__``/``__ne__`` win over plain ``str`` comparisons, so that one check,
    and only on the path without protected-resource metadata, becomes
    same-origin.
    """

    def _same_origin(self, other: object) -> bool:
        if not isinstance(other, str):
            return False
        mine, theirs = urlparse(str.__str__(self)), urlparse(other)
        return (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc)

    def __eq__(self, other: object) -> bool:
        return self._same_origin(other)

    def __ne__(self, other: object) -> bool:
        return not self._same_origin(other)

    __hash__ = str.__hash__


class StoreBound(DPoPAuth, OAuthClientProvider):
    """The SDK provider plus the absolute expiry of a reloaded token, the store's entry bound to an issuer, and DPoP."""

    _entry_issuer: str | None = None  # the authorization server the tokens and registration in the context came from

    def _configured_client(self) -> Any:
        """Client information that is configuration (kept when the authorization server changes)."""
        return getattr(self, "_fixed_client_info", None)  # the SDK's machine-to-machine providers keep it there

    def _file_storage(self) -> FileTokenStorage | None:
        storage = self.context.storage
        return storage if isinstance(storage, FileTokenStorage) else None

    def _early(self) -> None:
        """Refresh a little before expiry: a token that dies in flight earns a 401, and the SDK
        answers a 401 with a whole new authorization (a browser window), not a refresh."""
        expiry, tokens = self.context.token_expiry_time, self.context.current_tokens
        if expiry is not None and tokens is not None:
            lifetime = tokens.expires_in or 0
            self.context.token_expiry_time = expiry - min(60.0, max(2.0, 0.25 * lifetime), 0.5 * lifetime)

    async def _initialize(self) -> None:
        await super()._initialize()
        storage = self._file_storage()
        if storage is None:
            return
        loaded = storage.last_loaded
        if self.context.current_tokens is not None:
            self.context.token_expiry_time = storage.last_expires_at  # python-sdk issue 3250
            self._early()
        if loaded.issuer is not None:
            self._entry_issuer = loaded.issuer
            storage.issuer = storage.issuer or loaded.issuer
        if loaded.metadata is not None and self.context.oauth_metadata is None:
            self.context.oauth_metadata = loaded.metadata  # a refresh goes to this server's token endpoint
        storage.metadata_of = lambda: self.context.oauth_metadata

    def _expected_issuer(self) -> str:
        issuer = super()._expected_issuer()
        self._bind(str.__str__(issuer))
        return issuer

    def _bind(self, issuer: str) -> None:
        """Discovery named the authorization server: use (and write) only its entry of the store."""
        storage = self._file_storage()
        if storage is None or storage.pinned:  # a configured issuer: the SDK refuses any other one itself
            return
        if self._entry_issuer is not None and not same_issuer(self._entry_issuer, issuer):
            storage.warn(f"the authorization server changed from {self._entry_issuer} to {issuer}: authorizing there afresh")
            self.context.clear_tokens()
            self.context.client_info = self._configured_client()
            self.context.oauth_metadata = None
        storage.issuer = self._entry_issuer = issuer

    async def _handle_token_response(self, response: Any) -> None:
        await super()._handle_token_response(response)
        self._early()


class AdaptedProvider(StoreBound):
    """The SDK provider for the authorization-code flow, plus pre-registered clients, the 2025-03-26
    legacy path's same-origin issuer, and refreshes coordinated through the store."""

    preregistered: Any = None
    _holding = False  # this flow holds the store's lock: from _refresh_token to the refresh response
    _skipped: Any = None  # the refresh request not sent: newer tokens were adopted from the store

    def _configured_client(self) -> Any:
        return self.preregistered

    def _expected_issuer(self) -> str:
        issuer = super()._expected_issuer()
        if self.context.auth_server_url is None and self.context.protected_resource_metadata is None:
            return _LegacyIssuer(issuer)
        return issuer

    async def _initialize(self) -> None:
        await super()._initialize()
        if self.preregistered is not None and (
            self.context.client_info is None or self.context.client_info.client_id != self.preregistered.client_id
        ):
            self.context.client_info = self.preregistered

    async def _perform_authorization_code_grant(self) -> tuple[str, str]:
        """The SDK's redirect, plus ``dpop_jkt`` (RFC 9449 10) where tokens will be DPoP-bound: the code is
        then bound to our key too."""
        if self._dpop_token_endpoint() is None:
            return await super()._perform_authorization_code_grant()
        jkt, handler = (await self._dpop_key()).jkt, self.context.redirect_handler
        assert handler is not None

        async def with_jkt(url: str) -> None:
            await handler(f"{url}&dpop_jkt={jkt}")

        self.context.redirect_handler = with_jkt
        try:
            return await super()._perform_authorization_code_grant()
        finally:
            self.context.redirect_handler = handler

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """The SDK's flow, except that a refresh made needless by ``_refresh_token`` is not sent."""
        flow = super()._auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                if outgoing is self._skipped:
                    response = httpx2.Response(204, request=outgoing)  # never sent; see _handle_refresh_response
                else:
                    response = yield outgoing
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()
            self._skipped = None
            self._release_store()

    async def _refresh_token(self) -> httpx2.Request:
        """Before refreshing, lock the store and re-read it: another kernel may have refreshed (and, where
        the server rotates refresh tokens, made ours useless).  Its tokens, if newer, are adopted: if they
        are still valid the refresh is skipped, else they are refreshed with the newer refresh token.
        The lock is held until the response is handled, so two kernels never refresh at once."""
        storage = self.context.storage
        if isinstance(storage, FileTokenStorage):
            await storage.acquire()
            self._holding = True
            if self._adopt(storage.load()) and self.context.is_token_valid():
                self._skipped = httpx2.Request("POST", self._get_token_endpoint())
                return self._skipped
        return await super()._refresh_token()

    def _adopt(self, stored: Stored) -> bool:
        """Take the stored tokens if they differ from ours and are usable (valid, or refreshable)."""
        theirs, mine = stored.tokens, self.context.current_tokens
        if theirs is None or (mine is not None and (theirs.access_token, theirs.refresh_token) == (mine.access_token, mine.refresh_token)):
            return False
        before = (mine, self.context.token_expiry_time, self.context.client_info)
        self.context.current_tokens, self.context.token_expiry_time = theirs, stored.expires_at
        if stored.client_info is not None and self.preregistered is None:
            self.context.client_info = stored.client_info
        self._early()
        if not self.context.is_token_valid() and not self.context.can_refresh_token():
            self.context.current_tokens, self.context.token_expiry_time, self.context.client_info = before
            return False
        return True

    def _release_store(self) -> None:
        if self._holding:
            self._holding = False
            storage = self.context.storage
            if isinstance(storage, FileTokenStorage):
                storage.release()

    async def _handle_refresh_response(self, response: Any) -> bool:
        """A failed refresh returns False: the SDK then authorizes again (our redirect handler decides how)."""
        try:
            if self._skipped is not None and response.request is self._skipped:
                self._skipped = None
                return True
            ok = await super()._handle_refresh_response(response)
            if ok:
                self._early()
            return ok
        finally:
            self._release_store()
