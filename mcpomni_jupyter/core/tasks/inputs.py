"""What an ``input_required`` task asks (2026-07-28 ``inputRequests``), answered as any question from that server is.

Each request is handed to the connection's own callbacks (``server_requests``:
the notebook's elicitation handler, else the form of the cell that is waiting
on the task, else a decline; roots; sampling), so a task's question meets the
same trust model as a direct ``elicitation/create``.  Keys already answered
are not asked again (servers repeat outstanding requests on every poll);
at most ``MAX_REQUESTS`` are taken from one answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.session.serverlog import clip

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection
    from mcpomni_jupyter.core.tasks.run import TaskRun

MAX_REQUESTS = 16  # input requests taken from one tasks/get answer
KEY_CHARS = 200


async def answer_requests(connection: Connection, run: TaskRun, answered: set[str]) -> dict[str, Any]:
    """The ``inputResponses`` for the task's outstanding requests not yet answered (empty when none)."""
    requests = run.input_requests or {}
    callbacks = connection.server_callbacks()
    responses: dict[str, Any] = {}
    for key, request in list(requests.items())[:MAX_REQUESTS]:
        if not isinstance(key, str) or len(key) > KEY_CHARS or key in answered:
            continue
        answered.add(key)
        response = await _answer(connection, run, callbacks, request)
        if response is not None:
            responses[key] = response
    return responses


async def _answer(connection: Connection, run: TaskRun, callbacks: dict[str, Any], request: Any) -> dict[str, Any] | None:
    from mcp_types import CreateMessageRequest, ElicitRequest, ErrorData, ListRootsRequest
    from pydantic import BaseModel, ValidationError

    method = request.get("method") if isinstance(request, dict) else None
    kinds: dict[str, tuple[Any, str]] = {
        "elicitation/create": (ElicitRequest, "elicitation_callback"),
        "sampling/createMessage": (CreateMessageRequest, "sampling_callback"),
        "roots/list": (ListRootsRequest, "list_roots_callback"),
    }
    if method not in kinds or kinds[method][1] not in callbacks:
        connection.record("task", f"{run.label}: the task asked {clip(repr(method), 60)}, which this notebook does not answer", "warning")
        return None
    model, callback = kinds[method]
    try:
        parsed = model.model_validate(request, by_name=False)
    except ValidationError:
        connection.record("task", f"{run.label}: the task sent a malformed {method} request; left unanswered", "warning")
        return None
    pushed = run.caller is not None
    if pushed:  # a background job: its cell's form may answer (the kernel is free between cells)
        connection.interactive_callers.append(run.caller)
    run.waiting_input(True)
    try:
        fn = callbacks[callback]
        result = await (fn(None) if method == "roots/list" else fn(None, parsed.params))
    finally:
        run.waiting_input(False)
        if pushed:
            connection.interactive_callers.remove(run.caller)
    if isinstance(result, ErrorData):
        connection.record("task", f"{run.label}: {method} declined: {clip(result.message, 200)}", "warning")
        return {"action": "decline"} if method == "elicitation/create" else None
    return result.model_dump(by_alias=True, mode="json", exclude_none=True) if isinstance(result, BaseModel) else None
