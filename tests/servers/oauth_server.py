"""An MCP server that is also a real OAuth 2.1 authorization server, for the auth tests.

    python oauth_server.py PORT [--transport streamable-http|sse] [--ttl SECONDS] [--legacy] [--issuer URL]
                                [--rotate | --no-rotate]

The SDK's auth routes (metadata, dynamic registration, /authorize, /token)
backed by an in-memory provider that auto-approves (a consenting user), issues
refresh tokens and short-lived access tokens (``--ttl``), and records every
grant.  ``--legacy`` serves no protected-resource metadata (the 2025-03-26
shape: the authorization server at the MCP server's own origin).

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
import secrets
import time
from urllib.parse import urlencode

import uvicorn
from mcp.server import MCPServer
from mcp.server.auth.provider import AccessToken, AuthorizationCode, AuthorizationParams, RefreshToken, TokenError
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from starlette.requests import Request
from starlette.responses import JSONResponse


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

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        self.clients[client_info.client_id] = client_info
        self.grants.append({"grant": "register", "client_id": client_info.client_id})

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if self.deny_next:
            self.deny_next = False
            query = {"error": "access_denied", "error_description": "The user said no <b>thanks</b>", "state": params.state}
            return f"{params.redirect_uri}?{urlencode({k: v for k, v in query.items() if v})}"
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
        query = {"code": code, "state": params.state}
        return f"{params.redirect_uri}?{urlencode({k: v for k, v in query.items() if v})}"

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


def build(port: int, ttl: int, legacy: bool, path: str, issuer: str | None = None, rotate: bool = True) -> tuple[MCPServer, MemoryProvider]:
    base = f"http://127.0.0.1:{port}"
    provider = MemoryProvider(ttl, rotate)
    server = MCPServer(
        "oauth-test",
        auth_server_provider=provider,
        auth=AuthSettings(
            issuer_url=issuer or base,
            resource_server_url=None if legacy else f"{base}{path}",
            client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=["mcp"], default_scopes=["mcp"]),
            required_scopes=["mcp"],
            validate_token_resource=False,
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
    args = parser.parse_args()
    path = "/sse" if args.transport == "sse" else "/mcp"
    server, _ = build(args.port, args.ttl, args.legacy, path, args.issuer, args.rotate)
    app = server.sse_app(host="127.0.0.1") if args.transport == "sse" else server.streamable_http_app(host="127.0.0.1")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()
