"""Workload identity (``"method": "jwt_bearer"``, SEP-1933) against the real authorization server, in a real kernel.

The test authorization server (tests/servers/oauth_server.py ``--workload``)
accepts the RFC 7523 jwt-bearer grant with a JWT signed by the key the test
gives it (iss, sub, aud = its issuer, exp checked).  Over streamable HTTP: a
call works with the token from a file; the file rewritten by "the platform"
is what the next grant sends (after a 401, and when the access token
expires); an expired or foreign token is one line saying what to do; the
token never shows in an output, the log or a repr.
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
from cryptography.hazmat.primitives.asymmetric import ec
from test_auth import OAuthServer, oauth_servers
from tools.kernels import Kernel

from mcpomni_jupyter.core.manager import MCPManager
from mcpomni_jupyter.redact import MASK, redact

ISSUER = "https://kubernetes.default.svc"
SUBJECT = "system:serviceaccount:notebooks:analyst"


def token(key: Any, audience: str, lifetime: int = 600, subject: str = SUBJECT) -> str:
    """What the platform writes into the projected token file."""
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": subject, "aud": audience, "iat": now, "exp": now + lifetime, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k8s-1"})


def jti(value: str) -> str:
    return jwt.decode(value, options={"verify_signature": False})["jti"]


@pytest.fixture
def platform(tmp_path):
    """The platform's signing key, and an authorization server that trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = tmp_path / "platform.pub"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with oauth_servers("--workload", ISSUER, SUBJECT, str(public)) as start:
        yield key, start


def workload_grants(server: OAuthServer) -> list[dict]:
    return [g for g in server.grant_records() if g["grant"].startswith("jwt_bearer")]


@pytest.mark.kernel
def test_a_kernel_calls_with_the_workload_token_and_follows_its_file(platform, tmp_path: Path) -> None:
    key, start = platform
    server, other = start(), start()  # one URL is one entry of the token store: the expired token gets its own server
    token_file, expired_file = tmp_path / "token", tmp_path / "expired"
    first = token(key, server.base)
    token_file.write_text(first + "\n")
    expired = token(key, other.base, lifetime=-120)
    expired_file.write_text(expired)
    config = {
        "mcpServers": {
            "w": {"url": server.url, "auth": {"method": "jwt_bearer", "assertion_file": str(token_file), "issuer": server.base}},
            "x": {"url": other.url, "auth": {"method": "jwt_bearer", "assertion_file": str(expired_file)}},
        }
    }
    kernel = Kernel("workload")
    try:
        setup = kernel.run(f"%load_ext mcpomni_jupyter\n%config MCPMagics.token_dir = {str(tmp_path / 'tokens')!r}")
        assert setup["error"] is None, setup
        assert kernel.run(f"%%mcp config\n{json.dumps(config)}")["error"] is None, kernel.transcript
        kernel.run("%mcp connect w --wait")
        call = "r = %mcp call w.whoami\nprint(r.text)"
        assert kernel.run(call)["stdout"].strip() == "hello, authorized user", kernel.transcript
        grants = workload_grants(server)
        assert [(g["grant"], g["sub"], g["jti"], g["resource"]) for g in grants] == [("jwt_bearer", SUBJECT, jti(first), server.url)]

        # the platform rotates the token; the server forgets its access tokens: the 401's new grant reads the file again
        second = token(key, server.base)
        token_file.write_text(second)
        server.post("/test/reject-refresh")
        assert kernel.run(call)["stdout"].strip() == "hello, authorized user", kernel.transcript
        assert [g["jti"] for g in workload_grants(server)] == [jti(first), jti(second)]

        # an expired token: one line saying what to do, and no retry
        out = kernel.run("%mcp connect x --wait")
        line = (
            "server 'x': the authorization server refused the workload identity assertion (jwt_bearer) "
            "(invalid_grant: assertion refused: Signature has expired); make sure the tool that writes "
            f"auth.assertion_file {str(expired_file)!r} is running and the token is current (it may have expired), then reconnect"
        )
        status = kernel.run("from mcpomni_jupyter import get_manager\nprint(get_manager().status()['x'].error)")["stdout"].strip()
        assert status == line, kernel.transcript
        refused = [g["grant"] for g in workload_grants(other)]
        assert set(refused) == {"jwt_bearer_refused"} and len(refused) <= 2  # once per connection attempt (no retry)

        # the tokens never show: outputs, the log, the status, the config's repr
        kernel.run("%mcp log w\n%mcp log x\n%mcp status")
        kernel.run("print(repr(get_manager().config('w')), repr(get_manager().config('x')))")
        shown = "\n".join(kernel.transcript)
        assert "jwt_bearer" in shown and out["error"] is None
        for value in (first, second, expired):
            assert value not in shown and value.split(".")[2] not in shown
    finally:
        kernel.stop()


@pytest.fixture
def manager(manager, tmp_path):
    """conftest's manager, with a token store of its own and no browser."""
    manager.set_auth_options(token_dir=str(tmp_path / "tokens"), open_browser=False)
    return manager


def connect(manager: MCPManager, url: str, auth: dict) -> Any:
    manager.add_servers({"mcpServers": {"w": {"url": url, "timeout": 20, "auth": auth}}})
    return manager.connect("w", wait=True)["w"]


def test_an_expired_access_token_is_replaced_with_the_current_file(manager, platform, tmp_path) -> None:
    key, start = platform
    ttl = 3  # seconds; the client counts a token as expired 1.5 s early
    server = start("--ttl", str(ttl))
    token_file = tmp_path / "token"
    first = token(key, server.base)
    token_file.write_text(first)
    status = connect(manager, server.url, {"method": "jwt_bearer", "client_id": "analyst", "assertion_file": str(token_file)})
    assert status.state == "connected", status.error
    assert manager.call("w.whoami").text == "hello, authorized user"
    assert redact(first) == MASK  # registered as a secret when read
    assert "auth.issuer is not set: the workload's assertions go to whichever" in " ".join(e.message for e in manager.log("w"))
    second = token(key, server.base)
    token_file.write_text(second)
    time.sleep(ttl + 0.5)  # the access token expires (server and client side alike)
    assert manager.call("w.whoami").text == "hello, authorized user"
    assert [g["jti"] for g in workload_grants(server)] == [jti(first), jti(second)]
    assert redact(second) == MASK


def test_a_token_of_another_workload_is_one_line(manager, platform, monkeypatch) -> None:
    key, start = platform
    server = start()
    monkeypatch.setenv("WORKLOAD_TOKEN", token(key, server.base, subject="system:serviceaccount:other:intruder"))
    status = connect(manager, server.url, {"method": "jwt_bearer", "assertion": "${WORKLOAD_TOKEN}"})
    assert status.state == "failed"
    assert status.error == (
        "server 'w': the authorization server refused the workload identity assertion (jwt_bearer) (invalid_grant: "
        "assertion refused: sub 'system:serviceaccount:other:intruder' is not the workload); set a fresh token in "
        "auth.assertion (it may have expired) and check that the authorization server trusts its issuer, then reconnect"
    )
    assert [g["grant"] for g in workload_grants(server)] == ["jwt_bearer_refused"]  # refused once: no retry


def test_a_file_that_is_not_a_jwt_is_one_line(manager, platform, tmp_path) -> None:
    _, start = platform
    server = start()
    token_file = tmp_path / "token"
    token_file.write_text("not a token")
    status = connect(manager, server.url, {"method": "jwt_bearer", "assertion_file": str(token_file)})
    assert status.state == "failed"
    assert status.error == (
        f"server 'w': auth.assertion_file {str(token_file)!r} does not hold a JWT (header.payload.signature); give the platform's token"
    )
    assert workload_grants(server) == []
