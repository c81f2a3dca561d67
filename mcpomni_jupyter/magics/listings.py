"""``%mcp`` commands that show things: tools, resources, templates, prompts, log, debug."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from mcpomni_jupyter.magics.debuglog import set_debug
from mcpomni_jupyter.magics.parsing import Parser, names_only, split_options, unquote
from mcpomni_jupyter.magics.router import Command, Context

_KINDS = {
    "tools": "the tools of one or every connected server, as a table",
    "resources": "the resources of one or every connected server",
    "templates": "the resource templates of one or every connected server",
    "prompts": "the prompts of one or every connected server",
}


def _listing(kind: str) -> Command:
    parser = Parser(kind, f"List the {kind} of one server, or of every connected server.")
    parser.add_argument("server", nargs="?")
    if kind == "tools":
        parser.add_argument("--all", action="store_true", help="also the tools only an MCP App may call")
    method = "list_tools" if kind == "tools" else kind

    def run(ctx: Context, tokens: list[str], cell: str | None) -> Any:
        args = parser.parse_tokens(tokens)
        if kind == "tools":
            return ctx.manager.list_tools(args.server, everything=args.all)
        return getattr(ctx.manager, method)(args.server)

    usage = "%mcp tools [NAME] [--all]" if kind == "tools" else f"%mcp {kind} [NAME]"
    return Command(kind, usage, _KINDS[kind], run, completes=("servers",), parser=parser)


def _log(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    rest, found = split_options(tokens, ("--limit",))
    if len(rest) > 1:
        raise UsageError("%mcp log [NAME] [--limit N]")
    limit = None
    if "--limit" in found:
        if not found["--limit"].isdigit():
            raise UsageError("--limit takes a whole number")
        limit = int(found["--limit"])
    return ctx.manager.log(unquote(rest[0]) if rest else None, limit=limit)


def _debug(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    words = names_only("debug", tokens)
    if len(words) > 1 or (words and words[0] not in ("on", "off")):
        raise UsageError("%mcp debug on, or %mcp debug off")
    on = not words or words[0] == "on"
    set_debug(on)
    ctx.manager.set_log_level("debug" if on else (ctx.log_level or None))
    print(f"mcp debug logging {'on' if on else 'off'}")


COMMANDS = [
    *(_listing(kind) for kind in _KINDS),
    Command("log", "%mcp log [NAME] [--limit N]", "notifications, server log messages and stderr received", _log, completes=("servers",)),
    Command(
        "debug",
        "%mcp debug [on|off]",
        "detailed, redacted transport logging (and server logs at debug level)",
        _debug,
        completes=("on|off",),
    ),
]
