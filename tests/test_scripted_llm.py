"""The scripted model server, driven by the real SDKs: openai (Chat Completions, Responses), anthropic, pydantic-ai.

Each test loads a script into the session's server (``scripted_llm``), talks
to it over 127.0.0.1 with a real client, and checks both what the client
parsed and what the server received.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import anthropic
import httpx2
import openai
import pytest
from pydantic_ai import Agent, ModelRetry
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider
from tools.scripted_llm import SERVER

ADD = {"name": "demo_add", "arguments": {"a": 1, "b": 2}}
TOOLS = [{"type": "function", "function": {"name": "demo_add", "parameters": {"type": "object"}}}]
ASK = [{"role": "user", "content": "add 1 and 2"}]


def openai_client(llm, **kwargs) -> openai.OpenAI:
    return openai.OpenAI(base_url=llm.openai_base_url, api_key="test", max_retries=0, **kwargs)


def anthropic_client(llm) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=llm.anthropic_base_url, api_key="test", max_retries=0)


def test_chat_completions_tool_calls_then_text(scripted_llm):
    usage = {"input_tokens": 42, "output_tokens": 7}
    scripted_llm.set_script([{"tool_calls": [ADD, {"name": "echo", "arguments": {"s": "x"}}], "usage": usage}, {"text": "The sum is 3."}])
    with openai_client(scripted_llm) as client:
        first = client.chat.completions.create(model="scripted", messages=ASK, tools=TOOLS)
        calls = first.choices[0].message.tool_calls
        assert [c.id for c in calls] == ["call_1", "call_2"]
        assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
            ("demo_add", {"a": 1, "b": 2}),
            ("echo", {"s": "x"}),
        ]
        assert first.choices[0].finish_reason == "tool_calls"
        assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (42, 7)
        results = [{"role": "tool", "tool_call_id": c.id, "content": "3"} for c in calls]
        second = client.chat.completions.create(model="scripted", messages=[*ASK, first.choices[0].message.to_dict(), *results])
    assert second.choices[0].message.content == "The sum is 3."
    assert second.choices[0].finish_reason == "stop"
    sent = scripted_llm.bodies("/v1/chat/completions")
    assert sent[0]["tools"] == TOOLS
    assert [m["tool_call_id"] for m in sent[1]["messages"] if m["role"] == "tool"] == ["call_1", "call_2"]
    assert scripted_llm.status() == {"served": 2, "remaining": 0, "rules": 0, "requests": 2, "holding": 0}


def test_chat_completions_streamed(scripted_llm):
    scripted_llm.set_script([{"text": "Hello from the script"}, {"tool_calls": [ADD]}, {"text": "no usage asked"}])
    with openai_client(scripted_llm) as client:
        chunks = list(client.chat.completions.create(model="m", messages=ASK, stream=True, stream_options={"include_usage": True}))
        pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
        assert len(pieces) > 1 and "".join(pieces) == "Hello from the script"
        assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 15
        with client.chat.completions.stream(model="m", messages=ASK, tools=TOOLS) as stream:
            final = stream.get_final_completion()
        (call,) = final.choices[0].message.tool_calls
        assert (call.id, call.function.name, json.loads(call.function.arguments)) == ("call_1", "demo_add", {"a": 1, "b": 2})
        plain = list(client.chat.completions.create(model="m", messages=ASK, stream=True))
    assert all(c.usage is None for c in plain) and plain[-1].choices[0].finish_reason == "stop"


def test_chat_completions_stream_on_the_wire(scripted_llm):
    scripted_llm.set_script([{"text": "two words"}])
    body = {"model": "m", "messages": ASK, "stream": True, "stream_options": {"include_usage": True}}
    reply = httpx2.post(scripted_llm.openai_base_url + "/chat/completions", json=body, timeout=30)
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = reply.text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""] and all(e.startswith("data: {") for e in events[:-2])
    last = json.loads(events[-3].removeprefix("data: "))
    assert last["choices"] == [] and last["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def test_responses_function_calls_then_text(scripted_llm):
    scripted_llm.set_script([{"tool_calls": [ADD]}, {"text": "The sum is 3."}, {"text": "Streamed text here"}, {"tool_calls": [ADD]}])
    tools = [{"type": "function", "name": "demo_add", "parameters": {"type": "object"}, "strict": False}]
    with openai_client(scripted_llm) as client:
        first = client.responses.create(model="m", input="add 1 and 2", tools=tools)
        (call,) = first.output
        assert (call.type, call.call_id, call.name, json.loads(call.arguments)) == ("function_call", "call_1", "demo_add", {"a": 1, "b": 2})
        back = [{"type": "function_call", "call_id": "call_1", "name": "demo_add", "arguments": call.arguments}]
        back.append({"type": "function_call_output", "call_id": "call_1", "output": "3"})
        second = client.responses.create(model="m", input=[{"role": "user", "content": "add"}, *back])
        assert second.output_text == "The sum is 3." and second.usage.output_tokens == 5
        events = list(client.responses.create(model="m", input="hi", stream=True))
        with client.responses.stream(model="m", input="hi", tools=tools) as stream:
            streamed_call = stream.get_final_response().output[0]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 1 and "".join(deltas) == "Streamed text here"
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert (streamed_call.call_id, json.loads(streamed_call.arguments)) == ("call_2", {"a": 1, "b": 2})
    sent = scripted_llm.bodies("/v1/responses")
    assert sent[0]["tools"] == tools and sent[1]["input"][-1] == back[-1]


def test_anthropic_messages_tool_use_and_stream(scripted_llm):
    scripted_llm.set_script([{"tool_calls": [ADD]}, {"text": "The sum is 3."}, {"text": "Let me add.", "tool_calls": [ADD]}])
    tools = [{"name": "demo_add", "input_schema": {"type": "object"}}]
    with anthropic_client(scripted_llm) as client:
        first = client.messages.create(model="claude-x", max_tokens=100, messages=ASK, tools=tools)
        (block,) = first.content
        assert (block.type, block.id, block.name, block.input) == ("tool_use", "toolu_1", "demo_add", {"a": 1, "b": 2})
        assert first.stop_reason == "tool_use" and first.model == "claude-x"
        result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3"}
        history = [*ASK, {"role": "assistant", "content": [block.model_dump()]}, {"role": "user", "content": [result]}]
        with client.messages.stream(model="claude-x", max_tokens=100, messages=history, tools=tools) as stream:
            pieces = list(stream.text_stream)
        assert len(pieces) > 1 and "".join(pieces) == "The sum is 3."
        with client.messages.stream(model="claude-x", max_tokens=100, messages=ASK, tools=tools) as stream:
            final = stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use"] and final.content[0].text == "Let me add."
    assert (final.content[1].id, final.content[1].input, final.stop_reason) == ("toolu_2", {"a": 1, "b": 2}, "tool_use")
    sent = scripted_llm.bodies("/v1/messages")
    assert sent[0]["tools"] == tools and sent[1]["messages"][-1]["content"] == [result]
    headers = scripted_llm.requests()[0]["headers"]  # the key as the SDK sends it (a bearer token in anthropic 2.x)
    assert "test" in (headers.get("x-api-key"), headers.get("authorization", "").removeprefix("Bearer "))


def pydantic_ai_model(kind: str, llm):
    if kind == "anthropic":
        return AnthropicModel("claude-x", provider=AnthropicProvider(base_url=llm.anthropic_base_url, api_key="test"))
    provider = OpenAIProvider(base_url=llm.openai_base_url, api_key="test")
    return OpenAIChatModel("scripted", provider=provider) if kind == "chat" else OpenAIResponsesModel("scripted", provider=provider)


def tool_result_sent(kind: str, body: dict) -> tuple[str, str]:
    """The (id, text) of the tool result pydantic-ai sent back, in each API's shape."""
    if kind == "chat":
        message = body["messages"][-1]
        return message["tool_call_id"], message["content"]
    if kind == "responses":
        item = body["input"][-1]
        return item["call_id"], item["output"]
    (block,) = body["messages"][-1]["content"]
    return block["tool_use_id"], block["content"][0]["text"]


@pytest.mark.parametrize("kind", ["chat", "responses", "anthropic"])
def test_pydantic_ai_agent_calls_a_tool_then_answers(scripted_llm, kind):
    seen = []

    def demo_add(a: int, b: int) -> int:
        """Add two numbers."""
        seen.append((a, b))
        return a + b

    scripted_llm.set_script([{"tool_calls": [ADD]}, {"text": "The sum is 3.", "usage": {"input_tokens": 30, "output_tokens": 4}}])
    result = Agent(pydantic_ai_model(kind, scripted_llm), tools=[demo_add]).run_sync("add 1 and 2")
    assert result.output == "The sum is 3." and seen == [(1, 2)]
    assert (result.usage.requests, result.usage.tool_calls, result.usage.input_tokens) == (2, 1, 10 + 30)
    first, second = scripted_llm.bodies()
    names = [t.get("name") or t.get("function", {}).get("name") for t in first["tools"]]
    assert names == ["demo_add"]
    assert tool_result_sent(kind, second) == ("toolu_1" if kind == "anthropic" else "call_1", "3")


@pytest.mark.parametrize("kind", ["chat", "responses", "anthropic"])
def test_pydantic_ai_agent_streams(scripted_llm, kind):
    scripted_llm.set_script([{"tool_calls": [ADD]}, {"text": "The sum is three."}])
    agent = Agent(pydantic_ai_model(kind, scripted_llm))

    @agent.tool_plain
    def demo_add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    async def run() -> list[str]:
        async with agent.run_stream("add 1 and 2") as result:
            return [piece async for piece in result.stream_text(delta=True, debounce_by=None)]

    pieces = asyncio.run(asyncio.wait_for(run(), 60))
    assert len(pieces) > 1 and "".join(pieces) == "The sum is three."
    assert [body.get("stream") for body in scripted_llm.bodies()] == [True, True]


def test_a_rule_answers_what_the_tool_results_say(scripted_llm):
    script = [{"tool_calls": [ADD]}, {"when_tool_result_contains": "denied", "text": "I will not add."}, {"text": "The sum is 3."}]
    call = {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "demo_add", "arguments": "{}"}}]}
    with openai_client(scripted_llm) as client:
        for result, answer in [("the person denied this call", "I will not add."), ("3", "The sum is 3.")]:
            scripted_llm.set_script(script)
            client.chat.completions.create(model="m", messages=ASK)
            back = [*ASK, call, {"role": "tool", "tool_call_id": "call_1", "content": result}]
            assert client.chat.completions.create(model="m", messages=back).choices[0].message.content == answer
        # a rule looks only at the results after the model's last turn
        scripted_llm.set_script(script[1:])
        later = [*ASK, call, {"role": "tool", "tool_call_id": "call_1", "content": "denied"}, {"role": "assistant", "content": "ok"}, *ASK]
        assert client.chat.completions.create(model="m", messages=later).choices[0].message.content == "The sum is 3."
    assert scripted_llm.status()["rules"] == 1


@pytest.mark.parametrize("kind", ["chat", "responses", "anthropic"])
def test_a_rule_sees_the_tool_results_of_each_api(scripted_llm, kind):
    def demo_add(a: int, b: int) -> str:
        """Add two numbers."""
        raise ModelRetry("the person denied this call")

    script = [{"tool_calls": [ADD]}, {"when_tool_result_contains": "person denied", "text": "I will not add."}, {"text": "wrong"}]
    scripted_llm.set_script(script)
    result = Agent(pydantic_ai_model(kind, scripted_llm), tools=[demo_add]).run_sync("add 1 and 2")
    assert result.output == "I will not add."
    assert scripted_llm.status()["remaining"] == 1


def test_errors_and_an_exhausted_script(scripted_llm):
    scripted_llm.set_script([{"error": "the model is overloaded", "status": 400}, {"text": "fine"}])
    with openai_client(scripted_llm) as client:
        with pytest.raises(openai.BadRequestError, match="the model is overloaded"):
            client.chat.completions.create(model="m", messages=ASK)
        assert client.chat.completions.create(model="m", messages=ASK).choices[0].message.content == "fine"
        with pytest.raises(openai.BadRequestError, match="no scripted turn left for request 3"):
            client.chat.completions.create(model="m", messages=ASK)
    scripted_llm.set_script([{"error": "no such model", "status": 404}])
    with anthropic_client(scripted_llm) as client, pytest.raises(anthropic.NotFoundError, match="no such model"):
        client.messages.create(model="x", max_tokens=10, messages=ASK)


@pytest.mark.parametrize(
    ("turns", "message"),
    [
        ({"text": "x"}, "a script is a JSON list of turns"),
        ([{"txt": "x"}], "turn 0 has unknown keys ['txt']"),
        ([{"text": "a"}, {"usage": {}}], "turn 1 says nothing"),
        ([{"tool_calls": []}], "'tool_calls' must be a non-empty list"),
        ([{"tool_calls": [{"name": "a", "arguments": [1]}]}], "the arguments of 'a' must be an object or a string"),
        ([{"text": "a", "delay": -1}], "'delay' must be a number of seconds >= 0"),
    ],
)
def test_a_bad_script_is_refused_in_one_line(scripted_llm, turns, message):
    with pytest.raises(ValueError, match="scripted_llm: ") as caught:
        scripted_llm.set_script(turns)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_bad_script_file_stops_the_server_with_one_line(tmp_path):
    path = tmp_path / "script.json"
    path.write_text('[{"txt": 1}]')
    done = subprocess.run([sys.executable, str(SERVER), "0", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert (
        done.stderr
        == "scripted_llm: cannot load the script: turn 0 has unknown keys ['txt']; known: "
        + str(sorted({"text", "tool_calls", "usage", "delay", "stall", "error", "status", "when_tool_result_contains"}))
        + "\n"
    )


def test_a_delay_comes_before_the_first_byte_and_a_stall_holds_the_stream(scripted_llm):
    scripted_llm.set_script([{"text": "late", "delay": 0.3}, {"text": "said so far", "stall": True, "tool_calls": [ADD]}])
    with openai_client(scripted_llm) as client:
        started = time.monotonic()
        stream = client.chat.completions.create(model="m", messages=ASK, stream=True)
        first = next(iter(stream))
        assert time.monotonic() - started >= 0.29 and first.choices[0].delta.role == "assistant"
        assert "".join(c.choices[0].delta.content or "" for c in stream) == "late"
        held = client.chat.completions.create(model="m", messages=ASK, stream=True)
        pieces: list[str] = []
        for chunk in held:
            assert not chunk.choices[0].delta.tool_calls and chunk.choices[0].finish_reason is None
            pieces.append(chunk.choices[0].delta.content or "")
            if "".join(pieces) == "said so far":
                break
        scripted_llm.wait_status("holding", 1)  # the text is out, the end is held back
        held.close()
        scripted_llm.wait_status("holding", 0)  # and let go once the client went away
    assert scripted_llm.status()["served"] == 2
