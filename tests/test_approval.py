"""The approval policy on a real server (stdio): deny holds for everyone, a model's calls are allowed or asked about, every decision is logged."""

from __future__ import annotations

import asyncio
import sys

import pytest

from mcpomni_jupyter.core.agents.calls import call_for_model
from mcpomni_jupyter.errors import ApprovalDenied
from tests.conftest import stdio_args

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def demo(manager):
    manager.add("demo", command=sys.executable, args=stdio_args())
    manager.connect("demo", wait=True)
    return manager


def tool(manager, qualified):
    return next(t for t in manager.model_tools("demo") if t.qualified == qualified)


def test_a_deny_rule_holds_for_a_persons_call_too(demo):
    demo.set_approval({"demo.fail": "deny"})
    with pytest.raises(ApprovalDenied, match=r"demo.fail is denied by the approval policy \(rule 'demo.fail'\)"):
        demo.call("demo.fail")
    assert demo.call("demo.add", a=1, b=2).value == 3  # other tools are not asked about for a person
    assert any(e.kind == "approval" and "denied a person's call" in e.message for e in demo.log("demo"))


def test_a_models_call_to_a_read_only_tool_goes_out_and_another_is_denied_when_nobody_can_answer(demo):
    added = asyncio.run(call_for_model(demo, tool(demo, "demo.add"), '{"a": 2, "b": 3}'))
    assert added.ok and added.text() == "5.0" and not added.denied
    echo = asyncio.run(call_for_model(demo, tool(demo, "demo.noop"), {}))
    assert echo.denied and not echo.ok
    assert "needs the person's approval" in echo.error and "mcp.set_approval_handler" in echo.error
    lines = [e.message for e in demo.log("demo") if e.kind == "approval"]
    assert any("add: allowed a model's call (the tool is annotated read-only)" in line for line in lines)
    assert any("noop: a model's call denied (the tool is not annotated read-only)" in line for line in lines)


def test_the_handler_answers_ask_and_sees_the_arguments(demo):
    seen = []

    def handler(server, tool, arguments):
        seen.append((server, tool, arguments))
        return arguments.get("text") != "no"

    demo.set_approval_handler(handler)
    yes = asyncio.run(call_for_model(demo, tool(demo, "demo.echo"), {"text": "yes"}))
    demo.set_approval({"demo.echo": "ask"})
    no = asyncio.run(call_for_model(demo, tool(demo, "demo.echo"), {"text": "no"}))
    assert yes.ok and yes.text() == "yes"  # read-only: allowed without asking
    assert no.denied and no.error == "the approval handler denied this call"
    assert seen == [("demo", "echo", {"text": "no"})]


def test_an_async_handler_that_fails_is_a_denial_and_the_kernel_goes_on(demo):
    async def handler(server, tool, arguments):
        raise RuntimeError("boom")

    demo.set_approval_handler(handler)
    out = asyncio.run(call_for_model(demo, tool(demo, "demo.noop"), {}))
    assert out.denied and out.error == "the approval handler failed: RuntimeError: boom"
    demo.set_approval_handler(None)
    demo.set_approval({"demo.noop": "allow"})
    assert asyncio.run(call_for_model(demo, tool(demo, "demo.noop"), {})).ok


def test_bad_arguments_and_tool_errors_reach_the_model_as_errors(demo):
    demo.set_approval({"demo.*": "allow"})
    bad = asyncio.run(call_for_model(demo, tool(demo, "demo.add"), "{not json"))
    assert bad.error.startswith("demo_add: the arguments are not valid JSON")
    listy = asyncio.run(call_for_model(demo, tool(demo, "demo.add"), "[1, 2]"))
    assert listy.error == "demo_add: the arguments must be a JSON object, not list"
    failed = asyncio.run(call_for_model(demo, tool(demo, "demo.fail"), {"message": "nope"}))
    assert not failed.ok and failed.error is None and failed.result.is_error and "Error executing tool fail" in failed.text()
