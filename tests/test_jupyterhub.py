"""Two users on a real JupyterHub, each authorizing the test OAuth server through their own relay.

The hub (``tools.hub``: PyPI jupyterhub, npm configurable-http-proxy, the
DummyAuthenticator, a local-process spawner, JupyterLab from this venv) is
served to Chromium as ``http://lab.test:PORT`` (resolved to 127.0.0.1), a
non-loopback origin like a real hub's, so alice's ``callback = "auto"``
picks the relay; bob sets ``callback = "relay"``.  Each logs in through the
hub's form in a browser context of their own, opens a notebook under
``/user/NAME/``, clicks Authorize, and calls a tool.  On a hub every user
shares the origin: what keeps one user's code from the other's kernel is the
hub's per-user server auth, the state, the PKCE verifier in the kernel, and
the relay page's path, which the kernel checks.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import free_port
from test_auth import OAuthServer
from tools.headless_browser import CHROMIUM_ARGS
from tools.hub import PASSWORD, ROOT, start_hub
from tools.lab import REMOTE_HOST, RESOLVE, run_cell, run_until, write_notebook

pytestmark = pytest.mark.browser

USERS = ("alice", "bob")
RELAY = "mcpomni/oauth/callback"
CALLBACK = {"alice": None, "bob": "relay"}  # alice keeps the default ("auto"), which picks the relay on a hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    hub = start_hub(tmp_path_factory.mktemp("hub"), (free_port(), free_port(), free_port()), USERS)
    try:
        hub.spawn(*USERS)  # both at once
        yield hub
    finally:
        hub.stop()


def cells(server_url: str, callback: str | None, port: int) -> list[str]:
    setup = ["%load_ext mcpomni_jupyter", f"%config MCPMagics.callback_port = {port}", "%config MCPMagics.open_browser = False"]
    setup += [f"%config MCPMagics.callback = {callback!r}"] if callback else []
    return [
        "\n".join([*setup, f"%mcp add ox {server_url} --auth oauth"]),
        "import os, mcpomni_jupyter\nfrom mcpomni_jupyter import get_manager\nm = get_manager()\n"
        "print('package:', mcpomni_jupyter.__file__, 'home:', os.path.expanduser('~'))\n"
        "print('page:', m.oauth.relay.page, 'via:', m.oauth.via())",
        "%mcp connect ox",
        "%mcp call ox.whoami",
        "for c in m.connections.values():\n    print(c.name, c.state.value, c.auth.via)\n"
        "print('loopback servers made:', len(m.oauth.loopback_servers))\n"
        "print('refusals logged:', sum('was refused' in e.message for e in m.connection('ox').log))",
    ]


def login(context, hub, user: str):
    """Log in through the hub's form: the page, on the hub's home."""
    page = context.new_page()
    page.goto(f"{hub.url(REMOTE_HOST)}hub/login?next=%2Fhub%2Fhome")
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    with page.expect_navigation():
        page.click("#login_submit")
    assert urlparse(page.url).path == "/hub/home", page.url
    return page


def open_notebooks(pages: dict, hub) -> None:
    """Open each user's notebook under /user/NAME/, all loading at once; return when every kernel is idle."""
    from playwright.sync_api import expect

    for user, page in pages.items():
        page.goto(f"{hub.url(REMOTE_HOST)}user/{user}/lab/tree/hub.ipynb", wait_until="commit")
    for page in pages.values():
        expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=120_000)
        expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=120_000)


def authorize_row(page):
    return page.locator(".mcpomni-authorize").filter(has=page.locator("b", has_text=re.compile("^ox$")))


def pending_state(page) -> str:
    """The state of the authorization waiting in this notebook (from the link its Authorize row shows)."""
    href = authorize_row(page).locator("a", has_text="open the authorization page").get_attribute("href")
    return parse_qs(urlparse(href).query)["state"][0]


CROSS_POST = """async ({state, page}) => {
  const channel = new BroadcastChannel("mcpomni-oauth");
  const id = "cross-path-" + Math.random().toString(16).slice(2);
  const ack = new Promise((resolve) => { channel.onmessage = (event) => {
    if (event.data && event.data.type === "mcpomni-oauth-ack" && event.data.id === id) { resolve(event.data); } }; });
  channel.postMessage({type: "mcpomni-oauth-callback", id, page, code: "cross-path-code", state});
  const answer = await Promise.race([ack, new Promise((resolve) => setTimeout(() => resolve(null), 20000))]);
  channel.close();
  return answer;
}"""


def cross_path_is_refused(page, bob_relay: str) -> None:
    """(c) alice's own pending state, posted as if from bob's relay page: alice's kernel refuses it."""
    from playwright.sync_api import expect

    ack = page.evaluate(CROSS_POST, {"state": pending_state(page), "page": bob_relay})
    assert ack is not None and ack["status"] == "refused", ack
    assert f"from the relay page '{bob_relay}', not this notebook's (/user/alice/{RELAY})" in ack["message"]
    expect(authorize_row(page)).to_contain_text("waiting for authorization")  # the flow waits on, untouched


def other_users_relay_is_closed(context, hub, bob_state: str) -> None:
    """(b) alice's browser loads bob's relay page with bob's real pending state: the hub refuses; nothing echoed."""
    seen: list[str] = []
    page = context.new_page()
    page.on("request", lambda request: seen.append(request.url))
    response = page.goto(f"{hub.url(REMOTE_HOST)}user/bob/{RELAY}?code=stolen-code&state={bob_state}")
    assert response is not None and response.status == 403, (response and response.status, page.url)
    assert page.locator("#status").count() == 0  # the relay page (its script) never ran
    assert len(seen) > 1 and not any("stolen-code" in url for url in seen[1:]), seen
    assert "stolen-code" not in page.content() and bob_state not in page.content()
    page.close()


def refused_on_relay_page(context, url: str) -> None:
    """(a) the relay page answers a forged state or a replay: "Not waiting here"."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(url)
    expect(page.locator("#status")).to_have_text("Not waiting here", timeout=30_000)
    assert "forged-code" not in page.content()
    page.close()


def authorize(context, page) -> None:
    from playwright.sync_api import expect

    row = authorize_row(page)
    with context.expect_page() as opened:
        row.locator("button", has_text="Authorize").click()
    expect(opened.value.locator("#status")).to_have_text("Authorization complete", timeout=60_000)
    expect(row).to_contain_text("authorized and connected", timeout=60_000)


def tokens(home: Path) -> dict[str, list[str]]:
    """The access tokens in a user's default token store (~/.mcpomni_jupyter/tokens), by file."""

    def found(value) -> list[str]:
        if isinstance(value, dict):
            if isinstance(value.get("access_token"), str):
                return [value["access_token"]]
            value = list(value.values())
        return [token for item in value for token in found(item)] if isinstance(value, list) else []

    store = home / ".mcpomni_jupyter" / "tokens"
    return {path.name: found(json.loads(path.read_text())) for path in sorted(store.glob("*.json"))}


def test_two_users_on_a_hub_each_authorize_through_their_own_relay(hub):
    from playwright.sync_api import expect, sync_playwright

    server = OAuthServer()
    ports = {user: free_port() for user in USERS}
    relay = {user: f"/user/{user}/{RELAY}" for user in USERS}
    for user in USERS:
        write_notebook(hub.home(user) / "hub.ipynb", cells(server.url, CALLBACK[user], ports[user]))
    landed: dict[str, list[str]] = {user: [] for user in USERS}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[*CHROMIUM_ARGS, RESOLVE])
            try:
                contexts = {user: browser.new_context(viewport={"width": 1400, "height": 1000}) for user in USERS}
                for user, context in contexts.items():
                    context.on("request", lambda r, user=user: landed[user].append(r.url) if "code=" in r.url else None)
                pages = {user: login(contexts[user], hub, user) for user in USERS}
                open_notebooks(pages, hub)
                connect_both(pages, hub, relay)
                cross_path_is_refused(pages["alice"], relay["bob"])
                other_users_relay_is_closed(contexts["alice"], hub, pending_state(pages["bob"]))
                refused_on_relay_page(contexts["alice"], f"{hub.url(REMOTE_HOST)}{relay['alice'][1:]}?code=forged-code&state=forged")
                for user in USERS:
                    authorize(contexts[user], pages[user])
                    expect(cell_output(pages[user], 3)).to_contain_text("hello, authorized user", timeout=60_000)
                before = {user: tokens(hub.home(user)) for user in USERS}
                replay = next(url for url in landed["alice"] if relay["alice"] in url and "forged" not in url)  # the real redirect
                refused_on_relay_page(contexts["alice"], replay)
                for user in USERS:
                    out = run_cell(pages[user], 4).inner_text()
                    assert "ox connected relay" in out and "loopback servers made: 0" in out, out
                    assert ("refusals logged: 1" if user == "alice" else "refusals logged: 0") in out, out
                assert {user: tokens(hub.home(user)) for user in USERS} == before  # the replay changed nothing
            finally:
                browser.close()
        check_isolation(hub, server, ports, landed)
    finally:
        server.stop()


def cell_output(page, index: int):
    """Run cell ``index``; its output area."""
    run_cell(page, index, timeout=90_000)
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


def connect_both(pages: dict, hub, relay: dict) -> None:
    """Each notebook runs from this checkout in the user's home, sees the hub's page, and waits at the relay."""
    from playwright.sync_api import expect

    origin = f"http://{REMOTE_HOST}:{hub.port}"
    for user, page in pages.items():
        run_cell(page, 0, timeout=90_000)
        out = run_until(page, 1, f"page: Page(origin='{origin}', base_url='/user/{user}/') via: relay")
        assert f"package: {ROOT / 'mcpomni_jupyter'}" in out and f"home: {hub.home(user)}" in out, out
    for page in pages.values():
        run_cell(page, 2, timeout=90_000)
    for user, page in pages.items():
        row = authorize_row(page)
        expect(row).to_contain_text("waiting for authorization", timeout=30_000)
        expect(row).to_contain_text(f"{origin}{relay[user]}")


def check_isolation(hub, server: OAuthServer, ports: dict, landed: dict) -> None:
    """Each user's token in that user's store only; exactly the expected grants; nothing but loopback listening."""
    stores = {user: tokens(hub.home(user)) for user in USERS}
    held = {user: [t for ts in store.values() for t in ts] for user, store in stores.items()}
    assert all(len(held[user]) == 1 for user in USERS), stores
    assert held["alice"] != held["bob"]
    records = server.grant_records()  # one client registered by each kernel, one authorization and one code exchange each
    clients = {g["client_id"] for g in records}
    assert len(clients) == 2 and all(
        [g["grant"] for g in records if g["client_id"] == client] == ["register", "authorize", "authorization_code"] for client in clients
    ), records
    for port in ports.values():  # the kernels' loopback callback was never bound
        with socket.socket() as probe:
            probe.settimeout(5)
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    listening = hub.listening()
    assert listening and all(ip in ("127.0.0.1", "::1") for _, ip, _ in listening), listening
    log = hub.log.read_text()
    codes = [parse_qs(urlparse(url).query).get("code", [""])[0] for urls in landed.values() for url in urls]
    assert "stolen-code" not in log and "cross-path-code" not in log
    assert codes and not any(code and code in log for code in codes)
