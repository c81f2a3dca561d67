"""The MCP Tasks part of the manager's Python API: background jobs (``start``), tasks by id (``task``), the list (``tasks``).

A base class of ``MCPManager`` (like ``map_api``).  ``start`` sends a
task-augmented ``tools/call`` and returns once the server made the task (or
answered at once): a ``TaskJob`` that keeps following it on the loop thread
while other cells run, with ``.status``, ``.result(timeout)``, ``await job``
and ``.cancel()``.  The UI registers a live status line (``UiHost.task_view``);
the core never imports a widget.  Blocking calls of task tools go through
``call`` (``operations`` routes them to ``taskcall``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import html
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core import resolve
from mcpomni_jupyter.core.requests.elicitation import Caller
from mcpomni_jupyter.core.session.state import HOP_GRACE
from mcpomni_jupyter.core.tasks import calls as taskcall
from mcpomni_jupyter.core.tasks import wire as tasks
from mcpomni_jupyter.core.tasks.run import ID_CHARS, TaskRun, usable_id
from mcpomni_jupyter.errors import ArgumentError, McpJupyterError, RequestTimeout
from mcpomni_jupyter.redact import redact
from mcpomni_jupyter.results import CallResult
from mcpomni_jupyter.results.results import checked
from mcpomni_jupyter.results.tables import Table
from mcpomni_jupyter.text import duration

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager
    from mcpomni_jupyter.core.session.connection import Connection

TaskView = Callable[["TaskJob"], Any]  # -> an object with _repr_mimebundle_ (a live status line)
CANCEL_WAIT = 10.0  # seconds job.cancel() waits for the server's acknowledgement
KEPT_JOBS = 200  # our jobs remembered for %mcp tasks


class TaskJob:
    """A task on a server that this kernel follows in the background; ``await job`` or ``job.result()`` for its result."""

    shown_in: Any = None  # the UI: the cell (execution count) that shows this job's live line

    def __init__(self, manager: MCPManager, connection: Connection, run: TaskRun, future: concurrent.futures.Future[Any]) -> None:
        self._manager = manager
        self._connection = connection
        self.run = run
        self._future = future

    server = property(lambda self: self.run.server)
    tool = property(lambda self: self.run.tool)
    task_id = property(lambda self: self.run.task_id, doc="The server's id of the task (untrusted text; shown escaped).")
    status = property(lambda self: self.run.status, doc="working, input_required, completed, failed or cancelled.")
    message = property(lambda self: self.run.message, doc="The server's status message, if any.")
    elapsed = property(lambda self: self.run.elapsed)

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None, *, raise_on_error: bool = True) -> CallResult:
        """Wait up to ``timeout`` seconds (None: until it ends) and return the result.

        Raises ``ToolCallError`` for a tool's error result (unless
        ``raise_on_error`` is False), ``ServerError`` for a failed task,
        ``TaskCancelled``, or ``RequestTimeout`` when it is still running (it
        keeps running; an interrupt of this wait leaves it running too).

        A job's question is answered in a form under the cell that started it,
        and a form needs the kernel's thread, which this wait holds: so when
        the job asks (or has asked) a question there, ``result()`` on that
        thread does not wait for an answer that cannot come; it raises
        ``McpJupyterError`` at once, and the job keeps waiting for the answer.
        Answer the form once the cell has ended, then call ``.result()``
        again; or ``await job``, which leaves the kernel free for the form.
        """
        try:
            raw = self._wait(timeout)
        except concurrent.futures.TimeoutError:
            if self._future.done():
                raise
            raise RequestTimeout(
                f"{self.run.label} (task {self.run.shown_id}) is still {self.status} after {timeout:g} s; it keeps running: "
                "call .result() again later, or .cancel() it"
            ) from None
        return checked(CallResult(raw, server=self.server, tool=self.tool), raise_on_error)

    def _wait(self, timeout: float | None) -> Any:
        """The future's result; on the thread the job's form needs, a question for that form ends the wait (``result``)."""
        caller = self.run.caller
        try:
            blocks_form = caller is not None and asyncio.get_running_loop() is caller.loop
        except RuntimeError:  # no loop runs on this thread: the form's loop is free
            blocks_form = False
        if not blocks_form:
            return self._future.result(timeout)
        woken = threading.Event()

        def heard(run: TaskRun) -> None:
            if run.in_form:
                woken.set()

        self.run.listeners.append(heard)
        self._future.add_done_callback(lambda _: woken.set())
        try:
            if not self.run.in_form:
                woken.wait(timeout)
        finally:
            self.run.listeners.remove(heard)
        if not self._future.done() and self.run.in_form:
            raise McpJupyterError(
                f"{self.run.label} (task {self.run.shown_id}) is waiting for your answer in the form under the cell that started it, "
                "which cannot show while this cell holds the kernel: answer it once this cell ends, then call .result() again, "
                "or use `await job` (the kernel stays free for the form)"
            )
        return self._future.result(0)

    def __await__(self) -> Any:
        return self._aresult().__await__()

    async def _aresult(self) -> CallResult:
        raw = await asyncio.shield(asyncio.wrap_future(self._future))  # an interrupt of this wait leaves the job running
        return checked(CallResult(raw, server=self.server, tool=self.tool), True)

    def cancel(self, timeout: float = CANCEL_WAIT) -> str:
        """Ask the server to cancel the task (``tasks/cancel``); returns the status after it.

        ``cancelled``; or, when the task had already ended (the server refuses
        to cancel it), how it ended: ``completed`` or ``failed``.
        """
        if self.run.task_id is None and not self._future.done():
            self._future.cancel()  # still being created: the creation is cancelled (and tasks/cancel sent if it landed)
            return self.status
        if not self.run.done:
            self._manager._run(taskcall.cancel(self._connection, self.run, timeout), timeout + HOP_GRACE, f"cancelling {self.run.label}")
        return self.status

    def cancel_in_background(self) -> concurrent.futures.Future[Any]:
        """``cancel`` without waiting (a widget's button must never block the kernel)."""
        return self._manager.loop.submit(taskcall.cancel(self._connection, self.run, CANCEL_WAIT))

    def line(self) -> str:
        """``server.tool task 1a2b…: working · step 2 of 3 · 4.1 s``, redacted (the repr, the live line, the HTML)."""
        return redact(f"{self.run.label} task {self.run.shown_id}: {self.run.line()} · {duration(self.elapsed)}")

    def __repr__(self) -> str:
        return f"<MCP task {self.line()}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = {}
        view = self._manager.ui_host.task_view
        if view is not None:
            data.update(view(self)._repr_mimebundle_(**kwargs) or {})
        data["text/plain"] = repr(self)
        data["text/html"] = f"<pre style='margin:0'>{html.escape(self.line())}</pre>"
        return data


@dataclass
class TaskRow:
    """One task in ``%mcp tasks``: ours (a ``job``) or only the server's."""

    server: str
    task: str
    tool: str
    status: str
    message: str
    created: str
    job: TaskJob | None = None


class TaskList(Table):
    headers = ["server", "task", "tool", "status", "message", "created"]
    empty = "no tasks: start one with %mcp call SERVER.TOOL --background"
    notes: list[str]

    def _repr_html_(self) -> str:
        notes = "".join(f"<div><em>{html.escape(n)}</em></div>" for n in getattr(self, "notes", []))
        return str(super()._repr_html_()) + notes


class TaskMethods:
    """``start``, ``task``, ``tasks``; mixed into ``MCPManager`` (each method typed against it)."""

    @property
    def jobs(self: MCPManager) -> list[TaskJob]:
        """Our task jobs, oldest first (the last ``KEPT_JOBS``)."""
        return self.__dict__.setdefault("_task_jobs", [])

    def _keep(self: MCPManager, job: TaskJob) -> TaskJob:
        self.jobs.append(job)
        del self.jobs[:-KEPT_JOBS]
        return job

    def _launch(self: MCPManager, connection: Connection, run: TaskRun, coro: Coroutine[Any, Any, Any]) -> TaskJob:
        """Run ``coro`` on the loop and wait until the server answered (a task id, a result, or an error)."""
        future = self.loop.submit(coro)
        deadline = time.monotonic() + self._budget(run.limit)
        try:
            while not run.known.wait(0.05):
                if future.done() or time.monotonic() > deadline:
                    break
        except BaseException:
            future.cancel()
            raise
        if future.done() and not future.cancelled() and future.exception() is not None and run.task_id is None:
            raise future.exception()  # no task came of it: the call's own error
        if not run.known.is_set() and not future.done():
            future.cancel()
            raise RequestTimeout(f"{run.label} did not answer with a task within {self._budget(run.limit):g} s; it was cancelled")
        return self._keep(TaskJob(self, connection, run, future))

    def start(
        self: MCPManager,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        server: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> TaskJob:
        """Start ``[SERVER.]TOOL`` as an MCP task in the background; returns a ``TaskJob`` as soon as the server made it.

        The job is followed (polled at the server's ``pollInterval``) while
        other cells run.  ``timeout`` bounds the whole task (None: no limit
        but the server's TTL; the task is cancelled when it passes).  A tool
        that cannot run as a task (``taskSupport`` forbidden, or a server
        without tasks) is an error.
        """
        arguments = {**(arguments or {}), **kwargs}
        connection, spec = self._run(
            resolve.resolve(self._ops.registry, "tools", tool, server, self.settings.timeout), self._budget(), f"finding {tool!r}"
        )
        tasks.as_task(connection, spec, True)
        run = TaskRun(connection.name, spec.name, timeout)
        run.background, run.caller = True, _caller()
        return self._launch(connection, run, _job(connection, spec.name, arguments, run))

    def task(self: MCPManager, server: str, task_id: str, *, timeout: float | None = None) -> TaskJob:
        """The task ``task_id`` of ``server`` (one of ours, or one the server keeps, e.g. after a kernel restart), followed.

        Raises ``LookupFailed`` when the server has no such task.
        """
        if not usable_id(task_id):
            raise ArgumentError(f"task(): give the task id as %mcp tasks {server} lists it (a string of at most {ID_CHARS} characters)")
        for job in reversed(self.jobs):
            if job.server == server and job.task_id == task_id:
                return job
        connection = self._run(resolve.ready(self.connection(server), self.settings.timeout), self._budget(), f"connecting {server!r}")
        if not tasks.offers_tasks(connection):
            raise ArgumentError(f"server {server!r} does not offer MCP tasks; it has no task {task_id[:40]!r}")
        state = self._run(taskcall.status(connection, task_id), self._budget(), f"asking {server!r} for its task")
        run = TaskRun(connection.name, "(task)", timeout)
        run.update(state)
        run.background, run.caller = True, _caller()
        return self._launch(connection, run, taskcall.attach(connection, run))

    def tasks(self: MCPManager, server: str | None = None) -> TaskList:
        """Our jobs and the tasks the servers keep (``tasks/list``, 2025-11-25 servers), newest first."""
        names = [server] if server else [n for n, c in self._connections().items() if c.is_connected]
        rows: list[TaskRow] = []
        seen: set[tuple[str, str]] = set()
        for job in reversed(self.jobs):
            if job.server in names:
                rows.append(TaskRow(job.server, job.task_id or "", job.tool, job.status, job.message or "", job.run.created_at or "", job))
                seen.add((job.server, job.task_id or ""))
        notes: list[str] = []
        for name in names:
            connection = self._run(resolve.ready(self.connection(name), self.settings.timeout), self._budget(), f"connecting {name!r}")
            if not taskcall.lists_tasks(connection):
                if tasks.offers_tasks(connection):
                    notes.append(f"{name}: its tasks cannot be listed (the 2026-07-28 tasks extension has no tasks/list); ours are shown")
                continue
            listed, bad = self._run(taskcall.listed(connection, self.settings.timeout), self._budget(), f"listing the tasks of {name!r}")
            if bad:
                notes.append(f"{name}: {bad} listed task(s) were unusable (bad id or status) and are left out")
            for state in listed:
                if (name, state.task_id) not in seen:
                    rows.append(TaskRow(name, state.task_id, "", state.status, state.message or "", state.created_at or ""))
        table = TaskList(rows)
        table.notes = notes
        return table

    def _connections(self: MCPManager) -> dict[str, Connection]:
        return self._ops.registry.snapshot()


async def _job(connection: Connection, tool: str, arguments: dict[str, Any], run: TaskRun) -> Any:
    """A background job's call, through the one request path (the pre-call checks, errors with their context)."""
    result = await connection.live().call_tool(tool, arguments, timeout=run.limit, task=True, origin="job", run=run)
    return result.raw


def _caller() -> Caller | None:
    """The kernel's loop and this cell's context, where a background job's question may be answered in a form."""
    try:
        return Caller(asyncio.get_running_loop(), contextvars.copy_context())
    except RuntimeError:  # no running loop (plain IPython, a script): questions go to the handler, or are declined
        return None
