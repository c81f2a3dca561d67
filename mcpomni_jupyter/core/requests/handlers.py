"""Requests from servers: roots, sampling and elicitation, answered on the notebook's behalf.

- Roots: the notebook's working directory by default; per server from the
  config's ``roots`` or ``manager.set_roots(name, [...])``.
- Sampling: answered by a Python callable registered with
  ``manager.set_sampling_handler(fn)``, else by the model set with
  ``manager.set_sampling_model(model)`` once the person approves
  (``core/agents/sampling.py``); otherwise declined with a message saying how.
- Elicitation, form mode (a question with a JSON schema): answered by the
  notebook's code (``manager.set_elicitation_handler(fn)``) in any call; else
  by the UI's form while a top-level-``await`` call waits on that server (the
  kernel is then free for its clicks); else declined with a one-line hint.
  An accept gets the schema's defaults for fields it leaves out (SEP-1034) and
  must fit the schema, cut down to the spec's flat subset (no ``$ref`` is ever
  followed, no ``pattern`` run); one that does not is declined, with a log line.
- Elicitation, URL mode (open a page): only https, or http to this machine,
  without user info; the UI shows it in the calling cell as a link the person
  may click (the kernel never opens it) and the server is told ``accept`` once
  it is shown; otherwise declined.  Code never answers it: it is the person's.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.requests.elicitation import (
    ELICITATION_TIMEOUT,
    LINK_SHOW_TIMEOUT,
    QUESTION_CHARS,
    Caller,
    Link,
    as_result,
    check_answer,
    checked_link,
    question_schema,
    run_handler,
    schema_defaults,
    takes_server,
)
from mcpomni_jupyter.core.session.serverlog import clip

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection

# the notebook's code: (message, schema, defaults[, server=...]) -> dict | None | "decline" | "cancel" | ElicitResult
ElicitationHandler = Callable[..., Any]
# the UI's form: (caller, server name, the request's params, timeout) -> ElicitResult
FormHandler = Callable[[Caller, str, Any, float], Awaitable[Any]]
# the UI's link: (the top-level-await caller or None, link) -> whether it was shown
LinkHandler = Callable[["Caller | None", Link], Awaitable[bool]]


def _root(path_or_uri: str) -> Any:
    from mcp_types import Root

    if "://" in path_or_uri:
        return Root.model_validate({"uri": path_or_uri, "name": path_or_uri.rstrip("/").rsplit("/", 1)[-1] or path_or_uri})
    path = Path(path_or_uri).expanduser().resolve()
    return Root.model_validate({"uri": path.as_uri(), "name": path.name or str(path)})


# ---------------------------------------------------------------------- questions: schema, defaults, checks


class ServerRequests:
    """The callbacks a ``ClientSession`` gets for one connection, backed by the manager's handlers."""

    def __init__(self) -> None:
        self.sampling_handler: Callable[..., Any] | None = None
        self.sampling_model: Any = None  # core.agents.sampling.SamplingModel: set_sampling_model
        self.elicitation_handler: ElicitationHandler | None = None  # the notebook's code: set_elicitation_handler
        self.form_handler: FormHandler | None = None  # injected by the UI: a form under top-level await
        self.link_handler: LinkHandler | None = None  # injected by the UI: a link in the calling cell
        self.roots: dict[str, list[str]] = {}
        self.elicitation_timeout = ELICITATION_TIMEOUT
        self.apps = False  # advertise MCP Apps (the notebook UI turns this on where a front end renders them)

    def callbacks(self, connection: Connection) -> dict[str, Any]:
        """The session's callbacks for ``connection``."""
        callbacks: dict[str, Any] = {
            "list_roots_callback": functools.partial(self.list_roots, connection),
            "sampling_callback": functools.partial(self.sample, connection),
            "elicitation_callback": functools.partial(self.elicit, connection),
        }
        from mcpomni_jupyter.core.tasks.wire import tasks_extension

        callbacks["extensions"] = [tasks_extension(connection)]  # MCP Tasks (2026-07-28 extension): the ad, and following task answers
        if self.apps:  # a front end renders MCP Apps: say so (SEP-1865), so servers offer their UI
            from mcp.client.extension import advertise

            from mcpomni_jupyter.core.apps.app import APP_MIME, EXTENSION_ID

            callbacks["extensions"].append(advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME]}))
        return callbacks

    async def list_roots(self, connection: Connection, context: Any) -> Any:
        from mcp_types import ListRootsResult

        paths = self.roots.get(connection.name) or list(connection.config.roots) or [os.getcwd()]
        connection.record("request", f"roots asked: answered {', '.join(paths)}")
        return ListRootsResult(roots=[_root(p) for p in paths])

    async def sample(self, connection: Connection, context: Any, params: Any) -> Any:
        from mcp_types import INVALID_REQUEST, ErrorData

        handler = self.sampling_handler
        if handler is None and self.sampling_model is not None:  # the notebook's handler, when set, wins over the model
            return await self.sampling_model.answer(connection, context, params)
        if handler is None:
            connection.record("request", "sampling declined: no handler registered", "warning")
            return ErrorData(
                code=INVALID_REQUEST,
                message="this notebook answers no sampling requests; register a handler with "
                "mcpomni_jupyter.get_manager().set_sampling_handler(fn), or a model with set_sampling_model(model)",
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

    # ------------------------------------------------------------------ elicitation

    async def elicit(self, connection: Connection, context: Any, params: Any) -> Any:
        from mcpomni_jupyter.core.tasks.inputs import asker, asking

        run, caller = asker(connection, context)  # a task's question goes to its job's cell only
        if getattr(params, "mode", None) == "url" or getattr(params, "requested_schema", None) is None:
            with asking(run):
                return await self._link(connection, params, caller)
        question = clip(str(params.message), QUESTION_CHARS)
        schema = question_schema(params.requested_schema)
        if self.elicitation_handler is not None:  # the notebook's code wins, in blocking and awaited calls alike
            with asking(run):
                result = await self._by_code(connection, self.elicitation_handler, caller, params, schema)
            return self._checked(connection, schema, result, question, "the notebook's handler")
        if caller is not None and self.form_handler is not None:
            connection.record("request", f"elicitation: {question}")
            with asking(run, form=True):  # the form needs the kernel's thread: job.result() there fails at once
                result = await self.form_handler(caller, connection.name, params, self.elicitation_timeout)
            return self._checked(connection, schema, result, question, "the form")
        return self._declined(
            connection,
            f"declined the server's question {question!r}: a blocked cell cannot answer it; "
            "make the call with top-level await (await mcp.acall(...)) to answer in a form, "
            "or answer from code with mcp.set_elicitation_handler(fn)",
        )

    async def _by_code(self, connection: Connection, handler: Callable[..., Any], caller: Caller | None, params: Any, schema: Any) -> Any:
        """Ask the notebook's handler; its failure, silence or odd answer is a decline (or a cancel) with a line in the log."""
        from mcp_types import ElicitResult

        args = (str(params.message), copy.deepcopy(params.requested_schema), schema_defaults(schema))
        kwargs = {"server": connection.name} if takes_server(handler) else {}
        try:
            answer = await asyncio.wait_for(run_handler(handler, caller, *args, **kwargs), self.elicitation_timeout)
            return as_result(answer)
        except TimeoutError:
            line = (
                f"cancelled the server's question: the notebook's elicitation handler gave no answer within {self.elicitation_timeout:g} s"
            )
            self._declined(connection, line)
            return ElicitResult(action="cancel")
        except Exception as exc:  # noqa: BLE001 - the notebook's handler may raise anything
            line = f"declined the server's question: the notebook's elicitation handler failed: {clip(f'{type(exc).__name__}: {exc}', 300)}"
            self._declined(connection, line, "error")
            return ElicitResult(action="decline")

    def _checked(self, connection: Connection, schema: dict[str, Any], result: Any, question: str, who: str) -> Any:
        """An answer as sent: an accept gets its defaults and must fit the schema, or it becomes a decline."""
        from mcp_types import ElicitResult
        from pydantic import ValidationError

        action = getattr(result, "action", None)
        if action in ("decline", "cancel"):
            connection.record("request", f"elicitation {question!r}: {who} answered {action}")
            return ElicitResult(action=action)
        if action != "accept":
            return self._declined(connection, f"declined the server's question {question!r}: {who} gave no answer")
        content = getattr(result, "content", None)
        if isinstance(content, dict | None):  # SEP-1034: a field left out gets its default
            content = {**schema_defaults(schema), **(content or {})}
        problem = check_answer(schema, content)
        if problem is None:
            try:
                answer = ElicitResult.model_validate({"action": "accept", "content": content})
            except ValidationError:
                problem = "values must be strings, numbers, booleans, lists of strings or null"
        if problem is not None:
            return self._declined(
                connection, f"declined the server's question {question!r}: {who}'s answer does not fit its schema: {problem}"
            )
        connection.record("request", f"elicitation {question!r}: {who} answered accept")
        return answer

    async def _link(self, connection: Connection, params: Any, caller: Caller | None) -> Any:
        """URL mode: a checked link shown to the person in the calling cell; ``accept`` once it is shown."""
        from mcp_types import ElicitResult

        question = clip(str(params.message), QUESTION_CHARS)
        link, problem = checked_link(
            connection.name, str(params.message), str(getattr(params, "url", "") or ""), getattr(params, "elicitation_id", None)
        )
        if link is None:
            return self._declined(connection, f"declined the server's request to open a page ({question!r}): {problem}")
        if self.link_handler is None:
            return self._declined(
                connection, f"declined the server's request to open a page on {link.host}: there is no notebook display to show the link on"
            )
        try:
            shown = await asyncio.wait_for(self.link_handler(caller, link), LINK_SHOW_TIMEOUT)
        except Exception:  # noqa: BLE001 - a display that fails (or hangs) declines; the server is never left waiting
            shown = False
        if not shown:
            return self._declined(connection, f"declined the server's request to open a page on {link.host}: the link could not be shown")
        ident = f" (elicitation {link.elicitation_id})" if link.elicitation_id else ""
        connection.record("request", f"showed a link to {link.host} for the person to open{ident}: {question!r}; answered accept")
        return ElicitResult(action="accept")

    def _declined(self, connection: Connection, line: str, level: str = "warning") -> Any:
        """Decline with a line in the server's log and a notice under the calling cell."""
        from mcp_types import ElicitResult

        connection.record("request", line, level)
        connection.notices.append(line)  # the calling magic prints it under the cell
        return ElicitResult(action="decline")


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
