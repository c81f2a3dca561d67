"""OAuth against a real authorization server on loopback, through real headless Chromium.

The test server (tests/servers/oauth_server.py) is the SDK's auth routes with
an in-memory provider that auto-approves, issues refresh tokens and
short-lived access tokens, and records every grant.
"""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from conftest import HERE, free_port, usage_error, wait_port
from tools import processes

pytestmark = pytest.mark.browser

BROWSER = f"{sys.executable} {HERE / 'tools' / 'headless_browser.py'} %s"


class OAuthServer:
    def __init__(self, *extra: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "servers" / "oauth_server.py"), str(self.port), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, self.proc)
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/sse" if "sse" in extra else f"{self.base}/mcp"

    def grants(self) -> list[str]:
        return [g["grant"] for g in self.grant_records()]

    def grant_records(self) -> list[dict]:
        return httpx2.get(f"{self.base}/test/grants").json()

    def post(self, path: str) -> None:
        httpx2.post(f"{self.base}{path}").raise_for_status()

    def stop(self) -> None:
        processes.stop(self.proc)


@contextmanager
def oauth_servers(*given: str) -> Iterator[Callable[..., OAuthServer]]:
    """``start(*extra, port=None)`` starts a test authorization server with the ``given`` arguments and ``extra``;
    every one started stops at the end (conftest's ``oauth_server`` fixture is this with none given)."""
    servers: list[OAuthServer] = []

    def start(*extra: str, port: int | None = None) -> OAuthServer:
        servers.append(OAuthServer(*given, *extra, port=port))
        return servers[-1]

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def browser(monkeypatch, tmp_path):
    """Real headless Chromium as the BROWSER; returns the file where it logs the pages it ended on."""
    log = tmp_path / "browser.log"
    monkeypatch.setenv("BROWSER", BROWSER)
    monkeypatch.setenv("MCPJ_BROWSER_LOG", str(log))
    return log


@pytest.fixture
def auth_settings(run, tmp_path):
    port = free_port()
    run(f"%config MCPMagics.callback_port = {port}")
    run(f"%config MCPMagics.token_dir = '{tmp_path / 'tokens'}'")
    return {"port": port, "token_dir": tmp_path / "tokens"}


def pages(log: Path, expect: str, count: int = 1, timeout: float = 30) -> str:
    """What the headless browser ended on; waits for it to finish writing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if text.count(expect) >= count:
            return text
        time.sleep(0.2)
    return log.read_text() if log.exists() else ""


def token_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.json")) if directory.exists() else []


def stored_secrets(directory: Path) -> list[str]:
    out = []
    for path in token_files(directory):
        data = json.loads(path.read_text())
        out += [data.get("tokens", {}).get("access_token"), data.get("tokens", {}).get("refresh_token")]
    return [s for s in out if s]


def landing_url(auth_url: str) -> str:
    """Where the browser would land after consent: the redirect the authorization server answers with."""
    response = httpx2.get(auth_url, follow_redirects=False)
    assert response.status_code in (302, 303, 307), response.text
    return response.headers["location"]


def test_authorize_through_the_browser_refresh_and_redaction(run, browser, auth_settings, oauth_server, capsys):
    server = oauth_server("--ttl", "3")
    run("%config MCPMagics.open_browser = True")
    assert run(f"%mcp add o {server.url} --auth oauth").ok
    connect = run("%mcp connect")
    assert connect.ok
    assert connect.value["o"].state in ("auth required", "connecting", "connected")
    if connect.value["o"].state == "auth required":  # never blocks the cell on a person
        assert "needs authorization (a browser window was opened)" in connect.err
    # a later call waits for the authorization to finish ("Run All" works)
    assert run("%mcp call o.whoami").value.text == "hello, authorized user"
    assert "Authorization complete" in pages(browser, "Authorization complete")
    assert server.grants() == ["register", "authorize", "authorization_code"]

    files = token_files(auth_settings["token_dir"])
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(auth_settings["token_dir"].stat().st_mode) == 0o700
    data = json.loads(files[0].read_text())
    assert data["expires_at"] >= files[0].stat().st_mtime + 2 and data["server_url"] == server.url  # absolute expiry

    # the access token expires mid-session: refreshed without the user noticing
    time.sleep(3.5)
    assert run("%mcp call o.whoami").value.text == "hello, authorized user"
    assert server.grants()[-1] == "refresh_token"

    # no secret reaches outputs, reprs, the log or debug logging
    run("%mcp debug on")
    shown = run("%mcp call o.whoami")
    run("%mcp debug off")
    everything = shown.out + shown.err + connect.out + connect.err + repr(run("%mcp status").value) + repr(run("%mcp log").value)
    for secret in stored_secrets(auth_settings["token_dir"]):
        assert secret not in everything


def test_status_widget_and_auth_command(run, auth_settings, oauth_server, shell):
    from mcpomni_jupyter.ui.authorize import AuthorizeWidget

    server = oauth_server()
    run(f"%mcp add o {server.url} --auth oauth")
    connect = run("%mcp connect o")
    assert connect.value["o"].state == "auth required"
    assert "needs authorization; it connects by itself once you authorize; link: http://127.0.0.1" in connect.err

    widget = run("%mcp auth o").value
    assert isinstance(widget, AuthorizeWidget)
    assert "waiting for authorization" in widget.state.value and "open the authorization page" in widget.link.value
    assert not widget.paste.disabled and "open this link to authorize" in repr(widget)
    auth_url = shell.user_ns["_"].connection.auth.url if "_" in shell.user_ns else widget.connection.auth.url

    # the paste box: the browser could not reach the kernel, the user pastes where it landed
    widget.paste.value = landing_url(auth_url)
    widget.submit.click()
    assert widget.paste.value == ""  # the code does not stay in widget state
    assert "is authorized" in widget.message.value
    assert run("%mcp call o.whoami").value.text == "hello, authorized user"
    assert "authorized and connected" in widget.state.value and widget.button.disabled

    # logout forgets tokens and registration
    assert "forgot the stored tokens of o" in run("%mcp logout o").out
    assert token_files(auth_settings["token_dir"]) == []
    assert run("%mcp status").value["o"].state == "disconnected"


def test_paste_with_the_auth_command(run, auth_settings, oauth_server):
    server = oauth_server("--transport", "sse")
    run(f"%mcp add s {server.url} --transport sse --auth oauth")
    run("%mcp connect s")
    from mcpomni_jupyter.core.kernel import get_manager

    url = landing_url(get_manager().connection("s").auth.url)
    cell = run(f"%mcp auth s '{url}'")
    assert cell.ok and "is authorized" in cell.out
    assert cell.value["s"].state == "connected"
    # the same URL again completes nothing: its state was used
    assert "matches no sign-in that is waiting" in usage_error(run(f"%mcp auth s '{url}'"))


def test_tokens_survive_a_kernel_restart(tmp_path, oauth_server):
    """A real kernel (nbclient): authorize once, restart, connect again with no browser, refresh when due."""
    import nbformat
    from tools.kernels import run_notebook

    server = oauth_server("--ttl", "4")
    tokens, port = tmp_path / "tokens", free_port()
    log = tmp_path / "browser.log"

    def notebook(browser: str, wait: float = 0) -> nbformat.NotebookNode:
        cells = [
            f"import os, time\nos.environ['BROWSER'] = {browser!r}\nos.environ['MCPJ_BROWSER_LOG'] = {str(log)!r}",
            "%load_ext mcpomni_jupyter",
            f"%config MCPMagics.token_dir = {str(tokens)!r}\n%config MCPMagics.callback_port = {port}",
            f"%mcp add o {server.url} --auth oauth",
            "%mcp connect --wait",
            f"time.sleep({wait})\nr = %mcp call o.whoami\nprint(r.text)",
        ]
        return run_notebook(cells, tmp_path)

    first = notebook(BROWSER)
    assert first.cells[-1].outputs[-1]["text"].strip() == "hello, authorized user"
    grants = server.grants()
    assert grants[:3] == ["register", "authorize", "authorization_code"]  # the browser went through
    assert grants.count("authorize") == 1 and set(grants[3:]) <= {"refresh_token"}
    assert log.read_text().count("<!-- opened -->") == 1

    # restart: a new kernel, no browser at all; the stored token is expired by now, so it is refreshed
    time.sleep(4.5)
    second = notebook("false %s")
    assert second.cells[-1].outputs[-1]["text"].strip() == "hello, authorized user"
    after = server.grants()
    assert after[: len(grants)] == grants and after[len(grants) :] and set(after[len(grants) :]) == {"refresh_token"}
    assert log.read_text().count("<!-- opened -->") == 1  # no browser the second time

    for path in tokens.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = tmp_path / "saved.ipynb"
    nbformat.write(second, saved)
    nbformat.write(first, tmp_path / "first.ipynb")
    text = saved.read_text() + (tmp_path / "first.ipynb").read_text()
    for secret in stored_secrets(tokens):
        assert secret not in text


def test_busy_callback_port_is_a_clear_error(run, auth_settings, oauth_server):
    server = oauth_server()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", auth_settings["port"]))
        blocker.listen()
        run(f"%mcp add o {server.url} --auth oauth")
        status = run("%mcp connect o").value
    error = status["o"].error
    assert status["o"].state == "failed"
    assert f"Failed to start OAuth callback server on localhost:{auth_settings['port']}" in error
    assert "MCPMagics.callback_port" in error and "state" not in error.lower().replace("statement", "")


def test_forged_state_gets_400_and_completes_nothing(run, auth_settings, oauth_server):
    server = oauth_server()
    run(f"%mcp add o {server.url} --auth oauth")
    run("%mcp connect o")
    callback = f"http://127.0.0.1:{auth_settings['port']}/callback"
    forged = httpx2.get(callback, params={"code": "stolen", "state": "forged<script>"})
    assert forged.status_code == 400 and "<script>" not in forged.text
    assert run("%mcp status").value["o"].state == "auth required"
    assert httpx2.get(f"http://127.0.0.1:{auth_settings['port']}/elsewhere").status_code == 404
    from mcpomni_jupyter.core.kernel import get_manager

    real = httpx2.get(landing_url(get_manager().connection("o").auth.url))
    assert real.status_code == 200 and "is authorized" in real.text
    assert run("%mcp call o.whoami").ok


def test_consent_denied(run, browser, auth_settings, oauth_server):
    server = oauth_server()
    server.post("/test/deny")
    run("%config MCPMagics.open_browser = True")
    run(f"%mcp add o {server.url} --auth oauth")
    status = run("%mcp connect o --wait").value
    assert status["o"].state == "failed"
    assert "authorization refused (access_denied: The user said no <b>thanks</b>)" in status["o"].error
    page = pages(browser, "Authorization refused")
    assert "&lt;b&gt;thanks&lt;/b&gt;" in page and "<b>thanks</b>" not in page
    assert "authorization refused" in usage_error(run("%mcp call o.whoami"))
    # the callback server stopped: nothing waits any more
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"http://127.0.0.1:{auth_settings['port']}/callback")


def test_rejected_refresh_token_leads_back_to_authorize(run, browser, auth_settings, oauth_server):
    server = oauth_server("--ttl", "2")
    run("%config MCPMagics.open_browser = True")
    run(f"%mcp add o {server.url} --auth oauth")
    run("%mcp connect o --wait")
    assert run("%mcp call o.whoami").ok
    run("%config MCPMagics.open_browser = False")
    server.post("/test/reject-refresh")
    time.sleep(2.5)
    message = usage_error(run("%mcp call o.whoami"))
    assert "needs authorization again" in message and "%mcp auth o" in message
    deadline = time.monotonic() + 20
    while run("%mcp status").value["o"].state != "auth required" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run("%mcp status").value["o"].state == "auth required"
    widget = run("%mcp auth o").value
    assert not widget.button.disabled and "waiting for authorization" in widget.state.value
    run("%config MCPMagics.open_browser = True")
    widget.button.click()  # the Authorize button opens the (headless) browser
    assert run("%mcp connect o --wait").value["o"].state == "connected"
    assert run("%mcp call o.whoami").ok


def test_two_servers_authorize_at_once(run, browser, auth_settings, oauth_server):
    one, two = oauth_server(), oauth_server("--transport", "sse")
    run("%config MCPMagics.open_browser = True")
    run(f"%mcp add one {one.url} --auth oauth")
    run(f"%mcp add two {two.url} --transport sse --auth oauth")
    status = run("%mcp connect --wait").value
    assert [status["one"].state, status["two"].state] == ["connected", "connected"], (status["one"].error, status["two"].error)
    assert pages(browser, "is authorized.", 2).count("is authorized.") == 2
    assert len(token_files(auth_settings["token_dir"])) == 2


def test_legacy_2025_03_26_server(run, browser, auth_settings, oauth_server):
    server = oauth_server("--legacy")
    run("%config MCPMagics.open_browser = True")
    run(f"%mcp add old {server.url} --auth oauth")
    assert run("%mcp connect --wait").value["old"].state == "connected"
    assert run("%mcp call old.whoami").ok


def test_authorization_server_unreachable(run, auth_settings, oauth_server):
    dead = free_port()
    server = oauth_server("--issuer", f"http://127.0.0.1:{dead}")
    run(f"%mcp add o {server.url} --auth oauth")
    status = run("%mcp connect o").value
    assert status["o"].state == "failed"
    assert f"cannot reach http://127.0.0.1:{dead}/" in status["o"].error


def test_401_without_auth_config_suggests_oauth(run, oauth_server):
    server = oauth_server()
    run(f"%mcp add plain {server.url}")
    error = run("%mcp connect plain").value["plain"].error
    assert "answered 401 Unauthorized" in error and "auth.method to oauth" in error


def test_corrupt_token_file_is_reported_and_ignored(run, auth_settings, oauth_server):
    from mcpomni_jupyter.auth.tokens import token_path

    server = oauth_server()
    path = token_path(auth_settings["token_dir"], server.url)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    run(f"%mcp add o {server.url} --auth oauth")
    assert run("%mcp connect o").value["o"].state == "auth required"
    assert any("is corrupt" in e.message for e in run("%mcp log o").value)


def test_auth_commands_on_a_non_oauth_server(run):
    run(f"%mcp add plain -- {sys.executable} -c pass")
    assert "is not configured for OAuth" in usage_error(run("%mcp auth plain"))
    assert "%mcp auth NAME" in usage_error(run("%mcp auth"))


def test_callback_port_from_the_server_config_and_widget_state_holds_no_code(run, auth_settings, oauth_server):
    import json as _json

    server = oauth_server()
    port = free_port()
    config = {
        "mcpServers": {"o": {"transport_type": "streamable_http", "url": server.url, "auth": {"method": "oauth", "callback_port": port}}}
    }
    run("%%mcp config\n" + _json.dumps(config))
    run("%mcp connect o")
    widget = run("%mcp auth o").value
    auth_url = widget.connection.auth.url
    assert f"redirect_uri=http%3A%2F%2Flocalhost%3A{port}%2Fcallback" in auth_url
    landing = landing_url(auth_url)
    code = landing.split("code=")[1].split("&")[0]
    widget.paste.value = landing
    widget.submit.click()
    states = _json.dumps([child.get_state() for child in widget.children]) + _json.dumps(widget.get_state(), default=str)
    for box in widget.children:
        states += _json.dumps([c.get_state() for c in getattr(box, "children", ())], default=str)
    assert code not in states
    assert run("%mcp call o.whoami").ok


def test_pre_registered_client_skips_registration(run, browser, auth_settings, oauth_server, monkeypatch):
    server = oauth_server()
    redirect = f"http://localhost:{auth_settings['port']}/callback"
    registered = httpx2.post(
        f"{server.base}/register",
        json={
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "pre",
        },
    ).json()
    monkeypatch.setenv("MCPJ_CLIENT_ID", registered["client_id"])
    monkeypatch.setenv("MCPJ_CLIENT_SECRET", registered["client_secret"])
    config = {
        "mcpServers": {
            "o": {
                "type": "http",
                "url": server.url,
                "auth": {"method": "oauth", "client_id": "${MCPJ_CLIENT_ID}", "client_secret": "${MCPJ_CLIENT_SECRET}"},
            }
        }
    }
    run("%config MCPMagics.open_browser = True")
    run("%%mcp config\n" + json.dumps(config))
    assert run("%mcp connect o --wait").value["o"].state == "connected"
    assert server.grants() == ["register", "authorize", "authorization_code"]  # the one register is the test's own
    assert run("%mcp call o.whoami").ok
    shown = repr(run("%mcp status").value) + run("%mcp log").out
    assert registered["client_secret"] not in shown


def test_refresh_command_reauthenticates_when_the_stored_token_died(run, auth_settings, oauth_server):
    server = oauth_server("--ttl", "2")
    run(f"%mcp add o {server.url} --auth oauth")
    run("%mcp connect o")
    from mcpomni_jupyter.core.kernel import get_manager

    httpx2.get(landing_url(get_manager().connection("o").auth.url))  # authorize (the callback receives it)
    assert run("%mcp connect o --wait").value["o"].state == "connected"
    server.post("/test/reject-refresh")
    time.sleep(2.5)
    cell = run("%mcp refresh o")
    assert cell.ok, cell.error
    assert "needs authorization again" in cell.err
    assert cell.value["o"].state == "auth required"
    assert "needs authorization; it connects by itself once you authorize" in cell.err  # the Authorize widget is shown
    httpx2.get(landing_url(get_manager().connection("o").auth.url))
    assert run("%mcp connect o --wait").value["o"].state == "connected"
    assert server.grants().count("authorize") == 2


def test_token_is_refreshed_before_it_expires(run, auth_settings, oauth_server):
    """A token that would die in flight earns a 401, which the SDK answers with a new authorization (a browser
    window): so a token is refreshed a little before its expiry (here, 2 s of a 4 s lifetime)."""
    server = oauth_server("--ttl", "4")
    run(f"%mcp add o {server.url} --auth oauth")
    run("%mcp connect o")
    from mcpomni_jupyter.core.kernel import get_manager

    httpx2.get(landing_url(get_manager().connection("o").auth.url))
    assert run("%mcp connect o --wait").value["o"].state == "connected"
    issued = len(server.grants())
    time.sleep(2.5)  # still valid at the server for 1.5 s more, but inside the margin
    assert run("%mcp call o.whoami").ok
    assert server.grants()[issued:] == ["refresh_token"]


def test_through_the_relay_a_dead_token_fails_fast_and_asks_again_there(run, auth_settings, oauth_server):
    """The relay path without a browser (the bridge's message, delivered by hand), and mid-session: the relay
    never waits for a browser it cannot open: the call fails at once, then Authorize waits through the relay."""
    from urllib.parse import parse_qsl, urlparse

    from mcpomni_jupyter import get_manager

    server = oauth_server("--ttl", "2")
    m = get_manager()
    m.ui.set_page("https://hub.example.org", "/user/ada/")
    run("%config MCPMagics.callback = 'relay'")
    run(f"%mcp add o {server.url} --auth oauth")
    run("%mcp connect o")
    auth = m.connection("o").auth
    assert auth.via == "relay" and auth.redirect_uri == "https://hub.example.org/user/ada/mcpomni/oauth/callback"
    landing = urlparse(landing_url(auth.url))
    assert f"{landing.scheme}://{landing.netloc}{landing.path}" == auth.redirect_uri
    ack = m.ui.relay_deliver({"type": "callback", "id": "m1", "page": landing.path, **dict(parse_qsl(landing.query))})
    assert ack["status"] == "taken" and "o is authorized" in ack["message"]
    run("%mcp connect o --wait")
    assert run("%mcp call o.whoami").ok
    assert not m.oauth.loopback_servers
    server.post("/test/reject-refresh")
    time.sleep(2.5)
    started = time.monotonic()
    message = usage_error(run("%mcp call o.whoami"))
    assert "needs authorization again" in message and time.monotonic() - started < 15
    deadline = time.monotonic() + 20
    while run("%mcp status").value["o"].state != "auth required" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert m.connection("o").auth.via == "relay" and not m.oauth.loopback_servers
