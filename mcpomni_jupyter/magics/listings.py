"""``%mcp`` commands that show things: tools, resources, templates, prompts, skills, log, debug."""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.error import UsageError

from mcpomni_jupyter.errors import ArgumentError
from mcpomni_jupyter.magics.command import Arg, Command, Context, Option, Parsed
from mcpomni_jupyter.magics.debuglog import set_debug
from mcpomni_jupyter.magics.parsing import variable, whole_number

SERVER = Arg("server", "NAME", "one server (else every connected one)", count="optional", completes="servers")


def _tools(ctx: Context, args: Parsed, cell: str | None) -> Any:
    if args["search"] is None:
        if args["limit"] is not None:
            raise UsageError("%mcp tools: --limit goes with --search TEXT (it keeps the N best matches); see %mcp help tools")
        table = ctx.manager.list_tools(args["server"], everything=args["all"])
    else:
        limit = 20 if args["limit"] is None else args["limit"]
        table = ctx.manager.list_tools(args["server"], everything=args["all"], search=args["search"], limit=limit)
    table.listing = _listing_line(args)
    if args["page"] is None:
        return table
    try:
        return table.at_page(args["page"])
    except ArgumentError as exc:
        raise UsageError(f"%mcp tools --page: {exc}") from None


def _listing_line(args: Parsed) -> str:
    """The ``%mcp tools`` line that lists the same table again (the footer adds ``--page N``)."""
    words = ["%mcp tools", *([args["server"]] if args["server"] else []), *(["--all"] if args["all"] else [])]
    if args["search"] is not None:
        words += ["--search", shlex.quote(args["search"][:200]), *([f"--limit {args['limit']}"] if args["limit"] is not None else [])]
    return " ".join(words)


def _resources(ctx: Context, args: Parsed, cell: str | None) -> Any:
    return ctx.manager.resources(args["server"])


def _templates(ctx: Context, args: Parsed, cell: str | None) -> Any:
    return ctx.manager.templates(args["server"])


def _prompts(ctx: Context, args: Parsed, cell: str | None) -> Any:
    return ctx.manager.prompts(args["server"])


def _skills(ctx: Context, args: Parsed, cell: str | None) -> Any:
    """A server's name (or nothing) lists; anything else names one skill, whose instructions are loaded and shown."""
    name = args["skill"]
    value = ctx.manager.skills(name) if name is None or name in ctx.manager.names else ctx.manager.skill(name)
    if args["out"] is not None:
        ctx.user_ns[args["out"]] = value
    return value


def _log(ctx: Context, args: Parsed, cell: str | None) -> Any:
    return ctx.manager.log(args["server"], limit=args["limit"])


def _debug(ctx: Context, args: Parsed, cell: str | None) -> Any:
    on = args["switch"] != "off"
    set_debug(on)
    ctx.manager.set_log_level("debug" if on else (ctx.log_level or None))
    print(f"mcp debug logging {'on' if on else 'off'}")


COMMANDS = [
    Command(
        "tools",
        "the tools of one or every connected server, as a table",
        _tools,
        args=(SERVER,),
        options=(
            Option("--all", "also the tools only an MCP App may call", kind="flag"),
            Option("--search", "only the tools that best match TEXT, best first ('SERVER.TEXT' searches one server)", metavar="TEXT"),
            Option("--limit", "with --search: at most N tools (default 20)", metavar="N", convert=whole_number),
            Option("--page", "show page N of the table (200 tools a page; the value holds every tool)", metavar="N", convert=whole_number),
        ),
        aliases=("ls",),
        notes=(
            "--search ranks names above titles above descriptions; quote several words: --search 'read file'.",
            "The table shows 200 tools at a time; the returned value (a list) holds them all.",
        ),
    ),
    Command("resources", "the resources of one or every connected server", _resources, args=(SERVER,)),
    Command("templates", "the resource templates of one or every connected server", _templates, args=(SERVER,)),
    Command("prompts", "the prompts of one or every connected server", _prompts, args=(SERVER,)),
    Command(
        "skills",
        "the skills of one or every connected server (name, description), or one skill's instructions",
        _skills,
        args=(
            Arg(
                "skill",
                "SERVER|SERVER.NAME",
                "a server: its skills; SERVER.NAME (or a path, or a skill:// URI): that skill, loaded and checked",
                count="optional",
                completes="skills",
            ),
        ),
        options=(Option("--out", "also store the result in this notebook variable", metavar="VAR", convert=variable),),
        notes=(
            "A listing reads no skill file. Loading one reads its SKILL.md and checks it against the listed entry",
            "(declared size, sha256 digest, frontmatter); a skill that fails a check is refused with one line.",
        ),
    ),
    Command(
        "log",
        "notifications, server log messages and stderr received",
        _log,
        args=(SERVER,),
        options=(Option("--limit", "only the last N entries", metavar="N", convert=whole_number),),
    ),
    Command(
        "debug",
        "detailed, redacted transport logging (and server logs at debug level)",
        _debug,
        args=(Arg("switch", "on|off", "on (the default) or off", count="optional", choices=("on", "off")),),
    ),
]
