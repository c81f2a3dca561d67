"""``%mcp`` commands about servers: load, config, add, remove, connect, disconnect, connections, refresh, auth, logout."""

from __future__ import annotations

import sys
from typing import Any

from IPython.core.error import UsageError

from mcpomni_jupyter.magics.parsing import Parser, names_only, unquote
from mcpomni_jupyter.magics.router import Command, Context


def warn(lines: list[str]) -> None:
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)


def print_notices(ctx: Context, names: list[str]) -> None:
    """One-line hints the servers' connections left for the cell that is running."""
    for name in names:
        notices = ctx.manager.connection(name).notices
        while notices:
            print(f"mcp: {notices.popleft()}", file=sys.stderr)


def report_failures(ctx: Context, table: Any, authorize: bool = True) -> None:
    """One stderr line per failed server; the Authorize widget of each that waits for a person."""
    for row in table:
        if row.state == "failed" and row.error:
            print(f"mcp: {row.error}", file=sys.stderr)
    if authorize:
        show_authorization(ctx, [row.name for row in table if row.state == "auth required"])


def show_authorization(ctx: Context, names: list[str]) -> None:
    """Display the Authorize widget of each server waiting for a person (on the main thread)."""
    if not names:
        return
    from IPython.display import display

    from mcpomni_jupyter.ui.authorize import AuthorizeWidget

    for name in names:
        connection = ctx.manager.connection(name)
        print(
            f"mcp: server {name!r} needs authorization"
            + (" (a browser window was opened)" if ctx.manager.opens_browser() else "")
            + f"; it connects by itself once you authorize; link: {connection.auth.url}",
            file=sys.stderr,
        )
        display(AuthorizeWidget(ctx.manager, name))


def status_panel(ctx: Context, names: list[str] | None = None) -> Any:
    """The live panel (a value too: indexing and repr give the status table)."""
    from mcpomni_jupyter.ui.panel import StatusPanel

    return StatusPanel(ctx.manager, names or None)


# --------------------------------------------------------------------------- config


def _load(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    paths = names_only("load", tokens)
    if len(paths) > 1:
        raise UsageError("%mcp load takes one PATH")
    result = ctx.manager.load(paths[0] if paths else None)
    warn(result.warnings)
    return ctx.manager.status(*[s.name for s in result.servers])


def _config(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    if tokens:
        raise UsageError(f"%%mcp config takes no arguments (got {' '.join(tokens)!r}); the config is the cell body")
    if cell is None or not cell.strip():
        raise UsageError('%%mcp config takes the config as the cell body, e.g. {"mcpServers": {"name": {...}}}')
    result = ctx.manager.add_servers(cell)
    warn(result.warnings)
    return ctx.manager.status(*[s.name for s in result.servers])


ADD = Parser("add", "Add an HTTP server (NAME URL) or a stdio server (NAME -- COMMAND [ARG...]).")
ADD.add_argument("name")
ADD.add_argument("url", nargs="?")
ADD.add_argument("--transport", choices=["sse", "streamable_http", "http", "stdio"])
ADD.add_argument("-H", "--header", action="append", default=[], metavar="'K: V'")
ADD.add_argument("--auth", choices=["none", "oauth", "client_credentials"])
ADD.add_argument("--env", action="append", default=[], metavar="K=V")
ADD.add_argument("--cwd")
ADD.add_argument("--timeout", type=float)


def _pairs(items: list[str], sep: str, what: str, example: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, found, value = item.partition(sep)
        if not found or not key.strip():
            raise UsageError(f"bad {what} {item!r}: write {example}")
        out[key.strip()] = value.strip() if sep == ":" else value
    return out


def _add(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    command_line: list[str] = []
    if "--" in tokens:
        i = tokens.index("--")
        tokens, command_line = tokens[:i], [unquote(t) for t in tokens[i + 1 :]]
        if not command_line:
            raise UsageError("%mcp add NAME -- COMMAND [ARG...]: give the command after --")
    args = ADD.parse_tokens(tokens)
    headers = _pairs(args.header, ":", "header", "-H 'Name: value'")
    env = _pairs(args.env, "=", "--env", "--env KEY=value")
    if command_line:
        if args.url:
            raise UsageError("%mcp add: give a URL or '-- COMMAND', not both")
        server = ctx.manager.add(
            args.name, command=command_line[0], args=command_line[1:], transport=args.transport, env=env, cwd=args.cwd, timeout=args.timeout
        )
    else:
        if not args.url:
            raise UsageError("%mcp add NAME URL, or %mcp add NAME -- COMMAND [ARG...]")
        if env or args.cwd:
            raise UsageError("--env and --cwd are for stdio servers (%mcp add NAME -- COMMAND)")
        server = ctx.manager.add(args.name, args.url, transport=args.transport, headers=headers, auth=args.auth, timeout=args.timeout)
    from mcpomni_jupyter.lint import lint

    warn(lint({"headers": headers}, server))
    return ctx.manager.status(server.name)


def _remove(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    names = names_only("remove", tokens)
    if not names:
        raise UsageError("%mcp remove NAME")
    for name in names:
        ctx.manager.remove(name)
    return ctx.manager.status()


# --------------------------------------------------------------------------- lifecycle

CONNECT = Parser("connect", "Connect the named servers (all configured when none named), concurrently.")
CONNECT.add_argument("names", nargs="*")
CONNECT.add_argument("--wait", action="store_true")


def _connect(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    args = CONNECT.parse_tokens(tokens)
    if not args.names and not ctx.manager.names:
        raise UsageError("no servers configured: use %mcp load, %%mcp config or %mcp add first")
    if args.wait:
        # show the Authorize widgets first: the wait below is for the person to use them
        ctx.manager.connect(*args.names)
        show_authorization(ctx, [r.name for r in ctx.manager.status(*args.names) if r.state == "auth required"])
    table = ctx.manager.connect(*args.names, wait=args.wait)
    report_failures(ctx, table, authorize=not args.wait)
    return status_panel(ctx, [row.name for row in table])


def _disconnect(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    return ctx.manager.disconnect(*names_only("disconnect", tokens))


def _connections(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    names = names_only("connections", tokens)
    for name in names:
        ctx.manager.connection(name)  # unknown names are an error
    return status_panel(ctx, names)


def _refresh(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    table = ctx.manager.refresh(*names_only("refresh", tokens))
    print_notices(ctx, [row.name for row in table])
    report_failures(ctx, table)
    return table


def _auth(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    words = names_only("auth", tokens)
    if not words or len(words) > 2:
        raise UsageError("%mcp auth NAME, or %mcp auth NAME PASTED_URL to finish with the URL the browser landed on")
    if len(words) == 2:
        print(ctx.manager.complete_auth(words[1]))
        ctx.manager.connect(words[0], wait=True)
        return ctx.manager.status(words[0])
    ctx.manager.authorize(words[0])
    from mcpomni_jupyter.ui.authorize import AuthorizeWidget

    return AuthorizeWidget(ctx.manager, words[0])


def _logout(ctx: Context, tokens: list[str], cell: str | None) -> Any:
    names = names_only("logout", tokens)
    if len(names) != 1:
        raise UsageError("%mcp logout NAME")
    forgot = ctx.manager.logout(names[0])
    print(f"forgot the stored tokens of {names[0]}" if forgot else f"nothing was stored for {names[0]}; it is disconnected")


SERVERS = ("servers",) * 8  # every word is a server name
COMMANDS = [
    Command("load", "%mcp load [PATH]", "read servers_config.json or .mcp.json (or PATH); .env feeds ${VAR}", _load),
    Command(
        "config",
        "%%mcp config   (cell body: a config in any accepted format)",
        "add the servers of a config written in the cell",
        _config,
        cell_body=True,
    ),
    Command(
        "add",
        "%mcp add NAME URL [--transport sse|streamable_http] [-H 'K: V']... [--auth oauth] [--timeout S]\n"
        "%mcp add NAME [--env K=V]... [--cwd DIR] [--timeout S] -- COMMAND [ARG...]",
        "add one server",
        _add,
        parser=ADD,
    ),
    Command("remove", "%mcp remove NAME", "disconnect and forget a server", _remove, completes=SERVERS),
    Command(
        "connect",
        "%mcp connect [NAME...] [--wait]",
        "connect servers concurrently (all when none named); --wait also waits for authorizations",
        _connect,
        completes=SERVERS,
        parser=CONNECT,
    ),
    Command("disconnect", "%mcp disconnect [NAME...]", "close connections (all when none named)", _disconnect, completes=SERVERS),
    Command(
        "connections",
        "%mcp connections [NAME...]   (alias: status)",
        "the live status panel of every (or the named) server",
        _connections,
        completes=SERVERS,
    ),
    Command(
        "refresh",
        "%mcp refresh [NAME...]",
        "re-list capabilities; reconnect servers that are down; re-authenticate if tokens died",
        _refresh,
        completes=SERVERS,
    ),
    Command(
        "auth",
        "%mcp auth NAME [PASTED_URL]",
        "start or resume OAuth for a server: Authorize button, link and paste box",
        _auth,
        completes=("servers",),
    ),
    Command(
        "logout", "%mcp logout NAME", "disconnect and forget the stored tokens and client registration", _logout, completes=("servers",)
    ),
]
