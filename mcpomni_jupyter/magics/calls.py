"""``%mcp`` commands that make requests: call, map, read, prompt, subscribe, unsubscribe."""

from __future__ import annotations

import sys
from typing import Any

from IPython.core.error import UsageError

from mcpomni_jupyter.errors import McpJupyterError, RequestTimeout
from mcpomni_jupyter.magics.apps import show_app
from mcpomni_jupyter.magics.command import Arg, Command, Context, Option, Parsed
from mcpomni_jupyter.magics.parsing import json_object, parse_kv, seconds, variable, whole_number
from mcpomni_jupyter.magics.servers import print_notices
from mcpomni_jupyter.magics.tasks import TASK_OPTIONS, background

SERVER = Option("--server", "the server to ask (else the one that has it)", metavar="NAME", completes="servers")
OUT = Option("--out", "also store the result in this notebook variable", metavar="VAR", convert=variable)
TIMEOUT = Option("--timeout", "seconds the request may take (else MCPMagics.timeout)", metavar="S", convert=seconds)
JSON = Option("--json", "the arguments as a JSON object (k=v ones win)", metavar="'{...}'", convert=json_object)
TOOL = Arg("tool", "[SERVER.]TOOL", "the tool (see %mcp tools)", completes="tools", missing="name the tool (see %mcp tools)")
URI = Arg("uri", "URI", "the resource (see %mcp resources)", completes="uris", missing="give one URI (see %mcp resources)")
ARGUMENTS = "the arguments: values are JSON when they parse, else strings; quote to force a string"


def _out(ctx: Context, args: Parsed, value: Any) -> Any:
    if args["out"] is not None:
        ctx.user_ns[args["out"]] = value
    return value


def _arguments(args: Parsed, cell: str | None) -> dict[str, Any]:
    """The cell body, then --json, then k=v: later ones win."""
    arguments: dict[str, Any] = {}
    if cell is not None and cell.strip():
        arguments.update(json_object(cell, "the cell body"))
    if args["json"] is not None:
        arguments.update(args["json"])
    arguments.update(parse_kv(args["arguments"]))
    return arguments


def _call(ctx: Context, args: Parsed, cell: str | None) -> Any:
    tool, arguments = args["tool"], _arguments(args, cell)
    if args["background"]:
        return _out(ctx, args, background(ctx, tool, arguments, server=args["server"], timeout=args["timeout"]))
    from mcpomni_jupyter.ui.progress import CallProgress  # widgets load on the first call, not at %load_ext

    progress = ctx.last["progress"] = CallProgress(tool, show=ctx.widgets)
    try:
        result = ctx.manager.call(
            tool,
            arguments,
            server=args["server"],
            timeout=args["timeout"],
            raise_on_error=False,
            progress=progress.on_progress,
            tick=_saying_waits(ctx, progress.tick),
            task=args["task"],
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
    return _out(ctx, args, result)


def _saying_waits(ctx: Context, tick: Any) -> Any:
    """``tick``, which also says once per server, under the blocked cell, when the call waits for an authorization."""
    from mcpomni_jupyter.core.session.state import State
    from mcpomni_jupyter.magics.awaited import waits_line

    said: set[str] = set()

    def ticking() -> None:
        tick()
        for name, connection in ctx.manager.connections.items():
            if name not in said and connection.state is State.AUTH_REQUIRED:
                said.add(name)
                print(waits_line(connection), file=sys.stderr)

    return ticking


def _columns(raw: str, where: str) -> Any:
    """``--columns a,b`` (pick) or ``--columns '{"col": "arg"}'`` (pick and rename)."""
    if raw.lstrip().startswith("{"):
        return json_object(raw, where)
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        raise UsageError(f'{where} takes column names (a,b) or a JSON object {{"column": "argument"}}')
    return names


def _map(ctx: Context, args: Parsed, cell: str | None) -> Any:
    var = args["from"]
    if var not in ctx.user_ns:
        raise UsageError(f"--from {var}: there is no variable {var!r}; assign the rows (a list of dicts or a DataFrame) to it first")
    result = ctx.manager.map(
        args["tool"],
        ctx.user_ns[var],
        concurrency=16 if args["concurrency"] is None else args["concurrency"],
        errors=args["errors"] or "collect",
        columns=args["columns"],
        server=args["server"],
        timeout=args["timeout"],
    )
    from mcpomni_jupyter.results.batch import MapResults

    interrupted = result.interrupted if isinstance(result, MapResults) else len(result) < len(ctx.user_ns[var])
    if interrupted:
        print(f"mcp: interrupted: {len(result)} rows ran (cancelled ones say so); the calls still running were cancelled")
    return _out(ctx, args, result)


def _read(ctx: Context, args: Parsed, cell: str | None) -> Any:
    return _out(ctx, args, ctx.manager.read(args["uri"], server=args["server"], timeout=args["timeout"]))


def _prompt(ctx: Context, args: Parsed, cell: str | None) -> Any:
    result = ctx.manager.prompt(args["prompt"], _arguments(args, cell), server=args["server"], timeout=args["timeout"])
    return _out(ctx, args, result)


def _subscription(on: bool) -> Any:
    def run(ctx: Context, args: Parsed, cell: str | None) -> Any:
        uri = args["uri"]
        server = (ctx.manager.subscribe if on else ctx.manager.unsubscribe)(uri, server=args["server"])
        print(f"{'subscribed to' if on else 'unsubscribed from'} {uri} on {server}" + (" (updates appear in %mcp log)" if on else ""))

    return run


MAP_OPTIONS = (
    Option(
        "--from",
        "the variable that holds the rows: a list of argument dicts, or a DataFrame whose columns are the arguments",
        metavar="VAR",
        convert=variable,
        completes="rows",
        required="give the variable that holds the rows (a list of dicts or a DataFrame), as in --from VAR",
    ),
    Option("--concurrency", "calls at a time (16)", metavar="N", convert=whole_number),
    Option(
        "--errors",
        "collect (the default: failed rows are kept as errors) or raise (stop at the first failure and raise it)",
        choices=("collect", "raise"),
    ),
    Option(
        "--columns", 'the DataFrame columns to send: a,b picks them, \'{"col": "arg"}\' picks and renames', metavar="COLS", convert=_columns
    ),
    OUT,
    TIMEOUT,
    SERVER,
)
KV = Arg("arguments", "k=v", ARGUMENTS, count="many", completes="tool_args", raw=True)
COMMANDS = [
    Command(
        "call",
        "call a tool; returns its result (.text, .structured, .is_error, .content)",
        _call,
        args=(TOOL, KV),
        options=(JSON, SERVER, OUT, TIMEOUT, *TASK_OPTIONS),
        cell="the JSON object of arguments",
    ),
    Command(
        "map",
        "call a tool once per row, N at a time (16); results in input order (a DataFrame for a DataFrame), failed rows kept",
        _map,
        args=(
            Arg(
                "tool",
                "[SERVER.]TOOL",
                "the tool (see %mcp tools)",
                completes="tools",
                missing="name one tool (see %mcp tools); arguments come from the rows",
            ),
        ),
        options=MAP_OPTIONS,
    ),
    Command("read", "read a resource", _read, args=(URI,), options=(SERVER, OUT, TIMEOUT)),
    Command(
        "prompt",
        "get a prompt rendered with arguments",
        _prompt,
        args=(
            Arg(
                "prompt",
                "[SERVER.]NAME",
                "the prompt (see %mcp prompts)",
                completes="prompts",
                missing="name the prompt (see %mcp prompts)",
            ),
            Arg("arguments", "k=v", ARGUMENTS, count="many", completes="prompt_args", raw=True),
        ),
        options=(JSON, SERVER, OUT, TIMEOUT),
        cell="the JSON object of arguments",
    ),
    Command("subscribe", "get resource-updated notifications (see %mcp log)", _subscription(True), args=(URI,), options=(SERVER,)),
    Command("unsubscribe", "stop them", _subscription(False), args=(URI,), options=(SERVER,)),
]
