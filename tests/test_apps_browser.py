"""MCP Apps rendered under the cell in a real JupyterLab, driven by headless Chromium (Playwright).

Two app servers: ours (tests/servers/apps_server.py, a page written by hand
against the extension's protocol) and ``@modelcontextprotocol/server-basic-preact``
from npm (a Preact app on the extension's own ``App`` SDK).  The app appears
under the cell that called its tool, gets the call's input and result, and a
click inside it calls a tool on the server through the kernel; it cannot read
the notebook page, open a link by itself, or get a permission nobody allowed.
"""

from __future__ import annotations

import json
import re
import sys
import time

import pytest
from conftest import HERE, free_port
from tools.lab import lab_page, run_cell, write_notebook

pytestmark = pytest.mark.browser

ROOT = HERE.parent
ARTIFACTS = ROOT / "test-artifacts"
PREACT = HERE / "node" / "node_modules" / "@modelcontextprotocol" / "server-basic-preact" / "dist" / "index.js"


def check_counter_app(out) -> None:
    """The counter app (``apps.counter start=3``) under the output ``out``: the call's input and result delivered,
    no way into the page or to a permission nobody allowed, and a click inside it calls the server through the kernel."""
    from playwright.sync_api import expect

    app = out.frame_locator("iframe")
    expect(app.locator("#count")).to_have_text("3", timeout=20_000)
    expect(app.locator("#input")).to_have_text('{"start":3}')
    expect(app.locator("#host")).to_have_text("host: mcpomni-jupyter theme light")
    expect(app.locator("#probe")).to_have_text("parent: blocked")  # no way into the notebook page
    expect(app.locator("#answer")).to_contain_text("refused:", timeout=10_000)
    expect(app.locator("#answer")).to_contain_text("not callable from an app")
    frame = out.locator("iframe")
    assert frame.get_attribute("sandbox") == "allow-scripts"
    assert not frame.get_attribute("allow")  # it asked for camera and clipboard: nobody allowed them
    expect(out).to_contain_text("The app says: hello from the counter")

    # a click inside the app calls an app-only tool on the server, through the kernel
    app.locator("#add").click()
    expect(app.locator("#count")).to_have_text("4", timeout=20_000)
    expect(app.locator("#answer")).to_contain_text("server said:")
    app.locator("#add").click()
    expect(app.locator("#count")).to_have_text("5", timeout=20_000)


def check_preact_app(out) -> None:
    """npm's example (Preact, the extension's own App SDK) under ``out``: it renders, and its button calls the server."""
    from playwright.sync_api import expect

    preact = out.frame_locator("iframe")
    expect(preact.get_by_text("Server Time:")).to_be_visible(timeout=30_000)
    shown = preact.locator("p", has_text="Server Time:")
    expect(shown).to_contain_text(re.compile(r"\d{4}-\d\d-\d\dT"), timeout=20_000)
    before = shown.inner_text()
    time.sleep(0.05)
    preact.get_by_role("button", name="Get Server Time").click()
    expect(shown).not_to_have_text(before, timeout=20_000)
    expect(shown).to_contain_text(re.compile(r"\d{4}-\d\d-\d\dT"))


def test_apps_render_under_the_cell_and_talk_to_their_server(tmp_path):
    from playwright.sync_api import expect

    assert PREACT.exists(), "run ./run-tests once: it installs the npm test servers"
    write_notebook(
        tmp_path / "apps.ipynb",
        [
            "%load_ext mcpomni_jupyter",
            "%mcp load mcp.json\n%mcp connect apps preact",
            "%mcp call apps.counter start=3",
            "%mcp call preact.get-time",
            "%mcp log apps",
            "%mcp tools apps",
            "%mcp tools apps --all",
            "%config MCPMagics.app_permissions = ['clipboardWrite']\n%mcp call apps.counter start=7",
        ],
    )
    servers = {
        "apps": {"command": sys.executable, "args": [str(HERE / "servers" / "apps_server.py"), "stdio"]},
        "preact": {"command": "node", "args": [str(PREACT), "--stdio"]},
    }
    (tmp_path / "mcp.json").write_text(json.dumps({"mcpServers": servers}))  # no machine's paths in the screenshot
    ARTIFACTS.mkdir(exist_ok=True)
    with lab_page(tmp_path, free_port(), "apps.ipynb", viewport=(1200, 1000)) as page:
        context = page.context
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        run_cell(page, 0)
        run_cell(page, 1, timeout=90_000)

        # our app: input and result delivered, first paint timed from the cell's run
        started = time.monotonic()
        out = run_cell(page, 2)
        app = out.frame_locator("iframe")
        expect(app.locator("#count")).to_have_text("3", timeout=20_000)
        painted = time.monotonic() - started
        check_counter_app(out)

        # a link is shown with an Open button, never opened by the app itself
        pages = len(context.pages)
        app.locator("#link").click()
        expect(out).to_contain_text("The app asks to open https://example.org/docs")
        time.sleep(1)
        assert len(context.pages) == pages
        out.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-mcp-app.png"), full_page=False)

        check_preact_app(run_cell(page, 3))

        log = run_cell(page, 4).inner_text()
        assert "counter app ready" in log and "tools/call" in log
        assert "increment" not in run_cell(page, 5).inner_text()
        assert "increment" in run_cell(page, 6).inner_text()
        out = run_cell(page, 7)
        expect(out.frame_locator("iframe").locator("#count")).to_have_text("7", timeout=20_000)
        assert out.locator("iframe").get_attribute("allow") == "clipboard-write"  # allowed and asked for
        assert dialogs == []
    print(f"MCP App: from running the cell to the app showing the result: {painted:.2f} s")
    assert painted < 10


class _Landing:
    """An HTTP server on loopback where a wandering app lands: it records each request's path and query."""

    def __init__(self) -> None:
        import http.server
        import threading

        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                body = b"<!DOCTYPE html><title>elsewhere</title><h1 id='elsewhere'>elsewhere</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/landing"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_app_cannot_leave_its_frame_or_reach_the_jupyter_origin(tmp_path):
    """An app that navigates its own frame is removed, with one line under the cell; 'self' in its policy does
    not let it load or fetch anything of the Jupyter server's origin."""
    from playwright.sync_api import expect

    landing = _Landing()
    servers = {"apps": {"command": sys.executable, "args": [str(HERE / "servers" / "apps_server.py"), "stdio"]}}
    (tmp_path / "mcp.json").write_text(json.dumps({"mcpServers": servers}))
    write_notebook(
        tmp_path / "leave.ipynb",
        [
            "%load_ext mcpomni_jupyter\n%mcp load mcp.json\n%mcp connect apps",
            "%mcp call apps.probe_self path=/static/favicons/favicon.ico",
            f"%mcp call apps.wander to={landing.url}",
            "%mcp log apps",
        ],
    )
    try:
        with lab_page(tmp_path, free_port(), "leave.ipynb", viewport=(1200, 1000)) as page:
            run_cell(page, 0, timeout=90_000)

            # 'self' of an opaque-origin srcdoc frame: the Jupyter origin in Chromium, so the policy never names it
            probe = run_cell(page, 1).frame_locator("iframe")
            expect(probe.locator("#img")).to_have_text("img: blocked by img-src", timeout=20_000)
            expect(probe.locator("#fetch")).to_have_text("fetch: blocked by connect-src", timeout=20_000)

            # navigating its own frame: the frame is removed, and the cell says so in one line
            out = run_cell(page, 2)
            expect(out).to_contain_text("left its frame", timeout=20_000)
            expect(out.locator("iframe")).to_have_count(0)
            expect(out).to_contain_text("the result of wander")  # the tool's own result stays
            assert "app ui://wander/app.html left its frame" in run_cell(page, 3).inner_text()
    finally:
        landing.stop()
