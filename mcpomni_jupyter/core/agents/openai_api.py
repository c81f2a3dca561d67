"""The connected servers' tools for OpenAI's APIs, and a model's tool calls answered in their formats.

Tool lists: Chat Completions takes ``{"type": "function", "function": {name,
description, parameters}}``, the Responses API ``{"type": "function", name,
description, parameters, strict}``.  ``parameters`` is the tool's input
schema as the server sent it (a copy); ``strict`` is False because the
Responses API otherwise enforces its strict subset of JSON Schema, which few
servers' schemas fit.

Answers: Chat Completions wants one ``{"role": "tool", "tool_call_id",
"content"}`` message per call, and a tool message carries text only, so an
image is described in the text (its type and size); the Responses API wants
``{"type": "function_call_output", "call_id", "output"}``, whose output may
hold images (``input_image`` with a data URL).  An error (the tool's error
result, a denial, an unknown tool, bad arguments) is text beginning
``Error:`` for the model to read.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from mcpomni_jupyter.core.agents.calls import ToolOutcome
from mcpomni_jupyter.core.agents.naming import ModelTool
from mcpomni_jupyter.errors import ArgumentError

APIS = ("chat", "responses")


def checked_api(api: Any) -> str:
    if api not in APIS:
        raise ArgumentError(f"api= is 'chat' (Chat Completions) or 'responses' (the Responses API), not {api!r}")
    return str(api)


def described(tool: ModelTool) -> str:
    """The tool's description as a model reads it (its ``SERVER.TOOL`` when the server gave none)."""
    return tool.description or tool.qualified


def parameters(tool: ModelTool) -> dict[str, Any]:
    """The input schema as the server sent it; a copy, so a change to the list leaves the catalog alone."""
    return copy.deepcopy(tool.input_schema)


def openai_tools(tools: Iterable[ModelTool], api: str = "chat") -> list[dict[str, Any]]:
    """``tools`` as the ``tools=`` of Chat Completions (``api="chat"``) or of the Responses API (``"responses"``)."""
    if checked_api(api) == "chat":
        return [{"type": "function", "function": {"name": t.name, "description": described(t), "parameters": parameters(t)}} for t in tools]
    return [{"type": "function", "name": t.name, "description": described(t), "parameters": parameters(t), "strict": False} for t in tools]


def _image_note(part: dict[str, Any]) -> str:
    size = len(part["data"]) * 3 // 4
    return f"[an image ({part['mime_type']}, about {size} bytes) that a Chat Completions tool message cannot carry]"


def outcome_text(outcome: ToolOutcome, image_notes: bool = True) -> str:
    """What the model reads of ``outcome`` as text: the error, or the result's text (an image as a note when asked)."""
    if outcome.error is not None:
        return f"Error: {outcome.error}"
    texts = [p["text"] for p in outcome.parts if p["type"] == "text" and p["text"]]
    if image_notes:
        texts += [_image_note(p) for p in outcome.parts if p["type"] == "image"]
    text = "\n".join(texts)
    if not outcome.ok and not text.lower().startswith("error"):
        text = f"Error: {text}" if text else "Error: the tool failed and said nothing more"
    return text


def chat_messages(outcomes: list[ToolOutcome]) -> list[dict[str, Any]]:
    """One Chat Completions ``tool`` message per call, in the reply's order."""
    return [{"role": "tool", "tool_call_id": o.call_id or "", "content": outcome_text(o)} for o in outcomes]


def _responses_output(outcome: ToolOutcome) -> str | list[dict[str, Any]]:
    images = [p for p in outcome.parts if p["type"] == "image"] if outcome.error is None else []
    text = outcome_text(outcome, image_notes=False)
    if not images:
        return text
    items = [{"type": "input_text", "text": text}] if text else []
    return items + [{"type": "input_image", "image_url": f"data:{p['mime_type']};base64,{p['data']}"} for p in images]


def responses_items(outcomes: list[ToolOutcome]) -> list[dict[str, Any]]:
    """One Responses API ``function_call_output`` item per call, in the reply's order."""
    return [{"type": "function_call_output", "call_id": o.call_id or "", "output": _responses_output(o)} for o in outcomes]
