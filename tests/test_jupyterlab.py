"""A real JupyterLab 4 in headless Chromium (Debian's), driven by Playwright: the status panel renders and works.

Runs the quickstart notebook (without its closing disconnect) plus one HTTP
server whose bearer token comes from the kernel's environment, sees the panel
show the demo server connected, clicks Refresh, Disconnect and Connect and
sees the row follow, keeps a screenshot in test-artifacts/, saves the
notebook with widget state, and checks that the file holds no secret.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import free_port
from tools.lab import chromium, open_notebook, run_all, start_lab

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SECRET = "lab-secret-token-5f3e9a7c"


def notebook(tmp_path: Path) -> Path:
    nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    cut = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.startswith("%mcp disconnect"))
    nb.cells = nb.cells[:cut]
    load = next(i for i, c in enumerate(nb.cells) if "%load_ext mcpomni_jupyter" in c.source)
    nb.cells.insert(
        load + 1, nbformat.v4.new_code_cell("%mcp add api http://127.0.0.1:9/mcp -H 'Authorization: Bearer ${MCPJ_LAB_SECRET}'")
    )
    # a hostile server's content, rendered in the page: it must stay text (no dialog may open)
    hostile = f"%mcp add hostile -- {sys.executable} {ROOT / 'tests' / 'servers' / 'hostile.py'} stdio"
    nb.cells.insert(load + 2, nbformat.v4.new_code_cell(hostile + "\n%mcp connect hostile\n%mcp call hostile.inject"))
    nb.cells.insert(load + 3, nbformat.v4.new_code_cell("%mcp tools hostile"))
    path = tmp_path / "quickstart.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def lab(tmp_path):
    server = start_lab(tmp_path, free_port(), env={"MCPJ_LAB_SECRET": SECRET}, save_widget_state=True)
    yield server
    server.stop()


def check_row_buttons(row) -> None:
    """A connected server's row in the status panel: Refresh, Disconnect and Connect clicked, the row follows."""
    from playwright.sync_api import expect

    row.locator("button[title='Refresh']").click()
    expect(row).to_contain_text("● connected")
    row.locator("button[title='Disconnect']").click()
    expect(row).to_contain_text("○ disconnected", timeout=30_000)
    expect(row).to_contain_text("0 / 0 / 0")
    row.locator("button[title='Connect']").click()
    expect(row).to_contain_text("● connected", timeout=60_000)


def test_status_panel_renders_and_its_buttons_work(lab, tmp_path):
    from playwright.sync_api import expect

    path = notebook(tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        try:
            open_notebook(page, lab, path.name)
            run_all(page)

            # the panel from `%mcp connect`: the demo row connected, the api row failed
            demo = page.locator(".widget-hbox").filter(has=page.locator("b", has_text=re.compile("^demo$"))).first
            api = page.locator(".widget-hbox").filter(has=page.locator("b", has_text=re.compile("^api$"))).first
            expect(demo).to_contain_text("● connected", timeout=120_000)
            expect(api).to_contain_text("failed", timeout=60_000)
            expect(api).to_contain_text("cannot reach")
            # wait for Run All to finish: the last cell has run
            expect(page.locator(".jp-Cell").last.locator(".jp-InputPrompt")).to_contain_text(re.compile(r"\[\d+\]"), timeout=120_000)
            demo.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-status-panel.png"), full_page=False)

            # the hostile output is there, as text, and ran nothing
            expect(page.locator(".jp-OutputArea-output").filter(has_text="onerror=alert('text')").first).to_be_visible()
            assert page.locator(".jp-OutputArea-output img[onerror]").count() == 0
            assert page.locator(".jp-OutputArea-output script").count() == 0
            assert page.locator(".jp-OutputArea-output img[src^='data:image/png;base64,']").count() >= 1
            assert dialogs == [], dialogs

            check_row_buttons(demo)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-status-panel-after-clicks.png"), full_page=False)

            # save with widget state; nothing secret may reach the file
            page.locator(".jp-Notebook").first.click()
            page.keyboard.press("Control+s")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                saved = json.loads(path.read_text())
                if "widgets" in saved.get("metadata", {}):
                    break
                time.sleep(0.5)
        finally:
            page.close()
    assert dialogs == [], dialogs
    text = path.read_text()
    saved = json.loads(text)
    assert "application/vnd.jupyter.widget-state+json" in saved["metadata"]["widgets"]
    assert "● connected" in text  # the panel's state is really in the file
    assert SECRET not in text
