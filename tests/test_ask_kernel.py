"""%%mcp ask in a real kernel: the answer and its steps stream into one display; an interrupt keeps what was said."""

from __future__ import annotations

import pytest
from conftest import PY, SERVER
from tools.kernels import Kernel

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(240)]


@pytest.fixture
def kernel(scripted_llm):
    k = Kernel()
    setup = k.run(
        "%load_ext mcpomni_jupyter\n"
        f"%mcp add demo -- {PY} {SERVER} stdio\n"
        "%mcp connect demo --wait\n"
        f"%config MCPMagics.model_base_url = {scripted_llm.openai_base_url!r}\n"
        "%config MCPMagics.model = 'openai:scripted'\n"
        "from mcpomni_jupyter import get_manager\n"
        "mcp = get_manager()"
    )
    assert setup["ename"] is None, setup
    yield k
    k.stop()


def test_the_answer_and_its_steps_stream_into_one_display_that_a_saved_notebook_keeps(kernel, scripted_llm):
    scripted_llm.set_script(
        [{"tool_calls": [{"name": "demo_add", "arguments": {"a": 2, "b": 3}}]}, {"text": "The answer is 5, <b>bold</b> ![x](http://e/)"}]
    )
    out = kernel.run("%%mcp ask --out r\nWhat is 2 + 3?")
    assert out["ename"] is None, out
    final = out["updates"].strip().splitlines()
    assert "[ok] demo.add" in out["updates"] and '"a": 2' in out["updates"]
    assert final[-1].startswith("The answer is 5"), out["updates"]
    check = kernel.run("print(r.output); print(len(r.tool_calls), r.tool_calls[0].status, r.usage.requests)")
    assert check["stdout"].splitlines() == ["The answer is 5, <b>bold</b> ![x](http://e/)", "1 ok 2"]
    shown = kernel.run(
        "from mcpomni_jupyter.ui.ask import safe_markdown\nprint(safe_markdown(r.output))"
    )  # what the Markdown display held: no raw HTML, no image that loads by itself
    assert shown["stdout"].strip() == "The answer is 5, &lt;b>bold&lt;/b> !\\[x](http://e/)"


def test_an_interrupt_stops_the_ask_and_keeps_what_was_said(kernel, scripted_llm):
    scripted_llm.set_script([{"text": "Partial words so far", "stall": True}, {"text": "after"}])
    asked = kernel.kc.execute("%%mcp ask\nTell me a long story.", stop_on_error=False)
    while True:  # the partial answer is on the page before the interrupt
        msg = kernel.kc.get_iopub_msg(timeout=60)
        data = msg["content"].get("data", {}) if msg["parent_header"].get("msg_id") == asked else {}
        if "Partial words so far" in data.get("text/plain", ""):
            break
    kernel.km.interrupt_kernel()
    stopped = kernel.collect(asked)
    assert stopped["error"] is None and "UsageError: interrupted" in stopped["stderr"], stopped
    kept = kernel.run("m = mcp.conversation.messages\nprint(len(m), m[-1].parts[0].content)")
    assert kept["stdout"].strip() == "2 Partial words so far", kept
    again = kernel.run("%%mcp ask\ngo on")
    assert again["ename"] is None and "after" in again["updates"] + again["text"], again
