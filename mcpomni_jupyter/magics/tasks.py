"""``%mcp tasks [NAME]`` and the ``--task`` / ``--background`` options of ``%mcp call`` (MCP Tasks)."""

from __future__ import annotations

from typing import Any

from mcpomni_jupyter.magics.command import Arg, Command, Context, Option, Parsed

TASK_OPTIONS = (
    Option("--task", "run it as an MCP task (for a tool whose taskSupport is optional); blocks like any call", kind="flag", offer="tasks"),
    Option(
        "--background",
        "start it as an MCP task and return at once: a TaskJob with a live status line (job.result() later)",
        kind="flag",
        offer="tasks",
    ),
)


def background(ctx: Context, tool: str, arguments: dict[str, Any], *, server: str | None, timeout: float | None) -> Any:
    """Start ``tool`` as a background task and show its live status line; returns the ``TaskJob``."""
    job = ctx.manager.start(tool, arguments, server=server, timeout=timeout)
    if ctx.widgets:
        from mcpomni_jupyter.ui.tasks import show_line

        show_line(job)
    else:
        print(f"mcp: started {job.line()}; job.result() or await job for its result")
    return job


def _tasks(ctx: Context, args: Parsed, cell: str | None) -> Any:
    table = ctx.manager.tasks(args["server"])
    if ctx.widgets:
        from mcpomni_jupyter.ui.tasks import TasksPanel

        return TasksPanel(ctx.manager, table)
    return table


COMMANDS = [
    Command(
        "tasks",
        "MCP tasks: ours (--background jobs) and those the servers keep, with Cancel for running ones",
        _tasks,
        args=(Arg("server", "NAME", "one server (else every one)", count="optional", completes="servers"),),
    ),
]
