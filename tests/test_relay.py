"""OAuth through the Jupyter server's relay: real JupyterLab, real kernel, our authorization server, headless Chromium.

The notebook page is served as ``http://lab.test:PORT`` (Chromium resolves
``lab.test`` to 127.0.0.1), a non-loopback origin like a JupyterHub's, so
``callback = "auto"`` picks the relay.  The person is Chromium: one click on
Authorize opens the authorization server in a new tab, which redirects to the
relay page; the page hands the code to the notebook's bridge widget and the
kernel connects.  The kernel's loopback callback server is never made.
"""

from __future__ import annotations

import re
import socket
import time

import httpx2
import pytest
from conftest import free_port
from test_auth import OAuthServer
from tools.lab import REMOTE_HOST, RESOLVE, TOKEN, chromium, open_notebook, run_all, run_cell, run_until, start_lab, write_notebook

from mcpomni_jupyter.serverext.relay import CSP

pytestmark = pytest.mark.browser

RELAY = "mcpomni/oauth/callback"


def cells(tmp_path, servers: dict[str, str], callback: str = "auto") -> list[str]:
    setup = [
        f"%config MCPMagics.token_dir = {str(tmp_path / 'tokens')!r}",
        f"%config MCPMagics.callback_port = {free_port()}",
        f"%config MCPMagics.callback = {callback!r}",
        "%config MCPMagics.open_browser = False",
    ]
    setup += [f"%mcp add {name} {url} --auth oauth" for name, url in servers.items()]
    return [
        "%load_ext mcpomni_jupyter",
        "\n".join(setup),
        "from mcpomni_jupyter import get_manager\nm = get_manager()\nprint('page:', m.oauth.relay.page, 'via:', m.oauth.via())",
        "%mcp connect " + " ".join(servers),
        "for c in m.connections.values():\n    print(c.name, c.state.value, c.auth.via)\n"
        "print('loopback servers made:', len(m.oauth.loopback_servers))",
    ]


def authorize_row(page, name: str):
    return page.locator(".mcpomni-authorize").filter(has=page.locator("b", has_text=re.compile(f"^{name}$")))


def panel_row(page, name: str):
    return page.locator(".mcpomni-status-panel .widget-hbox").filter(has=page.locator("b", has_text=re.compile(f"^{name}$"))).first


@pytest.fixture
def lab_at(tmp_path):
    labs = []

    def start(base_url: str = "/"):
        labs.append(start_lab(tmp_path, free_port(), base_url))
        return labs[-1]

    yield start
    for lab in labs:
        lab.stop()


@pytest.mark.parametrize("base_url", ["/", "/user/ada/"])
def test_relay_authorizes_a_remote_kernel_with_one_click(tmp_path, lab_at, base_url):
    from playwright.sync_api import expect

    a, b = OAuthServer(), OAuthServer()
    lab = lab_at(base_url)
    try:
        write_notebook(tmp_path / "relay.ipynb", cells(tmp_path, {"ox": a.url, "oy": b.url}))
        relay_requests: list[str] = []
        with chromium(RESOLVE) as browser:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.on("request", lambda r: relay_requests.append(r.url) if RELAY in r.url else None)
            page = context.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            open_notebook(page, lab, "relay.ipynb", host=REMOTE_HOST)
            run_cell(page, 0)
            run_cell(page, 1)
            origin = f"http://{REMOTE_HOST}:{lab.port}"
            run_until(page, 2, f"page: Page(origin='{origin}', base_url='{base_url}') via: relay")
            run_cell(page, 3, timeout=90_000)

            # two servers wait; each row says where the authorization comes back
            redirect = f"{origin}{base_url}{RELAY}"
            rows = {name: authorize_row(page, name) for name in ("ox", "oy")}
            for row in rows.values():
                expect(row).to_contain_text("waiting for authorization", timeout=30_000)
                expect(row).to_contain_text("through the Jupyter server (relay)")
                expect(row).to_contain_text(redirect)

            # one click each, both at once: two tabs, no paste; the Authorize row's button under "/",
            # the status panel's under "/user/ada/"
            buttons = [
                (row if base_url == "/" else panel_row(page, name)).locator("button", has_text="Authorize") for name, row in rows.items()
            ]
            popups = []
            started = time.monotonic()
            for button in buttons:
                with context.expect_page() as opened:
                    button.click()
                popups.append(opened.value)
            for row in rows.values():
                expect(row).to_contain_text("authorized and connected", timeout=60_000)
            took = time.monotonic() - started
            for popup in popups:
                expect(popup.locator("#status")).to_have_text("Authorization complete", timeout=30_000)
                expect(popup.locator("#detail")).to_contain_text("You can close this tab")
                assert "code=" not in popup.url and "state=" not in popup.url  # gone from the address bar
            out = run_cell(page, 4).inner_text()
            assert "ox connected relay" in out and "oy connected relay" in out
            assert "loopback servers made: 0" in out  # the kernel's loopback callback never started
            print(f"relay: two authorizations, click to connected: {took:.2f} s")

            # a replayed redirect (the very URL the authorization server sent) completes nothing
            landed = next(url for url in relay_requests if "code=" in url)
            replay = context.new_page()
            replay.goto(landed)
            expect(replay.locator("#status")).to_have_text("Not waiting here", timeout=30_000)
            expect(replay.locator("#detail")).to_contain_text("already used")
            # a forged state likewise
            forged = context.new_page()
            forged.goto(f"{redirect}?code=forged-code&state=forged-state")
            expect(forged.locator("#status")).to_have_text("Not waiting here", timeout=30_000)
            assert "forged-code" not in forged.content()
            # opened bare (or reloaded): nothing to hand over
            bare = context.new_page()
            bare.goto(redirect)
            expect(bare.locator("#status")).to_have_text("Nothing to hand over", timeout=10_000)
            assert dialogs == []
            out = run_cell(page, 4).inner_text()
            assert "ox connected relay" in out and "oy connected relay" in out  # nothing changed
        assert [g for g in a.grants() if g != "register"] == ["authorize", "authorization_code"]
        assert [g for g in b.grants() if g != "register"] == ["authorize", "authorization_code"]
        # the code never reached the Jupyter server's log
        codes = [re.search(r"code=([^&]+)", url).group(1) for url in relay_requests if "code=" in url]
        log = lab.log.read_text()
        assert codes and not any(code in log for code in codes)
    finally:
        a.stop()
        b.stop()


def test_relay_page_is_behind_the_server_login_and_inert(tmp_path, lab_at):
    lab = lab_at("/user/ada/")
    relay = f"{lab.url()}{RELAY}"
    # without the Jupyter server's login: sent to log in, and the code is not carried along
    anonymous = httpx2.get(f"{relay}?code=secret-code-1&state=s1", follow_redirects=False)
    assert anonymous.status_code in (302, 403)
    assert "secret-code-1" not in anonymous.headers.get("location", "") + anonymous.text
    # logged in: a static page with a strict CSP, nothing echoed, nothing cached
    page = httpx2.get(f"{relay}?code=secret-code-2&state=s2", headers={"Authorization": f"token {TOKEN}"})
    assert page.status_code == 200
    assert "secret-code-2" not in page.text and "s2" not in re.sub(r"<script>.*</script>", "", page.text, flags=re.S)
    assert page.headers["content-security-policy"] == CSP
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    time.sleep(0.5)
    assert "secret-code" not in lab.log.read_text()


def test_relay_page_with_no_notebook_listening_says_what_to_do(tmp_path, lab_at):
    from playwright.sync_api import expect

    lab = lab_at("/")
    with chromium(RESOLVE) as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"{lab.url(REMOTE_HOST)}login?token={TOKEN}")  # logged in, but no notebook open
        page.goto(f"{lab.url(REMOTE_HOST)}{RELAY}?code=c&state=st")
        expect(page.locator("#status")).to_have_text("Handing the sign-in to your notebook…")
        expect(page.locator("#status")).to_have_text("No notebook took this sign-in", timeout=25_000)
        expect(page.locator("#detail")).to_contain_text("start again")
        assert "code=" not in page.url


def loopback_authorization(browser, lab, tmp_path) -> None:
    """A loopback page in "auto": the Authorize row's button, through the kernel's loopback callback."""
    from playwright.sync_api import expect

    server = OAuthServer()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        write_notebook(lab.root / "local.ipynb", cells(tmp_path, {"ox": server.url}))
        page = context.new_page()
        open_notebook(page, lab, "local.ipynb")
        run_cell(page, 0)
        run_cell(page, 1)
        run_until(page, 2, f"page: Page(origin='http://127.0.0.1:{lab.port}', base_url='{lab.base_url}') via: loopback")
        run_cell(page, 3, timeout=90_000)
        row = authorize_row(page, "ox")
        expect(row).to_contain_text("to this kernel's loopback callback", timeout=30_000)
        expect(row).to_contain_text(re.compile(r"http://localhost:\d+/callback"))
        with context.expect_page() as opened:
            row.locator("button", has_text="Authorize").click()
        expect(row).to_contain_text("authorized and connected", timeout=60_000)
        expect(opened.value.locator("h2")).to_have_text("Authorization complete", timeout=30_000)
        out = run_cell(page, 4).inner_text()
        assert "ox connected loopback" in out and "loopback servers made: 1" in out
    finally:
        context.close()
        server.stop()


def test_auto_uses_the_loopback_callback_for_a_loopback_origin(tmp_path, lab_at):
    with chromium(RESOLVE) as browser:
        loopback_authorization(browser, lab_at("/"), tmp_path)


def first_use_run_all(browser, lab, tmp_path, callback: str) -> None:
    """The first cell connects through the relay before the page is known: its Authorize row shows at once, the
    authorization starts when the row reports the page, and the next cell's call waits (awaited) and returns.
    In "auto" the connect takes the loopback callback first, and starts again through the relay once the
    (remote) page reports.  ``lab`` serves under a base URL other than "/"."""
    from playwright.sync_api import expect

    server = OAuthServer()
    port = free_port()
    first = "\n".join(
        [
            "%load_ext mcpomni_jupyter",
            f"%config MCPMagics.token_dir = {str(tmp_path / 'tokens')!r}",
            f"%config MCPMagics.callback_port = {port}",
            f"%config MCPMagics.callback = {callback!r}",
            "%config MCPMagics.open_browser = False",
            f"%mcp add relayed {server.url} --auth oauth",
            "%mcp connect",
        ]
    )
    name = f"first-{callback}.ipynb"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        write_notebook(lab.root / name, [first, "%mcp call relayed.whoami"])
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        open_notebook(page, lab, name, host=REMOTE_HOST)
        cells = page.locator(".jp-Notebook .jp-Cell")
        run_all(page)
        row = authorize_row(page, "relayed")
        button = row.locator("button", has_text="Authorize")
        expect(button).to_be_visible(timeout=5_000)
        # the row reported the page; the flow started through the relay, its link in the same row
        expect(row).to_contain_text("waiting for authorization", timeout=30_000)
        expect(row).to_contain_text(f"http://{REMOTE_HOST}:{lab.port}{lab.base_url}{RELAY}")
        expect(row.locator("a", has_text="open the authorization page")).to_have_attribute("href", re.compile(r"^http://127"))
        # the second cell waits awaited, and says for what
        second = cells.nth(1).locator(".jp-OutputArea")
        expect(second).to_contain_text("waiting for 'relayed' to be authorized through the Jupyter server")
        with context.expect_page() as opened:
            button.click()
        expect(opened.value.locator("#status")).to_have_text("Authorization complete", timeout=30_000)
        expect(row).to_contain_text("authorized and connected", timeout=30_000)
        expect(second).to_contain_text("hello, authorized user", timeout=30_000)
        expect(cells.nth(1).locator(".jp-InputPrompt")).to_have_text("[2]:", timeout=30_000)
        out = cells.nth(0).locator(".jp-OutputArea").inner_text()
        assert "needs the address" not in out and "Error" not in out  # no error on the ordinary path
        assert dialogs == []
        # nothing listens on the loopback callback port: the kernel (alive, connected) never bound it
        # (in "auto", bound for the first flow and closed when the relay's replaced it)
        with socket.socket() as probe:
            probe.settimeout(5)
            assert probe.connect_ex(("127.0.0.1", port)) != 0
        assert [g for g in server.grants() if g != "register"] == ["authorize", "authorization_code"]
    finally:
        context.close()
        server.stop()


@pytest.mark.parametrize("callback", ["relay", "auto"])
def test_relay_on_first_use_run_all(tmp_path, lab_at, callback):
    with chromium(RESOLVE) as browser:
        first_use_run_all(browser, lab_at("/user/ada/"), tmp_path, callback)
