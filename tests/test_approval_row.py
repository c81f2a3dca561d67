"""The Approve / Deny row in a real IPython shell over a real server (stdio): clicks let a model's call through or deny
it, "always allow" stops the asking, a row is never shown where no click can arrive, and ``MCPMagics.approval``.

The front end is the one thing that cannot run in-process: ``front_end`` is made to say there is one, and
``display`` records what was shown (a real kernel and a real browser: test_approval_kernel.py, test_approval_browser.py).
"""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from conftest import PY, SERVER

from mcpomni_jupyter.core.agents.calls import call_for_model

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def mcp(run):
    config = {"mcpServers": {"demo": {"command": PY, "args": [SERVER, "stdio"]}}}
    assert run("%%mcp config\n" + json.dumps(config)).ok
    assert run("%mcp connect demo").value["demo"].state == "connected"
    from mcpomni_jupyter.core.kernel import get_manager

    return get_manager()


def tool(mcp, qualified):
    return next(t for t in mcp.model_tools("demo") if t.qualified == qualified)


async def _row(shown):
    while not shown:
        await asyncio.sleep(0.01)  # the row is displayed by a callback on this loop: yield to it
    return shown.pop(0)


def clicked(mcp, shown, qualified, arguments, button):
    """A model's call made under top-level await (``asyncio.run`` on the main thread), answered with ``button``."""

    async def cell():
        task = asyncio.ensure_future(call_for_model(mcp, tool(mcp, qualified), arguments))
        row = await _row(shown)
        getattr(row, button).click()
        return row, await task

    return asyncio.run(asyncio.wait_for(cell(), 60))


def test_approve_lets_the_call_through_and_the_row_says_so(mcp, shown):
    row, out = clicked(mcp, shown, "demo.noop", {}, "approve")
    assert out.ok and not out.denied
    assert row.approve.disabled and row.deny.disabled and row.always.disabled
    assert repr(row).endswith("  approved") and "a model asks to call demo.noop" in repr(row)
    assert "approved" in row.status.value
    lines = [e.message for e in mcp.log("demo") if e.kind == "approval"]
    assert "noop: the person allowed a model's call (the tool is not annotated read-only)" in lines


def test_deny_is_the_models_tool_error(mcp, shown):
    row, out = clicked(mcp, shown, "demo.noop", {}, "deny")
    assert out.denied and out.error == "the person denied this call"
    assert repr(row).endswith("  denied") and row.approve.disabled
    assert any("noop: a model's call denied" in e.message for e in mcp.log("demo") if e.kind == "approval")


def test_always_allow_stops_the_asking(mcp, shown):
    row, out = clicked(mcp, shown, "demo.sleep", {"seconds": 0}, "always")
    assert out.ok and "always allowed from now on" in repr(row)
    assert mcp.approval.rules == {"demo.sleep": "allow"}
    again = asyncio.run(call_for_model(mcp, tool(mcp, "demo.sleep"), {"seconds": 0}))
    assert again.ok and shown == []  # not asked again
    assert "demo.sleep  allow" in _printed(mcp)


def _printed(mcp) -> str:
    from mcpomni_jupyter.magics.approval import rules_text

    return rules_text(mcp.approval)


def test_hostile_arguments_and_annotations_are_escaped_redacted_and_bounded(mcp, shown):
    from mcpomni_jupyter.ui.approval import ARGS_CHARS

    hostile = {
        "text": "<img src=x onerror=alert(1)>",
        "auth": "Bearer abc123def456ghi789",
        "api_key": "sk-live-0a1b2c3d",
        "big": "x" * (3 * ARGS_CHARS),
    }

    async def cell():
        task = asyncio.ensure_future(call_for_model(mcp, tool(mcp, "demo.fail"), hostile))
        row = await _row(shown)
        page = "".join(child.value for child in row.children if hasattr(child, "value"))
        row.deny.click()
        return row, page, await task

    row, page, out = asyncio.run(asyncio.wait_for(cell(), 60))
    assert out.denied
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "abc123def456ghi789" not in page + repr(row) and "sk-live" not in page + repr(row) and "Bearer ***" in repr(row)
    assert "preview only" in repr(row) and len(repr(row)) < 2 * ARGS_CHARS
    assert "annotations: none" in repr(row)  # fail is not annotated: the spec's defaults are said
    html = row._repr_mimebundle_()["text/html"]
    assert "<img" not in html and "denied" in row._repr_mimebundle_()["text/plain"]


def test_no_row_where_no_click_can_arrive_and_a_timeout_is_a_denial(mcp, shown):
    holder = {}
    thread = threading.Thread(target=lambda: holder.update(out=asyncio.run(call_for_model(mcp, tool(mcp, "demo.noop"), {}))))
    thread.start()  # an agent run on a thread of its own: its loop is not the kernel's
    thread.join(60)
    assert holder["out"].denied and "nobody can give it here" in holder["out"].error and shown == []

    mcp.approval.timeout = 0.5

    async def cell():
        task = asyncio.ensure_future(call_for_model(mcp, tool(mcp, "demo.noop"), {}))
        row = await _row(shown)
        out = await task
        while row.decision is None:  # the row is settled by a callback on this loop
            await asyncio.sleep(0.01)
        return row, out

    row, out = asyncio.run(asyncio.wait_for(cell(), 60))
    assert out.denied and out.error == "nobody answered the approval request within 0.5 s"
    assert repr(row).endswith("denied: no answer within 0.5 s") and row.approve.disabled


def test_the_approval_setting_and_the_command(run, mcp):
    assert run('%config MCPMagics.approval = {"demo.noop": "allow", "*.fail": "deny"}').ok
    assert mcp.approval.rules == {"demo.noop": "allow", "*.fail": "deny"}
    assert asyncio.run(call_for_model(mcp, tool(mcp, "demo.noop"), {})).ok  # allowed by the rule: no row, no asking
    cell = run("%mcp approval")
    assert "demo.noop  allow" in cell.out and "*.fail     deny" in cell.out
    run('%config MCPMagics.approval = {"demo.*": "sometimes"}')
    assert mcp.approval.rules == {"demo.noop": "allow", "*.fail": "deny"}  # a bad value changes nothing
    assert "no rules" in run("%mcp approval --clear").out + run("%mcp approval").out
    assert mcp.approval.rules == {}
