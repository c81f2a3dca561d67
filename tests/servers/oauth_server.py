"""An MCP server that is also a real OAuth 2.1 authorization server, for the auth tests.

    python oauth_server.py PORT [--transport streamable-http|sse] [--ttl SECONDS] [--legacy] [--issuer URL]
                                [--rotate | --no-rotate] [--iss correct|wrong|missing] [--metadata-issuer URL]
                                [--cimd REDIRECT_URI] [--client ID:SECRET] [--client-key PEM] [--idp-key PEM]
                                [--workload ISSUER SUBJECT PEM]
                                [--dpop] [--dpop-nonce]

The SDK's auth routes (metadata, dynamic registration, /authorize, /token)
backed by an in-memory provider that auto-approves (a consenting user), issues
refresh tokens and short-lived access tokens (``--ttl``), and records every
grant.  ``--legacy`` serves no protected-resource metadata (the 2025-03-26
shape: the authorization server at the MCP server's own origin).

The MCP revision 2026-07-28 and the extensions (test-only switches):

- ``--iss correct|wrong|missing``: advertise
  ``authorization_response_iss_parameter_supported`` (RFC 9207) and send, in
  every authorization redirect, our issuer / another one
  (``https://evil.example``, a mix-up) / none.
- ``--metadata-issuer URL``: the metadata names another issuer than the one
  it is served for (RFC 8414 3.3 says a client must refuse it).
- ``--cimd REDIRECT_URI``: advertise client ID metadata documents as well as
  dynamic registration; an https client_id stands for a document listing
  REDIRECT_URI (recorded as a ``cimd`` grant; nothing is fetched).
- ``--client ID:SECRET``: a client provisioned out of band, for the grants
  without a person: ``--client-key PEM`` (a public key) lets it use
  ``client_credentials`` authenticated by ``private_key_jwt`` (RFC 7523
  2.2; its assertion must have iss = sub = ID and aud = our issuer; the
  grant records the assertion's ``alg`` and ``kid``); ``--idp-key PEM`` (the
  enterprise identity provider's public key) turns on the ID-JAG grant
  (RFC 7523 jwt-bearer, SEP-990: ``typ`` oauth-id-jag+jwt, aud = our issuer,
  its ``client_id`` the authenticated client).
- ``--workload ISSUER SUBJECT PEM``: workload identity (SEP-1933): the
  RFC 7523 jwt-bearer grant with the platform's JWT (no client
  authentication needed), signed by the key whose public half is PEM, with
  iss = ISSUER, sub = SUBJECT, aud = our issuer, an unexpired exp; recorded
  as a ``jwt_bearer`` grant (with its ``jti``) or ``jwt_bearer_refused``.

``--dpop`` advertises ``dpop_signing_alg_values_supported`` and checks DPoP
proofs at the token endpoint and the binding at the MCP server
(``dpop_guard``); ``--dpop-nonce`` demands server nonces there too.

``--rotate`` (the default, as before) rotates refresh tokens: every refresh
returns a new refresh token and invalidates the old one, so a reused old one
gets ``invalid_grant`` (recorded as a ``refresh_refused`` grant);
``--no-rotate`` keeps a refresh token valid and returns it again.

Test-only control routes:
    GET /test/grants          -> the recorded grants, as JSON
    POST /test/deny           -> the next authorization is denied (error=access_denied)
    POST /test/reject-refresh -> every refresh token issued so far stops working
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import jwt
import uvicorn
from dpop_guard import DPoPGuard, replay
from mcp.server import MCPServer
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    IdentityAssertionParams,
    RefreshToken,
    TokenError,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.shared.auth import JWT_BEARER_GRANT_TYPE, OAuthClientInformationFull, OAuthToken
from starlette.requests import Request
from starlette.responses import JSONResponse

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512", "EdDSA"]
CLIENT_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
WRONG_ISSUER = "https://evil.example"


class MemoryProvider:
    def __init__(self, ttl: int, rotate: bool = True) -> None:
        self.ttl = ttl
        self.rotate = rotate
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.grants: list[dict] = []
        self.deny_next = False
        self.issuer = ""  # what our metadata names
        self.iss_mode: str | None = None  # --iss
        self.cimd_redirect: str | None = None  # --cimd
        self.idp_key: str | None = None  # --idp-key: the PEM ID-JAGs are verified with

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if self.cimd_redirect and client_id.startswith("https://") and client_id not in self.clients:
            # stands for the client ID metadata document at that URL, as if fetched
            self.grants.append({"grant": "cimd", "client_id": client_id})
            self.clients[client_id] = OAuthClientInformationFull(
                client_id=client_id, redirect_uris=[self.cimd_redirect], token_endpoint_auth_method="none", scope="mcp"
            )
        return self.clients.get(client_id)

    def _redirect(self, redirect_uri: str, query: dict) -> str:
        """The redirect back to the client, with the RFC 9207 ``iss`` as --iss says."""
        iss = {"correct": self.issuer, "wrong": WRONG_ISSUER}.get(self.iss_mode or "")
        return f"{redirect_uri}?{urlencode({k: v for k, v in {**query, 'iss': iss}.items() if v})}"

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        self.clients[client_info.client_id] = client_info
        self.grants.append({"grant": "register", "client_id": client_info.client_id, "application_type": client_info.application_type})

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if self.deny_next:
            self.deny_next = False
            query = {"error": "access_denied", "error_description": "The user said no <b>thanks</b>", "state": params.state}
            return self._redirect(str(params.redirect_uri), query)
        code = secrets.token_urlsafe(24)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or ["mcp"],
            expires_at=time.time() + 300,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
        )
        self.grants.append({"grant": "authorize", "client_id": client.client_id, "resource": params.resource})
        return self._redirect(str(params.redirect_uri), {"code": code, "state": params.state})

    async def load_authorization_code(self, client: OAuthClientInformationFull, authorization_code: str):
        return self.codes.get(authorization_code)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None, refresh: str | None = None) -> OAuthToken:
        access = f"at-{secrets.token_urlsafe(24)}"
        refresh = refresh or f"rt-{secrets.token_urlsafe(24)}"
        self.access[access] = AccessToken(
            token=access, client_id=client_id, scopes=scopes, expires_at=int(time.time() + self.ttl), resource=resource
        )
        self.refresh[refresh] = RefreshToken(token=refresh, client_id=client_id, scopes=scopes, resource=resource)
        return OAuthToken(access_token=access, token_type="Bearer", expires_in=self.ttl, refresh_token=refresh, scope=" ".join(scopes))

    async def exchange_authorization_code(self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode) -> OAuthToken:
        self.codes.pop(authorization_code.code, None)
        self.grants.append({"grant": "authorization_code", "client_id": client.client_id})
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str):
        token = self.refresh.get(refresh_token)
        if token is None or token.client_id != client.client_id:
            self.grants.append({"grant": "refresh_refused", "client_id": client.client_id})  # -> invalid_grant
            return None
        return token

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        if refresh_token.token not in self.refresh:
            self.grants.append({"grant": "refresh_refused", "client_id": client.client_id})
            raise TokenError("invalid_grant", "refresh token revoked")
        if self.rotate:
            del self.refresh[refresh_token.token]
        self.grants.append({"grant": "refresh_token", "client_id": client.client_id})
        keep = None if self.rotate else refresh_token.token
        return self._issue(client.client_id, scopes or refresh_token.scopes, refresh_token.resource, keep)

    async def load_access_token(self, token: str) -> AccessToken | None:
        access = self.access.get(token)
        if access is None or (access.expires_at is not None and access.expires_at < time.time()):
            return None
        return access

    async def revoke_token(self, token) -> None:
        self.access.pop(token.token, None)
        self.refresh.pop(token.token, None)

    async def exchange_identity_assertion(self, client: OAuthClientInformationFull, params: IdentityAssertionParams) -> OAuthToken:
        """SEP-990 leg 2: an ID-JAG from the enterprise identity provider for an access token (no refresh token)."""
        try:
            if jwt.get_unverified_header(params.assertion).get("typ") != "oauth-id-jag+jwt":
                raise TokenError("invalid_grant", "not an ID-JAG (typ)")
            claims = jwt.decode(params.assertion, self.idp_key, algorithms=ALGORITHMS, audience=[self.issuer, self.issuer + "/"])
        except jwt.PyJWTError as exc:
            self.grants.append({"grant": "id_jag_refused", "client_id": client.client_id, "why": str(exc)})
            raise TokenError("invalid_grant", f"ID-JAG refused: {exc}") from None
        if claims.get("client_id") != client.client_id:
            raise TokenError("invalid_grant", "the ID-JAG names another client")
        self.grants.append({"grant": "id_jag", "client_id": client.client_id, "sub": claims.get("sub"), "resource": params.resource})
        return self._issue(client.client_id, params.scopes or ["mcp"], params.resource).model_copy(update={"refresh_token": None})


class TestOnlyRoutes:
    """ASGI middleware: the switches' additions to the metadata; client_credentials with private_key_jwt and the
    workload's jwt-bearer grant at /token."""

    def __init__(self, app, provider: MemoryProvider, extra: dict, client_key: str | None, workload: list[str] | None = None) -> None:
        self.app, self.provider, self.extra, self.client_key, self.workload = app, provider, extra, client_key, workload

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/.well-known/oauth-authorization-server" and self.extra:
            return await self._metadata(scope, receive, send)
        if scope["type"] == "http" and scope["path"] == "/token" and scope["method"] == "POST" and (self.client_key or self.workload):
            body = await Request(scope, receive).body()
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if form.get("grant_type") == "client_credentials" and self.client_key:
                return await self._client_credentials(form)(scope, receive, send)
            if form.get("grant_type") == JWT_BEARER_GRANT_TYPE and self.workload and not self.provider.idp_key:
                return await self._workload(form)(scope, receive, send)
            return await self.app(scope, replay(body), send)
        return await self.app(scope, receive, send)

    async def _metadata(self, scope, receive, send):
        messages: list[dict] = []

        async def keep(message):
            messages.append(message)

        await self.app(scope, receive, keep)
        body = json.dumps({**json.loads(b"".join(m.get("body", b"") for m in messages[1:])), **self.extra}).encode()
        headers = [(k, v) for k, v in messages[0]["headers"] if k.lower() != b"content-length"]
        await send({**messages[0], "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _client_credentials(self, form: dict) -> JSONResponse:
        """RFC 6749 4.4 with RFC 7523 2.2 client authentication."""
        provider, assertion = self.provider, form.get("client_assertion", "")
        try:
            if form.get("client_assertion_type") != CLIENT_ASSERTION:
                raise jwt.InvalidTokenError("client_assertion_type is not jwt-bearer")
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, self.client_key, algorithms=ALGORITHMS, audience=[provider.issuer, provider.issuer + "/"])
            if claims.get("iss") != claims.get("sub") or claims.get("iss") not in provider.clients:
                raise jwt.InvalidTokenError("iss and sub must both be the client_id")
        except jwt.PyJWTError as exc:
            provider.grants.append({"grant": "client_credentials_refused", "why": str(exc)})
            return JSONResponse({"error": "invalid_client", "error_description": str(exc)}, status_code=401)
        provider.grants.append(
            {"grant": "client_credentials", "client_id": claims["sub"], "alg": header.get("alg"), "kid": header.get("kid")}
        )
        return self._token(claims["sub"], form)

    def _workload(self, form: dict) -> JSONResponse:
        """RFC 7523 2.1: the workload's JWT (--workload) for an access token."""
        provider, (issuer, subject, key) = self.provider, self.workload or ["", "", ""]
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                key,
                algorithms=ALGORITHMS,
                audience=[provider.issuer, provider.issuer + "/"],
                issuer=issuer,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
            if claims["sub"] != subject:
                raise jwt.InvalidTokenError(f"sub {str(claims['sub'])[:40]!r} is not the workload")
        except jwt.PyJWTError as exc:
            provider.grants.append({"grant": "jwt_bearer_refused", "why": str(exc)})
            return JSONResponse({"error": "invalid_grant", "error_description": f"assertion refused: {exc}"}, status_code=400)
        client_id = form.get("client_id") or claims["sub"]
        provider.grants.append({"grant": "jwt_bearer", "sub": claims["sub"], "jti": claims.get("jti"), "resource": form.get("resource")})
        return self._token(client_id, form)

    def _token(self, client_id: str, form: dict) -> JSONResponse:
        scopes = (form.get("scope") or "mcp").split()
        token = self.provider._issue(client_id, scopes, form.get("resource")).model_copy(update={"refresh_token": None})
        return JSONResponse(token.model_dump(mode="json", exclude_none=True), headers={"Cache-Control": "no-store"})


def build(
    port: int, ttl: int, legacy: bool, path: str, issuer: str | None = None, rotate: bool = True, idp_key: str | None = None
) -> tuple[MCPServer, MemoryProvider]:
    base = f"http://127.0.0.1:{port}"
    provider = MemoryProvider(ttl, rotate)
    provider.issuer, provider.idp_key = (issuer or base).rstrip("/"), idp_key
    server = MCPServer(
        "oauth-test",
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=issuer or base,
            resource_server_url=None if legacy else f"{base}{path}",
            client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=["mcp"], default_scopes=["mcp"]),
            required_scopes=["mcp"],
            validate_token_resource=False,
            identity_assertion_enabled=idp_key is not None,
        ),
    )

    @server.tool()
    def whoami() -> str:
        """Say hello to the authorized caller."""
        return "hello, authorized user"

    @server.custom_route("/test/grants", methods=["GET"])
    async def grants(request: Request) -> JSONResponse:
        return JSONResponse(provider.grants)

    @server.custom_route("/test/deny", methods=["POST"])
    async def deny(request: Request) -> JSONResponse:
        provider.deny_next = True
        return JSONResponse({"deny_next": True})

    @server.custom_route("/test/reject-refresh", methods=["POST"])
    async def reject_refresh(request: Request) -> JSONResponse:
        provider.refresh.clear()
        provider.access.clear()
        return JSONResponse({"rejected": True})

    return server, provider


def provision(provider: MemoryProvider, client: str) -> None:
    """--client ID:SECRET: a confidential client provisioned out of band for the grants without a person."""
    client_id, _, secret = client.partition(":")
    provider.clients[client_id] = OAuthClientInformationFull(
        client_id=client_id,
        client_secret=secret or None,
        redirect_uris=None,
        grant_types=[JWT_BEARER_GRANT_TYPE, "client_credentials"],
        token_endpoint_auth_method="client_secret_basic" if secret else "private_key_jwt",
    )


def metadata_extra(args: argparse.Namespace) -> dict:
    extra: dict = {}
    if args.iss:
        extra["authorization_response_iss_parameter_supported"] = True
    if args.metadata_issuer:
        extra["issuer"] = args.metadata_issuer
    if args.cimd:
        extra["client_id_metadata_document_supported"] = True
    if args.client_key or args.workload:
        extra["grant_types_supported"] = ["authorization_code", "refresh_token", "client_credentials", JWT_BEARER_GRANT_TYPE]
        extra["token_endpoint_auth_methods_supported"] = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    if args.dpop or args.dpop_nonce:
        extra["dpop_signing_alg_values_supported"] = ["ES256", "RS256"]
    return extra


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--transport", default="streamable-http", choices=["streamable-http", "sse"])
    parser.add_argument("--ttl", type=int, default=3600)
    parser.add_argument("--legacy", action="store_true")
    parser.add_argument("--issuer", help="advertise this authorization server instead of our own (e.g. an unreachable one)")
    parser.add_argument(
        "--rotate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="every refresh returns a new refresh token and invalidates the old one (default: on)",
    )
    parser.add_argument("--iss", choices=["correct", "wrong", "missing"], help="RFC 9207: advertise iss and send it so")
    parser.add_argument("--metadata-issuer", help="the issuer our metadata names (another one: a mismatch)")
    parser.add_argument("--cimd", metavar="REDIRECT_URI", help="advertise client ID metadata documents too")
    parser.add_argument("--client", metavar="ID:SECRET", help="a client provisioned out of band")
    parser.add_argument("--client-key", metavar="PEM", help="the public key of --client's private_key_jwt assertions")
    parser.add_argument("--idp-key", metavar="PEM", help="the enterprise identity provider's public key: accept ID-JAGs")
    parser.add_argument("--workload", nargs=3, metavar=("ISSUER", "SUBJECT", "PEM"), help="accept this workload's JWTs (jwt-bearer)")
    parser.add_argument("--dpop", action="store_true", help="offer DPoP; check proofs and bound tokens (dpop_guard)")
    parser.add_argument("--dpop-nonce", action="store_true", help="--dpop, demanding server nonces")
    args = parser.parse_args()
    path = "/sse" if args.transport == "sse" else "/mcp"
    idp_key = Path(args.idp_key).read_text() if args.idp_key else None
    server, provider = build(args.port, args.ttl, args.legacy, path, args.issuer, args.rotate, idp_key)
    provider.iss_mode, provider.cimd_redirect = args.iss, args.cimd
    if args.client:
        provision(provider, args.client)
    app = server.sse_app(host="127.0.0.1") if args.transport == "sse" else server.streamable_http_app(host="127.0.0.1")
    client_key = Path(args.client_key).read_text() if args.client_key else None
    workload = [*args.workload[:2], Path(args.workload[2]).read_text()] if args.workload else None
    app = TestOnlyRoutes(app, provider, metadata_extra(args), client_key, workload)
    if args.dpop or args.dpop_nonce:
        app = DPoPGuard(app, provider, nonce=args.dpop_nonce)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()
