"""OAuth wiring: the adapted SDK provider with our callback server, token store and browser.

``OAuthCoordinator.build`` gives each server the ``httpx2.Auth`` of its
method: the authorization-code flow (``oauth``) here, the machine-to-machine
and enterprise grants (``client_credentials``, ``identity_assertion``,
``jwt_bearer``) in
``grants``.  The SDK does discovery (RFC 9728, RFC 8414), dynamic
registration (RFC 7591, as a ``native`` application) or a client ID metadata
document (preferred where both are offered), PKCE S256, the ``resource``
parameter (RFC 8707), scope selection, refresh and the issuer checks of
RFC 8414 and RFC 9207 (adapted in ``provider``; the ``iss`` of a redirect is
checked by the callback server before the SDK sees it); we only supply where
the person comes in: the
redirect handler records the authorization link, tells the connection a person
is needed and opens the browser (in a worker thread), and the callback handler
waits for the callback server or the paste box, whichever delivers first.  The
authorization URL comes from the authorization server's metadata, which is
untrusted: only ``https`` (or ``http`` to a loopback host) is recorded, shown
or opened.  The connection is an ``AuthHost``: this layer never imports the core.
"""

from __future__ import annotations

import asyncio
import threading
import webbrowser
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse, urlsplit

from mcpomni_jupyter.auth.callback import UNKNOWN_STATE, CallbackServer, FlowRouter, RelayCallback
from mcpomni_jupyter.auth.relay_route import Page, RelayRoutes
from mcpomni_jupyter.auth.state import AuthHost
from mcpomni_jupyter.auth.tokens import FileTokenStorage
from mcpomni_jupyter.defaults import AUTH_TIMEOUT, CALLBACK, CALLBACK_HOST, CALLBACK_PATH, CALLBACK_PORT, TOKEN_DIR
from mcpomni_jupyter.errors import AuthError, ConfigError, ReauthorizationNeeded
from mcpomni_jupyter.urls import why_not_secure


@dataclass
class AuthOptions:
    """The settings behind ``%config MCPMagics.callback_port`` and friends."""

    callback_host: str = CALLBACK_HOST
    callback_port: int = CALLBACK_PORT
    callback_path: str = CALLBACK_PATH
    token_dir: str = TOKEN_DIR
    open_browser: bool = True
    auth_timeout: float = AUTH_TIMEOUT
    callback: str = CALLBACK  # "auto", "loopback" or "relay"


def check_authorization_url(url: str, server: str) -> None:
    """Refuse an authorization URL the browser must not be sent to: only https, or http to a loopback host."""
    problem = why_not_secure(url)
    if problem is None:
        return
    try:
        parts = urlsplit(url)  # only to name it
        shown = f"{parts.scheme}://{parts.hostname or ''}"[:80] if parts.scheme else url[:40]
    except ValueError:
        shown = url[:40]
    raise AuthError(
        f"server {server!r}: refusing the authorization URL its authorization server published ({shown!r}): "
        f"{problem}; ask the server's operator to fix its OAuth metadata (https, or http to localhost)"
    )


def open_browser(url: str) -> None:
    """Open ``url`` with ``webbrowser`` in a daemon thread: a ``BROWSER`` command may block."""

    def run() -> None:
        try:
            webbrowser.open(url)
        except Exception:  # noqa: BLE001 - no browser is not an error: the link is shown too
            pass

    threading.Thread(target=run, name="mcpomni-browser", daemon=True).start()


class OAuthCoordinator:
    """Per manager: callback servers by port, token storages, and the providers for connections."""

    def __init__(self, options: AuthOptions | None = None) -> None:
        self.options = options or AuthOptions()
        self._callbacks: dict[tuple[str, int, str], CallbackServer] = {}
        self.relay = RelayRoutes()  # the page the notebook runs in, and the flows the relay finishes

    @property
    def loopback_servers(self) -> list[CallbackServer]:
        """The loopback callback servers made so far (a relay flow never makes one)."""
        return list(self._callbacks.values())

    def via(self) -> str:
        """Where redirects come back now: "relay" or "loopback" (``callback = "auto"`` decides by the page)."""
        mode = self.options.callback
        if mode == "auto":
            page = self.relay.page  # read once: the kernel's thread may report a new one meanwhile
            return "relay" if page is not None and not page.loopback else "loopback"
        return mode

    def callback_for(self, connection: AuthHost) -> FlowRouter:
        if self.via() == "relay":
            return self.relay.route(connection.name)  # AuthError while the notebook page is unknown
        o = self.options
        port = connection.config.auth.callback_port or o.callback_port
        key = (o.callback_host, port, o.callback_path)
        if key not in self._callbacks:
            self._callbacks[key] = CallbackServer(o.callback_host, port, o.callback_path)
        return self._callbacks[key]

    async def wait_for_page(self, connection: AuthHost) -> None:
        """Before an authorization-code flow through the relay: wait until the notebook page reports its address.

        The page is reported by this extension's widgets once the front end has
        made them, which the kernel hears when the running cell ends (or awaits);
        meanwhile the server is "auth required" with no link yet, so its
        Authorize row shows at once and the flow starts the moment the page
        reports.  Without a front end (no widget was made) it fails at once.
        """
        relay = self.relay
        if connection.config.auth.method != "oauth" or self.options.callback != "relay" or relay.page is not None:
            return
        if not relay.expected:
            relay.route(connection.name)  # AuthError: nothing will ever report the page here
        state = connection.auth
        state.url, state.waiting_page = None, True
        connection.auth_waiting()
        connection.record("auth", "waiting for the notebook page to report its address (the relay's redirect URI)")
        try:
            page = await relay.wait_page(self.options.auth_timeout)
        finally:
            state.waiting_page = False
        if page is None:
            relay.route(connection.name)  # AuthError with what to do
        connection.auth_resumed(False)

    def set_page(self, origin: Any, base_url: Any) -> Page | None:
        """What the notebook's bridge reports: the page's origin and the Jupyter server's base URL."""
        return self.relay.set_page(origin, base_url)

    async def relay_deliver(self, message: dict[str, Any]) -> dict[str, str]:
        """A redirect the relay page posted (through the bridge): route it; the acknowledgement for the page."""
        return self.relay.deliver(message)

    def storage_for(self, connection: AuthHost, redirect_uri: str | None = None) -> FileTokenStorage:
        """The server's token store, bound to its configured authorization server if it has one."""
        return FileTokenStorage(
            self.options.token_dir,
            connection.config.url or "",
            redirect_uri,
            on_warning=lambda message: connection.record("auth", message, "warning"),
            issuer=connection.config.auth.issuer,
        )

    def deliver_url(self, url: str) -> tuple[int, str, str]:
        """The paste box: hand a pasted redirect URL to whichever callback server waits for its state."""
        state = (parse_qs(urlparse(url.strip()).query).get("state") or [""])[0]
        for callback in [*self._callbacks.values(), *self.relay.routes]:
            if any(flow.state == state for flow in callback.waiting):
                return callback.deliver_url(url)
        return 400, "Unknown authorization", UNKNOWN_STATE

    def configure(self, **options: Any) -> AuthOptions:
        """Change settings (callback, callback_host/port/path, token_dir, open_browser, auth_timeout)."""
        for key, value in options.items():
            if not hasattr(self.options, key):
                raise ConfigError(f"unknown auth option {key!r}; options: {', '.join(AuthOptions.__dataclass_fields__)}")
            if key == "callback" and value not in ("auto", "loopback", "relay"):
                raise ConfigError(f"callback must be 'auto', 'loopback' or 'relay', not {str(value)[:40]!r}")
            setattr(self.options, key, value)
        return self.options

    async def complete(self, url: str) -> str:
        """The paste box (on the loop thread): finish the authorization waiting for this URL's state."""
        status, title, message = self.deliver_url(url)
        if status != 200 or title != "Authorization complete":
            raise AuthError(message if status == 200 else f"{title}: {message}")
        return message

    @property
    def listening(self) -> bool:
        """Whether a callback server is up (something waits for a redirect)."""
        return any(callback.running for callback in self._callbacks.values())

    async def stop(self) -> None:
        for callback in [*self._callbacks.values(), *self.relay.routes]:
            for flow in callback.waiting:
                await callback.release(flow)
            await callback.stop()

    # ------------------------------------------------------------------ providers

    def build(self, connection: AuthHost) -> Any:
        """The ``httpx2.Auth`` for an OAuth server's transport."""
        from mcpomni_jupyter.auth import grants

        method = connection.config.auth.method
        if method == "client_credentials":
            provider = grants.client_credentials(connection, self.storage_for(connection))
        elif method == "identity_assertion":
            provider = grants.identity_assertion(connection, self.storage_for(connection))
        elif method == "jwt_bearer":
            provider = grants.jwt_bearer(connection, self.storage_for(connection))
        else:
            provider = self._authorization_code(connection)
        # DPoP (dpopflow.DPoPAuth, a base of every provider): on where the authorization server offers it
        provider.dpop_allowed = connection.config.auth.dpop
        provider.dpop_log = lambda message: connection.record("auth", message)
        return provider

    def _authorization_code(self, connection: AuthHost) -> Any:
        """The authorization-code flow with PKCE: our adapted provider, with a person in the loop."""
        from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata

        from mcpomni_jupyter.auth.provider import AdaptedProvider

        auth = connection.config.auth
        callback = self.callback_for(connection)
        # a confidential client: HTTP Basic, the method every authorization server must support (RFC 6749 2.3.1)
        registration = {
            "redirect_uris": [callback.redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic" if auth.client_secret else "none",
        }
        # a notebook on loopback redirect URIs is a native application; through the relay (an https page of
        # the Jupyter server) it is a web one: said at registration (SEP-837)
        kind = "web" if isinstance(callback, RelayCallback) else "native"
        metadata = OAuthClientMetadata.model_validate(
            {"client_name": "mcpomni-jupyter", "application_type": kind, "scope": " ".join(auth.scopes) or None, **registration}
        )
        person = _Person(connection, callback, self.options)
        provider = AdaptedProvider(
            server_url=connection.config.url or "",
            client_metadata=metadata,
            storage=self.storage_for(connection, callback.redirect_uri),
            redirect_handler=person.redirect,
            callback_handler=person.wait,
            client_metadata_url=auth.client_metadata_url,
        )
        if auth.client_id:
            provider.preregistered = OAuthClientInformationFull.model_validate(
                {"client_id": auth.client_id, "client_secret": auth.client_secret, **registration}
            )
        person.provider = provider
        return provider


class _Person:
    """Where the person comes in, for one server: the SDK's redirect and callback handlers."""

    provider: Any = None  # the AdaptedProvider whose flow this is (for the authorization server it talks to)

    def __init__(self, connection: AuthHost, callback: FlowRouter, options: AuthOptions) -> None:
        self.connection, self.callback, self.options = connection, callback, options

    def _authorization_server(self) -> tuple[str | None, bool]:
        """The issuer the redirect must name (``iss``), and whether that server promised to name it."""
        metadata = self.provider.context.oauth_metadata if self.provider is not None else None
        if metadata is None:
            return None, False
        return str(metadata.issuer), bool(metadata.authorization_response_iss_parameter_supported)

    def _client(self) -> str:
        """How this client is known to the authorization server, for the log."""
        context = self.provider.context if self.provider is not None else None
        info = context.client_info if context is not None else None
        if info is None:
            return "no client"
        if context is not None and info.client_id == context.client_metadata_url:
            return "its client ID metadata document"
        if self.provider.preregistered is not None and info.client_id == self.provider.preregistered.client_id:
            return "the pre-registered client_id"
        return "a dynamically registered client"

    async def redirect(self, authorization_url: str) -> None:
        """Record the link, tell the connection a person is needed, open the browser."""
        connection, state = self.connection, self.connection.auth
        check_authorization_url(authorization_url, connection.name)  # before it is recorded, shown or opened
        relayed = not isinstance(self.callback, CallbackServer)
        if connection.is_connected and (relayed or not self.options.open_browser):
            # tokens died mid-session (or more scope is needed) and no browser will open by itself (through the
            # relay the browser is the notebook's, opened only by a click):
            # fail this request fast; reconnecting shows the Authorize button
            state.reauth_needed = True
            raise ReauthorizationNeeded(
                f"server {connection.name!r} needs authorization again (its token was refused and could not "
                f"be refreshed): click Authorize, or run %mcp auth {connection.name}"
            )
        # otherwise the browser opens and the waiting request goes on once the person has authorized
        state.in_session = connection.is_connected
        key = (parse_qs(urlparse(authorization_url).query).get("state") or [""])[0]
        issuer, iss_required = self._authorization_server()
        state.flow = await self.callback.expect(key, connection.name, authorization_url, issuer, iss_required)
        state.flow.note = lambda message: connection.record("auth", message, "warning")
        state.url = authorization_url
        state.redirect_uri, state.via = self.callback.redirect_uri, "relay" if relayed else "loopback"
        connection.auth_waiting()
        where = "the Jupyter server's relay" if relayed else "the loopback callback"
        connection.record(
            "auth", f"waiting for authorization at {issuer or 'the server'} as {self._client()} ({where}: {self.callback.redirect_uri})"
        )
        if self.options.open_browser and not relayed:  # through the relay, the browser is the notebook's: it opens there
            open_browser(authorization_url)

    async def wait(self) -> Any:
        """Wait for the redirect (callback server or paste box, whichever comes first), up to ``auth_timeout``."""
        connection, state, limit = self.connection, self.connection.auth, self.options.auth_timeout
        flow, in_session = state.flow, state.in_session
        if flow is None:  # the SDK calls the redirect handler first
            raise AuthError(f"server {connection.name!r}: no authorization is in progress; run %mcp auth {connection.name}")
        try:
            result = await asyncio.wait_for(asyncio.shield(flow.future), limit)
        except TimeoutError:
            raise AuthError(
                f"server {connection.name!r}: authorization was not completed within {limit / 60:g} min; "
                f"run %mcp auth {connection.name} to try again"
            ) from None
        except asyncio.CancelledError:
            if in_session:
                state.url = None
                connection.auth_resumed(in_session=True)
            raise
        finally:
            await self.callback.release(flow)
            state.flow = None
        state.url = None
        connection.auth_resumed(in_session)
        connection.record("auth", "authorization received; exchanging the code for tokens")
        return result
