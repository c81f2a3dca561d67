"""The table of every ``%mcp`` command, ``%mcp help``, and the dispatch from a line to a handler.

The commands come from their modules (``servers``, ``calls``, ``listings``,
``tasks``), each a ``Command`` (``command.py``) that parses its own line; this
module imports them, and none of them imports it.  The overall help (``%mcp
help`` and ``%mcp?``), the "unknown command" error and tab completion read
the table here.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from mcpomni_jupyter.errors import did_you_mean
from mcpomni_jupyter.magics import agents, approval, calls, listings, servers, tasks
from mcpomni_jupyter.magics.command import Arg, Command, Context, Parsed
from mcpomni_jupyter.magics.parsing import tokenize


def _help(ctx: Context, args: Parsed, cell: str | None) -> Any:
    print(command_named(args["command"]).help() if args["command"] else help_text())


HELP = Command(
    "help",
    "this help, or one command's",
    _help,
    args=(Arg("command", "COMMAND", "one command (else all of them)", count="optional", completes="commands"),),
)
COMMANDS: dict[str, Command] = {
    c.name: c for c in [*servers.COMMANDS, *calls.COMMANDS, *listings.COMMANDS, *tasks.COMMANDS, *agents.COMMANDS, *approval.COMMANDS, HELP]
}
ALIASES: dict[str, str] = {alias: c.name for c in COMMANDS.values() for alias in c.aliases}


def command_named(word: str) -> Command:
    """The command ``word`` names (or is an alias of); a one-line error that suggests one otherwise."""
    name = ALIASES.get(word, word)
    if name not in COMMANDS:
        raise UsageError(f"unknown %mcp command {name!r}{did_you_mean(name, [*COMMANDS, *ALIASES])}; see %mcp help")
    return COMMANDS[name]


def help_text() -> str:
    lines = ["%mcp COMMAND ...   (no command: the status of every server)", ""]
    for c in COMMANDS.values():
        lines.extend(f"  {usage}" for usage in c.usage())
        lines.append(f"      {c.summary}")
    lines += ["", "%mcp help COMMAND for one command's arguments and options; settings: %config MCPMagics"]
    return "\n".join(lines)


def dispatch(ctx: Context, line: str, cell: str | None) -> Any:
    """Run one ``%mcp`` line (and cell body)."""
    tokens = tokenize(line)
    if not tokens:
        if cell is not None:
            raise UsageError("%%mcp needs a command: %%mcp config, or %%mcp call TOOL")
        return ctx.manager.status()
    c = command_named(tokens[0])
    if cell is not None and not c.cell:
        raise UsageError(f"%%mcp {c.name} takes no cell body; use the line form %mcp {c.name}")
    return c.handler(ctx, c.parse(tokens[1:]), cell)
