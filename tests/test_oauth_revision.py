"""OAuth of MCP revision 2026-07-28 against the real authorization server (tests/servers/oauth_server.py).

The redirect's ``iss`` is checked (RFC 9207) before any code is exchanged,
through real headless Chromium; the metadata's issuer too (RFC 8414); the
notebook registers as a ``native`` application; a client ID metadata
document is preferred where registration is offered as well; and the token
store is keyed by issuer: a reloaded token needs no browser, a file of the
previous layout still works, and a server whose authorization server changed
is authorized there afresh, its old tokens never presented to the new one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from conftest import free_port
from test_auth import BROWSER, landing_url, pages

from mcpomni_jupyter.auth.tokens import token_path
from mcpomni_jupyter.core.manager import MCPManager

CIMD_URL = "https://client.example/mcpomni-jupyter.json"


class Notebook:
    """A manager as a kernel has it: its token directory and callback port survive a "restart" (a new manager)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tokens, self.port = tmp_path / "tokens", free_port()
        self.managers: list[MCPManager] = []
        self.restart()

    @property
    def manager(self) -> MCPManager:
        return self.managers[-1]

    def restart(self, open_browser: bool = False) -> MCPManager:
        if self.managers:
            self.manager.shutdown()
        self.managers.append(MCPManager(timeout=30))
        self.manager.set_auth_options(token_dir=str(self.tokens), callback_port=self.port, open_browser=open_browser, auth_timeout=30)
        return self.manager

    def add(self, url: str, **auth: Any) -> None:
        self.manager.add_servers({"mcpServers": {"o": {"url": url, "timeout": 20, "auth": {"method": "oauth", **auth}}}})

    def connect(self, wait: bool = False) -> Any:
        return self.manager.connect("o", wait=wait)["o"]

    def settled(self, timeout: float = 30) -> Any:
        """The server's status once it has connected or failed, without connecting it again."""
        deadline = time.monotonic() + timeout
        while (row := self.manager.status("o")["o"]).state not in ("connected", "failed") and time.monotonic() < deadline:
            time.sleep(0.1)
        return row

    def authorize(self) -> httpx2.Response:
        """What the browser does once the person consents: follow the redirect to our callback server."""
        return httpx2.get(landing_url(self.manager.connection("o").auth.url))

    def stored(self, url: str) -> dict:
        return json.loads(token_path(self.tokens, url).read_text())

    def log(self) -> str:
        return "\n".join(entry.message for entry in self.manager.log("o"))

    def close(self) -> None:
        self.manager.shutdown()


@pytest.fixture
def notebook(tmp_path):
    nb = Notebook(tmp_path)
    yield nb
    nb.close()


@pytest.mark.browser
def test_a_redirect_naming_another_issuer_is_refused_and_completes_nothing(notebook, oauth_server, tmp_path, monkeypatch):
    log = tmp_path / "browser.log"
    monkeypatch.setenv("BROWSER", BROWSER)
    monkeypatch.setenv("MCPJ_BROWSER_LOG", str(log))
    server = oauth_server("--iss", "wrong")  # the authorization redirect says iss=https://evil.example
    notebook.restart(open_browser=True)
    notebook.add(server.url)
    status = notebook.connect(wait=True)
    assert status.state == "failed", status
    error = status.error
    assert "\n" not in error and error.startswith("server 'o': the authorization response names the issuer 'https://evil.example'")
    assert f"not '{server.base}'" in error and "nothing was completed" in error and "run %mcp auth o" in error
    page = pages(log, "Authorization refused")
    assert "did not come from the authorization server the sign-in was sent to" in page
    assert server.grants() == ["register", "authorize"]  # the code was never exchanged
    assert "tokens" not in notebook.stored(server.url)


def test_the_right_iss_is_accepted_and_registration_says_native(notebook, oauth_server):
    server = oauth_server("--iss", "correct")
    notebook.add(server.url)
    assert notebook.connect().state == "auth required"
    assert notebook.authorize().status_code == 200
    assert notebook.connect(wait=True).state == "connected"
    records = server.grant_records()
    assert [g["grant"] for g in records] == ["register", "authorize", "authorization_code"]
    assert records[0]["application_type"] == "native"  # a notebook is a native application (SEP-837)


def test_a_missing_iss_where_the_server_promised_one_is_refused(notebook, oauth_server):
    server = oauth_server("--iss", "missing")
    notebook.add(server.url)
    notebook.connect()
    page = notebook.authorize()
    assert page.status_code == 400 and "nothing was completed" in page.text
    status = notebook.settled()  # not connect(): once failed, a connect would start a new authorization
    assert status.state == "failed" and "carried no issuer (iss), which its authorization server promised" in status.error
    assert "authorization_code" not in server.grants()


def test_metadata_naming_another_issuer_is_refused(notebook, oauth_server):
    server = oauth_server("--metadata-issuer", "http://127.0.0.1:9")
    notebook.add(server.url)
    status = notebook.connect(wait=True)
    assert status.state == "failed" and "issuer mismatch" in status.error and "\n" not in status.error
    assert server.grants() == []  # no registration with a server that is not who it says


def test_a_client_id_metadata_document_is_preferred_over_registration(notebook, oauth_server):
    server = oauth_server("--cimd", f"http://localhost:{notebook.port}/callback")  # registration is offered too
    notebook.add(server.url, client_metadata_url=CIMD_URL)
    assert notebook.connect().state == "auth required"
    assert "client_id=https%3A%2F%2Fclient.example%2Fmcpomni-jupyter.json" in notebook.manager.connection("o").auth.url
    assert notebook.authorize().status_code == 200
    assert notebook.connect(wait=True).state == "connected"
    assert server.grants() == ["cimd", "authorize", "authorization_code"]  # no dynamic registration
    assert "as its client ID metadata document" in notebook.log()
    assert notebook.stored(server.url)["client_info"]["client_id"] == CIMD_URL


def test_registration_where_the_server_offers_no_client_id_metadata_documents(notebook, oauth_server):
    server = oauth_server()
    notebook.add(server.url, client_metadata_url=CIMD_URL)
    notebook.connect()
    notebook.authorize()
    assert notebook.connect(wait=True).state == "connected"
    assert server.grants() == ["register", "authorize", "authorization_code"]
    assert "as a dynamically registered client" in notebook.log()


def test_stored_tokens_are_keyed_by_issuer_and_reused_after_a_restart(notebook, oauth_server):
    server = oauth_server()
    notebook.add(server.url)
    notebook.connect()
    notebook.authorize()
    assert notebook.connect(wait=True).state == "connected"
    stored = notebook.stored(server.url)
    assert stored["issuer"] == server.base and stored["metadata"]["token_endpoint"] == f"{server.base}/token"
    assert stored["client_info"]["issuer"] == server.base  # the SDK's own stamp agrees

    notebook.restart()
    notebook.add(server.url)
    assert notebook.connect(wait=True).state == "connected"  # no person needed
    assert notebook.manager.call("o.whoami").text == "hello, authorized user"
    assert server.grants() == ["register", "authorize", "authorization_code"]


def test_a_token_file_of_the_previous_layout_still_works(notebook, oauth_server):
    server = oauth_server("--ttl", "3")
    notebook.add(server.url)
    notebook.connect()
    notebook.authorize()
    assert notebook.connect(wait=True).state == "connected"
    path = token_path(notebook.tokens, server.url)
    previous = {k: v for k, v in json.loads(path.read_text()).items() if k not in ("issuer", "metadata")}
    previous["client_info"].pop("issuer")
    path.write_text(json.dumps(previous))

    time.sleep(3.5)  # expired: the restarted kernel refreshes it
    notebook.restart()
    notebook.add(server.url)
    assert notebook.connect(wait=True).state == "connected"
    assert server.grants() == ["register", "authorize", "authorization_code", "refresh_token"]
    assert "is corrupt" not in notebook.log()


def test_a_server_whose_authorization_server_changed_is_authorized_there_afresh(notebook, oauth_server):
    first = oauth_server()
    port = first.port
    notebook.add(first.url)
    notebook.connect()
    notebook.authorize()
    assert notebook.connect(wait=True).state == "connected"
    old = notebook.stored(first.url)
    notebook.restart()
    first.stop()

    # the same MCP server, now trusting another authorization server (another issuer identifier)
    second = oauth_server("--issuer", f"http://localhost:{port}", port=port)
    assert second.url == first.url
    notebook.add(second.url)
    assert notebook.connect().state == "auth required"  # the old token was refused, and nothing of the old server is reused
    assert f"the authorization server changed from {first.base} to http://localhost:{port}" in notebook.log()
    assert notebook.authorize().status_code == 200
    assert notebook.connect(wait=True).state == "connected"
    assert second.grants() == ["register", "authorize", "authorization_code"]  # no refresh with the old refresh token
    new = notebook.stored(second.url)
    assert new["issuer"] == f"http://localhost:{port}" and new["client_info"]["client_id"] != old["client_info"]["client_id"]
    assert new["tokens"]["access_token"] != old["tokens"]["access_token"]
    assert old["tokens"]["refresh_token"] not in token_path(notebook.tokens, second.url).read_text()
