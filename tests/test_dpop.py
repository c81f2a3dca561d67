"""DPoP (RFC 9449) against the real test authorization server with ``--dpop`` (tests/servers/dpop_guard.py).

The server checks every proof (signature, htm/htu, iat, jti replay, ath,
nonce) and that a bound token comes only with a proof of its key.  Through
the Python API over streamable HTTP and SSE, and in a real kernel: the
authorization code (with ``dpop_jkt``), refresh, client credentials, server
nonces retried once, ``"dpop": false``; the key and the proofs never show.
"""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from conftest import free_port
from cryptography.hazmat.primitives.asymmetric import ec
from test_auth import BROWSER, OAuthServer, pages
from test_grants import id_jag, pem, public_pem

from mcpomni_jupyter.auth.dpop import Prover, new_key, thumbprint
from mcpomni_jupyter.auth.tokens import token_path
from mcpomni_jupyter.core.manager import MCPManager
from mcpomni_jupyter.redact import redact

pytestmark = pytest.mark.browser


@pytest.fixture
def manager(manager, tmp_path, monkeypatch):
    """conftest's manager, whose browser is real headless Chromium (the person approves at once)."""
    monkeypatch.setenv("BROWSER", BROWSER)
    monkeypatch.setenv("MCPJ_BROWSER_LOG", str(tmp_path / "browser.log"))
    manager.set_auth_options(token_dir=str(tmp_path / "tokens"), open_browser=True, callback_port=free_port())
    return manager


def connect(manager: MCPManager, server: OAuthServer, auth: dict | None = None) -> Any:
    config = {"url": server.url, "timeout": 20, "auth": auth or {"method": "oauth"}}
    if server.url.endswith("/sse"):
        config["transport_type"] = "sse"
    manager.add_servers({"mcpServers": {"m": config}})
    status = manager.connect("m", wait=True)["m"]
    assert status.state == "connected", status.error
    return status


def events(server: OAuthServer, where: str | None = None) -> list[dict]:
    every = httpx2.get(f"{server.base}/test/dpop").json()["events"]
    return [e for e in every if where is None or e["where"] == where]


def stored(tmp_path: Path, server: OAuthServer) -> dict:
    path = token_path(tmp_path / "tokens", server.url)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return json.loads(path.read_text())


def shown(manager: MCPManager) -> str:
    """Everything the notebook could show of the server: status, log, reprs."""
    connection = manager.connection("m")
    return " ".join(
        [repr(manager.status()), repr(manager.log("m")), *(e.message for e in manager.log("m")), repr(connection), repr(connection.config)]
    )


def test_authorization_code_binds_the_code_and_the_tokens_to_the_key(manager, oauth_server, tmp_path):
    server = oauth_server("--dpop", "--ttl", "3")
    connect(manager, server)
    assert manager.call("m.whoami").text == "hello, authorized user"
    entry = stored(tmp_path, server)
    jkt = thumbprint(entry["dpop_key"])
    assert entry["tokens"]["token_type"] == "DPoP"  # the stored token records that it is bound
    assert events(server, "authorize") == [{"where": "authorize", "dpop_jkt": jkt}]  # the code is bound too
    assert events(server, "token") == [{"where": "token", "result": "ok", "grant_type": "authorization_code", "jkt": jkt}]
    assert {e["result"] for e in events(server, "resource")} == {"ok"}
    assert f"thumbprint {jkt}" in shown(manager)  # %mcp log says so (the thumbprint is public)

    # the token expires: refreshed with a proof of the same key
    time.sleep(3.5)
    assert manager.call("m.whoami").text == "hello, authorized user"
    assert events(server, "token")[-1] == {"where": "token", "result": "ok", "grant_type": "refresh_token", "jkt": jkt}
    assert stored(tmp_path, server)["dpop_key"] == entry["dpop_key"]
    assert server.grants().count("authorize") == 1


def test_a_bound_token_is_useless_without_a_proof_of_its_key(manager, oauth_server, tmp_path):
    server = oauth_server("--dpop")
    connect(manager, server)
    entry = stored(tmp_path, server)
    token = entry["tokens"]["access_token"]
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}

    def post(**headers: str) -> httpx2.Response:
        return httpx2.post(server.url, json=body, headers={**accept, **headers})

    replayed_as_bearer = post(Authorization=f"Bearer {token}")
    no_proof = post(Authorization=f"DPoP {token}")
    other = Prover(new_key()).proof("POST", server.url, access_token=token)
    another_key = post(Authorization=f"DPoP {token}", DPoP=other)
    mine = Prover(entry["dpop_key"]).proof("POST", server.url, access_token=token)
    accepted = post(Authorization=f"DPoP {token}", DPoP=mine)  # the key is what makes the token work
    assert accepted.status_code != 401 and events(server, "resource")[-1]["result"] == "ok"
    replayed_proof = post(Authorization=f"DPoP {token}", DPoP=mine)
    for refused in (replayed_as_bearer, no_proof, another_key, replayed_proof):
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("DPoP error=")
    reasons = [e["result"] for e in events(server, "resource")]
    assert {"a DPoP-bound token presented as Bearer", "no DPoP proof", "the proof's key is not the token's", "jti replayed"} <= set(reasons)


def test_server_nonces_are_retried_once_and_remembered(manager, oauth_server, tmp_path):
    server = oauth_server("--dpop-nonce")
    connect(manager, server)
    assert manager.call("m.whoami").text == "hello, authorized user"
    token_results = [e["result"] for e in events(server, "token")]
    assert token_results == ["use_dpop_nonce", "ok"]  # retried once with the nonce
    resource = [e["result"] for e in events(server, "resource")]
    assert resource[0] == "use_dpop_nonce" and set(resource[1:]) == {"ok"}  # then remembered
    assert len(resource) >= 3
    # the server changes its nonce: the next request is refused once, retried with the new one
    httpx2.post(f"{server.base}/test/dpop-nonce").raise_for_status()
    assert manager.call("m.whoami").text == "hello, authorized user"
    after = [e["result"] for e in events(server, "resource")][len(resource) :]
    assert after[0] == "use_dpop_nonce" and after[1:] and set(after[1:]) == {"ok"}
    assert server.grants().count("authorization_code") == 1  # no new authorization for a nonce


def test_client_credentials_over_sse_get_dpop_bound_tokens(manager, oauth_server, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    server = oauth_server("--transport", "sse", "--dpop", "--client", "m2m:", "--client-key", public_pem(key, tmp_path / "m2m.pub"))
    connect(manager, server, {"method": "client_credentials", "client_id": "m2m", "private_key": pem(key), "issuer": server.base})
    assert manager.call("m.whoami").text == "hello, authorized user"
    entry = stored(tmp_path, server)
    assert entry["tokens"]["token_type"] == "DPoP"
    assert [e.get("grant_type") for e in events(server, "token")] == ["client_credentials"]
    resource = events(server, "resource")
    assert {e["result"] for e in resource} == {"ok"} and {e["method"] for e in resource} >= {"GET", "POST"}  # the stream and the messages


def test_identity_assertion_gets_a_dpop_bound_token(manager, oauth_server, tmp_path):
    """A grant whose SDK provider keeps no metadata of its own: the offer is read on the wire."""
    idp = ec.generate_private_key(ec.SECP256R1())
    server = oauth_server("--dpop", "--client", "xaa:xaa-secret-123", "--idp-key", public_pem(idp, tmp_path / "idp.pub"))
    auth = {"method": "identity_assertion", "client_id": "xaa", "client_secret": "xaa-secret-123", "issuer": server.base}
    connect(manager, server, {**auth, "identity_assertion": id_jag(idp, server)})
    assert manager.call("m.whoami").text == "hello, authorized user"
    assert stored(tmp_path, server)["tokens"]["token_type"] == "DPoP"
    assert [e.get("grant_type") for e in events(server, "token")] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert {e["result"] for e in events(server, "resource")} == {"ok"}


def test_dpop_false_keeps_bearer_tokens(manager, oauth_server, tmp_path):
    server = oauth_server("--dpop")
    connect(manager, server, {"method": "oauth", "dpop": False})
    assert manager.call("m.whoami").text == "hello, authorized user"
    entry = stored(tmp_path, server)
    assert entry["tokens"]["token_type"] == "Bearer" and "dpop_key" not in entry
    assert events(server) == []  # no proof anywhere


def test_the_key_and_the_proofs_never_show(manager, oauth_server, tmp_path, capsys):
    server = oauth_server("--dpop-nonce")
    connect(manager, server)
    manager.call("m.whoami")
    manager.refresh("m")  # a re-listing too
    entry = stored(tmp_path, server)
    secret, proofs = entry["dpop_key"]["d"], httpx2.get(f"{server.base}/test/dpop").json()["proofs"]
    assert len(proofs) >= 4
    assert redact(f"key {secret}") == "key ***"  # registered as a secret
    assert all(redact(f"DPoP: {proof}") == "DPoP: ***" for proof in proofs)  # a proof is masked wherever it could show
    out = capsys.readouterr()
    text = shown(manager) + out.out + out.err
    for value in (secret, entry["tokens"]["access_token"], *proofs):
        assert value not in text


def test_a_real_kernel_uses_dpop_and_keeps_the_key_out_of_the_notebook(tmp_path, oauth_server):
    import nbformat
    from tools.kernels import run_notebook

    server = oauth_server("--dpop-nonce")
    tokens, port, log = tmp_path / "tokens", free_port(), tmp_path / "browser.log"
    cells = [
        f"import os\nos.environ['BROWSER'] = {BROWSER!r}\nos.environ['MCPJ_BROWSER_LOG'] = {str(log)!r}",
        "%load_ext mcpomni_jupyter",
        f"%config MCPMagics.token_dir = {str(tokens)!r}\n%config MCPMagics.callback_port = {port}",
        f"%mcp add o {server.url} --auth oauth",
        "%mcp connect --wait",
        "r = %mcp call o.whoami\nprint(r.text)",
        "%mcp log o",
        "%mcp status",
    ]
    nb = run_notebook(cells, tmp_path)
    assert nb.cells[5].outputs[-1]["text"].strip() == "hello, authorized user"
    assert "Authorization complete" in pages(log, "Authorization complete")
    entry = json.loads(token_path(tokens, server.url).read_text())
    assert entry["tokens"]["token_type"] == "DPoP"
    assert [e["result"] for e in events(server, "token")] == ["use_dpop_nonce", "ok"]
    saved = tmp_path / "saved.ipynb"
    nbformat.write(nb, saved)
    text = saved.read_text()
    assert entry["dpop_key"]["d"] not in text and entry["tokens"]["access_token"] not in text
    for proof in httpx2.get(f"{server.base}/test/dpop").json()["proofs"]:
        assert proof not in text
