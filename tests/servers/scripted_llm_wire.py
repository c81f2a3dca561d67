"""The wire formats of the scripted model server (``scripted_llm.py``): one planned reply, three APIs.

A ``Reply`` is what a scripted turn says (text, then tool calls, and the
token counts); each function here writes it as one API's JSON body or as
the events of its stream: OpenAI Chat Completions (``data:`` chunks ending
in ``data: [DONE]``, usage in a last chunk when the request asked for it),
OpenAI Responses (``event:`` + ``data:`` with ``sequence_number``) and
Anthropic Messages (``message_start`` ... ``message_stop``).  The shapes
follow what the openai 3.x and anthropic 2.x SDKs parse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

CREATED = 1_750_000_000  # a fixed timestamp: the replies are the same on every run

Event = tuple[str | None, dict[str, Any]]  # (the SSE event name, or None for a bare data line; the payload)
HOLD: Event = ("hold", {})  # where a stalling turn stops: after its text, before its tool calls and its end


@dataclass
class Call:
    """One tool call of a reply: its id, the tool's name, and its arguments as JSON text and as parsed."""

    id: str
    name: str
    arguments: str
    input: Any


@dataclass
class Reply:
    number: int  # the reply's number in this script, for the message / response ids
    text: str
    calls: list[Call] = field(default_factory=list)
    input_tokens: int = 10
    output_tokens: int = 5


def text_chunks(text: str) -> list[str]:
    """The text in several pieces (a word with the spaces before it each), as a model streams it."""
    return re.findall(r"\s*\S+", text) or ([text] if text else [])


def halves(arguments: str) -> list[str]:
    """JSON arguments in two pieces, so that a client has to join the deltas."""
    middle = len(arguments) // 2
    return [piece for piece in (arguments[:middle], arguments[middle:]) if piece]


def encode(event: str | None, data: dict[str, Any] | str) -> bytes:
    body = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "").encode() + f"data: {body}\n\n".encode()


def error_body(api: str, status: int, message: str) -> dict[str, Any]:
    """An error in the API's own shape, so that the SDK raises its status error with our message."""
    kind = "invalid_request_error" if status < 500 else "api_error"
    if api == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


# --- OpenAI Chat Completions --------------------------------------------------------------------------------


def chat_usage(reply: Reply) -> dict[str, Any]:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }


def chat_completion(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    if reply.calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in reply.calls
        ]
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls" if reply.calls else "stop", "logprobs": None}
    return {
        "id": f"chatcmpl-{reply.number}",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [choice],
        "usage": chat_usage(reply),
    }


def chat_stream(reply: Reply, model: str, include_usage: bool) -> Iterator[Event]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> Event:
        data: dict[str, Any] = {
            "id": f"chatcmpl-{reply.number}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if include_usage:
            data["usage"] = None
        return None, data

    yield chunk({"role": "assistant", "content": ""})
    for piece in text_chunks(reply.text):
        yield chunk({"content": piece})
    yield HOLD
    for index, call in enumerate(reply.calls):
        start = {"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        yield chunk({"tool_calls": [start]})
        for piece in halves(call.arguments):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, "tool_calls" if reply.calls else "stop")
    if include_usage:
        last = {"id": f"chatcmpl-{reply.number}", "object": "chat.completion.chunk", "created": CREATED, "model": model}
        yield None, {**last, "choices": [], "usage": chat_usage(reply)}


# --- OpenAI Responses ---------------------------------------------------------------------------------------


def message_item(reply: Reply, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if status == "completed" else []
    return {"id": f"msg_{reply.number}", "type": "message", "role": "assistant", "status": status, "content": content}


def function_item(call: Call, arguments: str, status: str) -> dict[str, Any]:
    number = call.id.rsplit("_", 1)[-1]
    return {"id": f"fc_{number}", "type": "function_call", "call_id": call.id, "name": call.name, "arguments": arguments, "status": status}


def response_object(reply: Reply, model: str, done: bool) -> dict[str, Any]:
    output: list[dict[str, Any]] = []
    if done and reply.text:
        output.append(message_item(reply, reply.text, "completed"))
    if done:
        output.extend(function_item(call, call.arguments, "completed") for call in reply.calls)
    usage = {
        "input_tokens": reply.input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": reply.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }
    return {
        "id": f"resp_{reply.number}",
        "object": "response",
        "created_at": CREATED,
        "status": "completed" if done else "in_progress",
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "usage": usage if done else None,
    }


def responses_stream(reply: Reply, model: str) -> Iterator[Event]:
    """The Responses events (``type`` and ``sequence_number`` added in ``numbered``)."""
    yield "response.created", {"response": response_object(reply, model, done=False)}
    yield "response.in_progress", {"response": response_object(reply, model, done=False)}
    index = 0
    if reply.text:
        yield from responses_text(reply, index)
        index += 1
    else:
        yield HOLD
    for call in reply.calls:
        item_id = function_item(call, "", "")["id"]
        yield "response.output_item.added", {"output_index": index, "item": function_item(call, "", "in_progress")}
        for piece in halves(call.arguments):
            yield "response.function_call_arguments.delta", {"item_id": item_id, "output_index": index, "delta": piece}
        yield "response.function_call_arguments.done", {"item_id": item_id, "output_index": index, "arguments": call.arguments}
        yield "response.output_item.done", {"output_index": index, "item": function_item(call, call.arguments, "completed")}
        index += 1
    yield "response.completed", {"response": response_object(reply, model, done=True)}


def responses_text(reply: Reply, index: int) -> Iterator[Event]:
    where = {"item_id": f"msg_{reply.number}", "output_index": index, "content_index": 0}
    yield "response.output_item.added", {"output_index": index, "item": message_item(reply, "", "in_progress")}
    yield "response.content_part.added", {**where, "part": {"type": "output_text", "text": "", "annotations": []}}
    for piece in text_chunks(reply.text):
        yield "response.output_text.delta", {**where, "delta": piece, "logprobs": []}
    yield HOLD
    yield "response.output_text.done", {**where, "text": reply.text, "logprobs": []}
    yield "response.content_part.done", {**where, "part": {"type": "output_text", "text": reply.text, "annotations": []}}
    yield "response.output_item.done", {"output_index": index, "item": message_item(reply, reply.text, "completed")}


def numbered(events: Iterator[Event]) -> Iterator[Event]:
    sequence = 0
    for name, data in events:
        if (name, data) == HOLD:
            yield HOLD
            continue
        yield name, {"type": name, "sequence_number": sequence, **data}
        sequence += 1


# --- Anthropic Messages -------------------------------------------------------------------------------------


def anthropic_message(reply: Reply, model: str, done: bool = True) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if done and reply.text:
        content.append({"type": "text", "text": reply.text, "citations": None})
    if done:
        content.extend({"type": "tool_use", "id": c.id, "name": c.name, "input": c.input} for c in reply.calls)
    return {
        "id": f"msg_{reply.number}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": ("tool_use" if reply.calls else "end_turn") if done else None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": reply.input_tokens,
            "output_tokens": reply.output_tokens if done else 1,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def anthropic_stream(reply: Reply, model: str) -> Iterator[Event]:
    yield "message_start", {"type": "message_start", "message": anthropic_message(reply, model, done=False)}
    yield "ping", {"type": "ping"}
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    if reply.text:
        deltas = [{"type": "text_delta", "text": piece} for piece in text_chunks(reply.text)]
        blocks.append(({"type": "text", "text": "", "citations": None}, deltas))
    for call in reply.calls:
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in halves(call.arguments)]
        blocks.append(({"type": "tool_use", "id": call.id, "name": call.name, "input": {}}, deltas))
    if not reply.text:
        yield HOLD
    for index, (start, deltas) in enumerate(blocks):
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        for delta in deltas:
            yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        if index == 0 and reply.text:
            yield HOLD
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    stop = {"stop_reason": "tool_use" if reply.calls else "end_turn", "stop_sequence": None}
    usage = {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens}
    yield "message_delta", {"type": "message_delta", "delta": stop, "usage": usage}
    yield "message_stop", {"type": "message_stop"}
