"""A task's questions: whose they are (which cell may show their form), and the answers to 2026-07-28 ``inputRequests``.

A question belongs to a task when it says so: on 2025-11-25 the server's
``elicitation/create`` (sent on ``tasks/result``) carries the task's id in
``_meta["io.modelcontextprotocol/related-task"]``; on 2026-07-28 we put it to
our own callbacks ourselves (``TaskQuestion``).  ``asker`` finds where such a
question may be answered in a form: a background job's own cell, and no other
(a job never lends its cell to another call's question, nor takes another's);
any other question goes to the newest top-level-await call on that server.

2026-07-28: each of a task's ``inputRequests`` is handed to the connection's
own callbacks (``server_requests``: the notebook's elicitation handler, else
the form of the job's cell, else a decline; roots; sampling), so a task's
question meets the same trust model as a direct ``elicitation/create``.  Keys
already answered are not asked again (servers repeat outstanding requests on
every poll; only keys still outstanding are remembered, so the set stays
small); at most ``MAX_REQUESTS`` are taken from one answer.  A question we
decline is answered ``decline``; a request that has no declining answer
(sampling without a handler, an unknown method) cannot be left unanswered
either: the task is cancelled, saying why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.session.serverlog import clip

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection
    from mcpomni_jupyter.core.tasks.run import TaskRun

MAX_REQUESTS = 16  # input requests taken from one tasks/get answer
KEY_CHARS = 200
RELATED_TASK = "io.modelcontextprotocol/related-task"

# 2025-11-25: the tasks whose tasks/result is open (their questions may arrive), by connection and task id
_open: dict[tuple[int, str], TaskRun] = {}


@dataclass
class TaskQuestion:
    """The context our callbacks get for a 2026-07-28 task's input request (the SDK's has ``meta``; ours names the run)."""

    run: TaskRun
    meta: Any = None


@contextlib.contextmanager
def questions_open(connection: Connection, run: TaskRun) -> Iterator[None]:
    """2025-11-25: while ``tasks/result`` is open, a question that names this task is this task's."""
    key = (id(connection), run.task_id or "")
    _open[key] = run
    try:
        yield
    finally:
        if _open.get(key) is run:
            del _open[key]


def task_of(connection: Connection, context: Any) -> TaskRun | None:
    """The task a server's request belongs to, if it says (``TaskQuestion``, or the related-task ``_meta``)."""
    if isinstance(context, TaskQuestion):
        return context.run
    meta = getattr(context, "meta", None)
    related = meta.get(RELATED_TASK) if isinstance(meta, dict) else None
    task_id = related.get("taskId") if isinstance(related, dict) else None
    return _open.get((id(connection), task_id)) if isinstance(task_id, str) else None


def asker(connection: Connection, context: Any) -> tuple[TaskRun | None, Any]:
    """The task a question belongs to (or None), and where it may be answered in a form (a ``Caller``, or None).

    A background job's question goes to its own cell only (None: it has none);
    any other question to the newest top-level-await call waiting on the server.
    """
    run = task_of(connection, context)
    if run is not None and run.background:
        return run, run.caller
    return run, connection.interactive_callers[-1] if connection.interactive_callers else None


@contextlib.contextmanager
def asking(run: TaskRun | None, form: bool = False) -> Iterator[None]:
    """The task's question is being asked (``form``: in a form) while inside."""
    if run is None:
        yield
        return
    run.waiting_input(True, form)
    try:
        yield
    finally:
        run.waiting_input(False)


# ---------------------------------------------------------------------- 2026-07-28: inputRequests


class Unanswerable(Exception):
    """An input request that has no declining answer: the task cannot go on (the message says why)."""


async def answer_requests(connection: Connection, run: TaskRun, answered: set[str]) -> dict[str, Any]:
    """The ``inputResponses`` for the task's outstanding requests not yet answered (empty when none).

    ``answered`` keeps only the keys still outstanding.  Raises ``Unanswerable``
    for a request that cannot be answered at all.
    """
    requests = list((run.input_requests or {}).items())[:MAX_REQUESTS]
    answered.intersection_update(key for key, _ in requests)
    callbacks = connection.server_callbacks()
    responses: dict[str, Any] = {}
    for key, request in requests:
        if not isinstance(key, str) or len(key) > KEY_CHARS or key in answered:
            continue
        answered.add(key)
        responses[key] = await _answer(connection, run, callbacks, request)
    return responses


async def _answer(connection: Connection, run: TaskRun, callbacks: dict[str, Any], request: Any) -> dict[str, Any]:
    from mcp_types import CreateMessageRequest, ElicitRequest, ErrorData, ListRootsRequest
    from pydantic import BaseModel, ValidationError

    method = request.get("method") if isinstance(request, dict) else None
    kinds: dict[str, tuple[Any, str]] = {
        "elicitation/create": (ElicitRequest, "elicitation_callback"),
        "sampling/createMessage": (CreateMessageRequest, "sampling_callback"),
        "roots/list": (ListRootsRequest, "list_roots_callback"),
    }
    shown = clip(repr(method), 60)
    if method not in kinds or kinds[method][1] not in callbacks:
        return _declined(connection, run, method, f"the task asked {shown}, which this notebook does not answer")
    model, callback = kinds[method]
    try:
        parsed = model.model_validate(request, by_name=False)
    except ValidationError:
        return _declined(connection, run, method, f"the task sent a malformed {method} request")
    fn = callbacks[callback]
    context = TaskQuestion(run)
    result = await (fn(context) if method == "roots/list" else fn(context, parsed.params))
    if isinstance(result, ErrorData):
        return _declined(connection, run, method, f"{method} declined: {clip(result.message, 200)}")
    if not isinstance(result, BaseModel):
        return _declined(connection, run, method, f"{method} got no answer")
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


def _declined(connection: Connection, run: TaskRun, method: Any, why: str) -> dict[str, Any]:
    """A question's ``decline``; for any other request (which has no declining answer) ``Unanswerable``."""
    connection.record(
        "task", f"{run.label}: {why}; answered decline" if method == "elicitation/create" else f"{run.label}: {why}", "warning"
    )
    if method == "elicitation/create":
        return {"action": "decline"}
    raise Unanswerable(why)
