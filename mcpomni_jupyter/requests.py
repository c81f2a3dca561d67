"""Requests from servers: roots, sampling and elicitation, answered on the notebook's behalf.

- Roots: the notebook's working directory by default; per server from the
  config's ``roots`` or ``manager.set_roots(name, [...])``.
- Sampling: answered by a Python callable registered with
  ``manager.set_sampling_handler(fn)``; otherwise declined with a message
  saying how to register one.
- Elicitation: while a call made with top-level ``await`` (``await
  mcp.acall(...)``) waits on that server, a form is shown in the calling cell
  (the kernel is free to receive its clicks); otherwise it is declined with a
  hint, because a blocked cell could never receive the answer.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import display

if TYPE_CHECKING:
    from .connection import Connection


def _root(path_or_uri: str) -> Any:
    from mcp_types import Root

    if "://" in path_or_uri:
        return Root(uri=path_or_uri, name=path_or_uri.rstrip("/").rsplit("/", 1)[-1] or path_or_uri)
    path = Path(path_or_uri).expanduser().resolve()
    return Root(uri=path.as_uri(), name=path.name or str(path))


class ServerRequests:
    """The callbacks a ``ClientSession`` gets for one connection, backed by the manager's handlers."""

    def __init__(self) -> None:
        self.sampling_handler: Callable[..., Any] | None = None
        self.roots: dict[str, list[str]] = {}
        self.elicitation_timeout = 600.0

    def callbacks(self, connection: Connection) -> dict[str, Any]:
        async def list_roots(context: Any) -> Any:
            from mcp_types import ListRootsResult

            paths = self.roots.get(connection.name) or list(connection.config.roots) or [os.getcwd()]
            connection.record("request", f"roots asked: answered {', '.join(paths)}")
            return ListRootsResult(roots=[_root(p) for p in paths])

        async def sampling(context: Any, params: Any) -> Any:
            from mcp_types import INVALID_REQUEST, CreateMessageResult, ErrorData, TextContent

            handler = self.sampling_handler
            if handler is None:
                connection.record("request", "sampling declined: no handler registered", "warning")
                return ErrorData(
                    code=INVALID_REQUEST,
                    message="this notebook answers no sampling requests; register a handler with "
                    "mcpomni_jupyter.get_manager().set_sampling_handler(fn)",
                )
            messages = [
                {"role": m.role, "content": getattr(m.content, "text", None) or str(m.content)} for m in params.messages
            ]
            try:
                answer = handler(messages, params)
                if asyncio.iscoroutine(answer):
                    answer = await answer
            except Exception as exc:
                connection.record("request", f"sampling handler failed: {exc}", "error")
                return ErrorData(code=INVALID_REQUEST, message=f"the notebook's sampling handler failed: {exc}")
            if isinstance(answer, str):
                answer = CreateMessageResult(role="assistant", content=TextContent(type="text", text=answer), model="notebook")
            elif isinstance(answer, dict):
                answer = CreateMessageResult.model_validate(
                    {"role": "assistant", "model": "notebook", "content": {"type": "text", "text": answer.get("text", "")}, **answer}
                    if "content" not in answer else answer
                )
            connection.record("request", "sampling answered by the notebook's handler")
            return answer

        async def elicitation(context: Any, params: Any) -> Any:
            from mcp_types import ElicitResult

            caller = connection.interactive_callers[-1] if connection.interactive_callers else None
            if caller is None or getattr(params, "requested_schema", None) is None:
                hint = (
                    f"declined the server's question {params.message!r}: a blocked cell cannot answer it; "
                    "make the call with top-level await (await mcp.acall(...)) to answer in a form"
                )
                connection.record("request", hint, "warning")
                connection.notices.append(hint)  # the calling magic prints it under the cell
                return ElicitResult(action="decline")
            from .forms import ask

            connection.record("request", f"elicitation: {params.message}")
            return await ask(caller, connection.name, params, self.elicitation_timeout)

        return {"list_roots_callback": list_roots, "sampling_callback": sampling, "elicitation_callback": elicitation}


class ServerMessagesAPI:
    """Mixed into ``MCPManager``: sampling handler, roots, notification callbacks, the log and log level."""

    requests: ServerRequests
    _listeners: list[Callable[[Any], Any]]

    def set_sampling_handler(self, handler: Callable[..., Any] | None) -> None:
        """Answer servers' sampling requests with ``handler(messages, params)`` -> str (or a result).

        ``messages`` is a list of ``{"role", "content"}`` dicts; ``params`` the
        SDK's ``CreateMessageRequestParams``.  ``None`` declines them again.
        """
        self.requests.sampling_handler = handler

    def set_roots(self, name: str, roots: Iterable[str] | None) -> None:
        """The directories (or file:// URIs) offered to ``name`` as roots; None: the config's, else the cwd."""
        self.connection(name)
        if roots is None:
            self.requests.roots.pop(name, None)
        else:
            self.requests.roots[name] = [str(r) for r in roots]

    def on_notification(self, callback: Callable[[Any], Any], server: str | None = None) -> Callable[[], None]:
        """Call ``callback(entry)`` for every notification, log message and stderr line (a ``LogEntry``).

        Runs on the loop thread, in the context of the cell that registered it.
        Returns a function that unregisters it.
        """
        context = contextvars.copy_context()

        def listener(entry: Any) -> None:
            if server is None or entry.server == server:
                context.run(callback, entry)

        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _dispatch_entry(self, entry: Any) -> None:
        for listener in list(self._listeners):
            try:
                listener(entry)
            except Exception:
                pass

    # ------------------------------------------------------------------ log

    def log(self, server: str | None = None, limit: int | None = None) -> display.LogList:
        """Notifications, log messages and stderr lines received, oldest first."""
        connections = [self.connection(server)] if server else list(self.connections.values())
        entries = sorted((e for c in connections for e in c.log.snapshot()), key=lambda e: e.time)
        return display.LogList(entries[-limit:] if limit else entries)

    def set_log_level(self, level: str | None, *names: str) -> None:
        """Ask servers for log messages at ``level`` (debug, info, warning, ...); None for the server's default."""

        if not names:
            self.log_level = level

        async def apply() -> None:
            for c in self._select(names):
                if level:
                    await c.apply_log_level(level)  # only where the server declares logging; never fails
                else:
                    c.log_level = None

        self._run(apply(), self.timeout + 5, "setting the log level")
