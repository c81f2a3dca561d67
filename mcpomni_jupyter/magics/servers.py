"""``%mcp`` commands about servers: load, config, add, remove, connect, disconnect, connections, refresh, auth, logout."""

from __future__ import annotations

import sys
from typing import Any, Literal

from IPython.core.error import UsageError

from mcpomni_jupyter.magics.command import Arg, Command, Context, Option, Parsed
from mcpomni_jupyter.magics.parsing import seconds


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
        if connection.auth.url:
            print(
                f"mcp: server {name!r} needs authorization"
                + (" (a browser window was opened)" if ctx.manager.opens_browser() else "")
                + f"; it connects by itself once you authorize; link: {connection.auth.url}",
                file=sys.stderr,
            )
        display(AuthorizeWidget(ctx.manager, name))  # waiting for the page (relay): its row reports it, then shows the link


def status_panel(ctx: Context, names: list[str] | None = None) -> Any:
    """The live panel (a value too: indexing and repr give the status table)."""
    from mcpomni_jupyter.ui.panel import StatusPanel

    return StatusPanel(ctx.manager, names or None)


# --------------------------------------------------------------------------- config


def _load(ctx: Context, args: Parsed, cell: str | None) -> Any:
    result = ctx.manager.load(args["path"])
    warn(result.warnings)
    return ctx.manager.status(*[s.name for s in result.servers])


def _config(ctx: Context, args: Parsed, cell: str | None) -> Any:
    if cell is None or not cell.strip():
        raise UsageError('%%mcp config takes the config as the cell body, e.g. {"mcpServers": {"name": {...}}}')
    result = ctx.manager.add_servers(cell)
    warn(result.warnings)
    return ctx.manager.status(*[s.name for s in result.servers])


def _pairs(items: list[str], sep: str, what: str, example: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, found, value = item.partition(sep)
        if not found or not key.strip():
            raise UsageError(f"bad {what} {item!r}: write {example}")
        out[key.strip()] = value.strip() if sep == ":" else value
    return out


def _add(ctx: Context, args: Parsed, cell: str | None) -> Any:
    command_line, name, url, transport, timeout = args["command"], args["name"], args["url"], args["transport"], args["timeout"]
    headers = _pairs(args["header"], ":", "header", "-H 'Name: value'")
    env = _pairs(args["env"], "=", "--env", "--env KEY=value")
    if command_line == []:
        raise UsageError("%mcp add NAME -- COMMAND [ARG...]: give the command after --")
    if command_line:
        if url:
            raise UsageError("%mcp add: give a URL or '-- COMMAND', not both")
        server = ctx.manager.add(
            name, command=command_line[0], args=command_line[1:], transport=transport, env=env, cwd=args["cwd"], timeout=timeout
        )
    else:
        if not url:
            raise UsageError("%mcp add NAME URL, or %mcp add NAME -- COMMAND [ARG...]")
        if env or args["cwd"]:
            raise UsageError("--env and --cwd are for stdio servers (%mcp add NAME -- COMMAND)")
        server = ctx.manager.add(name, url, transport=transport, headers=headers, auth=args["auth"], timeout=timeout)
    from mcpomni_jupyter.lint import lint

    warn(lint({"headers": headers}, server))
    return ctx.manager.status(server.name)


def _remove(ctx: Context, args: Parsed, cell: str | None) -> Any:
    for name in args["names"]:
        ctx.manager.remove(name)
    return ctx.manager.status()


# --------------------------------------------------------------------------- lifecycle


def _connect(ctx: Context, args: Parsed, cell: str | None) -> Any:
    names, wait = args["names"], args["wait"]
    if not names and not ctx.manager.names:
        raise UsageError("no servers configured: use %mcp load, %%mcp config or %mcp add first")
    if wait:
        # show the Authorize widgets first: the wait below is for the person to use them
        ctx.manager.connect(*names)
        show_authorization(ctx, [r.name for r in ctx.manager.status(*names) if r.state == "auth required"])
    table = ctx.manager.connect(*names, wait=wait)
    report_failures(ctx, table, authorize=not wait)
    return status_panel(ctx, [row.name for row in table])


def _disconnect(ctx: Context, args: Parsed, cell: str | None) -> Any:
    return ctx.manager.disconnect(*args["names"])


def _connections(ctx: Context, args: Parsed, cell: str | None) -> Any:
    for name in args["names"]:
        ctx.manager.connection(name)  # unknown names are an error
    return status_panel(ctx, args["names"])


def _refresh(ctx: Context, args: Parsed, cell: str | None) -> Any:
    table = ctx.manager.refresh(*args["names"])
    print_notices(ctx, [row.name for row in table])
    report_failures(ctx, table)
    return table


def _auth(ctx: Context, args: Parsed, cell: str | None) -> Any:
    name, pasted = args["name"], args["pasted_url"]
    if pasted is not None:
        print(ctx.manager.complete_auth(pasted))
        ctx.manager.connect(name, wait=True)
        return ctx.manager.status(name)
    ctx.manager.authorize(name)
    from mcpomni_jupyter.ui.authorize import AuthorizeWidget

    return AuthorizeWidget(ctx.manager, name)


def _logout(ctx: Context, args: Parsed, cell: str | None) -> Any:
    name = args["name"]
    forgot = ctx.manager.logout(name)
    print(f"forgot the stored tokens of {name}" if forgot else f"nothing was stored for {name}; it is disconnected")


def _names(help: str, count: Literal["many", "some"] = "many") -> tuple[Arg, ...]:
    return (Arg("names", "NAME", help, count=count, completes="servers", missing="name the server (see %mcp status)"),)


SERVER = Arg("name", "NAME", "the server", completes="servers", missing="name the server (see %mcp status)")
ADD_OPTIONS = (
    Option("--transport", "the transport (else chosen from the URL or the command)", choices=("sse", "streamable_http", "http", "stdio")),
    Option("--header", "an HTTP header; ${VAR} takes it from the environment", kind="repeat", metavar="'K: V'", short="-H"),
    Option(
        "--auth",
        "how it authenticates: none, oauth (a person signs in) or client_credentials",
        choices=("none", "oauth", "client_credentials"),
    ),
    Option("--env", "an environment variable of the stdio server", kind="repeat", metavar="K=V"),
    Option("--cwd", "the stdio server's working directory", metavar="DIR"),
    Option("--timeout", "seconds its requests may take (else MCPMagics.timeout)", metavar="S", convert=seconds),
)
COMMANDS = [
    Command(
        "load",
        "read servers_config.json or .mcp.json (or PATH); .env feeds ${VAR}",
        _load,
        args=(Arg("path", "PATH", "the config file (else servers_config.json or .mcp.json in the cwd)", count="optional"),),
    ),
    Command("config", "add the servers of a config written in the cell", _config, cell="a config in any accepted format", cell_only=True),
    Command(
        "add",
        "add one server: an HTTP one (NAME URL) or a stdio one (NAME -- COMMAND [ARG...])",
        _add,
        args=(
            Arg(
                "name",
                "NAME",
                "the name you call it by",
                missing="name the server: %mcp add NAME URL, or %mcp add NAME -- COMMAND [ARG...]",
            ),
            Arg("url", "URL", "an HTTP server's URL", count="optional"),
        ),
        options=ADD_OPTIONS,
        tail=Arg("command", "COMMAND [ARG...]", "a stdio server's command line"),
        notes=("-H and --auth are for HTTP servers, --env and --cwd for stdio ones.",),
    ),
    Command("remove", "disconnect and forget a server", _remove, args=_names("the servers", "some")),
    Command(
        "connect",
        "connect servers concurrently (all when none named); --wait also waits for authorizations",
        _connect,
        args=_names("the servers (else every configured one)"),
        options=(Option("--wait", "also wait until each authorization is done (or has failed)", kind="flag"),),
    ),
    Command("disconnect", "close connections (all when none named)", _disconnect, args=_names("the servers (else every one)")),
    Command(
        "connections",
        "the live status panel of every (or the named) server",
        _connections,
        args=_names("the servers (else every one)"),
        aliases=("status",),
    ),
    Command(
        "refresh",
        "re-list capabilities; reconnect servers that are down; re-authenticate if tokens died",
        _refresh,
        args=_names("the servers (else every connected one)"),
    ),
    Command(
        "auth",
        "start or resume OAuth for a server: Authorize button, link and paste box",
        _auth,
        args=(SERVER, Arg("pasted_url", "PASTED_URL", "the URL the browser landed on, to finish by hand", count="optional")),
    ),
    Command("logout", "disconnect and forget the stored tokens and client registration", _logout, args=(SERVER,)),
]
