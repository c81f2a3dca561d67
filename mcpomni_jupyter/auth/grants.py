"""The grants without a person: client credentials (a secret or ``private_key_jwt``), identity assertions, workload identity.

Each is the MCP SDK's provider for it, over our token store:

- ``client_credentials`` with ``auth.client_secret``:
  ``ClientCredentialsOAuthProvider`` (HTTP Basic, the method every
  authorization server supports); with ``auth.private_key`` or
  ``auth.private_key_file``: ``PrivateKeyJWTOAuthProvider``, signing with our
  assertion source (``assertions``).  Both discover the authorization server
  through the MCP server; ``auth.issuer`` pins it (the credentials then go
  nowhere else), and without it the connection's log says so once.
- ``identity_assertion`` (enterprise-managed authorization, SEP-990):
  ``jwtbearer.JwtBearerProvider`` with a fixed issuer presents an ID-JAG to
  ``auth.issuer``'s token endpoint (RFC 7523 jwt-bearer grant, the client
  authenticated by HTTP Basic) for an access token; the ID-JAG comes from
  ``assertions`` (a value, a file, or an ID token exchanged at the identity
  provider, RFC 8693), fetched again for every grant.
- ``jwt_bearer`` (workload identity, SEP-1933): the same provider with the
  platform's JWT (``auth.assertion`` or ``auth.assertion_file``, re-read
  for every grant), at the authorization server discovery finds
  (``auth.issuer`` pins it), with HTTP Basic where there is a secret.

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
from mcp.shared._httpx_utils import RedirectAwareAuth
from mcp.shared.exceptions import MCPDeprecationWarning

from mcpomni_jupyter.auth.assertions import identity_assertions, jwt_assertions, signing_key, workload_assertions
from mcpomni_jupyter.auth.jwtbearer import JwtBearerProvider
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


class AssertionClient(Refusals, JwtBearerProvider):
    """Enterprise-managed authorization: the jwt-bearer grant with an ID-JAG, at the configured issuer only."""

    fixed_issuer = True
    what = "identity assertion"
    check = "get a fresh identity assertion from your identity provider (it may have expired), then reconnect"


class WorkloadClient(Refusals, JwtBearerProvider):
    """Workload identity: the jwt-bearer grant with the platform's JWT."""

    what = "workload identity assertion (jwt_bearer)"


def _unpinned(connection: AuthHost, what: str = "the client credentials") -> None:
    connection.record(
        "auth",
        f"auth.issuer is not set: {what} go to whichever authorization server the MCP server names; set auth.issuer to pin it",
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


def _bearer_client(kind: type[AssertionClient | WorkloadClient], connection: AuthHost, storage: FileTokenStorage, assertions: Any) -> Any:
    """The jwt-bearer grant's provider (``kind``) for this connection, presenting what ``assertions`` gives."""
    auth = connection.config.auth
    provider = kind(
        server_url=connection.config.url or "",
        storage=storage,
        assertions=assertions,
        client_id=auth.client_id,
        client_secret=auth.client_secret,
        scope=" ".join(auth.scopes) or None,
        issuer=auth.issuer,
    )
    provider.server_name = connection.name
    return provider


def identity_assertion(connection: AuthHost, storage: FileTokenStorage) -> Any:
    """Enterprise-managed authorization: an ID-JAG exchanged at ``auth.issuer`` for an access token."""
    return _bearer_client(AssertionClient, connection, storage, identity_assertions(connection.config.auth, connection.name))


def jwt_bearer(connection: AuthHost, storage: FileTokenStorage) -> Any:
    """Workload identity: the platform's JWT exchanged (RFC 7523) at the MCP server's authorization server."""
    auth = connection.config.auth
    if auth.issuer is None:
        _unpinned(connection, "the workload's assertions")
    provider = _bearer_client(WorkloadClient, connection, storage, workload_assertions(auth, connection.name))
    provider.check = (
        f"make sure the tool that writes auth.assertion_file {auth.assertion_file!r} is running and the token is current "
        "(it may have expired), then reconnect"
        if auth.assertion_file
        else "set a fresh token in auth.assertion (it may have expired) and check that the authorization server trusts "
        "its issuer, then reconnect"
    )
    return provider
