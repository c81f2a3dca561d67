"""OAuth wiring: the SDK's ``OAuthClientProvider`` with our callback server, token store and browser.

The SDK does discovery (RFC 9728, RFC 8414), dynamic registration (RFC 7591),
PKCE S256, the ``resource`` parameter (RFC 8707), scope selection and refresh;
we only supply where the person comes in: the redirect handler records the
authorization link, marks the server "auth required" and opens the browser
(in a worker thread), and the callback handler waits for the callback server
or the paste box, whichever delivers first.  The authorization URL comes from
the authorization server's metadata, which is untrusted: only ``https`` (or
``http`` to a loopback host) is recorded, shown or opened.

The adaptations are all in ``_Provider``: a reloaded token gets its absolute
expiry back and is refreshed a little early; a pre-registered ``client_id`` is
used instead of dynamic registration; the 2025-03-26 path accepts a same-origin
issuer; and a refresh first re-reads the shared token store under its lock,
held across the refresh request, so kernels sharing the store never refresh
with a refresh token another kernel has already rotated.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
import webbrowser
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from ..errors import AuthError, ConfigError
from .callback import UNKNOWN_STATE, CallbackServer
from .tokens import DEFAULT_TOKEN_DIR, FileTokenStorage, Stored

if TYPE_CHECKING:
    from ..connection import Connection


@dataclass
class AuthOptions:
    """The settings behind ``%config MCPMagics.callback_port`` and friends."""

    callback_host: str = "localhost"
    callback_port: int = 3000
    callback_path: str = "/callback"
    token_dir: str = DEFAULT_TOKEN_DIR
    open_browser: bool = True
    auth_timeout: float = 600.0


class ReauthorizationNeeded(AuthError):
    """A connected server's tokens stopped working and could not be refreshed."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_authorization_url(url: str, server: str) -> None:
    """Refuse an authorization URL the browser must not be sent to: only https, or http to a loopback host."""
    try:
        parsed = urlparse(url)
        scheme, host = parsed.scheme.lower(), parsed.hostname or ""
    except ValueError:
        scheme, host = "", ""
    clean = not any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url)
    if clean and host and (scheme == "https" or (scheme == "http" and _loopback(host))):
        return
    shown = f"{scheme}://{host}"[:80] if scheme else url[:40]
    raise AuthError(
        f"server {server!r}: refusing the authorization URL its authorization server published ({shown!r}): "
        "it must be https (or http to localhost); ask the server's operator to fix its OAuth metadata"
    )


def open_browser(url: str) -> None:
    """Open ``url`` with ``webbrowser`` in a daemon thread: a ``BROWSER`` command may block."""

    def run() -> None:
        try:
            webbrowser.open(url)
        except Exception:
            pass

    threading.Thread(target=run, name="mcpomni-browser", daemon=True).start()


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


def _provider_class() -> type:
    import httpx2
    from mcp.client.auth import OAuthClientProvider

    class _Provider(OAuthClientProvider):
        """The SDK provider plus the absolute expiry of a reloaded token, pre-registered clients,
        the 2025-03-26 legacy path's same-origin issuer, and refreshes coordinated through the store."""

        preregistered: Any = None
        _holding = False  # this flow holds the store's lock: from _refresh_token to the refresh response
        _skipped: Any = None  # the refresh request not sent: newer tokens were adopted from the store

        def _expected_issuer(self) -> str:
            issuer = super()._expected_issuer()
            if self.context.auth_server_url is None and self.context.protected_resource_metadata is None:
                return _LegacyIssuer(issuer)
            return issuer

        def _early(self) -> None:
            """Refresh a little before expiry: a token that dies in flight earns a 401, and the SDK
            answers a 401 with a whole new authorization (a browser window), not a refresh."""
            expiry, tokens = self.context.token_expiry_time, self.context.current_tokens
            if expiry is not None and tokens is not None:
                lifetime = tokens.expires_in or 0
                self.context.token_expiry_time = expiry - min(60.0, max(2.0, 0.25 * lifetime), 0.5 * lifetime)

        async def _initialize(self) -> None:
            await super()._initialize()
            storage = self.context.storage
            if self.context.current_tokens is not None and isinstance(storage, FileTokenStorage):
                self.context.token_expiry_time = storage.last_expires_at  # python-sdk issue 3250
                self._early()
            if self.preregistered is not None and (
                self.context.client_info is None or self.context.client_info.client_id != self.preregistered.client_id
            ):
                self.context.client_info = self.preregistered

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
            if theirs is None or (mine is not None and (theirs.access_token, theirs.refresh_token) == (
                mine.access_token, mine.refresh_token
            )):
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
                self.context.storage.release()

        async def _handle_token_response(self, response: Any) -> None:
            await super()._handle_token_response(response)
            self._early()

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

    return _Provider


class OAuthCoordinator:
    """Per manager: callback servers by port, token storages, and the providers for connections."""

    def __init__(self, options: AuthOptions | None = None) -> None:
        self.options = options or AuthOptions()
        self._callbacks: dict[tuple[str, int, str], CallbackServer] = {}

    def callback_for(self, connection: Connection) -> CallbackServer:
        o = self.options
        port = connection.config.auth.callback_port or o.callback_port
        key = (o.callback_host, port, o.callback_path)
        if key not in self._callbacks:
            self._callbacks[key] = CallbackServer(o.callback_host, port, o.callback_path)
        return self._callbacks[key]

    def storage_for(self, connection: Connection, redirect_uri: str | None = None) -> FileTokenStorage:
        return FileTokenStorage(
            self.options.token_dir,
            connection.config.url or "",
            redirect_uri,
            on_warning=lambda message: connection.record("auth", message, "warning"),
        )

    def deliver_url(self, url: str) -> tuple[int, str, str]:
        """The paste box: hand a pasted redirect URL to whichever callback server waits for its state."""
        state = (parse_qs(urlparse(url.strip()).query).get("state") or [""])[0]
        for callback in self._callbacks.values():
            if any(flow.state == state for flow in callback.waiting):
                return callback.deliver_url(url)
        return 400, "Unknown authorization", UNKNOWN_STATE

    async def stop(self) -> None:
        for callback in self._callbacks.values():
            for flow in callback.waiting:
                await callback.release(flow)
            await callback.stop()

    # ------------------------------------------------------------------ providers

    def build(self, connection: Connection) -> Any:
        """The ``httpx2.Auth`` for an OAuth server's transport."""
        auth = connection.config.auth
        url = connection.config.url or ""
        if auth.method == "client_credentials":
            if not (auth.client_id and auth.client_secret):
                raise ConfigError(
                    f"server {connection.name!r}: client_credentials needs auth.client_id and auth.client_secret "
                    "(write them as ${VAR})"
                )
            from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider

            return ClientCredentialsOAuthProvider(
                server_url=url,
                storage=self.storage_for(connection),
                client_id=auth.client_id,
                client_secret=auth.client_secret,
                token_endpoint_auth_method="client_secret_basic",
                scope=" ".join(auth.scopes) or None,
            )

        from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata

        callback = self.callback_for(connection)
        redirect_uri = callback.redirect_uri
        # a confidential client: HTTP Basic, the method every authorization server must support (RFC 6749 2.3.1)
        method = "client_secret_basic" if auth.client_secret else "none"
        metadata = OAuthClientMetadata(
            client_name="mcpomni-jupyter",
            redirect_uris=[redirect_uri],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            scope=" ".join(auth.scopes) or None,
            token_endpoint_auth_method=method,
        )
        options = self.options

        async def redirect_handler(authorization_url: str) -> None:
            from ..connection import State

            check_authorization_url(authorization_url, connection.name)  # before it is recorded, shown or opened
            if connection.state is State.CONNECTED and not options.open_browser:
                # tokens died mid-session (or more scope is needed) and no browser will open by itself:
                # fail this request fast; reconnecting shows the Authorize button
                connection.reauth_needed = True
                raise ReauthorizationNeeded(
                    f"server {connection.name!r} needs authorization again (its token was refused and could not "
                    f"be refreshed): click Authorize, or run %mcp auth {connection.name}"
                )
            # otherwise the browser opens and the waiting request goes on once the person has authorized
            connection.auth_in_session = connection.state is State.CONNECTED
            state = (parse_qs(urlparse(authorization_url).query).get("state") or [""])[0]
            flow = await callback.expect(state, connection.name, authorization_url)
            connection.auth_flow = flow
            connection.auth_url = authorization_url
            connection.set_state(State.AUTH_REQUIRED)
            connection.record("auth", f"waiting for authorization (callback on {redirect_uri})")
            if options.open_browser:
                open_browser(authorization_url)

        async def callback_handler() -> Any:
            from ..connection import State

            flow = connection.auth_flow
            if flow is None:  # pragma: no cover - the SDK calls redirect first
                raise AuthError(f"server {connection.name!r}: no authorization is in progress")
            in_session = connection.auth_in_session
            try:
                result = await asyncio.wait_for(asyncio.shield(flow.future), options.auth_timeout)
            except asyncio.TimeoutError:
                raise AuthError(
                    f"server {connection.name!r}: authorization was not completed within "
                    f"{options.auth_timeout / 60:g} min; run %mcp auth {connection.name} to try again"
                ) from None
            except asyncio.CancelledError:
                if in_session:
                    connection.auth_url = None
                    connection.set_state(State.CONNECTED)
                raise
            finally:
                await callback.release(flow)
                connection.auth_flow = None
            connection.auth_url = None
            connection.set_state(State.CONNECTED if in_session else State.CONNECTING)
            connection.record("auth", "authorization received; exchanging the code for tokens")
            return result

        provider = _provider_class()(
            server_url=url,
            client_metadata=metadata,
            storage=self.storage_for(connection, redirect_uri),
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
            client_metadata_url=auth.client_metadata_url,
        )
        if auth.client_id:
            provider.preregistered = OAuthClientInformationFull(
                client_id=auth.client_id,
                client_secret=auth.client_secret,
                redirect_uris=[redirect_uri],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method=method,
            )
        return provider
