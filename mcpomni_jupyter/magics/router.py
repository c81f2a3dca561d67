"""The one table of ``%mcp`` commands, and the dispatch from a line to a handler.

Each ``Command`` holds its handler, usage, summary, whether it takes a cell
body, and what its words complete to; help text, the "unknown command" error
and tab completion all read this table.  A handler gets a small ``Context``
(the manager, the user namespace, what the front end can show, the settings),
never the magics instance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from IPython.core.error import UsageError

from mcpomni_jupyter.errors import did_you_mean
from mcpomni_jupyter.magics.parsing import Parser, tokenize


@dataclass
class Context:
    """What a command handler may use."""

    manager: Any
    user_ns: dict[str, Any]
    widgets: bool = False  # the front end renders widgets (a kernel, not plain IPython)
    log_level: str = ""  # MCPMagics.log_level, restored by %mcp debug off
    last: dict[str, Any] = field(default_factory=dict)  # what the last command left (its progress bar)


Handler = Callable[[Context, list[str], "str | None"], Any]


@dataclass
class Command:
    """One ``%mcp`` subcommand."""

    name: str
    usage: str
    summary: str
    handler: Handler
    cell_body: bool = False  # also a cell magic: %%mcp NAME with a body
    completes: tuple[str, ...] = ()  # per word: "servers", "tools", "prompts", "uris", "commands", "args", "options", or literal words
    options: tuple[str, ...] = ()  # what "options" completes to; after --from, the notebook's variables
    parser: Parser | None = None


ALIASES = {"status": "connections", "ls": "tools"}


def _table() -> dict[str, Command]:
    from mcpomni_jupyter.magics import calls, listings, servers, tasks

    commands = [*servers.COMMANDS, *calls.COMMANDS, *listings.COMMANDS, *tasks.COMMANDS, HELP]
    return {c.name: c for c in commands}


def _help(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    if tokens:
        c = command_named(tokens[0])
        print(c.usage + "\n\n" + c.summary + ("\n\n" + c.parser.format_help() if c.parser else ""))
        return None
    print(help_text())
    return None


HELP = Command("help", "%mcp help [COMMAND]", "this help, or one command's", _help, completes=("commands",))
COMMANDS: dict[str, Command] = {}


def commands() -> dict[str, Command]:
    """The table, built on first use (name -> Command)."""
    if not COMMANDS:
        COMMANDS.update(_table())
    return COMMANDS


def command_named(word: str) -> Command:
    name = ALIASES.get(word, word)
    table = commands()
    if name not in table:
        raise UsageError(f"unknown %mcp command {name!r}{did_you_mean(name, [*table, *ALIASES])}; see %mcp help")
    return table[name]


def help_text() -> str:
    lines = ["%mcp COMMAND ...   (no command: the status of every server)", ""]
    for c in commands().values():
        lines.extend(f"  {usage}" for usage in c.usage.splitlines())
        lines.append(f"      {c.summary}")
    lines += ["", "%mcp help COMMAND for one command; settings: %config MCPMagics"]
    return "\n".join(lines)


def dispatch(ctx: Context, line: str, cell: str | None) -> Any:
    """Run one ``%mcp`` line (and cell body)."""
    tokens = tokenize(line)
    if not tokens:
        if cell is not None:
            raise UsageError("%%mcp needs a command: %%mcp config, or %%mcp call TOOL")
        return ctx.manager.status()
    c = command_named(tokens[0])
    if cell is not None and not c.cell_body:
        raise UsageError(f"%%mcp {c.name} takes no cell body; use the line form %mcp {c.name}")
    return c.handler(ctx, tokens[1:], cell)
