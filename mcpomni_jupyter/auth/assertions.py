"""Where the credentials of the machine-to-machine and enterprise grants come from.

- ``private_key_jwt`` (RFC 7523 client authentication): the private key is a
  PEM from the config (``auth.private_key``, written as ``${VAR}``) or a file
  (``auth.private_key_file``), read and checked when the server connects.  The
  algorithm is ``auth.signing_algorithm`` or the key's own (RS256 for RSA,
  ES256/384/512 for the P curves, EdDSA for Ed25519/Ed448).  Each assertion is
  a fresh JWT: ``iss`` = ``sub`` = the client ID, ``aud`` = the authorization
  server's issuer (as the SDK passes it), five minutes, a new ``jti``, and
  ``auth.key_id`` as its ``kid`` header.
- Identity assertions (ID-JAG, for ``identity_assertion``): a value from the
  config, a file read again at each exchange (so a tool outside the notebook
  can keep it fresh), or an ID token exchanged at the identity provider's
  token endpoint (RFC 8693 token exchange, ``requested_token_type`` ID-JAG,
  ``audience`` the MCP authorization server, ``resource`` the MCP server).
- Workload identity (``jwt_bearer``): the platform's JWT, from the config
  (``auth.assertion``) or a file read again at each token request
  (``auth.assertion_file``: a Kubernetes projected service-account token, or
  whatever a tool outside the notebook keeps fresh).  It must look like a JWT
  (three base64url parts); the authorization server checks the rest.

Keys, file contents, assertions and ID tokens are registered with
``redact.add_secret``.  Every failure is one line saying what to fix.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mcpomni_jupyter.errors import AuthError, ConfigError
from mcpomni_jupyter.httpclient import async_client
from mcpomni_jupyter.redact import add_secret, redact

MAX_CREDENTIAL_BYTES = 64 * 1024  # a PEM key or a JWT is a few kB
ASSERTION_LIFETIME = 300  # seconds
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"


def register(value: str) -> str:
    """``value`` as a secret, and each line of it (a PEM's body lines could show up alone)."""
    add_secret(value)
    for line in value.splitlines():
        if len(line.strip()) >= 16 and not line.startswith("-----"):
            add_secret(line.strip())
    return value


def read_credential(path: str, key: str, server: str) -> str:
    """The text of the file ``auth.<key>`` names, registered as a secret; ConfigError saying what is wrong."""
    where = f"server {server!r}: auth.{key} {path!r}"
    try:
        with open(Path(path).expanduser(), "rb") as fh:
            raw = fh.read(MAX_CREDENTIAL_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read ({exc.strerror or type(exc).__name__}); check the path") from None
    if len(raw) > MAX_CREDENTIAL_BYTES:
        raise ConfigError(f"{where} is larger than {MAX_CREDENTIAL_BYTES // 1024} KiB; point it at the credential itself")
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not UTF-8 text; point it at a PEM or JWT text file") from None
    if not text:
        raise ConfigError(f"{where} is empty; write the credential into it")
    return register(text)


# --------------------------------------------------------------------------- private_key_jwt


def _default_algorithm(key: Any) -> str | None:
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}.get(key.curve.name)
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return "EdDSA"
    return None


def _fits(algorithm: str, default: str | None) -> bool:
    """Whether ``algorithm`` can sign with a key whose own algorithm is ``default``."""
    if default is None:
        return False
    if default == "RS256":
        return algorithm[:2] in ("RS", "PS")
    return algorithm == default


def signing_key(auth: Any, server: str) -> tuple[Any, str]:
    """The configured private key, loaded, and the algorithm to sign with; ConfigError if they do not fit."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    pem = auth.private_key or read_credential(auth.private_key_file, "private_key_file", server)
    where = f"server {server!r}: auth.{'private_key' if auth.private_key else 'private_key_file'}"
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except TypeError:
        raise ConfigError(f"{where} is encrypted; give the key unencrypted (keep it in ${{VAR}} or a 0600 file)") from None
    except ValueError as exc:
        reason = str(exc).splitlines()[0][:80] if str(exc) else "unreadable"
        raise ConfigError(f"{where} is not a PEM private key ({reason}); give -----BEGIN PRIVATE KEY----- text") from None
    default = _default_algorithm(key)
    algorithm = auth.signing_algorithm or default
    if algorithm is None or not _fits(algorithm, default):
        fit = f"use {default}" if default else "use an RSA, P-256/384/521 or Ed25519 key"
        raise ConfigError(f"server {server!r}: auth.signing_algorithm {algorithm or '(none)'} does not fit this key; {fit}")
    return key, algorithm


def jwt_assertions(client_id: str, key: Any, algorithm: str, key_id: str | None) -> Callable[[str], Awaitable[str]]:
    """The SDK's ``assertion_provider``: a fresh signed client assertion for the audience it is given."""
    import time
    import uuid

    import jwt

    async def assertion(audience: str) -> str:
        now = int(time.time())
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
            "jti": str(uuid.uuid4()),
        }
        token = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": key_id} if key_id else None)
        return register(token)

    return assertion


# --------------------------------------------------------------------------- workload identity (jwt_bearer)

_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def workload_assertions(auth: Any, server: str) -> Callable[[str, str], Awaitable[str]]:
    """The assertion for a ``jwt_bearer`` token request: ``auth.assertion``, or ``auth.assertion_file`` read now."""

    async def assertion(audience: str, resource: str) -> str:
        if auth.assertion:
            value, where = register(auth.assertion), "auth.assertion"
        else:
            value = read_credential(auth.assertion_file, "assertion_file", server)
            where = f"auth.assertion_file {auth.assertion_file!r}"
        if not _JWT.fullmatch(value):
            raise ConfigError(f"server {server!r}: {where} does not hold a JWT (header.payload.signature); give the platform's token")
        return value

    return assertion


# --------------------------------------------------------------------------- identity assertions (ID-JAG)


def identity_assertions(auth: Any, server: str) -> Callable[[str, str], Awaitable[str]]:
    """The SDK's ``assertion_provider`` for ``identity_assertion``: the ID-JAG for (audience, resource)."""

    async def assertion(audience: str, resource: str) -> str:
        if auth.identity_assertion:
            return register(auth.identity_assertion)
        if auth.identity_assertion_file:
            return read_credential(auth.identity_assertion_file, "identity_assertion_file", server)
        id_token = auth.id_token or read_credential(auth.id_token_file, "id_token_file", server)
        return await exchange_id_token(auth, server, register(id_token), audience, resource)

    return assertion


async def exchange_id_token(auth: Any, server: str, id_token: str, audience: str, resource: str) -> str:
    """RFC 8693 at the identity provider: the person's ID token for an ID-JAG naming ``audience`` and ``resource``."""
    import httpx2

    form = {
        "grant_type": TOKEN_EXCHANGE,
        "requested_token_type": ID_JAG,
        "subject_token": id_token,
        "subject_token_type": ID_TOKEN,
        "audience": audience,
        "resource": resource,
    }
    if auth.scopes:
        form["scope"] = " ".join(auth.scopes)
    headers = {"Accept": "application/json"}
    if auth.idp_client_secret:  # a confidential client: HTTP Basic (RFC 6749 2.3.1: each part form-encoded)
        pair = f"{quote(auth.idp_client_id, safe='')}:{quote(auth.idp_client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:  # a public client names itself
        form["client_id"] = auth.idp_client_id
    endpoint = auth.idp_token_endpoint
    try:
        async with async_client(timeout=30, follow_redirects=False) as client:
            response = await client.post(endpoint, data=form, headers=headers)
    except httpx2.HTTPError as exc:
        raise AuthError(
            f"server {server!r}: cannot reach the identity provider at {endpoint} ({redact(str(exc)) or type(exc).__name__}); "
            "check auth.idp_token_endpoint"
        ) from None
    return _id_jag(response, server, endpoint)


def _id_jag(response: Any, server: str, endpoint: str) -> str:
    """The ID-JAG in a token-exchange response; AuthError saying why there is none."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    if response.status_code != 200:
        error = str(body.get("error") or f"HTTP {response.status_code}")[:60]
        detail = str(body.get("error_description") or "")[:200]
        raise AuthError(
            f"server {server!r}: the identity provider at {endpoint} refused to exchange the ID token for an identity "
            f"assertion ({redact(error)}{': ' + redact(detail) if detail else ''}); sign in to it again for a fresh "
            "auth.id_token, then reconnect"
        )
    token, kind = body.get("access_token"), body.get("issued_token_type")
    if not isinstance(token, str) or not token or (kind is not None and kind != ID_JAG):
        raise AuthError(
            f"server {server!r}: the identity provider at {endpoint} answered the token exchange without an identity "
            f"assertion (issued_token_type {str(kind)[:60]!r}); check that it supports ID-JAG (cross-app access)"
        )
    return register(token)
