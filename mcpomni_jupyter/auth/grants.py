"""The grants without a person: client credentials (a secret or ``private_key_jwt``) and identity assertions.

Each is the MCP SDK's provider for it, over our token store:

- ``client_credentials`` with ``auth.client_secret``:
  ``ClientCredentialsOAuthProvider`` (HTTP Basic, the method every
  authorization server supports); with ``auth.private_key`` or
  ``auth.private_key_file``: ``PrivateKeyJWTOAuthProvider``, signing with our
  assertion source (``assertions``).  Both discover the authorization server
  through the MCP server; ``auth.issuer`` pins it (the credentials then go
  nowhere else), and without it the connection's log says so once.
- ``identity_assertion`` (enterprise-managed authorization, SEP-990):
  ``IdentityAssertionOAuthProvider`` presents an ID-JAG to ``auth.issuer``'s
  token endpoint (RFC 7523 jwt-bearer grant, the client authenticated by
  HTTP Basic) for an access token; the ID-JAG comes from ``assertions``.

Imported only when such a server connects (the SDK loads with it).  The
connection is an ``AuthHost``: this layer never imports the core.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import AsyncGenerator
from typing import Any

import httpx2
from mcp.client.auth import OAuthTokenError
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider, PrivateKeyJWTOAuthProvider
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.shared._httpx_utils import RedirectAwareAuth
from mcp.shared.exceptions import MCPDeprecationWarning

from mcpomni_jupyter.auth.assertions import identity_assertions, jwt_assertions, signing_key
from mcpomni_jupyter.auth.dpopflow import DPoPAuth
from mcpomni_jupyter.auth.provider import StoreBound
from mcpomni_jupyter.auth.state import AuthHost
from mcpomni_jupyter.auth.tokens import FileTokenStorage
from mcpomni_jupyter.errors import AuthError
from mcpomni_jupyter.redact import redact

_TOKEN_ERROR = re.compile(r"\((\d{3})\)[^:]*: (.*)$", re.S)


def refusal(exc: OAuthTokenError, server: str, what: str, check: str) -> AuthError:
    """The SDK's "Token exchange failed (400): {body}" as one line saying what to check."""
    match = _TOKEN_ERROR.search(str(exc))
    reason = f"HTTP {match.group(1)}" if match else "no reason given"
    try:
        body = json.loads(match.group(2)) if match else None
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        detail = str(body.get("error_description") or "")[:200]
        reason = f"{str(body['error'])[:60]}{': ' + detail if detail else ''}"
    return AuthError(f"server {server!r}: the authorization server refused the {what} ({redact(reason)}); {check}")


class Refusals(RedirectAwareAuth):
    """A refusal at the token endpoint as one line saying what to check, not the SDK's raw response."""

    server_name = ""
    what = "credentials"
    check = "check them, then reconnect"

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        flow = super()._auth_flow(request)  # type: ignore[safe-super]
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        except OAuthTokenError as exc:
            raise refusal(exc, self.server_name, self.what, self.check) from None
        finally:
            await flow.aclose()


class SecretClient(Refusals, StoreBound, ClientCredentialsOAuthProvider):
    """The SDK's client-secret provider over the token store bound to its authorization server."""

    what = "client credentials"
    check = "check auth.client_id and auth.client_secret, then reconnect"


class KeyClient(Refusals, StoreBound, PrivateKeyJWTOAuthProvider):
    """The SDK's ``private_key_jwt`` provider over the token store bound to its authorization server."""

    what = "client assertion (private_key_jwt)"
    check = "check auth.client_id, and that the authorization server holds the public key of auth.private_key, then reconnect"


class AssertionClient(Refusals, DPoPAuth, IdentityAssertionOAuthProvider):
    """The SDK's identity-assertion provider."""

    what = "identity assertion"
    check = "get a fresh identity assertion from your identity provider (it may have expired), then reconnect"


def _unpinned(connection: AuthHost) -> None:
    connection.record(
        "auth",
        "auth.issuer is not set: the client credentials go to whichever authorization server the MCP server names; "
        "set auth.issuer to pin it",
        "warning",
    )


def client_credentials(connection: AuthHost, storage: FileTokenStorage) -> Any:
    """Machine to machine: a client secret (HTTP Basic) or a private key (``private_key_jwt``)."""
    auth, url = connection.config.auth, connection.config.url or ""
    scope = " ".join(auth.scopes) or None
    if auth.issuer is None:
        _unpinned(connection)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)  # said in the log instead (_unpinned), not in the notebook
        if auth.client_secret:
            secret = SecretClient(
                server_url=url,
                storage=storage,
                client_id=auth.client_id,
                client_secret=auth.client_secret,
                token_endpoint_auth_method="client_secret_basic",
                scope=scope,
                issuer=auth.issuer,
            )
            secret.server_name = connection.name
            return secret
        key, algorithm = signing_key(auth, connection.name)
        signed = KeyClient(
            server_url=url,
            storage=storage,
            client_id=auth.client_id,
            assertion_provider=jwt_assertions(auth.client_id, key, algorithm, auth.key_id),
            scope=scope,
            issuer=auth.issuer,
        )
        signed.server_name = connection.name
        return signed


def identity_assertion(connection: AuthHost, storage: FileTokenStorage) -> Any:
    """Enterprise-managed authorization: an ID-JAG exchanged at ``auth.issuer`` for an access token."""
    auth = connection.config.auth
    provider = AssertionClient(
        server_url=connection.config.url or "",
        storage=storage,
        client_id=auth.client_id,
        client_secret=auth.client_secret,
        issuer=auth.issuer,
        assertion_provider=identity_assertions(auth, connection.name),
        scope=" ".join(auth.scopes) or None,
        token_endpoint_auth_method="client_secret_basic",
    )
    provider.server_name = connection.name
    return provider
