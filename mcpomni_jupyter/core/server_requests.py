"""Requests from servers: roots, sampling and elicitation, answered on the notebook's behalf.

- Roots: the notebook's working directory by default; per server from the
  config's ``roots`` or ``manager.set_roots(name, [...])``.
- Sampling: answered by a Python callable registered with
  ``manager.set_sampling_handler(fn)``; otherwise declined with a message
  saying how to register one.
- Elicitation: while a call made with top-level ``await`` (``await
  mcp.acall(...)``) waits on that server, the elicitation handler answers it
  (the UI registers one that shows a form in the calling cell, whose clicks
  the kernel is then free to receive); otherwise it is declined with a hint,
  because a blocked cell could never receive the answer.  A URL-mode
  elicitation (a server asking us to open a link) is always declined.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connection import Connection

ELICITATION_TIMEOUT = 600.0  # how long a question may wait for the person


@dataclass
class Caller:
    """Where a top-level-await call came from: the kernel's loop and the cell's context."""

    loop: asyncio.AbstractEventLoop
    context: contextvars.Context


# (caller, server name, the request's params, timeout) -> ElicitResult
ElicitationHandler = Callable[[Caller, str, Any, float], Awaitable[Any]]


def _root(path_or_uri: str) -> Any:
    from mcp_types import Root

    if "://" in path_or_uri:
        return Root.model_validate({"uri": path_or_uri, "name": path_or_uri.rstrip("/").rsplit("/", 1)[-1] or path_or_uri})
    path = Path(path_or_uri).expanduser().resolve()
    return Root.model_validate({"uri": path.as_uri(), "name": path.name or str(path)})


class ServerRequests:
    """The callbacks a ``ClientSession`` gets for one connection, backed by the manager's handlers."""

    def __init__(self) -> None:
        self.sampling_handler: Callable[..., Any] | None = None
        self.elicitation_handler: ElicitationHandler | None = None  # injected by the UI
        self.roots: dict[str, list[str]] = {}
        self.elicitation_timeout = ELICITATION_TIMEOUT

    def callbacks(self, connection: Connection) -> dict[str, Any]:
        """The session's callbacks for ``connection``."""
        return {
            "list_roots_callback": functools.partial(self.list_roots, connection),
            "sampling_callback": functools.partial(self.sample, connection),
            "elicitation_callback": functools.partial(self.elicit, connection),
        }

    async def list_roots(self, connection: Connection, context: Any) -> Any:
        from mcp_types import ListRootsResult

        paths = self.roots.get(connection.name) or list(connection.config.roots) or [os.getcwd()]
        connection.record("request", f"roots asked: answered {', '.join(paths)}")
        return ListRootsResult(roots=[_root(p) for p in paths])

    async def sample(self, connection: Connection, context: Any, params: Any) -> Any:
        from mcp_types import INVALID_REQUEST, ErrorData

        handler = self.sampling_handler
        if handler is None:
            connection.record("request", "sampling declined: no handler registered", "warning")
            return ErrorData(
                code=INVALID_REQUEST,
                message="this notebook answers no sampling requests; register a handler with "
                "mcpomni_jupyter.get_manager().set_sampling_handler(fn)",
            )
        messages = [{"role": m.role, "content": getattr(m.content, "text", None) or str(m.content)} for m in params.messages]
        try:
            answer = handler(messages, params)
            if asyncio.iscoroutine(answer):
                answer = await answer
        except Exception as exc:  # noqa: BLE001 - the notebook's handler may raise anything
            connection.record("request", f"sampling handler failed: {exc}", "error")
            return ErrorData(code=INVALID_REQUEST, message=f"the notebook's sampling handler failed: {exc}")
        connection.record("request", "sampling answered by the notebook's handler")
        return _message_result(answer)

    async def elicit(self, connection: Connection, context: Any, params: Any) -> Any:
        from mcp_types import ElicitResult

        caller = connection.interactive_callers[-1] if connection.interactive_callers else None
        handler = self.elicitation_handler
        question = str(params.message)[:200]
        if getattr(params, "requested_schema", None) is None:  # URL mode: never open a link a server chose
            connection.record("request", f"declined the server's request to open a link ({question!r})", "warning")
            return ElicitResult(action="decline")
        if caller is None or handler is None:
            hint = (
                f"declined the server's question {question!r}: a blocked cell cannot answer it; "
                "make the call with top-level await (await mcp.acall(...)) to answer in a form"
            )
            connection.record("request", hint, "warning")
            connection.notices.append(hint)  # the calling magic prints it under the cell
            return ElicitResult(action="decline")
        connection.record("request", f"elicitation: {question}")
        return await handler(caller, connection.name, params, self.elicitation_timeout)


def _message_result(answer: Any) -> Any:
    """A sampling handler's answer (a string, a dict, or a result) as a ``CreateMessageResult``."""
    from mcp_types import CreateMessageResult, TextContent

    if isinstance(answer, str):
        return CreateMessageResult(role="assistant", content=TextContent(type="text", text=answer), model="notebook")
    if isinstance(answer, dict):
        if "content" not in answer:
            answer = {"role": "assistant", "model": "notebook", "content": {"type": "text", "text": answer.get("text", "")}, **answer}
        return CreateMessageResult.model_validate(answer)
    return answer
