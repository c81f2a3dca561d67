"""``%mcp tasks [NAME]`` and the ``--task`` / ``--background`` options of ``%mcp call`` (MCP Tasks)."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from mcpomni_jupyter.magics.parsing import seconds
from mcpomni_jupyter.magics.router import Command, Context

FLAGS = ("--task", "--background")


def pop_flags(tokens: list[str]) -> tuple[list[str], set[str]]:
    """``tokens`` without the task flags, and which were given."""
    return [t for t in tokens if t not in FLAGS], {t for t in tokens if t in FLAGS}


def background(ctx: Context, tool: str, arguments: dict[str, Any], found: dict[str, str]) -> Any:
    """Start ``tool`` as a background task and show its live status line; returns the ``TaskJob``."""
    job = ctx.manager.start(tool, arguments, server=found.get("--server"), timeout=seconds(found))
    if ctx.widgets:
        from mcpomni_jupyter.ui.tasks import show_line

        show_line(job)
    else:
        print(f"mcp: started {job.line()}; job.result() or await job for its result")
    return job


def _tasks(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    if len(tokens) > 1:
        raise UsageError("%mcp tasks [NAME]: name one server, or none for all")
    table = ctx.manager.tasks(tokens[0] if tokens else None)
    if ctx.widgets:
        from mcpomni_jupyter.ui.tasks import TasksPanel

        return TasksPanel(ctx.manager, table)
    return table


COMMANDS = [
    Command(
        "tasks",
        "%mcp tasks [NAME]",
        "MCP tasks: ours (--background jobs) and those the servers keep, with Cancel for running ones",
        _tasks,
        completes=("servers",),
    ),
]
