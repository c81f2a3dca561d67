"""The Approve / Deny row in a real JupyterLab, clicked in headless Chromium (Playwright).

A cell awaits a model's call to the test server's ``noop`` (not annotated
read-only, so it is asked about): Approve lets it through, Deny returns "the
person denied this call" to the model, "Always allow this tool" lets it
through and the next call is not asked.  Hostile argument text shows as text.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
from conftest import HERE, SERVER, free_port
from tools.lab import lab_page, run_cell, start_cell, write_notebook

pytestmark = pytest.mark.browser

ARTIFACTS = HERE.parent / "test-artifacts"
HOSTILE = "<img src=x onerror=window.__pwned=1>"
SETUP = """\
%mcp load mcp.json
%mcp connect demo
import mcpomni_jupyter
from mcpomni_jupyter.core.agents.calls import call_for_model
mcp = mcpomni_jupyter.get_manager()
tools = {t.qualified: t for t in mcp.model_tools('demo')}
mcp.set_approval({'demo.echo': 'ask'})  # read-only, so asked only because of this rule
"""
CALL = "out = await call_for_model(mcp, tools[{tool!r}], {arguments})\nprint('ok' if out.ok else out.error)"


def test_approve_deny_and_always_allow_clicked_in_jupyterlab(tmp_path):
    from playwright.sync_api import expect

    cells = [
        "%load_ext mcpomni_jupyter",
        SETUP,
        CALL.format(tool="demo.noop", arguments="{}"),
        CALL.format(tool="demo.noop", arguments="{}"),
        CALL.format(tool="demo.noop", arguments="{}"),
        CALL.format(tool="demo.noop", arguments="{}"),
        CALL.format(tool="demo.echo", arguments=repr({"text": HOSTILE})),
    ]
    write_notebook(tmp_path / "approval.ipynb", cells)
    (tmp_path / "mcp.json").write_text(json.dumps({"mcpServers": {"demo": {"command": sys.executable, "args": [str(SERVER), "stdio"]}}}))
    ARTIFACTS.mkdir(exist_ok=True)
    with lab_page(tmp_path, free_port(), "approval.ipynb") as page:
        run_cell(page, 0)
        assert "Error" not in run_cell(page, 1, timeout=90_000).inner_text()

        def answer(index: int, button: str, printed: str, state: str) -> None:
            out = start_cell(page, index)
            click = out.get_by_role("button", name=button)
            expect(click).to_be_enabled(timeout=30_000)
            expect(out).to_contain_text("A model asks to call demo.")
            expect(out).to_contain_text("waiting for your answer")
            click.click()
            expect(out).to_contain_text(printed, timeout=30_000)
            expect(out).to_contain_text(state)
            for name in ("Approve", "Deny", "Always allow this tool"):
                expect(out.get_by_role("button", name=name)).to_be_disabled()

        answer(2, "Approve", "ok", "approved")
        answer(3, "Deny", "the person denied this call", "denied")
        answer(4, "Always allow this tool", "ok", "this tool is always allowed from now on")
        out = run_cell(page, 5)  # not asked again: it runs to the end by itself
        expect(out).to_have_text(re.compile(r"^\s*ok\s*$"))
        expect(out.get_by_role("button")).to_have_count(0)

        # hostile argument text: shown as text, never as markup
        out = start_cell(page, 6)
        deny = out.get_by_role("button", name="Deny")
        expect(deny).to_be_enabled(timeout=30_000)
        expect(out.locator("pre")).to_contain_text(HOSTILE)
        assert out.locator("img").count() == 0
        out.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-approval-row.png"), full_page=False)
        deny.click()
        expect(out).to_contain_text("the person denied this call", timeout=30_000)
        assert page.evaluate("window.__pwned") is None
