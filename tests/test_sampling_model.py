"""Sampling by a model: a server's ``sampling/createMessage`` (the test server's ``ask_llm``, over stdio, in both
eras) answered by a pydantic-ai ``FunctionModel`` once the approval handler or the person's row approves it;
a refusal reaches the server; a sampling handler wins over the model; a missing extra is one line."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest
from conftest import PY, SERVER, stdio_args
from pydantic_ai.messages import ModelRequest, ModelResponse, SystemPromptPart, TextPart, UserPromptPart
from pydantic_ai.models.function import FunctionModel

from mcpomni_jupyter.errors import MissingExtra, ServerError

pytestmark = pytest.mark.timeout(120)
ERAS = {"modern": [], "legacy": ["--legacy"]}


class Scripted:
    """A FunctionModel that answers "forty-two" and keeps what it was sent."""

    def __init__(self) -> None:
        self.seen: list[tuple[list, dict]] = []
        self.model = FunctionModel(self.answer, model_name="scripted")

    def answer(self, messages, info):
        self.seen.append((messages, dict(info.model_settings or {})))
        return ModelResponse(parts=[TextPart("forty-two")])


@pytest.fixture(params=list(ERAS))
def demo(request, manager):
    manager.add("demo", command=sys.executable, args=stdio_args(*ERAS[request.param]))
    manager.connect("demo", wait=True)
    manager.era = request.param
    return manager


def ask(manager, **arguments) -> str:
    """``ask_llm``'s text; a refusal is the tool's text on 2025-11-25, the call's error on 2026-07-28 (the SDK raises it)."""
    try:
        return manager.call("demo.ask_llm", **arguments).text
    except ServerError as exc:
        assert manager.era == "modern", exc
        return "declined: " + str(exc).removeprefix("server 'demo': ")


def test_the_model_answers_once_the_handler_approves_and_sees_the_servers_messages(demo):
    scripted, asked = Scripted(), []
    demo.set_sampling_model(scripted.model)
    demo.set_approval_handler(lambda server, tool, arguments: asked.append((server, tool, arguments)) or True)
    assert ask(demo, question="six times seven?", system="answer in words") == "model scripted said: forty-two"
    [(messages, settings)] = scripted.seen
    assert len(messages) == 1 and isinstance(messages[0], ModelRequest)
    system, user = messages[0].parts
    assert isinstance(system, SystemPromptPart) and system.content == "answer in words"
    assert isinstance(user, UserPromptPart) and user.content == ["six times seven?"]
    assert settings == {"max_tokens": 50}
    view = {"messages": [{"role": "user", "content": "six times seven?"}], "systemPrompt": "answer in words", "maxTokens": 50}
    assert asked == [("demo", "sampling/createMessage", view)]
    lines = [e.message for e in demo.log("demo") if e.kind == "request"]
    assert "sampling: the server prefers claude-sonnet; the notebook's model is scripted" in lines  # hints: only logged
    assert any(line.startswith("sampling answered by the model scripted (") for line in lines)


def test_a_denial_reaches_the_server_and_the_model_is_not_called(demo):
    scripted = Scripted()
    demo.set_sampling_model(scripted.model)
    assert ask(demo, question="hi") == (
        "declined: sampling needs the person's approval, and nobody can give it here: make the call with top-level await "
        "(await mcp.acall(...)) to approve it in the cell, or answer from code with mcp.set_approval_handler(fn)"
    )
    demo.set_approval_handler(lambda server, tool, arguments: False)
    assert ask(demo, question="hi") == "declined: the approval handler declined the sampling request"
    assert scripted.seen == []
    demo.set_sampling_model(scripted.model, approve=False)  # the author's explicit choice: no asking
    assert ask(demo, question="hi") == "model scripted said: forty-two"


def test_the_sampling_handler_wins_over_the_model(demo):
    scripted = Scripted()
    demo.set_sampling_model(scripted.model, approve=False)
    demo.set_sampling_handler(lambda messages, params: "from the handler")
    assert ask(demo, question="hi") == "model notebook said: from the handler" and scripted.seen == []
    demo.set_sampling_handler(None)  # hands the requests back to the model
    assert ask(demo, question="hi") == "model scripted said: forty-two"
    demo.set_sampling_model(None)
    assert "this notebook answers no sampling requests" in ask(demo, question="hi")


def test_bad_models_and_a_missing_extra_are_one_line(manager, monkeypatch):
    from mcpomni_jupyter.errors import ArgumentError

    with pytest.raises(ArgumentError, match=r"^set_sampling_model\('nope:x'\): Unknown model: nope:x$"):
        manager.set_sampling_model("nope:x")
    with pytest.raises(ArgumentError, match="takes a pydantic-ai model name"):
        manager.set_sampling_model(42)
    monkeypatch.setitem(sys.modules, "pydantic_ai", None)  # as if the extra were not installed
    with pytest.raises(MissingExtra, match=r"^sampling by a model needs pydantic-ai: pip install 'mcpomni-jupyter\[agents\]'$"):
        manager.set_sampling_model("test")


# ---------------------------------------------------------------------- the person's row


def test_the_person_approves_or_declines_in_the_row(run, shown):
    config = {"mcpServers": {"demo": {"command": PY, "args": [SERVER, "stdio", "--legacy"]}}}
    assert run("%%mcp config\n" + json.dumps(config)).ok
    assert run("%mcp connect demo").value["demo"].state == "connected"
    from mcpomni_jupyter.core.kernel import get_manager

    mcp, scripted = get_manager(), Scripted()
    mcp.set_sampling_model(scripted.model)

    def answered(button: str, question: str) -> tuple[object, str]:
        async def cell():
            task = asyncio.ensure_future(mcp.acall("demo.ask_llm", question=question))
            while not shown:
                await asyncio.sleep(0.01)
            row = shown.pop(0)
            getattr(row, button).click()
            return row, (await task).text

        return asyncio.run(asyncio.wait_for(cell(), 60))

    row, text = answered("deny", "<script>alert(1)</script>")
    assert text == "declined: the person declined the sampling request" and scripted.seen == []
    assert "demo asks a model to answer (sampling)" in repr(row) and "user: <script>alert(1)</script>" in repr(row)
    assert "max tokens: 50" in repr(row) and repr(row).endswith("denied")
    assert "<script>" not in "".join(c.value for c in row.children if hasattr(c, "value"))
    row, text = answered("always", "six times seven?")
    assert text == "model scripted said: forty-two" and "this server's sampling is always allowed" in repr(row)
    assert asyncio.run(mcp.acall("demo.ask_llm", question="again?")).text == "model scripted said: forty-two"
    assert shown == [] and len(scripted.seen) == 2  # not asked again
