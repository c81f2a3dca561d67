"""The RFC 7523 JWT-bearer grant over the SDK's OAuth flow: workload identity and enterprise-managed authorization.

``JwtBearerProvider`` is the SDK's ``OAuthClientProvider`` (with our
``StoreBound``) whose authorization step is one token request:
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` with the
assertion, client authentication as configured (HTTP Basic with a secret;
``client_id`` in the form too, as the SDK's grants send it; nothing
without a client ID), the
scope the SDK selected and the ``resource`` parameter (RFC 8707) exactly as
the SDK's other grants send them.  Everything else is the SDK's flow:
discovery (protected-resource metadata, then authorization-server metadata),
the token store, the 401 that starts a new grant.  The token request is
built here and yielded by the SDK's ``_auth_flow`` like every other grant's,
so whatever is added to the token requests there (a DPoP proof) applies.

The assertion comes from a callable given ``(audience, resource)``: the
authorization server's issuer and the MCP server's resource identifier.  It
is called for every grant, so a file is read again and an ID token is
exchanged again.  An access token without a refresh token is replaced by a
new grant when it expires, before the request, where the authorization
server is already known in this process (else the 401 starts one).

``fixed_issuer`` (enterprise-managed authorization): the authorization
server is configuration, never taken from the MCP server; otherwise
``issuer``, when set, pins it (as for ``client_credentials``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx2
from mcp.client.auth import OAuthFlowError
from mcp.client.auth.extensions.client_credentials import _preferred_authorization_server, _require_metadata_for_configured_issuer
from mcp.shared.auth import JWT_BEARER_GRANT_TYPE, OAuthClientInformationFull, OAuthClientMetadata
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER

from mcpomni_jupyter.auth.provider import StoreBound
from mcpomni_jupyter.auth.tokens import FileTokenStorage

Assertions = Callable[[str, str], Awaitable[str]]  # (audience, resource) -> the assertion


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port or {"https": 443, "http": 80}.get(parts.scheme)


class JwtBearerProvider(StoreBound):
    """The SDK's OAuth flow whose grant is RFC 7523 jwt-bearer with an assertion from ``assertions``."""

    fixed_issuer = False  # True: the authorization server is ``issuer``, whatever the MCP server names

    def __init__(
        self,
        server_url: str,
        storage: FileTokenStorage,
        assertions: Assertions,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | None = None,
        issuer: str | None = None,
    ) -> None:
        method: Literal["client_secret_basic", "none"] = "client_secret_basic" if client_secret else "none"
        metadata = OAuthClientMetadata(
            redirect_uris=None, grant_types=[JWT_BEARER_GRANT_TYPE], token_endpoint_auth_method=method, scope=scope
        )
        super().__init__(server_url, metadata, storage, None, None)
        self._issuer, self._assertions, self._client_id = issuer, assertions, client_id
        # configuration, not a registration: the SDK never registers while client_info is set
        client: dict[str, Any] = {"redirect_uris": None, "client_secret": client_secret, "grant_types": [JWT_BEARER_GRANT_TYPE]}
        client |= {"token_endpoint_auth_method": method, "scope": scope, "client_id": client_id or ""}
        # no client ID: the grant names none (a validated record must have one)
        validated = OAuthClientInformationFull.model_validate
        self._fixed_client_info = validated(client) if client_id else OAuthClientInformationFull.model_construct(**client)

    async def _initialize(self) -> None:
        await super()._initialize()
        self.context.client_info = self._fixed_client_info
        if self.fixed_issuer:
            self.context.auth_server_url = self._issuer  # also where there is no protected-resource metadata

    def _select_authorization_server(self, advertised: list[str]) -> str:
        if self.fixed_issuer and self._issuer:
            return self._issuer
        return _preferred_authorization_server(advertised, self._issuer)

    async def _perform_authorization(self) -> httpx2.Request:
        """The jwt-bearer token request (the SDK calls this after discovery, and we before a request once expired)."""
        _require_metadata_for_configured_issuer(self.context, self._issuer)
        endpoint = self._get_token_endpoint()
        if self._issuer and _origin(endpoint) != _origin(self._issuer):
            raise OAuthFlowError(f"Token endpoint {endpoint} is not on the configured issuer origin {self._issuer}")
        metadata = self.context.oauth_metadata
        audience = self._issuer or (str(metadata.issuer) if metadata else self._expected_issuer())
        resource = self.context.get_resource_url()
        form = {"grant_type": JWT_BEARER_GRANT_TYPE, "assertion": await self._assertions(audience, resource)}
        if self.context.client_metadata.scope:
            form["scope"] = self.context.client_metadata.scope
        if self.fixed_issuer or self.context.should_include_resource_param(self.context.protocol_version):
            form["resource"] = resource  # RFC 8707 (an ID-JAG names it too: always)
        form, headers = self.context.prepare_token_auth(form, {"Content-Type": "application/x-www-form-urlencoded"})
        if self._client_id:
            form.setdefault("client_id", self._client_id)  # a public client names itself; a confidential one too (as the SDK's do)
        return httpx2.Request("POST", endpoint, data=form, headers=headers)

    def _grant_ahead(self) -> bool:
        """Whether the token has expired, cannot be refreshed, and the authorization server is known here."""
        context = self.context
        known = context.protected_resource_metadata is not None or (self.fixed_issuer and context.oauth_metadata is not None)
        return known and not context.is_token_valid() and not context.can_refresh_token()

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """An expired token is replaced by a new grant before the request (not after a 401 and a new discovery)."""
        async with self.context.lock:
            if not self._initialized:
                await self._initialize()
            if self._grant_ahead():
                self.context.protocol_version = request.headers.get(MCP_PROTOCOL_VERSION_HEADER)
                response = yield await self._perform_authorization()
                await self._handle_token_response(response)
        flow = super()._auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()
