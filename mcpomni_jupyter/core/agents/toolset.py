"""``mcp.toolset()``: the connected servers' tools as a pydantic-ai toolset, for ``Agent(model, toolsets=[...])``.

Every call goes through the manager's one request path (``call_for_model``:
the approval policy, the connections we authorized, tasks, elicitation), so
an agent gets what ``%mcp call`` gets.  This module imports pydantic-ai at
its top; nothing imports it at package import time (``manager.toolset()``
imports it on call, after checking the ``agents`` extra is installed).

- Tools: listed again at each run step (``manager.amodel_tools``), so a
  server's list change shows in the next step.  Names are ``ModelTool.name``
  (valid for every provider); the schema is the tool's ``inputSchema`` as the
  server sent it, with ``strict=False`` so no provider turns on its strict
  mode (which would rewrite it); arguments are checked by the server, not
  here (the validator takes any object, as pydantic-ai's own MCP toolset's).
- Results, as pydantic-ai's MCP toolset gives them: the structured content
  when every content block is text (``{"result": x}`` unwrapped), else the
  text, and images as ``BinaryImage``; strings are redacted and bounded.
- Errors never end the run: a tool's error result, bad arguments, a timeout
  or a lost server is a ``ModelRetry`` (a retry prompt: the model may fix
  its call) while the tool's retry budget lasts (``max_retries``, 3 by
  default), then a ``ToolFailed`` (a failed result that costs no budget), so
  pydantic-ai never gives up with ``UnexpectedModelBehavior`` because of a
  server; a denial (a ``deny`` rule, the person, the handler) is always a
  ``ToolFailed``, as asking again would not change the answer.  A
  cancellation (an interrupt) propagates.
- Each call is kept in ``toolset.calls`` (the last ``MAX_CALLS``), and told to
  ``on_start(tool, arguments)`` and ``on_call(outcome)`` when given.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_ai.exceptions import ModelRetry, ToolFailed
from pydantic_ai.messages import BinaryImage
from pydantic_ai.tools import RunContext, ToolDefinition
from pydantic_ai.toolsets.abstract import AbstractToolset, ToolsetTool
from pydantic_core import SchemaValidator, core_schema

from mcpomni_jupyter.core.agents.approval import annotations_of
from mcpomni_jupyter.core.agents.calls import MODEL_TEXT_CHARS, ToolOutcome, call_for_model
from mcpomni_jupyter.core.agents.naming import ModelTool, ToolFilter, server_names, wanted
from mcpomni_jupyter.errors import ArgumentError
from mcpomni_jupyter.redact import redact

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager

MAX_CALLS = 1_000  # calls kept in ``toolset.calls``
MAX_RETRIES = 3  # retry prompts per tool in a row before its errors come back as plain failures
_DEPTH = 64  # of structured content redacted value by value; deeper is redacted as JSON text
ANY_OBJECT = SchemaValidator(core_schema.dict_schema(core_schema.str_schema(), core_schema.any_schema()))
_log = logging.getLogger("mcpomni_jupyter.agents")


@dataclass(kw_only=True)
class ServerTool(ToolsetTool[Any]):
    """A pydantic-ai tool that knows which server's tool it is."""

    model_tool: ModelTool


def _redacted(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact(value)
    if depth >= _DEPTH and isinstance(value, dict | list):
        return redact(json.dumps(value, ensure_ascii=False, default=str))
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, depth + 1) for v in value]
    return value


def _image(part: dict[str, Any]) -> Any:
    try:
        return BinaryImage(data=base64.b64decode(part["data"], validate=True), media_type=part["mime_type"])
    except (binascii.Error, ValueError):
        return f"[image {part['mime_type']}: not valid base64, not passed on]"


def model_value(outcome: ToolOutcome) -> Any:
    """What the model reads of a successful call, as pydantic-ai's MCP toolset maps a result."""
    result = outcome.result
    assert result is not None
    structured = result.structured
    if structured is not None and all(getattr(b, "type", None) == "text" for b in result.content):
        if isinstance(structured, dict) and set(structured) == {"result"}:
            structured = structured["result"]
        value = _redacted(structured)
        if len(json.dumps(value, ensure_ascii=False, default=str)) <= MODEL_TEXT_CHARS:
            return value
    values = [p["text"] if p["type"] == "text" else _image(p) for p in outcome.parts]
    if not values:
        return ""
    return values[0] if len(values) == 1 else values


def model_return(outcome: ToolOutcome, retry: int, max_retries: int) -> Any:
    """The value for the model, or the ``ModelRetry`` / ``ToolFailed`` that tells it the call failed."""
    if outcome.denied:
        raise ToolFailed(outcome.error or "the call was denied")
    if outcome.error is not None or outcome.result is None or outcome.result.is_error:
        message = outcome.text() or f"{outcome.tool.name} returned an error"
        if retry < max_retries:
            raise ModelRetry(message)
        raise ToolFailed(message)
    return model_value(outcome)


class ConnectionsToolset(AbstractToolset[Any]):
    """The tools of the manager's connected servers (or of ``servers``, narrowed by ``tools``), for a pydantic-ai agent."""

    def __init__(
        self,
        manager: MCPManager,
        servers: str | Iterable[str] | None = None,
        *,
        tools: ToolFilter = None,
        max_retries: int = MAX_RETRIES,
        on_start: Callable[[ModelTool, dict[str, Any]], Any] | None = None,
        on_call: Callable[[ToolOutcome], Any] | None = None,
        id: str | None = None,
    ) -> None:
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ArgumentError(f"max_retries= is a number of retries, 0 or more, not {max_retries!r}")
        for name, hook in (("on_start", on_start), ("on_call", on_call)):
            if hook is not None and not callable(hook):
                raise ArgumentError(f"{name}= takes a function, not {type(hook).__name__}")
        wanted(tools)  # a bad filter is an error now, not at the agent's first step
        self.manager = manager
        self.servers = server_names(servers)
        self.tools = tools
        self.max_retries = max_retries
        self.on_start = on_start
        self.on_call = on_call
        self.caller: Any = None  # where the person is asked; None: the loop the agent runs on
        self.calls: list[ToolOutcome] = []
        self._id = id
        self._latest: dict[str, ModelTool] = {}

    @property
    def id(self) -> str | None:
        return self._id

    def __repr__(self) -> str:
        servers = ", ".join(self.servers) if self.servers is not None else "every connected server"
        return f"<ConnectionsToolset over {servers}: {len(self.calls)} call(s)>"

    async def get_tools(self, ctx: RunContext[Any]) -> dict[str, ToolsetTool[Any]]:
        listed = await self.manager.amodel_tools(self.servers, tools=self.tools)
        self._latest = {t.name: t for t in listed}
        return {t.name: self._tool(t) for t in listed}

    def _tool(self, tool: ModelTool) -> ServerTool:
        definition = ToolDefinition(
            name=tool.name,
            description=tool.description or None,
            parameters_json_schema=tool.input_schema,
            strict=False,
            metadata={"server": tool.server, "tool": tool.tool, "qualified": tool.qualified, "annotations": annotations_of(tool.spec)},
        )
        return ServerTool(toolset=self, tool_def=definition, max_retries=self.max_retries, args_validator=ANY_OBJECT, model_tool=tool)

    async def call_tool(self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]) -> Any:
        model_tool = getattr(tool, "model_tool", None) or self._latest.get(name)
        if model_tool is None:
            raise ModelRetry(f"there is no tool {name[:100]!r}; call one of the tools offered")
        self._tell(self.on_start, model_tool, tool_args)
        started = time.monotonic()
        try:
            outcome = await call_for_model(self.manager, model_tool, tool_args, call_id=ctx.tool_call_id, caller=self.caller)
        except asyncio.CancelledError:
            stopped = ToolOutcome(
                model_tool, dict(tool_args), error="cancelled", seconds=time.monotonic() - started, call_id=ctx.tool_call_id
            )
            self._record(stopped)
            raise
        self._record(outcome)
        return model_return(outcome, ctx.retry, ctx.max_retries)

    def _record(self, outcome: ToolOutcome) -> None:
        self.calls.append(outcome)
        del self.calls[:-MAX_CALLS]
        self._tell(self.on_call, outcome)

    @staticmethod
    def _tell(hook: Callable[..., Any] | None, *args: Any) -> None:
        if hook is None:
            return
        try:
            hook(*args)
        except Exception as exc:  # noqa: BLE001 - the notebook's hook must not end the agent's run
            _log.warning("a toolset hook failed: %s", redact(f"{type(exc).__name__}: {exc}")[:300])
