"""%%mcp ask in a real IPython shell: a scripted model (an OpenAI-compatible server on loopback) answers with a real server's tools."""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import stdio_args

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def ask(run, shell, scripted_llm):
    """A shell with the demo server connected and the scripted model configured."""
    assert run("from mcpomni_jupyter import get_manager; mcp = get_manager()").ok
    assert run(f"%mcp add demo -- {sys.executable} {' '.join(stdio_args())}").ok
    assert run("%mcp connect demo --wait").ok
    assert run(f'%config MCPMagics.model_base_url = "{scripted_llm.openai_base_url}"').ok
    assert run('%config MCPMagics.model = "openai:scripted"').ok
    return scripted_llm


def test_an_ask_calls_a_tool_and_returns_the_answer_with_its_steps_and_usage(run, ask):
    ask.set_script(
        [
            {"tool_calls": [{"name": "demo_add", "arguments": {"a": 1, "b": 2}}], "usage": {"input_tokens": 20, "output_tokens": 7}},
            {"text": "The sum is **3**.", "usage": {"input_tokens": 30, "output_tokens": 5}},
        ]
    )
    cell = run("%%mcp ask --out answer\nWhat is 1 + 2?")
    assert cell.ok, cell.err
    result = cell.value
    assert result.output == "The sum is **3**."
    assert [(s.name, s.status, s.arguments) for s in result.tool_calls] == [("demo.add", "ok", {"a": 1, "b": 2})]
    assert (result.usage.requests, result.usage.input_tokens, result.usage.output_tokens) == (2, 50, 12)
    assert run("answer.output").value == "The sum is **3**."
    first, second = ask.bodies("/v1/chat/completions")
    assert [t["function"]["name"] for t in first["tools"]].count("demo_add") == 1
    assert first["messages"][-1] == {"role": "user", "content": "What is 1 + 2?"}
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1" and "3" in tool_message["content"]
    assert any(e.kind == "approval" and "add: allowed a model's call" in e.message for e in run("mcp.log('demo')").value)


def test_a_denied_call_reaches_the_model_and_the_conversation_carries_on(run, ask):
    ask.set_script(
        [
            {"tool_calls": [{"name": "demo_noop", "arguments": {}}]},
            {"when_tool_result_contains": "the approval handler denied this call", "text": "I was not allowed to."},
            {"text": "Still here."},
        ]
    )
    assert run("mcp.set_approval_handler(lambda server, tool, arguments: False)").ok
    cell = run("%%mcp ask\nPlease run noop.")
    assert cell.ok, cell.err
    assert cell.value.output == "I was not allowed to."
    assert [s.status for s in cell.value.tool_calls] == ["denied"]
    again = run("%%mcp ask\nAre you there?")
    assert again.value.output == "Still here."
    history = ask.bodies("/v1/chat/completions")[-1]["messages"]
    said = [m.get("content") for m in history if m["role"] in ("user", "assistant")]
    assert "Please run noop." in said and "I was not allowed to." in said and said[-1] == "Are you there?"


def test_a_made_up_tool_is_an_error_step_the_model_hears_about_and_the_ask_carries_on(run, ask):
    ask.set_script(
        [{"tool_calls": [{"name": "nope", "arguments": {}}]}, {"when_tool_result_contains": "Unknown tool name: 'nope'", "text": "Sorry."}]
    )
    cell = run("%%mcp ask\nRun nope.")
    assert cell.ok, cell.error
    assert cell.value.output == "Sorry."
    [step] = cell.value.tool_calls
    assert (step.name, step.status) == ("nope", "error") and step.preview.startswith("Unknown tool name: 'nope'")


def test_the_models_text_before_and_after_a_tool_call_are_two_paragraphs(run, ask):
    ask.set_script([{"text": "Let me run it.", "tool_calls": [{"name": "demo_noop", "arguments": {}}]}, {"text": "Done."}])
    assert run("mcp.set_approval({'demo.noop': 'allow'})").ok
    cell = run("from mcpomni_jupyter.ui.ask import AskCellView\nview = AskCellView(live=False)\nr = await mcp.aask('Run noop.', view=view)")
    assert cell.ok, cell.error
    assert run("''.join(view.chunks), r.output").value == ("Let me run it.\n\nDone.", "Done.")


def test_new_starts_over_and_history_saves_loads_and_clears(run, ask, tmp_path):
    ask.set_script([{"text": "one"}, {"text": "two"}, {"text": "three"}])
    assert run("%%mcp ask\nfirst").value.output == "one"
    path = tmp_path / "h.json"
    assert run(f"%mcp history --save {path}").ok
    saved = json.loads(path.read_text())
    assert len(saved) == 2
    assert run("%%mcp ask --new\nsecond").value.output == "two"
    assert ask.bodies()[-1]["messages"][-1]["content"] == "second" and len(ask.bodies()[-1]["messages"]) <= 2
    assert run(f"%mcp history --load {path}").ok
    assert run("%%mcp ask\nthird").value.output == "three"
    contents = [m.get("content") for m in ask.bodies()[-1]["messages"]]
    assert "first" in contents and "one" in contents and "second" not in contents
    assert run("%mcp history --clear").ok
    assert len(run("mcp.conversation").value) == 0


def test_a_servers_prompt_opens_the_turn_and_a_resource_is_attached(run, ask):
    ask.set_script([{"text": "Looks fine."}])
    cell = run('%%mcp ask --prompt demo.review code="print(1)" --attach test://greeting\nBe brief.')
    assert cell.ok, cell.err
    user = ask.bodies()[0]["messages"][-1]["content"]
    assert user.startswith("Please review this python code:\nprint(1)\n\nBe brief.")
    assert "<attachment uri='test://greeting'>\nhello from the test server\n</attachment>" in user


@pytest.mark.parametrize(
    ("cell", "error"),
    [
        ("%%mcp ask\n", "write the question in the cell body"),
        ("%%mcp ask x=1\nq", "k=v arguments go with --prompt"),
        ("%%mcp ask --servers nope\nq", "unknown server 'nope'"),
    ],
)
def test_bad_asks_are_one_line_errors(run, ask, cell, error):
    ask.set_script([{"text": "unused"}])
    out = run(cell)
    assert not out.ok and error in str(out.error)


def test_no_model_is_a_one_line_error(run, shell):
    assert run("from mcpomni_jupyter import get_manager; mcp = get_manager()").ok
    out = run("%%mcp ask\nhello")
    assert not out.ok and "no model is set: %config MCPMagics.model" in str(out.error)
