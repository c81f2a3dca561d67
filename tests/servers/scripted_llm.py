"""A scripted model server for the tests: OpenAI- and Anthropic-compatible HTTP on 127.0.0.1, no real model.

    python scripted_llm.py PORT [SCRIPT.json]     (PORT 0: any free port)

It prints ``scripted_llm listening on http://127.0.0.1:PORT`` once it
listens, then answers ``POST /v1/chat/completions``, ``POST /v1/responses``
and ``POST /v1/messages``, streamed (``"stream": true``) or not, each
request with the next turn of its script (a JSON list):

    {"text": "The sum is 3."}                                    streamed in several chunks
    {"tool_calls": [{"name": "demo_add", "arguments": {"a": 1, "b": 2}}]}
    {"text": "...", "tool_calls": [...]}                         the text, then the calls

A turn may add ``"usage": {"input_tokens": N, "output_tokens": M}``,
``"delay": SECONDS`` (before the first byte of the answer), ``"stall":
true`` (stream the turn's text, then hold the response open, unfinished,
until the client goes away; a non-streamed one never answers), and a tool call ``"id"`` and
``"arguments"`` as a string (sent as is, valid JSON or not).  Tool-call ids
are otherwise ``call_1``, ``call_2`` ... (OpenAI) and ``toolu_1`` ...
(Anthropic), counted from the script's loading.  ``{"error": MESSAGE,
"status": 400}`` answers with that error in the API's shape (the SDKs retry
429 and 5xx, and each retry takes a turn).  A turn with
``"when_tool_result_contains": TEXT`` is a rule, not a step of the
sequence: it answers, once, the first request whose latest tool results
(those after the model's last turn) contain TEXT; other requests take the
next turn of the sequence.  A request with no turn left gets a 400 error
that says so.

For the tests: ``POST /_script`` (a JSON list) loads a new script and
clears the record; ``GET /_requests`` returns every request received since
(``path``, ``headers``, ``body``, ``time``); ``GET /_status`` the counts
(turns ``served``, sequence turns ``remaining``, unused ``rules``,
``requests`` received, responses a stall is ``holding`` open).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import uvicorn
from scripted_llm_wire import (
    HOLD,
    Call,
    Event,
    Reply,
    anthropic_message,
    anthropic_stream,
    chat_completion,
    chat_stream,
    encode,
    error_body,
    numbered,
    response_object,
    responses_stream,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

TURN_KEYS = {"text", "tool_calls", "usage", "delay", "stall", "error", "status", "when_tool_result_contains"}
CALL_KEYS = {"name", "arguments", "id"}
RULE = "when_tool_result_contains"


class ScriptError(ValueError):
    """A script that is not a list of turns as the module docstring describes."""


def check_turn(index: int, turn: Any) -> None:
    where = f"turn {index}"
    if not isinstance(turn, dict):
        raise ScriptError(f"{where} is not an object: write {{'text': ...}} or {{'tool_calls': [...]}}")
    if unknown := set(turn) - TURN_KEYS:
        raise ScriptError(f"{where} has unknown keys {sorted(unknown)}; known: {sorted(TURN_KEYS)}")
    if not {"text", "tool_calls", "error"} & set(turn):
        raise ScriptError(f"{where} says nothing: give it 'text', 'tool_calls' or 'error'")
    for key, kind in (("text", str), ("error", str), (RULE, str), ("stall", bool), ("status", int), ("usage", dict)):
        if key in turn and not isinstance(turn[key], kind):
            raise ScriptError(f"{where}: '{key}' must be a {kind.__name__}")
    if "delay" in turn and (not isinstance(turn["delay"], int | float) or turn["delay"] < 0):
        raise ScriptError(f"{where}: 'delay' must be a number of seconds >= 0")
    calls = turn.get("tool_calls", [])
    if not isinstance(calls, list) or ("tool_calls" in turn and not calls):
        raise ScriptError(f"{where}: 'tool_calls' must be a non-empty list")
    for call in calls:
        if not isinstance(call, dict) or not isinstance(call.get("name"), str) or set(call) - CALL_KEYS:
            raise ScriptError(f"{where}: each tool call is {{'name': str, 'arguments': object or str, 'id': str (optional)}}")
        if not isinstance(call.get("arguments", {}), dict | str):
            raise ScriptError(f"{where}: the arguments of '{call['name']}' must be an object or a string")


def parse_script(turns: Any) -> list[dict[str, Any]]:
    if not isinstance(turns, list):
        raise ScriptError("a script is a JSON list of turns")
    for index, turn in enumerate(turns):
        check_turn(index, turn)
    return turns


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def latest_tool_results(api: str, body: dict[str, Any]) -> str:
    """The text of the tool results the client sent after the model's last turn."""
    found: list[Any] = []
    if api == "chat":
        for message in reversed(body.get("messages") or []):
            if not isinstance(message, dict) or message.get("role") != "tool":
                break
            found.append(message.get("content"))
    elif api == "responses" and isinstance(body.get("input"), list):
        for item in reversed(body["input"]):
            if not isinstance(item, dict) or item.get("type") != "function_call_output":
                break
            found.append(item.get("output"))
    elif api == "anthropic" and body.get("messages"):
        last = body["messages"][-1]
        if isinstance(last, dict) and last.get("role") == "user" and isinstance(last.get("content"), list):
            found = [block for block in last["content"] if isinstance(block, dict) and block.get("type") == "tool_result"]
    return "\n".join(strings(found))


class Script:
    """The turns still to play, the rules, the ids handed out and the requests received."""

    def __init__(self, turns: list[dict[str, Any]]) -> None:
        self.load(turns)

    def load(self, turns: list[dict[str, Any]]) -> None:
        self.sequence = [turn for turn in parse_script(turns) if RULE not in turn]
        self.rules = [turn for turn in turns if RULE in turn]
        self.requests: list[dict[str, Any]] = []
        self.replies = itertools.count(1)
        self.calls = itertools.count(1)
        self.served = 0

    def next_turn(self, tool_results: str) -> dict[str, Any] | None:
        for rule in self.rules:
            if rule[RULE] in tool_results:
                self.rules.remove(rule)
                return rule
        return self.sequence.pop(0) if self.sequence else None

    def plan(self, turn: dict[str, Any], api: str) -> Reply:
        prefix = "toolu" if api == "anthropic" else "call"
        calls = []
        for call in turn.get("tool_calls", []):
            arguments = call.get("arguments", {})
            text = arguments if isinstance(arguments, str) else json.dumps(arguments)
            parsed = arguments if isinstance(arguments, dict) else {}
            calls.append(Call(call.get("id") or f"{prefix}_{next(self.calls)}", call["name"], text, parsed))
        usage = turn.get("usage", {})
        reply = Reply(next(self.replies), turn.get("text", ""), calls)
        reply.input_tokens = int(usage.get("input_tokens", reply.input_tokens))
        reply.output_tokens = int(usage.get("output_tokens", reply.output_tokens))
        return reply

    def status(self) -> dict[str, int]:
        counts = {"served": self.served, "remaining": len(self.sequence), "rules": len(self.rules)}
        return {**counts, "requests": len(self.requests), "holding": len(HOLDING)}


HOLDING: set[int] = set()  # the requests a stalling turn holds open, by id(request), for /_status


async def until_gone(request: Request) -> None:
    """Wait until the client goes away (the body was read: what comes next is the disconnect)."""
    HOLDING.add(id(request))
    try:
        while (await request.receive())["type"] != "http.disconnect":
            pass
    finally:
        HOLDING.discard(id(request))


async def sse(events: Iterator[Event], done_line: bool, stall: Request | None) -> AsyncIterator[bytes]:
    for name, data in events:
        if (name, data) != HOLD:
            yield encode(name, data)
        elif stall is not None:
            await until_gone(stall)
            return
    if done_line:
        yield encode(None, "[DONE]")


def stream_events(api: str, reply: Reply, model: str, body: dict[str, Any]) -> Iterator[Event]:
    if api == "chat":
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return chat_stream(reply, model, include_usage)
    if api == "responses":
        return numbered(responses_stream(reply, model))
    return anthropic_stream(reply, model)


def whole_body(api: str, reply: Reply, model: str) -> dict[str, Any]:
    if api == "chat":
        return chat_completion(reply, model)
    if api == "responses":
        return response_object(reply, model, done=True)
    return anthropic_message(reply, model)


async def answer(script: Script, request: Request, api: str) -> Response:
    """Answer one model request with the script's next turn (or rule), in the API's format."""
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JSONResponse(error_body(api, 400, "scripted_llm: the request body is not a JSON object"), status_code=400)
    script.requests.append({"path": request.url.path, "headers": dict(request.headers), "body": body, "time": time.time()})
    turn = script.next_turn(latest_tool_results(api, body))
    if turn is None:
        message = f"scripted_llm: no scripted turn left for request {len(script.requests)}; POST /_script to load more"
        return JSONResponse(error_body(api, 400, message), status_code=400)
    script.served += 1
    await asyncio.sleep(turn.get("delay", 0))
    if "error" in turn:
        status = turn.get("status", 400)
        return JSONResponse(error_body(api, status, turn["error"]), status_code=status)
    reply = script.plan(turn, api)
    model = str(body.get("model") or "scripted")
    stall = request if turn.get("stall") else None
    if body.get("stream"):
        events = stream_events(api, reply, model, body)
        return StreamingResponse(sse(events, api == "chat", stall), media_type="text/event-stream")
    if stall is not None:
        await until_gone(request)
    return JSONResponse(whole_body(api, reply, model))


def make_app(script: Script) -> Starlette:
    async def chat(request: Request) -> Response:
        return await answer(script, request, "chat")

    async def responses(request: Request) -> Response:
        return await answer(script, request, "responses")

    async def messages(request: Request) -> Response:
        return await answer(script, request, "anthropic")

    async def load(request: Request) -> Response:
        try:
            script.load(await request.json())
        except ValueError as exc:  # a ScriptError, or a body that is not JSON
            return JSONResponse({"error": f"scripted_llm: {exc}"}, status_code=400)
        return JSONResponse(script.status())

    async def received(request: Request) -> Response:
        return JSONResponse(script.requests)

    async def status(request: Request) -> Response:
        return JSONResponse(script.status())

    routes = [
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/_script", load, methods=["POST"]),
        Route("/_requests", received, methods=["GET"]),
        Route("/_status", status, methods=["GET"]),
    ]
    return Starlette(debug=True, routes=routes)


def main(argv: list[str]) -> None:
    if len(argv) not in (1, 2) or not argv[0].isdigit():
        sys.exit("usage: scripted_llm.py PORT [SCRIPT.json]")
    try:
        turns = json.loads(Path(argv[1]).read_text()) if len(argv) == 2 else []
        script = Script(turns)
    except (OSError, ValueError) as exc:
        sys.exit(f"scripted_llm: cannot load the script: {exc}")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(argv[0])))
    sock.listen(128)
    print(f"scripted_llm listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(make_app(script), log_level="warning", access_log=False, lifespan="off")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    main(sys.argv[1:])
