"""Sampling by a model: a server's ``sampling/createMessage`` answered by a pydantic-ai model, after the person approves.

``mcp.set_sampling_model(model, approve=True)`` (``model`` a pydantic-ai model
string such as ``"openai:gpt-5.1"``, or a ``Model`` instance).  The spec asks
for a human in the loop, so each request is first put to the person:

- the approval handler, when one is set (``mcp.set_approval_handler(fn)``),
  gets ``fn(server, "sampling/createMessage", {"messages", "systemPrompt",
  "maxTokens", ...})`` (the request as the person would see it) -> truthy;
- else the Approve / Deny row in the cell of the top-level-``await`` call
  that is waiting on that server (the same row as a model's tool call:
  the server, the messages redacted, bounded and escaped, the max tokens;
  "always allow" approves that server's later requests in this session);
- else nobody can approve it: it is declined, saying how to approve it.

``approve=False`` is the notebook author's explicit choice to skip it.  A
denial answers the server with an error, "the person declined the sampling
request".  An approved request goes to the model as one direct request: its
messages (text, images, audio), system prompt, max tokens, temperature and
stop sequences mapped; the model preferences' hints are only logged (the
notebook chose the model).  A handler set with ``set_sampling_handler`` wins
over the model (it is the lower-level override); ``set_sampling_handler(None)``
hands the requests back to the model.  pydantic-ai is imported only here, when
a model is set; without it the error names the extra to install.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.agents.approval import ApprovalPolicy, ApprovalRequest
from mcpomni_jupyter.errors import ArgumentError, MissingExtra
from mcpomni_jupyter.redact import redact

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection

SAMPLING = "sampling/createMessage"
DECLINED = "the person declined the sampling request"
REJECTED = -1  # the spec's example code for a sampling request the user rejected
EXTRA = "pip install 'mcpomni-jupyter[agents]'"
MEDIA_BYTES = 5 * 1024 * 1024  # of one image or audio clip passed to the model
VIEW_CHARS = 2_000  # of one message as the person (or the handler) sees it
NOBODY = "sampling needs the person's approval, and nobody can give it here"
STOP_REASONS = {"stop": "endTurn", "length": "maxTokens", "tool_call": "toolUse"}


def require_pydantic_ai() -> None:
    try:
        import pydantic_ai  # noqa: F401
    except ImportError:
        raise MissingExtra(f"sampling by a model needs pydantic-ai: {EXTRA}") from None


def resolve_model(model: Any) -> Any:
    """``model`` (a pydantic-ai model string or ``Model``) as a ``Model``; one-line errors for anything else."""
    require_pydantic_ai()
    from pydantic_ai.models import Model, infer_model

    if isinstance(model, Model):
        return model
    if not isinstance(model, str) or not model.strip():
        raise ArgumentError(f"set_sampling_model() takes a pydantic-ai model name ('openai:gpt-5.1') or Model, not {type(model).__name__}")
    try:
        return infer_model(model.strip())
    except Exception as exc:  # noqa: BLE001 - an unknown name, a provider without its key: say so in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ArgumentError(f"set_sampling_model({model.strip()[:100]!r}): {redact(first)[:300]}") from None


def _blocks(content: Any) -> list[Any]:
    return list(content) if isinstance(content, list) else [content]


def _media(block: Any) -> Any:
    """An image or audio block as pydantic-ai ``BinaryContent``, or a placeholder text when it is not what it claims."""
    from pydantic_ai.messages import BinaryContent

    mime = str(getattr(block, "mime_type", "") or "")[:100]
    data = str(getattr(block, "data", "") or "")
    if len(data) > MEDIA_BYTES * 4 // 3 + 4:
        return f"[{block.type} {mime}: too large, not passed on]"
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return f"[{block.type} {mime}: not valid base64, not passed on]"
    return BinaryContent(raw, media_type=mime)


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind} {str(getattr(block, 'mime_type', ''))[:100]}, {len(str(getattr(block, 'data', '')))} base64 characters]"
    if kind == "tool_use":
        return f"[tool use {str(getattr(block, 'name', ''))[:100]}]"
    if kind == "tool_result":
        return "\n".join(_block_text(b) for b in getattr(block, "content", None) or [])
    return f"[{str(kind)[:50]} content]"


def model_messages(params: Any) -> list[Any]:
    """The request's system prompt and messages as pydantic-ai messages (user turns: ``ModelRequest``; assistant: ``ModelResponse``)."""
    from pydantic_ai.messages import ModelRequest, ModelResponse, SystemPromptPart, TextPart, UserPromptPart

    out: list[Any] = []
    system = [SystemPromptPart(str(params.system_prompt))] if params.system_prompt else []
    for message in params.messages:
        blocks = _blocks(message.content)
        if message.role == "assistant":
            if system:  # the system prompt opens the conversation, even when the assistant speaks first
                out.append(ModelRequest(parts=system))
                system = []
            out.append(ModelResponse(parts=[TextPart(_block_text(b)) for b in blocks]))
            continue
        content = [_media(b) if getattr(b, "type", None) in ("image", "audio") else _block_text(b) for b in blocks]
        out.append(ModelRequest(parts=[*system, UserPromptPart(content)]))
        system = []
    if system:
        out.append(ModelRequest(parts=system))
    return out


def model_settings(params: Any) -> Any:
    """The request's max tokens, temperature and stop sequences as pydantic-ai ``ModelSettings``."""
    settings: dict[str, Any] = {"max_tokens": int(params.max_tokens)}
    if params.temperature is not None:
        settings["temperature"] = float(params.temperature)
    if params.stop_sequences:
        settings["stop_sequences"] = [str(s) for s in params.stop_sequences][:16]
    return settings


def request_view(params: Any) -> dict[str, Any]:
    """The request as the person (and the approval handler) sees it: plain JSON, each message as text, bounded."""
    view: dict[str, Any] = {
        "messages": [
            {"role": m.role, "content": "\n".join(_block_text(b) for b in _blocks(m.content))[:VIEW_CHARS]} for m in params.messages[:100]
        ],
        "systemPrompt": str(params.system_prompt)[:VIEW_CHARS] if params.system_prompt else None,
        "maxTokens": params.max_tokens,
    }
    if params.temperature is not None:
        view["temperature"] = params.temperature
    if params.stop_sequences:
        view["stopSequences"] = list(params.stop_sequences)[:16]
    return view


def hints_of(params: Any) -> list[str]:
    preferences = getattr(params, "model_preferences", None)
    return [str(h.name)[:100] for h in (getattr(preferences, "hints", None) or [])[:10] if getattr(h, "name", None)]


def message_result(response: Any, fallback_name: str) -> Any:
    """A pydantic-ai ``ModelResponse`` as the ``CreateMessageResult`` the server gets."""
    from mcp_types import CreateMessageResult, TextContent

    return CreateMessageResult(
        role="assistant",
        content=TextContent(type="text", text=response.text or ""),
        model=str(response.model_name or fallback_name)[:200],
        stop_reason=STOP_REASONS.get(response.finish_reason or "stop", "endTurn"),
    )


class SamplingModel:
    """Answers ``sampling/createMessage`` with ``model``, after the approval (``ServerRequests.sample`` calls ``answer``)."""

    def __init__(self, model: Any, policy: ApprovalPolicy, approve: bool = True) -> None:
        self.model = model
        self.policy = policy
        self.approve = approve
        self.always: set[str] = set()  # servers whose requests the person always allows (this session)

    @property
    def name(self) -> str:
        return str(getattr(self.model, "model_name", None) or type(self.model).__name__)

    def __repr__(self) -> str:
        return f"<sampling by {self.name}, {'after the approval' if self.approve else 'without asking'}>"

    async def answer(self, connection: Connection, context: Any, params: Any) -> Any:
        from mcp_types import INTERNAL_ERROR, ErrorData
        from pydantic_ai.direct import model_request

        hints = hints_of(params)
        if hints:
            connection.record("request", f"sampling: the server prefers {', '.join(hints)}; the notebook's model is {self.name}")
        refusal = await self._approval(connection, context, request_view(params))
        if refusal is not None:
            connection.record("request", f"sampling declined: {refusal}", "warning")
            if refusal.startswith(NOBODY):
                connection.notices.append(f"declined {connection.name}'s sampling request: {refusal}")  # printed under the cell
            return ErrorData(code=REJECTED, message=refusal)
        try:
            response = await model_request(self.model, model_messages(params), model_settings=model_settings(params))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the provider may fail in any way: the server hears one line
            line = redact(f"the notebook's model {self.name} failed: {type(exc).__name__}: {exc}")[:300]
            connection.record("request", f"sampling: {line}", "error")
            return ErrorData(code=INTERNAL_ERROR, message=line)
        usage = getattr(response, "usage", None)
        tokens = f" ({usage.input_tokens} tokens in, {usage.output_tokens} out)" if usage is not None else ""
        connection.record("request", f"sampling answered by the model {self.name}{tokens}")
        return message_result(response, self.name)

    async def _approval(self, connection: Connection, context: Any, view: dict[str, Any]) -> str | None:
        """None when the request may go to the model; else why not (what the server is told)."""
        from mcpomni_jupyter.core.requests.elicitation import run_handler
        from mcpomni_jupyter.core.tasks.inputs import asker, asking

        server, policy = connection.name, self.policy
        if not self.approve or server in self.always:
            return None
        run, caller = asker(connection, context)
        if policy.handler is not None:
            try:
                with asking(run):
                    answer = await asyncio.wait_for(run_handler(policy.handler, caller, server, SAMPLING, view), policy.timeout)
            except TimeoutError:
                return f"the approval handler gave no answer within {policy.timeout:g} s"
            except Exception as exc:  # noqa: BLE001 - the notebook's handler may raise anything: a refusal
                return redact(f"the approval handler failed: {type(exc).__name__}: {exc}")[:300]
            return None if answer else "the approval handler declined the sampling request"
        if policy.asker is not None and caller is not None:
            try:
                with asking(run, form=True):
                    decision = await policy.asker(caller, ApprovalRequest(server, SAMPLING, view, {}, "sampling"), policy.timeout)
            except TimeoutError:
                return f"nobody answered the sampling request within {policy.timeout:g} s"
            if decision == "always":
                self.always.add(server)
            if decision is not None:
                return None if decision in ("allow", "always") else DECLINED
        return (
            f"{NOBODY}: make the call with top-level await (await mcp.acall(...)) to approve it in the cell, "
            "or answer from code with mcp.set_approval_handler(fn)"
        )
