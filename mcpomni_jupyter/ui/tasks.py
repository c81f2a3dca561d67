"""Widgets for MCP Tasks: a job's live status line (with Cancel), and the ``%mcp tasks`` panel.

The job's state changes on the loop thread; the line only sets traits there
(as the status panel does), and is created and displayed on the kernel's main
thread.  Every server string (task id, status message) is escaped; the text
forms read well without widgets.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from mcpomni_jupyter.results.content import esc
from mcpomni_jupyter.ui.bars import STYLE_COLOURS

COLOURS = {"completed": "success", "failed": "danger", "cancelled": "warning"}
RUNNING = ("starting", "working", "input_required")
MAX_LINES = 4  # live lines of one job; an older one stops following it


class TaskLine(w.HBox):
    """``server.tool task 1a2b…: working · step 2 of 3 · 4.1 s  [Cancel]``, kept up to date.

    A line listens to its job's run until the job ends or the line is closed;
    a job shown more than ``MAX_LINES`` times lets its oldest lines go (they
    keep their last text and say where the job is followed now).
    """

    def __init__(self, job: Any) -> None:
        self.job = job
        self.text = w.HTML()
        self.button = w.Button(description="Cancel", button_style="warning", layout=w.Layout(width="auto"))
        self.button.on_click(lambda _: self._cancel())
        super().__init__([self.text, self.button])
        self.refresh()
        if job.status in RUNNING:
            live = [f.__self__ for f in job.run.listeners if isinstance(getattr(f, "__self__", None), TaskLine)]
            for old in live[: max(0, len(live) - MAX_LINES + 1)]:
                old.detach(" · followed in a newer output")
            job.run.listeners.append(self.heard)

    def heard(self, run: Any) -> None:
        self.refresh()
        if run.done:  # nothing more will change
            self.detach()

    def detach(self, note: str = "") -> None:
        """Stop following the job (its last text stays, with ``note``)."""
        try:
            self.job.run.listeners.remove(self.heard)
        except ValueError:
            return
        if note:
            self.text.value += html.escape(note)
            self.button.layout.display = "none"

    def close(self) -> None:
        self.detach()
        super().close()

    def _cancel(self) -> None:
        self.button.disabled = True
        self.button.description = "Cancelling…"
        self.job.cancel_in_background()  # never block the kernel on a click

    def refresh(self) -> None:
        colour = STYLE_COLOURS.get(COLOURS.get(self.job.status, ""), STYLE_COLOURS[""])
        asking = " · waiting for your answer" if self.job.run.answering else ""
        self.text.value = f"<span style='color:{colour}'>{html.escape(self.job.line() + asking)}</span>"
        if self.job.status not in RUNNING:
            self.button.layout.display = "none"

    def __repr__(self) -> str:
        return self.job.line()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = self.job.line()
        data["text/html"] = f"<pre style='margin:0'>{html.escape(self.job.line())}</pre>"
        return data


def show_line(job: Any) -> TaskLine:
    """Display the job's live line under the running cell (and remember that it is shown there)."""
    from IPython import get_ipython
    from IPython.display import display

    line = TaskLine(job)
    shell = get_ipython()
    job.shown_in = getattr(shell, "execution_count", None)
    display(line)
    return line


class _Nothing:
    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return {}


def task_view(job: Any) -> Any:
    """``UiHost.task_view``: a job displayed as a value gets its live line (not twice in the cell that started it)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None and getattr(job, "shown_in", None) == getattr(shell, "execution_count", None):
        return _Nothing()
    return TaskLine(job)


class TasksPanel(w.VBox):
    """``%mcp tasks``: one row per task, a Cancel button on each running one; the table in text form."""

    def __init__(self, manager: Any, table: Any) -> None:
        self.table = table
        self.manager = manager
        rows: list[w.Widget] = []
        for row in table[:200]:
            text = w.HTML(
                f"<code>{esc(row.server)}</code> <code>{esc(row.task[:40])}</code> {esc(row.tool)} "
                f"<b>{esc(row.status)}</b> {esc(row.message[:200])}"
            )
            children: list[w.Widget] = [text]
            if row.status in RUNNING:
                button = w.Button(description="Cancel", button_style="warning", layout=w.Layout(width="auto"))
                button.on_click(lambda b, r=row: self._cancel(b, r))
                children.append(button)
            rows.append(w.HBox(children))
        notes = [w.HTML(f"<em>{esc(n)}</em>") for n in getattr(table, "notes", [])]
        super().__init__(rows + notes or [w.HTML(f"<em>{esc(table.empty)}</em>")])

    def _cancel(self, button: Any, row: Any) -> None:
        button.disabled, button.description = True, "Cancelling…"
        job = row.job
        if job is not None:
            job.cancel_in_background()
        else:  # a task only the server knows: follow it, then cancel (on the loop thread, never blocking the kernel)
            self.manager.loop.submit(_cancel_listed(self.manager, row.server, row.task))

    def __repr__(self) -> str:
        return repr(self.table)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = repr(self.table)
        data["text/html"] = self.table._repr_html_()
        return data


async def _cancel_listed(manager: Any, server: str, task_id: str) -> None:
    from mcpomni_jupyter.core.tasks import calls as taskcall
    from mcpomni_jupyter.core.tasks.run import TaskRun

    run = TaskRun(server, "(task)")
    run.task_id = task_id
    await taskcall.cancel(manager.connection(server), run, 10.0)
