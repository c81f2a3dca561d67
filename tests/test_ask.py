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


def test_past_the_threshold_the_model_gets_a_search_tool_and_then_what_it_found(run, ask):
    """tool_search_over = 3: the basic server's 15-odd tools are hidden behind a search; the model finds and calls one."""
    ask.set_script(
        [
            {"tool_calls": [{"name": "search_tools", "arguments": {"queries": ["add numbers"]}}]},
            {"tool_calls": [{"name": "demo_add", "arguments": {"a": 2, "b": 2}}]},
            {"text": "4"},
        ]
    )
    assert run("%config MCPMagics.tool_search_over = 3").ok
    cell = run("%%mcp ask\nAdd 2 and 2.")
    assert cell.ok, (cell.err, cell.error)
    first, second, _ = ask.bodies("/v1/chat/completions")
    offered = [t["function"]["name"] for t in first["tools"]]
    assert offered == ["search_tools"]  # no server tool at first: only the search
    found = second["messages"][-1]["content"]
    assert "demo_add" in found  # our ranking put the add tool among the hits
    assert "demo_add" in [t["function"]["name"] for t in second["tools"]]  # revealed for the next step
    assert cell.value.output == "4" and [s.name for s in cell.value.tool_calls][-1] == "demo.add"


def test_a_skill_is_offered_by_name_and_read_only_when_the_model_loads_it(run, ask):
    from test_skills import SKILLS

    assert run(f"%mcp add sk -- {' '.join(SKILLS)} stdio").ok
    assert run("%mcp connect sk --wait").ok
    reads_before = run("%mcp call sk.reads").value.value
    ask.set_script([{"tool_calls": [{"name": "load_skill", "arguments": {"name": "sk.git-workflow"}}]}, {"text": "Branch from main."}])
    cell = run("%%mcp ask --servers sk\nHow do we branch?")
    assert cell.ok, cell.err
    first, second = ask.bodies("/v1/chat/completions")
    load = next(t["function"] for t in first["tools"] if t["function"]["name"] == "load_skill")
    assert "sk.git-workflow: Follow this team's Git conventions" in load["description"]
    assert "sk.too-big" not in load["description"]  # a skill its entry already shows refused is not offered
    assert "# Git workflow" in second["messages"][-1]["content"]  # the SKILL.md, read when asked for
    reads_after = run("%mcp call sk.reads").value.value
    assert [r for r in reads_after if r not in reads_before] == ["skill://git-workflow/SKILL.md"]


def test_the_api_key_comes_from_a_dotenv_never_enters_os_environ_and_is_masked(run, ask, tmp_path, monkeypatch):
    import os

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-from-dotenv-0123456789abcdef\n")
    monkeypatch.chdir(tmp_path)
    ask.set_script([{"text": "the key is sk-from-dotenv-0123456789abcdef"}])
    cell = run("%%mcp ask\nwhat is the key?")
    assert cell.ok, cell.err
    sent = ask.requests()[0]["headers"]["authorization"]
    assert sent == "Bearer sk-from-dotenv-0123456789abcdef"  # the provider gets it
    assert "OPENAI_API_KEY" not in os.environ
    assert "the key is " in cell.out and "sk-from-dotenv" not in cell.out  # shown masked
    assert "sk-from-dotenv" not in repr(run("mcp.conversation").value)


def test_a_model_error_is_one_line_and_the_kernel_goes_on(run, ask):
    ask.set_script([{"error": "model 'scripted' does not exist", "status": 400}, {"text": "back"}])
    out = run("%%mcp ask\nhello")
    assert not out.ok and type(out.error).__name__ == "UsageError"
    assert str(out.error).startswith("the model answered HTTP 400: ") and "check the model name" in str(out.error)
    assert "\n" not in str(out.error)
    assert run("%%mcp ask\nagain").value.output == "back"
