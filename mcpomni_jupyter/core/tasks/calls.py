"""The task call paths on the loop thread: a blocking call, a background job, a task found by id, and the server's list.

Each runs its requests through ``Connection.request`` (errors mapped once, a
forgotten session renewed), creation and following as separate requests so a
renewal never creates a task twice.  On 2026-07-28 the call goes out as a raw
``tools/call`` through the session's envelope (headers, capabilities, progress):
a task answer is followed here, a complete one validated as the SDK would
(``CallToolResult``, then the tool's output schema).  The SDK's ``call_tool``
takes over for what it alone drives: input rounds (``input_required``, whose
first round is repeated: it asks, it does not act) and a stale tool listing
(``HEADER_MISMATCH``, answered by re-listing); a task answer there reaches our
``TasksExtension`` claim, which finds this call's ``TaskRun`` in ``tasks.CURRENT``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.session.errormap import is_schema_error, schema_error
from mcpomni_jupyter.core.session.serverlog import clip
from mcpomni_jupyter.core.tasks.run import TERMINAL, TaskRun, TaskState, checked_id, parse_task
from mcpomni_jupyter.core.tasks.wire import CURRENT, call_result, create, follow_within, get, sdk, send
from mcpomni_jupyter.errors import LookupFailed, McpJupyterError, ServerError

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection

MAX_LISTED = 500  # tasks taken from a server's tasks/list
MAX_PAGES = 10
INVALID_PARAMS = -32602  # the JSON-RPC error of tasks/get for a task id the server does not know

OnProgress = Callable[[float, "float | None", "str | None"], Awaitable[Any]]


async def call(connection: Connection, tool: str, arguments: dict[str, Any], run: TaskRun, on_progress: OnProgress | None = None) -> Any:
    """Call ``tool`` as a task and follow it to its ``CallToolResult`` (within ``run.limit``, when set)."""
    try:
        if connection.is_modern:
            answer = await connection.request(
                lambda c: _modern_call(connection, c.session, tool, arguments, run, on_progress), "tools/call"
            )
            if answer is None:
                answer = await _sdk_call(connection, tool, arguments, run, on_progress)
        else:
            answer = await connection.request(lambda c: _created(connection, c.session, tool, arguments, run), "tools/call (task)")
        if answer is _FOLLOW:
            return await connection.request(lambda c: _followed(connection, c.session, tool, run), "tasks/get")
        run.finish("completed", run.message)  # the server may have answered at once, without a task
        return answer
    except BaseException as exc:
        run.ended_by(exc)
        raise


async def _followed(connection: Connection, session: Any, tool: str, run: TaskRun) -> Any:
    """The task followed to its result, checked against the tool's output schema as the SDK's ``call_tool`` checks one."""
    return await _checked(connection, session, tool, await follow_within(connection, session, run, run.limit))


async def _checked(connection: Connection, session: Any, tool: str, result: Any) -> Any:
    """``result``, if it keeps the tool's output schema (an error result is never checked, as in the SDK)."""
    if not result.is_error:
        try:
            await session.validate_tool_result(tool, result)
        except RuntimeError as exc:
            if is_schema_error(exc):
                raise schema_error(connection.name, exc) from None
            raise
    return result


_FOLLOW = object()  # the answer to tools/call when the server made a task


async def _created(connection: Connection, session: Any, tool: str, arguments: dict[str, Any], run: TaskRun) -> Any:
    """2025-11-25: the task-augmented ``tools/call``; ``_FOLLOW``, or the checked result when the server answered at once."""
    direct = await create(connection, session, tool, arguments, run, run.limit)
    return _FOLLOW if direct is None else await _checked(connection, session, tool, direct)


async def _modern_call(
    connection: Connection, session: Any, tool: str, arguments: dict[str, Any], run: TaskRun, on_progress: OnProgress | None
) -> Any:
    """2026-07-28: one raw ``tools/call``; ``_FOLLOW`` for a task, the validated result, or None for the SDK to drive."""
    names = sdk()
    params: dict[str, Any] = {"name": tool, "arguments": arguments}
    meta = connection.request_meta()
    if meta:
        params["_meta"] = dict(meta)  # the envelope adds to it
    try:
        raw = await send(session, "tools/call", params, timeout=run.limit, progress=on_progress)
    except names.MCPError as exc:
        if exc.code == names.HEADER_MISMATCH:  # our listing of the tool is stale: the SDK re-lists and resends
            return None
        raise
    kind = raw.get("resultType")
    if kind == "task":
        run.update(parse_task(raw, connection.name))
        return _FOLLOW
    if kind == "input_required":
        return None
    if kind not in (None, "complete"):
        raise ServerError(
            f"server {connection.name!r} answered tools/call with an unknown resultType {clip(repr(kind), 40)}; "
            "report it to the server's maintainers"
        )
    return await _checked(connection, session, tool, call_result(raw, run.label))


async def _sdk_call(connection: Connection, tool: str, arguments: dict[str, Any], run: TaskRun, on_progress: OnProgress | None) -> Any:
    """The SDK's ``call_tool`` (input rounds, a re-listing); a task answer reaches our claim, which reports into ``run``."""
    meta = connection.request_meta()
    token = CURRENT.set(run)  # the claim's resolver, in this same task, reports into this run
    try:
        return await connection.request(
            lambda c: c.call_tool(tool, arguments, read_timeout_seconds=run.limit, progress_callback=on_progress, meta=meta),
            "tools/call",
        )
    finally:
        CURRENT.reset(token)


async def attach(connection: Connection, run: TaskRun) -> Any:
    """Follow a task we did not start (found by id, e.g. after a kernel restart) to its ``CallToolResult``."""
    assert run.task_id is not None
    try:
        run.update(await connection.request(lambda c: get(c.session, run.task_id or "", connection.name), "tasks/get"))
        return await connection.request(lambda c: follow_within(connection, c.session, run, run.limit), "tasks/get")
    except BaseException as exc:
        run.ended_by(exc)
        raise


async def status(connection: Connection, task_id: str) -> TaskState:
    """One ``tasks/get``; a task the server does not know (``-32602``, as the spec has it) is ``LookupFailed``."""
    try:
        return await connection.request(lambda c: get(c.session, task_id, connection.name), "tasks/get")
    except ServerError as exc:
        if exc.code != INVALID_PARAMS:
            raise
        raise LookupFailed(
            f"server {connection.name!r} has no task {clip(task_id, 40)!r} (it may have expired); %mcp tasks {connection.name} lists its tasks"
        ) from None


async def cancel(connection: Connection, run: TaskRun, timeout: float) -> None:
    """``tasks/cancel``, waited for (a person's Cancel, ``job.cancel()``); the run ends ``cancelled``.

    A refusal because the task had already ended is no error: the run ends as the server says it did.
    """
    if run.task_id is None or run.done:
        return
    task_id = checked_id(run.task_id, connection.name)
    try:
        await connection.request(lambda c: send(c.session, "tasks/cancel", {"taskId": task_id}, timeout=timeout), "tasks/cancel")
    except ServerError:
        state = await status(connection, task_id)
        if state.status not in TERMINAL:
            raise
        run.update(state)
        connection.record("task", f"tasks/cancel for {run.label} (task {run.shown_id}) refused: it had already ended {state.status}")
        return
    run.finish("cancelled", "cancelled by the notebook")
    connection.record("task", f"tasks/cancel sent for {run.label} (task {run.shown_id})")


def lists_tasks(connection: Connection) -> bool:
    """Whether the server answers ``tasks/list`` (2025-11-25 with ``capabilities.tasks.list``; the 2026-07-28 extension has none)."""
    caps = connection.capabilities
    return not connection.is_modern and caps is not None and getattr(caps.tasks, "list", None) is not None


async def listed(connection: Connection, timeout: float) -> tuple[list[TaskState], int]:
    """The server's tasks (``tasks/list``, every page up to ``MAX_LISTED``), and how many entries were unusable."""
    tasks: list[TaskState] = []
    bad, cursor = 0, None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {} if cursor is None else {"cursor": cursor}
        raw = await connection.request(lambda c, p=params: send(c.session, "tasks/list", p, timeout=timeout), "tasks/list")  # type: ignore[misc]
        entries = raw.get("tasks") if isinstance(raw.get("tasks"), list) else []
        for entry in entries[: MAX_LISTED - len(tasks)]:
            try:
                tasks.append(parse_task(entry, connection.name))
            except McpJupyterError:
                bad += 1
        cursor = raw.get("nextCursor")
        if not isinstance(cursor, str) or not cursor or len(tasks) >= MAX_LISTED:
            break
    return tasks, bad
