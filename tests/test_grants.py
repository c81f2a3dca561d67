"""The grants without a person, against the real authorization server (tests/servers/oauth_server.py).

``client_credentials`` authenticated by ``private_key_jwt`` (a key file with a
key id, or a key in a ``${VAR}``; the algorithm from the key), pinned to its
issuer or not; and enterprise-managed authorization (``identity_assertion``):
an ID-JAG from a file or a ``${VAR}`` exchanged for an access token, a
refused one being one line.  The ID-token leg (RFC 8693 at the identity
provider) is the conformance suite's auth/cross-app-access-complete-flow.
Keys and assertions never show.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from test_auth import OAuthServer

from mcpomni_jupyter.auth.tokens import token_path
from mcpomni_jupyter.core.manager import MCPManager
from mcpomni_jupyter.redact import MASK, redact


def pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def public_pem(key: Any, path: Path) -> str:
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return str(path)


@pytest.fixture
def manager(manager, tmp_path):
    """conftest's manager, with a token store of its own and no browser."""
    manager.set_auth_options(token_dir=str(tmp_path / "tokens"), open_browser=False)
    return manager


def connect(manager: MCPManager, url: str, auth: dict, environ: dict | None = None, monkeypatch: Any = None) -> Any:
    for name, value in (environ or {}).items():
        monkeypatch.setenv(name, value)
    manager.add_servers({"mcpServers": {"m": {"url": url, "timeout": 20, "auth": auth}}})
    return manager.connect("m", wait=True)["m"]


def shown(manager: MCPManager) -> str:
    return repr(manager.status()) + repr(manager.log("m")) + " ".join(e.message for e in manager.log("m"))


# ---------------------------------------------------------------------- private_key_jwt


def test_client_credentials_with_a_private_key_file(manager, oauth_server, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "m2m.pem"
    key_file.write_text(pem(key))
    key_file.chmod(0o600)
    server = oauth_server("--client", "m2m:", "--client-key", public_pem(key, tmp_path / "m2m.pub"))
    auth = {"method": "client_credentials", "client_id": "m2m", "private_key_file": str(key_file), "key_id": "key-1", "issuer": server.base}
    status = connect(manager, server.url, auth)
    assert status.state == "connected", status.error
    assert manager.call("m.whoami").text == "hello, authorized user"
    grant = [g for g in server.grant_records() if g["grant"].startswith("client_credentials")]
    assert grant == [{"grant": "client_credentials", "client_id": "m2m", "alg": "RS256", "kid": "key-1"}]
    stored = json.loads(token_path(tmp_path / "tokens", server.url).read_text())
    assert stored["issuer"] == server.base and "refresh_token" not in stored["tokens"]
    body = [line for line in pem(key).splitlines() if not line.startswith("-----")]
    assert all(redact(line) == MASK for line in body)  # the key's lines are registered secrets
    assert not any(line in shown(manager) for line in body)
    assert "auth.issuer is not set" not in shown(manager)


def test_client_credentials_with_an_ec_key_in_a_variable(manager, oauth_server, tmp_path, monkeypatch):
    key = ec.generate_private_key(ec.SECP256R1())
    server = oauth_server("--client", "m2m:", "--client-key", public_pem(key, tmp_path / "m2m.pub"))
    auth = {"method": "client_credentials", "client_id": "m2m", "private_key": "${M2M_KEY}", "scopes": ["mcp"]}
    status = connect(manager, server.url, auth, {"M2M_KEY": pem(key)}, monkeypatch)
    assert status.state == "connected", status.error
    grant = [g for g in server.grant_records() if g["grant"] == "client_credentials"]
    assert grant == [{"grant": "client_credentials", "client_id": "m2m", "alg": "ES256", "kid": None}]  # ES256 from the key
    assert "auth.issuer is not set" in shown(manager)  # unpinned: said in the log, not as a warning in the notebook


def test_a_key_the_authorization_server_does_not_know_is_one_line(manager, oauth_server, tmp_path):
    known, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    server = oauth_server("--client", "m2m:", "--client-key", public_pem(known, tmp_path / "m2m.pub"))
    status = connect(manager, server.url, {"method": "client_credentials", "client_id": "m2m", "private_key": pem(other)})
    assert status.state == "failed"
    assert status.error.startswith(
        "server 'm': the authorization server refused the client assertion (private_key_jwt) (invalid_client: Signature verification failed); "
        "check auth.client_id, and that the authorization server holds the public key"
    )


def test_a_pinned_issuer_keeps_the_key_away_from_another_authorization_server(manager, oauth_server, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    server = oauth_server("--client", "m2m:", "--client-key", public_pem(key, tmp_path / "m2m.pub"))
    auth = {"method": "client_credentials", "client_id": "m2m", "private_key": pem(key), "issuer": "https://as.corp.example"}
    status = connect(manager, server.url, auth)
    assert status.state == "failed" and "issuer mismatch" in status.error and "\n" not in status.error
    assert not [g for g in server.grant_records() if g["grant"].startswith("client_credentials")]  # no assertion was sent


def test_a_key_that_does_not_fit_its_algorithm_is_one_line(manager, oauth_server, tmp_path):
    key = ec.generate_private_key(ec.SECP384R1())
    server = oauth_server()
    auth = {"method": "client_credentials", "client_id": "m2m", "private_key": pem(key), "signing_algorithm": "RS256"}
    status = connect(manager, server.url, auth)
    assert status.state == "failed"
    assert status.error == "server 'm': auth.signing_algorithm RS256 does not fit this key; use ES384"


def test_an_unreadable_key_file_is_one_line(manager, oauth_server, tmp_path):
    server = oauth_server()
    missing = tmp_path / "nope.pem"
    status = connect(manager, server.url, {"method": "client_credentials", "client_id": "m2m", "private_key_file": str(missing)})
    assert status.state == "failed"
    assert status.error == f"server 'm': auth.private_key_file {str(missing)!r} cannot be read (No such file or directory); check the path"


# ---------------------------------------------------------------------- identity assertions (ID-JAG)


def id_jag(key: Any, server: OAuthServer, client_id: str = "xaa") -> str:
    """What the enterprise identity provider would issue for this MCP server."""
    now = int(time.time())
    claims = {
        "iss": "https://idp.corp.example",
        "sub": "alice@corp.example",
        "aud": server.base,
        "client_id": client_id,
        "resource": server.url,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"typ": "oauth-id-jag+jwt"})


def test_identity_assertion_from_a_file(manager, oauth_server, tmp_path, monkeypatch):
    idp = ec.generate_private_key(ec.SECP256R1())
    server = oauth_server("--client", "xaa:xaa-secret-123", "--idp-key", public_pem(idp, tmp_path / "idp.pub"))
    assertion = tmp_path / "id-jag"
    assertion.write_text(id_jag(idp, server) + "\n")
    auth = {
        "method": "identity_assertion",
        "client_id": "xaa",
        "client_secret": "${XAA_SECRET}",
        "issuer": server.base,
        "identity_assertion_file": str(assertion),
    }
    status = connect(manager, server.url, auth, {"XAA_SECRET": "xaa-secret-123"}, monkeypatch)
    assert status.state == "connected", status.error
    assert manager.call("m.whoami").text == "hello, authorized user"
    grants = [g for g in server.grant_records() if g["grant"].startswith("id_jag")]
    assert grants == [{"grant": "id_jag", "client_id": "xaa", "sub": "alice@corp.example", "resource": server.url}]
    stored = json.loads(token_path(tmp_path / "tokens", server.url).read_text())
    assert stored["issuer"] == server.base
    everything = shown(manager)
    assert assertion.read_text().strip() not in everything and "xaa-secret-123" not in everything


def test_a_refused_identity_assertion_is_one_line(manager, oauth_server, tmp_path, monkeypatch):
    idp, impostor = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    server = oauth_server("--client", "xaa:xaa-secret-123", "--idp-key", public_pem(idp, tmp_path / "idp.pub"))
    forged = id_jag(impostor, server)
    auth = {
        "method": "identity_assertion",
        "client_id": "xaa",
        "client_secret": "xaa-secret-123",
        "issuer": server.base,
        "identity_assertion": "${ID_JAG}",
    }
    status = connect(manager, server.url, auth, {"ID_JAG": forged}, monkeypatch)
    assert status.state == "failed" and forged not in status.error
    assert status.error == (
        "server 'm': the authorization server refused the identity assertion (invalid_grant: ID-JAG refused: Signature "
        "verification failed); get a fresh identity assertion from your identity provider (it may have expired), then reconnect"
    )
    assert [g["grant"] for g in server.grant_records()] == ["id_jag_refused"]
