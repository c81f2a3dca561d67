"""Jupyter Notebook 7 (the ``notebook`` package) in headless Chromium: what the JupyterLab tests check, in Notebook 7.

One Notebook 7 server for the module, under ``/user/ada/`` as on a hub, and
one browser; each test opens its own notebook in its own browser context.
The status panel (its row follows Refresh / Disconnect / Connect), a tool's
progress bar, a server's question as a form filled in the page, an MCP App
under its cell, and the Authorize row through the kernel's loopback callback
and, on first use ("Run All", a remote page), through the Jupyter server's
relay.  The servers, cells and checks are the JupyterLab tests' own.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
from conftest import HERE, SERVER, free_port
from test_apps_browser import check_counter_app
from test_jupyterlab import check_row_buttons
from test_relay import first_use_run_all, loopback_authorization
from tools.lab import RESOLVE, chromium, open_notebook, run_cell, start_cell, start_lab, write_notebook

pytestmark = pytest.mark.browser

SERVERS = {
    "demo": {"command": sys.executable, "args": ["-m", "mcpomni_jupyter.demo.server"]},
    "s": {"command": sys.executable, "args": [SERVER, "stdio"]},
    "apps": {"command": sys.executable, "args": [str(HERE / "servers" / "apps_server.py"), "stdio"]},
}


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory):
    """Notebook 7 on loopback under /user/ada/, serving a folder with mcp.json (demo, s and apps)."""
    root = tmp_path_factory.mktemp("notebook7")
    (root / "mcp.json").write_text(json.dumps({"mcpServers": SERVERS}))
    server = start_lab(root, free_port(), "/user/ada/", frontend="notebook")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium(RESOLVE) as chrome:
        yield chrome


@pytest.fixture
def page(browser):
    """A page in a fresh browser context; no dialog may open in it."""
    context = browser.new_context(viewport={"width": 1200, "height": 1200})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield page
    context.close()
    assert dialogs == []


def row(page, name: str):
    return page.locator(".mcpomni-status-panel .widget-hbox").filter(has=page.locator("b", has_text=re.compile(f"^{name}$"))).first


def test_status_panel_progress_bar_and_form_in_notebook7(notebook7, page):
    from playwright.sync_api import expect

    write_notebook(
        notebook7.root / "widgets.ipynb",
        [
            "%load_ext mcpomni_jupyter",
            "%mcp load mcp.json\n%mcp connect demo s",
            "%mcp call demo.slow_count n=5 delay=0.2",
            "import mcpomni_jupyter\nmcp = mcpomni_jupyter.get_manager()\nr = await mcp.acall('s.ask_user')\nprint('answer:', r.text)",
        ],
    )
    open_notebook(page, notebook7, "widgets.ipynb")
    run_cell(page, 0)
    run_cell(page, 1, timeout=90_000)

    # the status panel: both rows connected; the demo row follows its buttons
    expect(row(page, "s")).to_contain_text("● connected", timeout=30_000)
    demo = row(page, "demo")
    expect(demo).to_contain_text("● connected", timeout=30_000)
    check_row_buttons(demo)

    # the progress bar: a widget under the cell, filled to its end, its line says done
    out = run_cell(page, 2)
    bar = out.locator(".widget-hprogress .progress-bar")
    expect(bar).to_have_attribute("style", re.compile(r"width: 100%"), timeout=20_000)
    expect(bar).to_have_class(re.compile(r"progress-bar-success"))
    expect(out).to_contain_text("5/5 · counted 5 of 5")
    expect(out).to_contain_text("done")
    expect(out).to_contain_text("counted to 5")

    # the server's question: a form in the page, filled and sent; the awaited call returns the answer
    out = start_cell(page, 3)
    expect(out).to_contain_text("s asks: Who are you?", timeout=30_000)
    out.locator(".widget-text").filter(has=page.locator("label", has_text="name *")).locator("input").fill("Ada")
    count = out.locator(".widget-text").filter(has=page.locator("label", has_text="count")).locator("input")
    expect(count).to_have_value("2")  # the schema's default
    count.fill("3")
    count.press("Enter")
    out.get_by_role("button", name="Accept").click()
    expect(out).to_contain_text("answer: accepted: Ada x3", timeout=30_000)
    expect(out).to_contain_text("sent: accept")


def test_mcp_app_under_the_cell_in_notebook7(notebook7, page):
    write_notebook(
        notebook7.root / "app.ipynb", ["%load_ext mcpomni_jupyter\n%mcp load mcp.json\n%mcp connect apps", "%mcp call apps.counter start=3"]
    )
    open_notebook(page, notebook7, "app.ipynb")
    assert "Error" not in run_cell(page, 0, timeout=90_000).inner_text()
    check_counter_app(run_cell(page, 1))


def test_authorize_row_with_the_loopback_callback_in_notebook7(notebook7, browser, tmp_path):
    loopback_authorization(browser, notebook7, tmp_path)


def test_relay_on_first_use_run_all_in_notebook7(notebook7, browser, tmp_path):
    """``callback = "relay"``, as the README advises on a hub ("auto" takes the same path; tests/test_relay.py runs both)."""
    first_use_run_all(browser, notebook7, tmp_path, "relay")
