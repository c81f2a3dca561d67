"""The connected servers' tools for Anthropic's Messages API, and a model's tool calls answered in its format.

Tool list: ``{"name", "description", "input_schema"}``, the input schema as
the server sent it (a copy).  Answer: ONE user message whose content is a
``tool_result`` block per ``tool_use`` of the reply, in order, each with text
and image blocks and ``is_error`` (the tool's error result, a denial, an
unknown tool or bad arguments: true, and the reason as text).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcpomni_jupyter.core.agents.calls import ToolOutcome
from mcpomni_jupyter.core.agents.naming import ModelTool
from mcpomni_jupyter.core.agents.openai_api import described, parameters


def anthropic_tools(tools: Iterable[ModelTool]) -> list[dict[str, Any]]:
    """``tools`` as the ``tools=`` of ``client.messages.create``."""
    return [{"name": t.name, "description": described(t), "input_schema": parameters(t)} for t in tools]


def _blocks(outcome: ToolOutcome) -> list[dict[str, Any]]:
    if outcome.error is not None:
        return [{"type": "text", "text": outcome.error}]
    blocks: list[dict[str, Any]] = []
    for part in outcome.parts:
        if part["type"] == "text" and part["text"]:  # the API refuses an empty text block
            blocks.append({"type": "text", "text": part["text"]})
        elif part["type"] == "image":
            blocks.append({"type": "image", "source": {"type": "base64", "media_type": part["mime_type"], "data": part["data"]}})
    return blocks


def anthropic_messages(outcomes: list[ToolOutcome]) -> list[dict[str, Any]]:
    """``[{"role": "user", "content": [tool_result, ...]}]``: one message answering every call (none when there were no calls)."""
    if not outcomes:
        return []
    results = [{"type": "tool_result", "tool_use_id": o.call_id or "", "content": _blocks(o), "is_error": not o.ok} for o in outcomes]
    return [{"role": "user", "content": results}]
