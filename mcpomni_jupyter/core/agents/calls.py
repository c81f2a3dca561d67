"""A model's tool call: through the one request primitive (``origin="model"``), and back as what a model reads.

``call_for_model`` never raises for what the model should hear about: a tool's
error result, a denial by the approval policy or the person, arguments that
are not a JSON object, a timeout, a server that went away; each becomes a
``ToolOutcome`` with ``error`` set, so an agent run goes on and the model can
try something else.  Only a cancellation (an interrupt) propagates.

``model_parts`` turns a result into provider-neutral parts: text (our
secrets masked, bounded), images (base64, bounded), and the structured
content as JSON when the tool sent no text.  Each provider's adapter formats
these parts its own way.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.agents.naming import ModelTool
from mcpomni_jupyter.errors import ApprovalDenied, McpJupyterError
from mcpomni_jupyter.redact import redact

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager
    from mcpomni_jupyter.results import CallResult

MODEL_TEXT_CHARS = 100_000  # of one result's text, as given to a model
MODEL_IMAGE_BYTES = 5 * 1024 * 1024  # of one image (base64 characters), as given to a model
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


@dataclass
class ToolOutcome:
    """One tool call a model made, and what came of it."""

    tool: ModelTool
    arguments: dict[str, Any]
    result: CallResult | None = None
    error: str | None = None  # one line the model reads: a denial, a timeout, bad arguments, a failure
    denied: bool = False
    seconds: float = 0.0
    call_id: str | None = None  # the provider's id of the call, when it has one
    parts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.result is not None and not self.result.is_error

    @property
    def status(self) -> str:
        return "denied" if self.denied else ("ok" if self.ok else "error")

    def text(self) -> str:
        """Everything the model reads of this call, as one text."""
        if self.error is not None:
            return self.error
        texts = [p["text"] for p in self.parts if p["type"] == "text"]
        images = sum(p["type"] == "image" for p in self.parts)
        note = [f"[{images} image(s)]"] if images else []
        return "\n".join(texts + note)


def _bounded(text: str) -> str:
    text = redact(text)
    if len(text) <= MODEL_TEXT_CHARS:
        return text
    return text[:MODEL_TEXT_CHARS] + f"\n[cut: {len(text) - MODEL_TEXT_CHARS} more characters]"


def _part(block: Any) -> dict[str, Any] | None:
    kind = getattr(block, "type", None)
    if kind == "text":
        return {"type": "text", "text": str(block.text)}
    if kind == "image":
        mime = str(getattr(block, "mime_type", "") or "")
        data = getattr(block, "data", "")
        data = data.decode() if isinstance(data, bytes) else str(data)
        if mime in _IMAGE_TYPES and len(data) <= MODEL_IMAGE_BYTES:
            return {"type": "image", "mime_type": mime, "data": data}
        return {"type": "text", "text": f"[image {mime[:50]}, {len(data)} base64 characters, not passed on]"}
    if kind == "resource":
        text = getattr(block.resource, "text", None)
        uri = str(getattr(block.resource, "uri", ""))[:500]
        return {"type": "text", "text": str(text) if text is not None else f"[resource {uri}: binary, not passed on]"}
    if kind == "resource_link":
        return {"type": "text", "text": f"[resource link {str(getattr(block, 'uri', ''))[:500]}]"}
    if kind == "audio":
        return {"type": "text", "text": "[audio, not passed on]"}
    return None


def model_parts(result: CallResult) -> list[dict[str, Any]]:
    """A result as provider-neutral parts: ``{"type": "text", "text"}`` and ``{"type": "image", "mime_type", "data"}``."""
    parts = [p for p in (_part(b) for b in result.content) if p is not None]
    if result.structured is not None and not any(p["type"] == "text" for p in parts):
        parts.insert(0, {"type": "text", "text": json.dumps(result.structured, ensure_ascii=False, default=str)})
    text = "\n".join(p["text"] for p in parts if p["type"] == "text")
    images = [p for p in parts if p["type"] == "image"]
    return ([{"type": "text", "text": _bounded(text)}] if text or not images else []) + images


def parse_arguments(raw: Any) -> dict[str, Any]:
    """A model's arguments (a dict, or JSON text as OpenAI sends them); raises ValueError with one line."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the arguments are not valid JSON ({exc.msg} at character {exc.pos}); send a JSON object") from None
    if not isinstance(raw, dict):
        raise ValueError(f"the arguments must be a JSON object, not {type(raw).__name__}")
    return raw


async def call_for_model(
    manager: MCPManager, tool: ModelTool, arguments: Any, *, call_id: str | None = None, caller: Any = None
) -> ToolOutcome:
    """Call ``tool`` as a model asked, through the approval policy; a ``ToolOutcome`` (never raises but for a cancellation).

    Awaitable from any event loop (it hops to the manager's loop thread);
    ``caller`` is where the person can be asked (made from the running loop
    and context when not given, if that loop is the kernel's).
    """
    from mcpomni_jupyter.core.requests.handlers import Caller

    started = time.monotonic()
    outcome = ToolOutcome(tool, {}, call_id=call_id)
    try:
        outcome.arguments = parse_arguments(arguments)
    except ValueError as exc:
        outcome.error = f"{tool.name}: {exc}"
        return outcome
    if caller is None and not manager.loop.in_loop_thread():  # on the loop thread, a blocking cell waits: nobody to ask there
        caller = Caller(asyncio.get_running_loop(), contextvars.copy_context())
    coro = manager._ops.call(tool.qualified, outcome.arguments, None, None, caller=caller, origin="model")
    try:
        outcome.result = await manager.loop.arun(coro)
        outcome.parts = model_parts(outcome.result)
    except ApprovalDenied as exc:
        outcome.error, outcome.denied = str(exc), True
    except McpJupyterError as exc:
        outcome.error = redact(str(exc))[:2_000]
    finally:
        outcome.seconds = time.monotonic() - started
    return outcome
