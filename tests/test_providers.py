"""The connected servers' tools for OpenAI, Anthropic and LangChain, and a model's tool calls run and answered.

Real servers (tests/servers/basic.py over stdio, and over streamable HTTP),
the real SDKs' types (a reply is ``ChatCompletion.model_validate(...)`` etc.;
what we send back is validated against the SDKs' own param types); no model.
"""

from __future__ import annotations

import asyncio
import json
import sys

import pytest
from anthropic.types import Message, MessageParam, ToolParam
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam, ChatCompletionToolParam
from openai.types.responses import FunctionToolParam, Response, ResponseInputItemParam
from pydantic import TypeAdapter

from mcpomni_jupyter.core.agents.naming import NAME_PATTERN
from mcpomni_jupyter.core.agents.replies import MAX_CALLS
from mcpomni_jupyter.errors import ArgumentError
from tests.conftest import TOKEN, stdio_args

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def demo(manager):
    manager.add("demo", command=sys.executable, args=stdio_args(), env={"MCPJ_AGENT_TOOLS": "1"})
    manager.connect("demo", wait=True)
    return manager


def chat(*calls):
    """A ChatCompletion asking for ``calls``: (id, name, arguments as JSON text)."""
    tool_calls = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in calls]
    message = {"role": "assistant", "content": None, "tool_calls": tool_calls or None}
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "scripted",
            "choices": [{"index": 0, "finish_reason": "tool_calls" if calls else "stop", "message": message}],
        }
    )


def response(*calls):
    """A Responses API Response asking for ``calls``: (call_id, name, arguments as JSON text)."""
    output = [
        {"type": "function_call", "id": f"fc_{i}", "call_id": i, "name": n, "arguments": a, "status": "completed"} for i, n, a in calls
    ]
    return Response.model_validate(
        {
            "id": "resp_1",
            "object": "response",
            "created_at": 0,
            "model": "scripted",
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }
    )


def message(*calls):
    """An Anthropic Message asking for ``calls``: (id, name, input dict)."""
    content = [{"type": "text", "text": "Let me check."}] + [{"type": "tool_use", "id": i, "name": n, "input": a} for i, n, a in calls]
    return Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "scripted",
            "content": content,
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
    )


def sent_schemas(manager, server="demo"):
    return {t.name: t.input_schema for t in manager.connection(server).tools}


def test_the_tool_lists_have_valid_names_and_the_schemas_as_sent(demo):
    schemas = sent_schemas(demo)
    chat_tools = demo.tools.openai("demo")
    responses_tools = demo.tools.openai("demo", api="responses")
    anthropic_tools = demo.tools.anthropic("demo")
    assert len(chat_tools) == len(responses_tools) == len(anthropic_tools) == len(schemas)
    for tool in chat_tools:
        TypeAdapter(ChatCompletionToolParam).validate_python(tool)
        assert NAME_PATTERN.match(tool["function"]["name"])
        assert tool["function"]["parameters"] == schemas[tool["function"]["name"].removeprefix("demo_")]
    for tool in responses_tools:
        TypeAdapter(FunctionToolParam).validate_python(tool)
        assert tool["type"] == "function" and tool["strict"] is False
        assert tool["parameters"] == schemas[tool["name"].removeprefix("demo_")]
    for tool in anthropic_tools:
        TypeAdapter(ToolParam).validate_python(tool)
        assert tool["input_schema"] == schemas[tool["name"].removeprefix("demo_")]
    route = next(t for t in anthropic_tools if t["name"] == "demo_route")
    assert route["input_schema"]["properties"]["start"] == {"$ref": "#/$defs/Point"} and "Point" in route["input_schema"]["$defs"]
    assert route["description"] == "The distance from start to end (points with x and y)."
    route["input_schema"]["$defs"].clear()  # a copy: the catalog keeps what the server sent
    assert "Point" in sent_schemas(demo)["route"]["$defs"]
    assert [t["name"] for t in demo.tools.anthropic(tools="demo.e*")] == ["demo_echo"]
    with pytest.raises(ArgumentError, match=r"api= is 'chat' \(Chat Completions\) or 'responses'"):
        demo.tools.openai(api="completions")


def test_a_chat_completion_its_message_and_their_dicts_are_answered_with_tool_messages(demo):
    reply = chat(
        ("c1", "demo_add", '{"a": 2, "b": 3}'), ("c2", "demo_route", json.dumps({"start": {"x": 0, "y": 0}, "end": {"x": 3, "y": 4}}))
    )
    expected = [{"role": "tool", "tool_call_id": "c1", "content": "5.0"}, {"role": "tool", "tool_call_id": "c2", "content": "5"}]
    for form in (reply, reply.model_dump(), reply.choices[0].message, reply.choices[0].message.model_dump()):
        out = demo.run_tool_calls(form)
        assert out == expected and out.api == "chat"
        assert [o.status for o in out.outcomes] == ["ok", "ok"]
    for item in expected:
        TypeAdapter(ChatCompletionMessageParam).validate_python(item)
    assert demo.run_tool_calls(chat()) == [] and demo.run_tool_calls(chat().choices[0].message) == []


def test_a_responses_reply_is_answered_with_function_call_outputs_and_an_image_goes_as_an_image(demo):
    reply = response(("call_1", "demo_echo", '{"text": "hi"}'), ("call_2", "demo_picture", ""))
    for form in (reply, reply.model_dump()):
        out = demo.run_tool_calls(form)
        assert out[0] == {"type": "function_call_output", "call_id": "call_1", "output": "hi"}
        text, image = out[1]["output"]
        assert out[1]["call_id"] == "call_2" and text == {"type": "input_text", "text": "a red dot"}
        assert image["type"] == "input_image" and image["image_url"].startswith("data:image/png;base64,iVBOR")
        for item in out:
            TypeAdapter(ResponseInputItemParam).validate_python(item)
    assert demo.run_tool_calls(response()) == []


def test_an_anthropic_message_is_answered_with_one_user_message_of_tool_results(demo):
    reply = message(("tu_1", "demo_add", {"a": 1, "b": 1}), ("tu_2", "demo_picture", {}))
    for form in (reply, reply.model_dump()):
        (answer,) = demo.run_tool_calls(form)
        TypeAdapter(MessageParam).validate_python(answer)
        assert answer["role"] == "user"
        added, picture = answer["content"]
        assert added == {"type": "tool_result", "tool_use_id": "tu_1", "content": [{"type": "text", "text": "2.0"}], "is_error": False}
        caption, image = picture["content"]
        assert picture["tool_use_id"] == "tu_2" and not picture["is_error"] and caption == {"type": "text", "text": "a red dot"}
        assert image["type"] == "image" and image["source"]["type"] == "base64" and image["source"]["media_type"] == "image/png"
    assert demo.run_tool_calls(message()) == []


def test_chat_describes_an_image_in_text_since_a_tool_message_carries_text_only(demo):
    (out,) = demo.run_tool_calls(chat(("c1", "demo_picture", "{}")))
    assert out["content"].startswith("a red dot\n[an image (image/png, about ") and "cannot carry]" in out["content"]


def test_a_denial_an_unknown_tool_bad_json_and_a_tool_error_are_answered_not_raised(demo):
    calls = [
        ("c1", "demo_noop", "{}"),  # not read-only, no rule, no handler: denied
        ("c2", "demo_nope", "{}"),
        ("c3", "demo_add", '{"a": 1,'),
        ("c4", "demo_fail", '{"message": "nope"}'),
    ]
    demo.set_approval({"demo.fail": "allow"})
    out = demo.run_tool_calls(chat(*calls))
    assert [m["tool_call_id"] for m in out] == ["c1", "c2", "c3", "c4"]
    assert [o.status for o in out.outcomes] == ["denied", "error", "error", "error"]
    denied, unknown, bad, failed = (m["content"] for m in out)
    assert denied.startswith("Error: demo.noop needs the person's approval") and "mcp.set_approval_handler" in denied
    assert unknown.startswith("Error: there is no tool named 'demo_nope'; the tools are: demo_add, ")
    assert bad.startswith("Error: demo_add: the arguments are not valid JSON")
    assert failed.startswith("Error executing tool fail")  # the server's own error text (it begins with "Error" already)
    (answer,) = demo.run_tool_calls(message(*((i, n, {"message": "nope"} if n == "demo_fail" else {}) for i, n, _ in calls)))
    assert [r["is_error"] for r in answer["content"]] == [True, True, True, True]
    assert answer["content"][0]["content"] == [{"type": "text", "text": out.outcomes[0].error}]
    items = demo.run_tool_calls(response(("r1", "demo_add", "[1, 2]")))
    assert items == [
        {"type": "function_call_output", "call_id": "r1", "output": "Error: demo_add: the arguments must be a JSON object, not list"}
    ]


def test_the_tools_filter_narrows_what_a_reply_may_run_and_a_flood_of_calls_is_bounded(demo):
    (out,) = demo.run_tool_calls(chat(("c1", "demo_echo", '{"text": "x"}')), tools="demo.add")
    assert out["content"] == "Error: there is no tool named 'demo_echo'; the tools are: demo_add"
    flood = demo.run_tool_calls(chat(*((f"c{i}", "demo_add", '{"a": 1, "b": 1}') for i in range(MAX_CALLS + 2))), tools="demo.add")
    assert [m["content"] for m in flood[:MAX_CALLS]] == ["2.0"] * MAX_CALLS
    assert [m["content"] for m in flood[MAX_CALLS:]] == [
        f"Error: too many tool calls in one reply: at most {MAX_CALLS} run; make fewer at a time"
    ] * 2


def test_the_calls_of_one_reply_are_in_flight_at_once(demo):
    demo.set_approval({"demo.sleep": "allow"})
    arrived: list[str] = []
    both = asyncio.Event()

    async def barrier(call):  # a pre-call check on the loop thread: lets a call go only once both have arrived
        arrived.append(call.arguments["seconds"])
        if len(arrived) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 30)  # one call at a time would never get here twice: a timeout, an error result

    demo.add_call_check(barrier)
    out = demo.run_tool_calls(chat(("c1", "demo_sleep", '{"seconds": 0.01}'), ("c2", "demo_sleep", '{"seconds": 0.02}')))
    assert [m["content"] for m in out] == ["slept 0.01", "slept 0.02"]
    assert sorted(arrived) == [0.01, 0.02]


def test_a_blocking_cell_never_asks_the_ui_but_an_awaiting_one_does(demo):
    asked = []

    async def asker(caller, request, timeout):
        asked.append((caller, request.qualified))
        return "allow"

    demo.approval.asker = asker
    (blocked,) = demo.run_tool_calls(chat(("c1", "demo_noop", "{}")))
    assert blocked["content"].startswith("Error: demo.noop needs the person's approval") and asked == []

    async def cell():
        return await demo.arun_tool_calls(chat(("c1", "demo_noop", "{}")))

    (awaited,) = asyncio.run(cell())
    assert awaited == {"role": "tool", "tool_call_id": "c1", "content": ""}
    assert [q for _, q in asked] == ["demo.noop"] and asked[0][0] is not None


def test_what_is_not_a_reply_is_one_line_saying_what_it_takes(demo):
    for wrong in ("hello", {"role": "user", "content": "hi"}, [1, 2], chat().choices[0]):
        with pytest.raises(ArgumentError) as info:
            demo.run_tool_calls(wrong)
        assert str(info.value).startswith("run_tool_calls() takes a model's reply: an OpenAI ChatCompletion") and "\n" not in str(
            info.value
        )


def test_over_streamable_http(manager, http_server):
    manager.add("web", http_server.url, headers={"Authorization": f"Bearer {TOKEN}", "X-Team": "blue"})
    manager.connect("web", wait=True)
    names = [t["function"]["name"] for t in manager.tools.openai("web")]
    assert "web_add" in names and "web_echo" in names
    out = manager.run_tool_calls(chat(("c1", "web_add", '{"a": 20, "b": 22}'), ("c2", "web_echo", '{"text": "over http"}')), servers="web")
    assert [m["content"] for m in out] == ["42.0", "over http"]


def test_a_server_named_like_a_method_is_reached_by_its_name(manager):
    manager.add("openai", command=sys.executable, args=stdio_args())
    manager.connect("openai", wait=True)
    assert manager.tools["openai"].add(a=1, b=2).value == 3
    assert "openai_add" in [t["function"]["name"] for t in manager.tools.openai()]
    assert "mcp.tools['openai']" in repr(manager.tools) and "openai" in dir(manager.tools)
    with pytest.raises(LookupError, match=r"unknown server 'nope'; configured: openai; server 'openai' is mcp.tools\['openai'\]"):
        manager.tools.nope  # noqa: B018


def test_langchain_tools_invoke_and_ainvoke_through_the_approval_policy(demo):
    from langchain_core.messages import ToolMessage
    from langchain_core.tools import StructuredTool

    tools = {t.name: t for t in demo.tools.langchain("demo")}
    assert all(isinstance(t, StructuredTool) for t in tools.values())
    add, route = tools["demo_add"], tools["demo_route"]
    assert add.args_schema == sent_schemas(demo)["add"] and "Point" in route.args_schema["$defs"]
    assert add.invoke({"a": 2, "b": 3}) == "5.0"
    assert asyncio.run(route.ainvoke({"start": {"x": 0, "y": 0}, "end": {"x": 6, "y": 8}})) == "10"
    called = add.invoke({"type": "tool_call", "id": "t1", "name": "demo_add", "args": {"a": 1, "b": 1}})
    assert isinstance(called, ToolMessage) and called.content == "2.0" and called.artifact.value == 2
    # a denial and a tool's error are what the agent reads, with status "error"; nothing is raised
    denied = tools["demo_noop"].invoke({"type": "tool_call", "id": "t2", "name": "demo_noop", "args": {}})
    assert denied.status == "error" and denied.content.startswith("Error: demo.noop needs the person's approval")
    demo.set_approval({"demo.fail": "allow"})
    failed = asyncio.run(tools["demo_fail"].ainvoke({"message": "x"}))
    assert failed.startswith("Error executing tool fail")
    (picture,) = demo.tools.langchain(tools="demo.picture")
    caption, image = asyncio.run(picture.ainvoke({}))
    assert caption == {"type": "text", "text": "a red dot"} and image["type"] == "image" and image["mime_type"] == "image/png"


def test_without_langchain_core_the_error_names_the_extra(demo, monkeypatch):
    from mcpomni_jupyter import MissingExtra

    monkeypatch.setitem(sys.modules, "langchain_core", None)
    with pytest.raises(MissingExtra) as info:
        demo.tools.langchain()
    assert str(info.value) == "mcp.tools.langchain() needs langchain-core, which is not installed: pip install 'mcpomni-jupyter[agents]'"
    assert isinstance(info.value, ImportError)
    assert demo.tools.openai("demo")  # the OpenAI and Anthropic lists need no package
