"""MCP Tasks on the wire: a task-augmented ``tools/call`` followed to its end, in either protocol era.

2025-11-25 (experimental tasks; the server declares ``tasks.requests.tools.call``
and each tool its ``execution.taskSupport``): ``tools/call`` carries
``params.task`` and is answered ``{"task": {...}}``; ``tasks/get`` polls;
``tasks/result`` fetches the result (and carries the server's questions while
the task is ``input_required``); ``tasks/cancel``; ``tasks/list``.

2026-07-28 (the ``io.modelcontextprotocol/tasks`` extension): the client
advertises the extension in every request's capabilities and the server alone
decides to answer ``resultType: "task"`` (a flat task); ``tasks/get`` inlines
``result``, ``error`` or ``inputRequests``; ``tasks/update`` answers those;
``tasks/cancel``; no ``tasks/list``, no ``tasks/result``; ``Mcp-Name`` is the
task id.  The SDK's ``ResultClaim`` hands a task answer of any ``call_tool``
to ``TasksExtension``, which follows it, so every call path copes.

Requests go out through the session's own envelope (``_stamp``) and
dispatcher: the SDK validates a ``tools/call`` answer as a ``CallToolResult``,
which a task answer is not.  Everything a server says about a task is
untrusted: ids are checked (length, printable), messages cut, poll intervals
clamped.  A cancelled or timed-out follow sends ``tasks/cancel``.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import TYPE_CHECKING, Any, Literal

from mcpomni_jupyter.core.session.serverlog import clip
from mcpomni_jupyter.core.tasks.inputs import Unanswerable, answer_requests, questions_open
from mcpomni_jupyter.core.tasks.run import TERMINAL, TaskRun, TaskState, parse_task
from mcpomni_jupyter.errors import LookupFailed, McpJupyterError, RequestTimeout, ServerError, TaskCancelled

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection

EXTENSION_ID = "io.modelcontextprotocol/tasks"
MIN_POLL = 0.05  # seconds between polls, at least (after the first), whatever the server suggests
MAX_POLL = 30.0  # and at most
DEFAULT_POLL = 1.0  # when the server suggests nothing
CANCEL_TIMEOUT = 5.0  # for tasks/cancel after an interrupt or a timeout

_SDK: Any = None


def sdk() -> Any:
    """The SDK names a task round trip needs, imported once on first use (``import mcp`` is too slow for ``%load_ext``)."""
    global _SDK
    if _SDK is None:
        from types import SimpleNamespace

        from mcp.shared.exceptions import MCPError
        from mcp.shared.inbound import MCP_NAME_HEADER, encode_header_value
        from mcp_types import CallToolResult
        from mcp_types.jsonrpc import HEADER_MISMATCH
        from pydantic import ValidationError

        _SDK = SimpleNamespace(
            MCPError=MCPError,
            MCP_NAME_HEADER=MCP_NAME_HEADER,
            encode_header_value=encode_header_value,
            CallToolResult=CallToolResult,
            HEADER_MISMATCH=HEADER_MISMATCH,
            ValidationError=ValidationError,
        )
    return _SDK


CURRENT: contextvars.ContextVar[TaskRun | None] = contextvars.ContextVar("mcpomni_task_run", default=None)
_cancels: set[asyncio.Task[Any]] = set()  # tasks/cancel sent after an interrupt, kept until done


# ---------------------------------------------------------------------- what the server offers


def offers_tasks(connection: Connection) -> bool:
    """Whether the server declares task-augmented tool calls in the era it speaks."""
    caps = connection.capabilities
    if caps is None:
        return False
    if connection.is_modern:
        return EXTENSION_ID in (caps.extensions or {})
    requests = getattr(caps.tasks, "requests", None)
    return getattr(getattr(requests, "tools", None), "call", None) is not None


def task_support(spec: Any) -> str:
    """A tool's ``execution.taskSupport``: ``required``, ``optional`` or ``forbidden`` (absent)."""
    value = getattr(getattr(spec, "execution", None), "task_support", None)
    return value if value in ("required", "optional") else "forbidden"


def as_task(connection: Connection, spec: Any, asked: bool) -> bool:
    """Whether this call goes out as a task; asking for one the server or tool cannot give is an error.

    2025-11-25: ``required`` tools always, ``optional`` ones when asked,
    ``forbidden`` ones never.  2026-07-28: the server decides per call; we
    follow whatever task it answers with, wherever it offers the extension.
    """
    if not offers_tasks(connection):
        if asked:
            name = f"{connection.name}.{spec.name}"
            era = f"the {EXTENSION_ID} extension" if connection.is_modern else "tasks (capabilities.tasks.requests.tools.call)"
            raise LookupFailed(f"server {connection.name!r} does not offer {era}; call {name} without --task / --background")
        return False
    if connection.is_modern:
        return True
    support = task_support(spec)
    if support == "forbidden" and asked:
        name = f"{connection.name}.{spec.name}"
        raise LookupFailed(f"{name} cannot run as a task (its execution.taskSupport is forbidden); call it without --task / --background")
    return support == "required" or (support == "optional" and asked)


# ---------------------------------------------------------------------- requests


async def send(session: Any, method: str, params: dict[str, Any], timeout: float | None = None, progress: Any = None) -> dict[str, Any]:
    """One request through the session's envelope and dispatcher; the raw result (an MCPError is raised as is)."""
    stamp, dispatcher = getattr(session, "_stamp", None), getattr(session, "_dispatcher", None)
    if stamp is None or dispatcher is None:  # the SDK's private request envelope, which an SDK release may change
        raise McpJupyterError(
            f"{method}: this version of the MCP SDK has no session envelope (_stamp / _dispatcher) for task requests; "
            "install the one mcpomni_jupyter is tested with (pip install 'mcp~=2.3'), or call the tool without --task"
        )
    data: dict[str, Any] = {"method": method, "params": params}
    opts: dict[str, Any] = {}
    stamp(data, opts)  # protocol-version header; on 2026-07-28 the _meta envelope with our capabilities
    if method.startswith("tasks/") and isinstance(params.get("taskId"), str):
        names = sdk()
        opts.setdefault("headers", {})[names.MCP_NAME_HEADER] = names.encode_header_value(params["taskId"])  # routes to the task's instance
    if timeout is not None:
        opts["timeout"] = timeout
    if progress is not None:
        opts["on_progress"] = progress
    raw = await dispatcher.send_raw_request(method, data.get("params"), opts)
    return raw if isinstance(raw, dict) else {}


def call_result(raw: Any, what: str) -> Any:
    """A ``CallToolResult`` from a server's raw answer (its ``resultType`` dropped), or a one-line ``ServerError``."""
    names = sdk()
    if not isinstance(raw, dict):
        raise ServerError(f"{what}: the server sent no tool result; ask its maintainers, or run the call again")
    try:
        return names.CallToolResult.model_validate({k: v for k, v in raw.items() if k != "resultType"}, by_name=False)
    except names.ValidationError as exc:
        raise ServerError(f"{what}: the server sent a malformed tool result ({clip(str(exc.errors()[0]['msg']), 200)})") from None


async def create(connection: Connection, session: Any, tool: str, arguments: dict[str, Any], run: TaskRun, limit: float | None) -> Any:
    """2025-11-25: ``tools/call`` with ``params.task``; returns a ``CallToolResult`` if the server ran it at once, else None."""
    params = {"name": tool, "arguments": arguments, "task": {}}  # no ttl asked for: the server's default

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        run.on_progress(value, total, message)

    raw = await send(session, "tools/call", params, timeout=limit, progress=on_progress)
    if "task" not in raw:  # a server may answer a task-augmented request directly
        run.finish("completed", None)
        return call_result(raw, run.label)  # checked against the tool's output schema by the caller
    run.update(parse_task(raw.get("task"), connection.name))
    return None


async def get(session: Any, task_id: str, server: str, limit: float | None = None) -> TaskState:
    return parse_task(await send(session, "tasks/get", {"taskId": task_id}, timeout=limit), server)


def cancel_later(session: Any, run: TaskRun, connection: Connection | None = None, reason: str = "cancelled by the notebook") -> None:
    """Send ``tasks/cancel`` without waiting (an interrupt must not wait on the server); the run ends ``cancelled``, for ``reason``."""
    if run.task_id is None or run.status in TERMINAL:
        return

    async def body() -> None:
        try:
            await asyncio.wait_for(send(session, "tasks/cancel", {"taskId": run.task_id}), CANCEL_TIMEOUT)
            line, level = f"tasks/cancel sent for {run.label} (task {run.shown_id}): {reason}", "info"
        except Exception as exc:  # noqa: BLE001 - best effort: the server may be gone
            line, level = f"tasks/cancel for {run.label} (task {run.shown_id}) failed: {clip(str(exc), 200)}", "warning"
        if connection is not None:
            connection.record("task", line, level)

    run.finish("cancelled", reason)
    task = asyncio.get_running_loop().create_task(body())
    _cancels.add(task)
    task.add_done_callback(_cancels.discard)


# ---------------------------------------------------------------------- following a task to its end


def _delay(run: TaskRun, first: bool) -> float:
    suggested = run.poll_s if run.poll_s is not None else DEFAULT_POLL
    return min(max(suggested, 0.0 if first else MIN_POLL), MAX_POLL)


async def _answer_inputs(connection: Connection, session: Any, run: TaskRun, answered: set[str]) -> None:
    """2026-07-28: answer the task's ``inputRequests`` (questions, roots, sampling) through ``tasks/update``.

    A request that cannot be answered at all (no declining answer exists) cancels the task: the server is never left waiting.
    """
    try:
        responses = await answer_requests(connection, run, answered)
    except Unanswerable as exc:
        cancel_later(session, run, connection, clip(str(exc), 200))
        raise TaskCancelled(f"{run.label} (task {run.shown_id}) was cancelled: {clip(str(exc), 200)}; tasks/cancel was sent") from None
    if responses:
        await send(session, "tasks/update", {"taskId": run.task_id, "inputResponses": responses})


async def follow(connection: Connection, session: Any, run: TaskRun) -> Any:
    """Poll until the task ends; return its ``CallToolResult`` (raise ``ServerError`` / ``TaskCancelled`` otherwise).

    A question the server sends meanwhile that names this task (2025-11-25, on
    ``tasks/result``) is this task's: ``inputs.asker`` sends it to the job's own cell.
    """
    assert run.task_id is not None
    modern = connection.is_modern
    payload: asyncio.Task[dict[str, Any]] | None = None  # 2025-11-25: tasks/result, which carries the server's questions
    answered: set[str] = set()  # 2026-07-28: keys of input requests answered, while still outstanding
    first = True
    try:
        with questions_open(connection, run):
            while run.status not in TERMINAL:
                if run.status == "input_required":
                    if modern:
                        await _answer_inputs(connection, session, run, answered)
                    elif payload is None:
                        payload = asyncio.ensure_future(send(session, "tasks/result", {"taskId": run.task_id}))
                if payload is not None and payload.done():
                    break
                delay = _delay(run, first)
                first = False
                if payload is not None:
                    await asyncio.wait({payload}, timeout=max(delay, MIN_POLL))
                    if payload.done():
                        break
                elif delay:
                    await asyncio.sleep(delay)
                run.update(await get(session, run.task_id, connection.name))
            return await _outcome(session, run, modern, payload)
    finally:
        if payload is not None and not payload.done():
            payload.cancel()


async def _outcome(session: Any, run: TaskRun, modern: bool, payload: asyncio.Task[dict[str, Any]] | None) -> Any:
    what = f"{run.label} (task {run.shown_id})"
    if payload is not None and run.status == "cancelled":  # cancelled while tasks/result waits (on a question): no answer to wait for
        raise TaskCancelled(f"{what} was cancelled; start it again to rerun it")
    if payload is not None or (not modern and run.status in ("completed", "failed")):
        try:  # 2025-11-25: the result (or the failure) comes from tasks/result; awaited here, not in a task of its own
            raw = await (payload if payload is not None else send(session, "tasks/result", {"taskId": run.task_id}))
        except sdk().MCPError as exc:
            run.finish("cancelled" if run.status == "cancelled" else "failed", exc.error.message)
            if run.status == "cancelled":
                raise TaskCancelled(f"{what} was cancelled; start it again to rerun it") from None
            raise ServerError(f"{what} failed: {clip(exc.error.message, 300)}", exc.error.code) from None
        result = call_result(raw, what)
        run.finish("completed", run.message)
        return result
    if run.status == "completed":
        if run.inline_result is None:
            raise ServerError(f"{what} completed but the server sent no result; ask its maintainers")
        return call_result(run.inline_result, what)
    if run.status == "failed":
        error = run.inline_error or {}
        message = clip(str(error.get("message") or run.message or "no reason given"), 300)
        code = error.get("code") if isinstance(error.get("code"), int) else None
        raise ServerError(f"{what} failed: {message}", code)
    raise TaskCancelled(f"{what} was cancelled{': ' + run.message if run.message else ''}; start it again to rerun it")


async def follow_within(connection: Connection, session: Any, run: TaskRun, limit: float | None) -> Any:
    """``follow`` bounded by ``limit`` seconds from the start of the call; a timeout or an interrupt cancels the task, saying which."""
    deadline = asyncio.timeout(None if limit is None else max(limit - (time.monotonic() - run.started), 0.0))
    try:
        async with deadline:
            return await follow(connection, session, run)
    except TimeoutError:
        if limit is None or not deadline.expired():
            raise  # a timeout of something inside, not of this task
        cancel_later(session, run, connection, f"timed out after {limit:g} s")
        raise RequestTimeout(
            f"{run.label} (task {run.shown_id}) did not finish within {limit:g} s; tasks/cancel was sent; "
            "raise the limit with --timeout, or run it with --background"
        ) from None
    except asyncio.CancelledError:
        cancel_later(session, run, connection)
        raise


# ---------------------------------------------------------------------- 2026-07-28: the claim on task answers


def tasks_extension(connection: Connection) -> Any:
    """The client extension for ``connection``: the capability ad, and the claim that follows a task answer."""
    from mcp.client.extension import ClientExtension, ResultClaim
    from mcp_types import Result
    from pydantic import ConfigDict

    class CreatedTask(Result):
        """A ``CreateTaskResult`` (2026-07-28): a flat task, ``resultType: "task"``."""

        model_config = ConfigDict(extra="allow")
        result_type: Literal["task"] = "task"

    class TasksExtension(ClientExtension):
        identifier = EXTENSION_ID

        def claims(self) -> Any:
            return [ResultClaim(result_type="task", model=CreatedTask, resolve=self.resolve)]

        async def resolve(self, created: Any, ctx: Any) -> Any:
            run = CURRENT.get()
            limit = run.limit if run is not None else ctx.read_timeout_seconds
            if run is None:  # a call made outside our task path (a map row, an app's call): follow it all the same
                run = TaskRun(connection.name, ctx.tool_name, limit)
            run.update(parse_task(created.model_dump(by_alias=True, mode="json"), connection.name))
            return await follow_within(connection, ctx.session, run, limit)

    return TasksExtension()
