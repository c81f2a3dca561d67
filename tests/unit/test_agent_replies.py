"""A model's reply read (which API, which calls) and the tool lists' shapes, with no server."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mcpomni_jupyter.core.agents.anthropic_api import anthropic_messages, anthropic_tools
from mcpomni_jupyter.core.agents.calls import ToolOutcome
from mcpomni_jupyter.core.agents.naming import ModelTool
from mcpomni_jupyter.core.agents.openai_api import chat_messages, openai_tools, responses_items
from mcpomni_jupyter.core.agents.replies import RequestedCall, parse_reply
from mcpomni_jupyter.errors import ArgumentError

SCHEMA = {"type": "object", "properties": {"q": {"$ref": "#/$defs/Q"}}, "$defs": {"Q": {"type": "string"}}}
TOOL = ModelTool("fs_find", "fs", "find", "", SCHEMA, None)


def test_the_tool_lists_keep_the_schema_and_fill_an_empty_description():
    (chat,) = openai_tools([TOOL])
    (responses,) = openai_tools([TOOL], api="responses")
    (anthropic,) = anthropic_tools([TOOL])
    assert chat == {"type": "function", "function": {"name": "fs_find", "description": "fs.find", "parameters": SCHEMA}}
    assert responses == {"type": "function", "name": "fs_find", "description": "fs.find", "parameters": SCHEMA, "strict": False}
    assert anthropic == {"name": "fs_find", "description": "fs.find", "input_schema": SCHEMA}
    assert anthropic["input_schema"] is not SCHEMA


def test_replies_of_each_api_and_their_calls():
    chat = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "tool_calls": [{"id": "1", "type": "function", "function": {"name": "a", "arguments": "{}"}}],
                }
            }
        ]
    }
    assert parse_reply(chat) == ("chat", [RequestedCall("1", "a", "{}")])
    assert parse_reply({"choices": []}) == ("chat", [])
    assert parse_reply({"role": "assistant", "content": "hi", "tool_calls": None}) == ("chat", [])
    custom = {"role": "assistant", "tool_calls": [{"id": "2", "type": "custom", "custom": {"name": "x", "input": "y"}}]}
    _, (call,) = parse_reply(custom)
    assert call.call_id == "2" and call.problem == "a custom tool call is not an MCP tool's; call a function"
    output = [{"type": "message", "content": []}, {"type": "function_call", "call_id": "c", "name": "b", "arguments": "{}"}]
    assert parse_reply({"object": "response", "output": output}) == ("responses", [RequestedCall("c", "b", "{}")])
    content = [{"type": "text", "text": "x"}, {"type": "tool_use", "id": "t", "name": "c", "input": {"k": 1}}]
    assert parse_reply({"type": "message", "role": "assistant", "content": content}) == ("anthropic", [RequestedCall("t", "c", {"k": 1})])
    dumped = SimpleNamespace(model_dump=lambda: {"type": "message", "content": []})
    assert parse_reply(dumped) == ("anthropic", [])


@pytest.mark.parametrize("wrong", ["hi", None, 3, [], {"role": "user", "content": "x"}, SimpleNamespace(model_dump=lambda: 1 / 0)])
def test_anything_else_is_one_line_saying_what_it_takes(wrong):
    with pytest.raises(ArgumentError, match=r"^run_tool_calls\(\) takes a model's reply: an OpenAI ChatCompletion .*not \w+"):
        parse_reply(wrong)


def test_an_error_is_text_for_openai_and_is_error_for_anthropic():
    denied = ToolOutcome(TOOL, {}, error="the person denied this call", denied=True, call_id="x")
    assert chat_messages([denied]) == [{"role": "tool", "tool_call_id": "x", "content": "Error: the person denied this call"}]
    assert responses_items([denied])[0]["output"] == "Error: the person denied this call"
    (answer,) = anthropic_messages([denied])
    assert answer["content"] == [
        {"type": "tool_result", "tool_use_id": "x", "content": [{"type": "text", "text": "the person denied this call"}], "is_error": True}
    ]
    assert anthropic_messages([]) == []
