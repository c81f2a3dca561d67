"""The status panel's layout in a real JupyterLab at 1,000 px wide: no column runs into another, long errors wrap.

Three servers (stdio, streamable HTTP, and one that failed with a long
error) in a panel rendered by JupyterLab in headless Chromium; the bounding
box of every cell of every row is measured: cells do not overlap, their text
is not cut, each column lines up with its header, the error wraps inside
its cell.  A screenshot lands in test-artifacts/.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import HttpServer
from test_jupyterlab import lab  # noqa: F401 - the JupyterLab fixture
from tools.lab import chromium, open_notebook, run_all

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
SERVER = ROOT / "tests" / "servers" / "basic.py"

# every cell of every row of the panel: its box, and whether its content is wider or taller than the box
MEASURE = """
() => [...document.querySelectorAll('.mcpomni-status-panel > .widget-hbox')].map(row =>
    [...row.children].map(cell => {
        const box = cell.getBoundingClientRect();
        return {text: cell.innerText, left: box.left, right: box.right, top: box.top, bottom: box.bottom,
                cut: cell.scrollWidth > cell.clientWidth + 1, lines: Math.round(box.height)};
    }))
"""


def notebook(tmp_path: Path, url: str) -> Path:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}})
    long_error = "cannot start: " + " ".join(f"reason-{i}" for i in range(40))
    nb.cells = [
        nbformat.v4.new_code_cell(
            "%load_ext mcpomni_jupyter\n"
            f"%mcp add demo -- {sys.executable} -m mcpomni_jupyter.demo.server\n"
            f"%mcp add remote_api {url}\n"
            f"%mcp add broken -- {sys.executable} -c \"import sys; sys.stderr.write('{long_error}'); sys.exit(2)\"\n"
            "%mcp connect"
        )
    ]
    path = tmp_path / "panel.ipynb"
    nbformat.write(nb, path)
    return path


def overlaps(a: dict, b: dict) -> bool:
    return a["right"] > b["left"] + 0.5


def test_panel_columns_do_not_overlap_at_1000px(lab, tmp_path):  # noqa: F811 - the fixture imported above
    from playwright.sync_api import expect

    http = HttpServer("streamable-http")
    try:
        path = notebook(tmp_path, http.url)
        ARTIFACTS.mkdir(exist_ok=True)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            try:
                open_notebook(page, lab, path.name)
                run_all(page)
                panel = page.locator(".mcpomni-status-panel")
                expect(panel).to_contain_text("streamable_http", timeout=120_000)
                expect(panel.locator(".widget-hbox").filter(has_text="remote_api")).to_contain_text("● connected", timeout=60_000)
                expect(panel.locator(".widget-hbox").filter(has_text="broken")).to_contain_text("failed", timeout=60_000)
                panel.scroll_into_view_if_needed()
                page.screenshot(path=str(ARTIFACTS / "status-panel-1000px.png"), full_page=False)
                rows = page.evaluate(MEASURE)
                page.set_viewport_size({"width": 1600, "height": 900})  # wide enough for all of it: the README's picture
                page.locator(".jp-SideBar.jp-mod-left li[data-id='filebrowser']").click()  # the file browser folds away
                page.wait_for_timeout(500)
                panel.screenshot(path=str(ARTIFACTS / "status-panel.png"))
                wide = page.evaluate(MEASURE)
            finally:
                page.close()
    finally:
        http.stop()

    check_rows(rows)
    check_rows(wide)


def check_rows(rows: list[list[dict]]) -> None:
    header, *servers = rows
    assert [c["text"].strip() for c in header[:3]] == ["server", "transport", "auth"], header
    assert len(servers) == 3
    for row in rows:
        cells = [c for c in row if c["right"] > c["left"]]  # a hidden cell (the Authorize button) has no box
        for a, b in itertools.pairwise(cells):
            assert not overlaps(a, b), (a, b)
        for cell in row[:-1]:  # the text cells: nothing cut off
            assert not cell["cut"], cell
        for cell, head in zip(row, header):  # each column lines up with its header
            assert abs(cell["left"] - head["left"]) < 1.5 and abs(cell["right"] - head["right"]) < 1.5, (cell, head)
    remote = next(r for r in servers if r[0]["text"].strip() == "remote_api")
    assert remote[1]["text"].strip() == "streamable_http"
    broken = next(r for r in servers if r[0]["text"].strip() == "broken")
    error = broken[8]
    # a long error wraps inside its cell (several lines, nothing cut sideways), its first 240 characters shown
    assert error["text"].startswith("server 'broken' closed the connection") and "reason-20" in error["text"], error
    assert error["text"].rstrip().endswith("…") and error["bottom"] - error["top"] > 60 and not error["cut"], error
