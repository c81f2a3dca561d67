"""%%mcp ask in a real JupyterLab, driven in headless Chromium (Playwright), against the scripted model server.

The scripted model calls the test server's ``noop`` (not annotated
read-only, so the policy asks the person): the cell shows the answer's step
(a collapsed ``<details>``, running) and the Approve / Deny row; Approve lets
the call through and the model's final text streams into the cell's
Markdown, the step ok; Deny returns "the person denied this call" to the
model, which answers that, the step denied.  A final answer with raw HTML
and a Markdown image shows as text: no image, no script, no request.
"""

from __future__ import annotations

import json
import sys
from urllib.parse import urlsplit

import pytest
from conftest import HERE, SERVER, free_port
from tools.lab import lab_page, run_cell, start_cell, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

ARTIFACTS = HERE.parent / "test-artifacts"
NOOP = {"tool_calls": [{"name": "demo_noop", "arguments": {}}]}
DENIED = "the person denied this call"
IMG = "<img src=x onerror=window.__pwned=1>"
LEAK = "![t](http://127.0.0.1:9/leak)"
HOSTILE = "\n\n".join(
    [
        f"Careful: {IMG} and {LEAK} are text.",
        f"`` {IMG} `",  # backtick runs of different lengths: no code span
        f"```a`b\n{IMG}\n```",  # a backtick in a backtick fence's info string: no fence
        f"    ```\n{IMG}",  # an indented code line, then HTML
    ]
)
STRANGE_TOOL = "nope\n\n" + LEAK  # a tool name the model made up: it lands in a step's summary


def setup_cell(base_url: str) -> str:
    return (
        "%mcp load mcp.json\n"
        "%mcp connect demo --wait\n"
        f"%config MCPMagics.model_base_url = {base_url!r}\n"
        "%config MCPMagics.model = 'openai:scripted'"
    )


def asked(page, index: int):
    """Start ask cell ``index`` and wait for its row and its running step; the output area and the step's summary."""
    from playwright.sync_api import expect

    out = start_cell(page, index)
    expect(out.get_by_role("button", name="Approve")).to_be_enabled(timeout=60_000)
    expect(out).to_contain_text("A model asks to call demo.noop")
    summary = out.locator(".jp-RenderedMarkdown details > summary")
    expect(summary).to_have_count(1)
    expect(summary).to_contain_text("demo.noop · running")  # shown while the row waits
    assert out.locator(".jp-RenderedMarkdown details").evaluate("d => d.open") is False  # collapsed
    return out, summary


def test_an_ask_streams_its_steps_and_takes_approve_and_deny_clicks(tmp_path, scripted_llm):
    from playwright.sync_api import expect

    cells = [
        "%load_ext mcpomni_jupyter",
        setup_cell(scripted_llm.openai_base_url),
        "%%mcp ask\nPlease run noop.",
        "%%mcp ask\nRun noop once more.",
        "%%mcp ask\nSay something odd.",
    ]
    write_notebook(tmp_path / "ask.ipynb", cells)
    (tmp_path / "mcp.json").write_text(json.dumps({"mcpServers": {"demo": {"command": sys.executable, "args": [str(SERVER), "stdio"]}}}))
    leaks: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with lab_page(tmp_path, free_port(), "ask.ipynb") as page:
        page.on("request", lambda r: leaks.append(r.url) if urlsplit(r.url).path.endswith(("/leak", "/x")) else None)  # the image's URLs
        run_cell(page, 0)
        assert "Error" not in run_cell(page, 1, timeout=90_000).inner_text()

        # Approve: the call goes through, the model's final text streams in, the step is ok
        scripted_llm.set_script([NOOP, {"text": "Noop ran; **all done**."}])
        out, summary = asked(page, 2)
        out.get_by_role("button", name="Approve").click()
        answer = out.locator(".jp-RenderedMarkdown")
        expect(answer).to_contain_text("Noop ran; all done.", timeout=60_000)
        expect(answer.locator("strong")).to_have_text("all done")  # the answer is Markdown, rendered
        expect(summary).to_contain_text("demo.noop · ok")
        expect(out).to_contain_text("approved")
        _, second = scripted_llm.bodies("/v1/chat/completions")
        [tool] = [m for m in second["messages"] if m["role"] == "tool"]
        assert tool["tool_call_id"] == "call_1" and DENIED not in tool["content"], tool

        # Deny: the model is told, and answers that
        scripted_llm.set_script([NOOP, {"when_tool_result_contains": DENIED, "text": "You said no, so I did not run it."}])
        out, summary = asked(page, 3)
        out.get_by_role("button", name="Deny").click()
        expect(out.locator(".jp-RenderedMarkdown")).to_contain_text("You said no, so I did not run it.", timeout=60_000)
        expect(summary).to_contain_text("demo.noop · denied")
        tool = scripted_llm.bodies("/v1/chat/completions")[-1]["messages"][-1]
        assert tool["role"] == "tool" and DENIED in tool["content"], tool
        assert scripted_llm.status()["rules"] == 0  # the rule answered

        # hostile text from the model (a made-up tool's name, the final answer): shown as text, never as markup
        scripted_llm.set_script([{"tool_calls": [{"name": STRANGE_TOOL, "arguments": {}}]}, {"text": HOSTILE}])
        out = run_cell(page, 4)
        answer = out.locator(".jp-RenderedMarkdown")
        expect(answer).to_contain_text(f"Careful: {IMG} and {LEAK} are text.")
        assert out.locator("img").count() == 0
        assert answer.inner_text().count(IMG) == 4
        expect(answer.locator("details > summary")).to_contain_text(LEAK)
        out.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "jupyterlab-ask.png"), full_page=False)
        assert page.evaluate("window.__pwned") is None
        assert leaks == []
