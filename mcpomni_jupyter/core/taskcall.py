"""The task call paths on the loop thread: a blocking call, a background job, a task found by id, and the server's list.

Each runs its requests through ``Connection.request`` (errors mapped once, a
forgotten session renewed), creation and following as separate requests so a
renewal never creates a task twice.  On 2026-07-28 the call is the SDK's own
``call_tool``: our ``TasksExtension`` claim follows the task answer, and finds
this call's ``TaskRun`` in ``tasks.CURRENT``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import McpJupyterError
from .taskrun import TaskRun, TaskState, checked_id, parse_task
from .tasks import CURRENT, create, follow_within, get, send

if TYPE_CHECKING:
    from .connection import Connection

MAX_LISTED = 500  # tasks taken from a server's tasks/list
MAX_PAGES = 10

OnProgress = Callable[[float, "float | None", "str | None"], Awaitable[Any]]


async def call(connection: Connection, tool: str, arguments: dict[str, Any], run: TaskRun, on_progress: OnProgress | None = None) -> Any:
    """Call ``tool`` as a task and follow it to its ``CallToolResult`` (within ``run.limit``, when set)."""
    try:
        if connection.is_modern:
            meta = connection.request_meta()
            token = CURRENT.set(run)  # the claim's resolver, in this same task, reports into this run
            try:
                result = await connection.request(
                    lambda c: c.call_tool(tool, arguments, read_timeout_seconds=run.limit, progress_callback=on_progress, meta=meta),
                    "tools/call",
                )
            finally:
                CURRENT.reset(token)
            run.finish("completed", run.message)  # the server may have answered at once, without a task
            return result
        direct = await connection.request(lambda c: create(connection, c.session, tool, arguments, run, run.limit), "tools/call (task)")
        if direct is not None:
            return direct
        return await connection.request(lambda c: follow_within(connection, c.session, run, run.limit), "tasks/get")
    except BaseException as exc:
        if not run.done:
            run.fail(exc) if isinstance(exc, Exception) else run.finish("cancelled", "interrupted")
        raise


async def attach(connection: Connection, run: TaskRun) -> Any:
    """Follow a task we did not start (found by id, e.g. after a kernel restart) to its ``CallToolResult``."""
    assert run.task_id is not None
    try:
        run.update(await connection.request(lambda c: get(c.session, run.task_id or "", connection.name), "tasks/get"))
        return await connection.request(lambda c: follow_within(connection, c.session, run, run.limit), "tasks/get")
    except BaseException as exc:
        if not run.done:
            run.fail(exc) if isinstance(exc, Exception) else run.finish("cancelled", "interrupted")
        raise


async def status(connection: Connection, task_id: str) -> TaskState:
    """One ``tasks/get``."""
    return await connection.request(lambda c: get(c.session, task_id, connection.name), "tasks/get")


async def cancel(connection: Connection, run: TaskRun, timeout: float) -> None:
    """``tasks/cancel``, waited for (a person's Cancel, ``job.cancel()``); the run ends ``cancelled``."""
    if run.task_id is None or run.done:
        return
    task_id = checked_id(run.task_id, connection.name)
    await connection.request(lambda c: send(c.session, "tasks/cancel", {"taskId": task_id}, timeout=timeout), "tasks/cancel")
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
