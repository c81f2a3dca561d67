"""``%mcp`` commands that make requests: call, map, read, prompt, subscribe, unsubscribe."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

from mcpomni_jupyter.errors import McpJupyterError, RequestTimeout
from mcpomni_jupyter.magics.apps import show_app
from mcpomni_jupyter.magics.parsing import json_object, parse_kv, seconds, split_options, unquote
from mcpomni_jupyter.magics.router import Command, Context
from mcpomni_jupyter.magics.servers import print_notices
from mcpomni_jupyter.magics.tasks import background, pop_flags


def _out(ctx: Context, found: dict[str, str], value: Any) -> Any:
    var = found.get("--out")
    if var is not None:
        if not var.isidentifier():
            raise UsageError(f"--out {var!r}: give a Python variable name")
        ctx.user_ns[var] = value
    return value


def _arguments(found: dict[str, str], cell: str | None, kv: list[str]) -> dict[str, Any]:
    """The cell body, then --json, then k=v: later ones win."""
    arguments: dict[str, Any] = {}
    if cell is not None and cell.strip():
        arguments.update(json_object(cell, "the cell body"))
    if "--json" in found:
        arguments.update(json_object(found["--json"], "--json"))
    arguments.update(parse_kv(kv))
    return arguments


CALL_OPTIONS = ("--json", "--out", "--timeout", "--server")


def _call(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    tokens, flags = pop_flags(tokens)  # --task / --background: MCP Tasks (magics/tasks.py)
    rest, found = split_options(tokens, CALL_OPTIONS)
    if not rest:
        raise UsageError("%mcp call [SERVER.]TOOL [k=v ...]: name the tool (see %mcp tools)")
    tool, arguments = unquote(rest[0]), _arguments(found, cell, rest[1:])
    if "--background" in flags:
        return _out(ctx, found, background(ctx, tool, arguments, found))
    from mcpomni_jupyter.ui.progress import CallProgress  # widgets load on the first call, not at %load_ext

    progress = ctx.last["progress"] = CallProgress(tool, show=ctx.widgets)
    try:
        result = ctx.manager.call(
            tool,
            arguments,
            server=found.get("--server"),
            timeout=seconds(found),
            raise_on_error=False,
            progress=progress.on_progress,
            tick=progress.tick,
            task="--task" in flags,
        )
    except RequestTimeout:
        progress.finish("timeout")
        raise
    except KeyboardInterrupt:
        progress.finish("interrupted")
        raise
    except McpJupyterError:
        progress.finish("error")
        raise
    progress.finish("error" if result.is_error else "success")
    print_notices(ctx, [result.server])  # e.g. a question the blocked cell had to decline
    show_app(ctx, result, arguments)  # the tool's MCP App under the cell, where a front end renders it
    return _out(ctx, found, result)


MAP_OPTIONS = ("--from", "--concurrency", "--errors", "--columns", "--out", "--timeout", "--server")


def _count(found: dict[str, str], option: str, default: int) -> int:
    raw = found.get(option)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise UsageError(f"{option} takes a whole number, got {raw!r}") from None


def _columns(raw: str | None) -> Any:
    """``--columns a,b`` (pick) or ``--columns '{"col": "arg"}'`` (pick and rename)."""
    if raw is None:
        return None
    if raw.lstrip().startswith("{"):
        return json_object(raw, "--columns")
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        raise UsageError('--columns takes column names (a,b) or a JSON object {"column": "argument"}')
    return names


def _map(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    rest, found = split_options(tokens, MAP_OPTIONS)
    if len(rest) != 1:
        raise UsageError("%mcp map [SERVER.]TOOL --from VAR: name one tool (see %mcp tools); arguments come from the rows")
    var = found.get("--from")
    if var is None:
        raise UsageError("%mcp map TOOL --from VAR: give the variable that holds the rows (a list of dicts or a DataFrame)")
    if not var.isidentifier():
        raise UsageError(f"--from {var!r}: give the name of a Python variable that holds the rows")
    if var not in ctx.user_ns:
        raise UsageError(f"--from {var}: there is no variable {var!r}; assign the rows (a list of dicts or a DataFrame) to it first")
    result = ctx.manager.map(
        unquote(rest[0]),
        ctx.user_ns[var],
        concurrency=_count(found, "--concurrency", 16),
        errors=found.get("--errors", "collect"),
        columns=_columns(found.get("--columns")),
        server=found.get("--server"),
        timeout=seconds(found),
    )
    from mcpomni_jupyter.results.batch import MapResults

    interrupted = result.interrupted if isinstance(result, MapResults) else len(result) < len(ctx.user_ns[var])
    if interrupted:
        print(f"mcp: interrupted: {len(result)} rows ran (cancelled ones say so); the calls still running were cancelled")
    return _out(ctx, found, result)


def _read(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    rest, found = split_options(tokens, ("--server", "--out", "--timeout"))
    if len(rest) != 1:
        raise UsageError("%mcp read URI [--server NAME]: give one URI (see %mcp resources)")
    return _out(ctx, found, ctx.manager.read(unquote(rest[0]), server=found.get("--server"), timeout=seconds(found)))


def _prompt(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    rest, found = split_options(tokens, CALL_OPTIONS)
    if not rest:
        raise UsageError("%mcp prompt [SERVER.]NAME [k=v ...]: name the prompt (see %mcp prompts)")
    result = ctx.manager.prompt(unquote(rest[0]), _arguments(found, cell, rest[1:]), server=found.get("--server"), timeout=seconds(found))
    return _out(ctx, found, result)


def _subscription(on: bool) -> Any:
    name = "subscribe" if on else "unsubscribe"

    def run(ctx: Context, tokens: list[str], cell: str | None) -> Any:
        rest, found = split_options(tokens, ("--server",))
        if len(rest) != 1:
            raise UsageError(f"%mcp {name} URI [--server NAME]")
        uri = unquote(rest[0])
        server = (ctx.manager.subscribe if on else ctx.manager.unsubscribe)(uri, server=found.get("--server"))
        print(f"{'subscribed to' if on else 'unsubscribed from'} {uri} on {server}" + (" (updates appear in %mcp log)" if on else ""))

    return run


COMMANDS = [
    Command(
        "call",
        "%mcp call [SERVER.]TOOL [k=v ...] [--json '{...}'] [--server NAME] [--out VAR] [--timeout S] [--task | --background]\n"
        "%%mcp call [SERVER.]TOOL   (cell body: the JSON object of arguments)",
        "call a tool; returns its result (.text, .structured, .is_error, .content)",
        _call,
        cell_body=True,
        completes=("tools", "args"),
    ),
    Command(
        "map",
        '%mcp map [SERVER.]TOOL --from VAR [--concurrency N] [--errors collect|raise] [--columns a,b | --columns \'{"col": "arg"}\']\n'
        "         [--out VAR] [--timeout S]   (VAR: a list of argument dicts, or a DataFrame whose columns are the arguments)",
        "call a tool once per row, N at a time (16); results in input order (a DataFrame for a DataFrame), failed rows kept",
        _map,
        completes=("tools", "options"),
        options=MAP_OPTIONS,
    ),
    Command("read", "%mcp read URI [--server NAME] [--out VAR] [--timeout S]", "read a resource", _read, completes=("uris",)),
    Command(
        "prompt",
        "%mcp prompt [SERVER.]NAME [k=v ...] [--json '{...}'] [--server NAME] [--out VAR] [--timeout S]\n"
        "%%mcp prompt [SERVER.]NAME   (cell body: the JSON object of arguments)",
        "get a prompt rendered with arguments",
        _prompt,
        cell_body=True,
        completes=("prompts", "args"),
    ),
    Command(
        "subscribe",
        "%mcp subscribe URI [--server NAME]",
        "get resource-updated notifications (see %mcp log)",
        _subscription(True),
        completes=("uris",),
    ),
    Command("unsubscribe", "%mcp unsubscribe URI [--server NAME]", "stop them", _subscription(False), completes=("uris",)),
]
