"""One task's state: what a server said about it (checked, bounded), and our live record of a task we follow.

``parse_task`` turns a server's task object (either era's spelling) into a
``TaskState``, refusing what cannot be used: an id that is not a short
printable string, an unknown status.  ``TaskRun`` is written on the loop
thread and read from any (single attribute reads); its listeners hear every
change (the UI's status line is one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcpomni_jupyter.core.session.serverlog import clip
from mcpomni_jupyter.errors import ServerError
from mcpomni_jupyter.text import printable

STATUSES = ("working", "input_required", "completed", "failed", "cancelled")
TERMINAL = frozenset({"completed", "failed", "cancelled"})
ID_CHARS = 200  # a task id longer than this is refused
SHOWN_ID_CHARS = 12  # how much of an id the one-line messages show
MESSAGE_CHARS = 300  # a status message is cut here


@dataclass(slots=True)
class TaskState:
    """What a server said about a task in one answer."""

    task_id: str
    status: str
    message: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    ttl_ms: int | None = None
    poll_ms: int | None = None
    result: dict[str, Any] | None = None  # 2026-07-28: inlined by tasks/get once completed
    error: dict[str, Any] | None = None  # 2026-07-28: the JSON-RPC error of a failed task
    input_requests: dict[str, Any] | None = None  # 2026-07-28: what an input_required task asks


def usable_id(value: Any) -> bool:
    """Whether ``value`` can be a task id: a printable string of 1 to ``ID_CHARS`` characters."""
    return isinstance(value, str) and 0 < len(value) <= ID_CHARS and value.isprintable()


def checked_id(value: Any, server: str) -> str:
    """A task id from ``server``, if usable (``usable_id``)."""
    if not usable_id(value):
        shown = clip(repr(value), 60)
        raise ServerError(
            f"server {server!r} sent an unusable task id ({shown}: it must be a printable string of at most {ID_CHARS} "
            "characters); the task cannot be followed; report it to the server's maintainers"
        )
    return value


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 10**12 else None


def _text(value: Any, limit: int = 64) -> str | None:
    """A server's short text, cut at ``limit`` and on one printable line (no escape sequences for a terminal)."""
    if not isinstance(value, str) or not value:
        return None
    return printable(clip(value, limit))


def parse_task(raw: Any, server: str) -> TaskState:
    """A task object (``taskId``, ``status``, ... in either era's spelling) as a ``TaskState``."""
    if not isinstance(raw, dict):
        raise ServerError(f"server {server!r} sent a task that is not an object; report it to the server's maintainers")
    task_id = checked_id(raw.get("taskId"), server)
    status = raw.get("status")
    if status not in STATUSES:
        raise ServerError(f"server {server!r} sent an unknown task status {clip(repr(status), 40)}; expected one of {', '.join(STATUSES)}")
    # an inline result (2026-07-28) is already in memory, as the transport took it in; rendering bounds what is shown;
    # measuring it again here (str() of the whole dict) cost more than the rest of a round trip
    result = raw.get("result") if isinstance(raw.get("result"), dict) else None
    return TaskState(
        task_id=task_id,
        status=status,
        message=_text(raw.get("statusMessage"), MESSAGE_CHARS),
        created_at=_text(raw.get("createdAt")),
        updated_at=_text(raw.get("lastUpdatedAt")),
        ttl_ms=_int(raw.get("ttlMs", raw.get("ttl"))),
        poll_ms=_int(raw.get("pollIntervalMs", raw.get("pollInterval"))),
        result=result,
        error=raw.get("error") if isinstance(raw.get("error"), dict) else None,
        input_requests=raw.get("inputRequests") if isinstance(raw.get("inputRequests"), dict) else None,
    )


class TaskRun:
    """A task-augmented call we follow: its id once the server made one, its status, and who listens."""

    def __init__(self, server: str, tool: str, limit: float | None = None) -> None:
        self.server, self.tool = server, tool
        self.limit = limit  # seconds for the whole call (None: no limit; a background job)
        self.task_id: str | None = None
        self.status = "starting"
        self.message: str | None = None
        self.created_at: str | None = None
        self.started = time.monotonic()
        self.ended: float | None = None
        self.poll_s: float | None = None
        self.inline_result: dict[str, Any] | None = None
        self.inline_error: dict[str, Any] | None = None
        self.input_requests: dict[str, Any] | None = None
        self.progress: tuple[float | None, float | None] = (None, None)
        self.background = False  # a job (start, task): its questions go to its own cell only, never to another call's
        self.caller: Any = None  # where a background job's question is answered in a form (its cell), if anywhere
        self.answering = False  # a question of this task is being put to the person (or the notebook's handler)
        self.in_form = False  # ... in a form, which needs the kernel's thread free
        self.known = threading.Event()  # set once the server answered: a task id, a result, or an error
        self.listeners: list[Callable[[TaskRun], Any]] = []
        self.on_status: Callable[..., Any] | None = None  # progress(value, total, message): the calling cell's bar

    @property
    def label(self) -> str:
        return f"{self.server}.{self.tool}"

    @property
    def shown_id(self) -> str:
        task_id = self.task_id or "?"
        return task_id if len(task_id) <= SHOWN_ID_CHARS else task_id[: SHOWN_ID_CHARS - 1] + "…"

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def line(self) -> str:
        """``working · step 2 of 3`` (the status, and the server's message)."""
        return self.status.replace("_", " ") + (f" · {self.message}" if self.message else "")

    def update(self, state: TaskState) -> None:
        if self.task_id is not None and state.task_id != self.task_id:
            raise ServerError(f"server {self.server!r} answered about task {clip(state.task_id, 40)!r}, not {self.shown_id!r}")
        if self.done:
            return  # terminal states never change (a late poll after our cancel says nothing new)
        self.task_id = state.task_id
        self.status, self.message = state.status, state.message
        self.created_at = self.created_at or state.created_at
        self.poll_s = state.poll_ms / 1000 if state.poll_ms is not None else None
        self.inline_result, self.inline_error, self.input_requests = state.result, state.error, state.input_requests
        if self.done:
            self.ended = time.monotonic()
        self.known.set()
        self.changed()

    def finish(self, status: str, message: str | None) -> None:
        """End the record here (a direct result, our cancel, an error), unless it ended already."""
        if self.done:
            return
        self.status, self.message = status, clip(message, MESSAGE_CHARS) if message else message
        self.ended = time.monotonic()
        self.known.set()
        self.changed()

    def fail(self, error: BaseException) -> None:
        self.finish("failed", f"{type(error).__name__}: {error}")

    def ended_by(self, error: BaseException) -> None:
        """End the record for an error (``failed``) or an interrupt (``cancelled``), unless it ended already."""
        if not self.done:
            self.fail(error) if isinstance(error, Exception) else self.finish("cancelled", "interrupted")

    def waiting_input(self, on: bool, form: bool = False) -> None:
        """A question of this task is being asked (``form``: in a form, which needs the kernel's thread), or no longer."""
        if (self.answering, self.in_form) != (on, on and form):
            self.answering, self.in_form = on, on and form
            self.changed()

    def on_progress(self, value: float, total: float | None, message: str | None) -> None:
        self.progress = (value, total)
        if self.on_status is not None:
            self.on_status(value, total, message)

    def changed(self) -> None:
        if self.on_status is not None:
            try:
                self.on_status(self.progress[0], self.progress[1], self.line())
            except Exception:  # noqa: BLE001 - a display must never break the task
                pass
        for listener in list(self.listeners):
            try:
                listener(self)
            except Exception:  # noqa: BLE001 - a listener must never break the task
                pass
