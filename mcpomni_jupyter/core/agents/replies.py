"""A model's reply with tool calls, run, and answered in its API's format (``mcp.run_tool_calls(reply)``).

The reply is an OpenAI ``ChatCompletion`` (or its ``ChatCompletionMessage``),
an OpenAI Responses ``Response``, or an Anthropic ``Message``: the SDK's
object or its dict (``model_dump`` form).  Its calls run concurrently, each
through ``call_for_model`` (the approval policy, one request path); every
call gets an answer, results and errors alike (a denial, an unknown tool
name, arguments that are not a JSON object), so the model reads what
happened and the loop goes on.  Names map back through ``amodel_tools``, the
naming ``mcp.tools.openai()`` / ``.anthropic()`` gave (pass the same
``servers`` / ``tools``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.agents.anthropic_api import anthropic_messages
from mcpomni_jupyter.core.agents.calls import ToolOutcome, call_for_model
from mcpomni_jupyter.core.agents.naming import ModelTool, ToolFilter
from mcpomni_jupyter.core.agents.openai_api import chat_messages, responses_items
from mcpomni_jupyter.errors import ArgumentError, LookupFailed, McpJupyterError
from mcpomni_jupyter.redact import redact

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager

MAX_CALLS = 64  # run from one reply; any more are answered with an error
TAKES = (
    "run_tool_calls() takes a model's reply: an OpenAI ChatCompletion (or its message), an OpenAI Responses Response, "
    "or an Anthropic Message (the SDK's object or its dict)"
)
FORMATS: dict[str, Callable[[list[ToolOutcome]], list[dict[str, Any]]]] = {
    "chat": chat_messages,
    "responses": responses_items,
    "anthropic": anthropic_messages,
}


@dataclass(frozen=True)
class RequestedCall:
    """One tool call as the model wrote it."""

    call_id: str
    name: str
    arguments: Any  # JSON text (OpenAI) or a dict (Anthropic)
    problem: str | None = None  # a call that is not ours to run: answered with this error


class ToolReplies(list[dict[str, Any]]):
    """The messages to send back to the model (a list), with ``.api`` and ``.outcomes`` (a ``ToolOutcome`` per call, in order)."""

    def __init__(self, messages: Iterable[dict[str, Any]], api: str, outcomes: list[ToolOutcome]) -> None:
        super().__init__(messages)
        self.api = api
        self.outcomes = outcomes


def sync_budget(manager: MCPManager) -> float:
    """How long a blocking cell waits for a model's calls: a request's budget, and the approval handler's time if one is set."""
    return manager._budget() + (manager.approval.timeout if manager.approval.handler is not None else 0)


def _as_dict(reply: Any) -> dict[str, Any]:
    if isinstance(reply, Mapping):
        return dict(reply)
    dump = getattr(reply, "model_dump", None)
    if callable(dump):
        try:
            data = dump()
        except Exception:  # noqa: BLE001 - any object with a model_dump that fails is not a reply we know
            data = None
        if isinstance(data, dict):
            return data
    raise ArgumentError(f"{TAKES}, not {type(reply).__name__}")


def _chat_calls(message: Mapping[str, Any]) -> list[RequestedCall]:
    calls = []
    for item in message.get("tool_calls") or []:
        if not isinstance(item, Mapping):
            continue
        call_id = str(item.get("id") or "")
        if item.get("type", "function") != "function":
            calls.append(
                RequestedCall(call_id, "", None, f"a {str(item.get('type'))[:40]} tool call is not an MCP tool's; call a function")
            )
            continue
        function = item.get("function")
        function = function if isinstance(function, Mapping) else {}
        calls.append(RequestedCall(call_id, str(function.get("name") or ""), function.get("arguments")))
    return calls


def _responses_calls(output: list[Any]) -> list[RequestedCall]:
    return [
        RequestedCall(str(item.get("call_id") or ""), str(item.get("name") or ""), item.get("arguments"))
        for item in output
        if isinstance(item, Mapping) and item.get("type") == "function_call"
    ]


def _anthropic_calls(content: list[Any]) -> list[RequestedCall]:
    return [
        RequestedCall(str(block.get("id") or ""), str(block.get("name") or ""), block.get("input"))
        for block in content
        if isinstance(block, Mapping) and block.get("type") == "tool_use"
    ]


def parse_reply(reply: Any) -> tuple[str, list[RequestedCall]]:
    """(``"chat"`` | ``"responses"`` | ``"anthropic"``, the reply's tool calls); ArgumentError (one line) for anything else."""
    data = _as_dict(reply)
    if isinstance(data.get("choices"), list):  # a ChatCompletion: its first choice's message
        choice = data["choices"][0] if data["choices"] else {}
        message = choice.get("message") if isinstance(choice, Mapping) else None
        return "chat", _chat_calls(message if isinstance(message, Mapping) else {})
    if isinstance(data.get("output"), list) and data.get("object", "response") == "response":
        return "responses", _responses_calls(data["output"])
    if data.get("type") == "message" and isinstance(data.get("content"), list):
        return "anthropic", _anthropic_calls(data["content"])
    if data.get("role") == "assistant" and "type" not in data:  # a ChatCompletionMessage
        return "chat", _chat_calls(data)
    raise ArgumentError(f"{TAKES}, not {type(reply).__name__} with keys {', '.join(sorted(map(str, data))[:8]) or 'none'}")


def _refused(call: RequestedCall, error: str) -> ToolOutcome:
    """The answer to a call that did not run (it names no tool of ours, or is not a function call)."""
    name = call.name[:64] or "unknown"
    placeholder = ModelTool(name, "", name, "", {}, None)
    return ToolOutcome(placeholder, {}, error=error, call_id=call.call_id)


def _unknown(call: RequestedCall, offered: Mapping[str, ModelTool]) -> str:
    names = ", ".join(sorted(offered))
    names = names if len(names) <= 2_000 else names[:2_000] + ", ..."
    return f"there is no tool named {redact(call.name[:100])!r}; the tools are: {names or 'none'}"


async def _offered(manager: MCPManager, servers: Any, tools: ToolFilter) -> tuple[dict[str, ModelTool], str | None]:
    """The tools by the names models know them by, or the one line saying why they could not be listed."""
    try:
        return {t.name: t for t in await manager.amodel_tools(servers, tools=tools)}, None
    except (ArgumentError, LookupFailed):
        raise  # the caller's servers= / tools= are wrong: that is for the person, not the model
    except McpJupyterError as exc:
        return {}, redact(f"the tools could not be listed: {exc}")[:500]


async def run_calls(manager: MCPManager, calls: list[RequestedCall], servers: Any = None, tools: ToolFilter = None) -> list[ToolOutcome]:
    """Run ``calls`` concurrently, each through ``call_for_model``; an outcome per call, in order (never raises but a cancellation)."""
    if not calls:
        return []
    offered, failure = await _offered(manager, servers, tools)

    async def one(index: int, call: RequestedCall) -> ToolOutcome:
        if index >= MAX_CALLS:
            return _refused(call, f"too many tool calls in one reply: at most {MAX_CALLS} run; make fewer at a time")
        if call.problem is not None or failure is not None:
            return _refused(call, call.problem or failure or "")
        tool = offered.get(call.name)
        if tool is None:
            return _refused(call, _unknown(call, offered))
        return await call_for_model(manager, tool, call.arguments, call_id=call.call_id)

    return list(await asyncio.gather(*(one(i, c) for i, c in enumerate(calls))))


async def run_tool_calls(manager: MCPManager, reply: Any, servers: Any = None, tools: ToolFilter = None) -> ToolReplies:
    """``reply``'s tool calls run, and the messages that answer them in the reply's API's format."""
    api, calls = parse_reply(reply)
    outcomes = await run_calls(manager, calls, servers, tools)
    return ToolReplies(FORMATS[api](outcomes), api, outcomes)
