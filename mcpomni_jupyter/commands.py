"""The ``%mcp`` subcommands: one small function each over the manager, registered in ``COMMANDS``.

A router in the manner of jupysql's ``magic_cmd.py``: ``magics.MCPMagics.mcp``
looks the first word up here and calls the function with the remaining tokens
and the cell body.  argparse errors become ``UsageError`` (never ``sys.exit``).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from .debuglog import set_debug
from .errors import McpJupyterError, RequestTimeout
from .parsing import parse_kv, unquote
from .progress import CallProgress

if TYPE_CHECKING:
    from .magics import MCPMagics


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting the kernel."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"%mcp {self.prog.split()[-1]}: {message}; see %mcp help {self.prog.split()[-1]}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(message or f"%mcp {self.prog}: see %mcp help")


def _parser(name: str, description: str) -> _Parser:
    return _Parser(prog=f"%mcp {name}", description=description, add_help=False, allow_abbrev=False)


# --------------------------------------------------------------------------- commands


@dataclass
class Command:
    name: str
    usage: str
    summary: str
    run: Callable[[MCPMagics, list[str], str | None], Any]
    parser: _Parser | None = None


COMMANDS: dict[str, Command] = {}
ALIASES = {"status": "connections", "ls": "tools"}


def command(name: str, usage: str, summary: str, parser: _Parser | None = None) -> Callable[[Any], Any]:
    def register(fn: Callable[[MCPMagics, list[str], str | None], Any]) -> Any:
        COMMANDS[name] = Command(name, usage, summary, fn, parser)
        return fn

    return register


def _warn(lines: list[str]) -> None:
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)


def _names_only(magics: MCPMagics, name: str, tokens: list[str]) -> list[str]:
    for t in tokens:
        if t.startswith("-"):
            raise UsageError(f"%mcp {name}: unknown option {t}; see %mcp help {name}")
    return [unquote(t) for t in tokens]


def _print_notices(m: MCPMagics, names: list[str]) -> None:
    """One-line hints the servers' connections left for the cell that is running."""
    for name in names:
        notices = m.manager.connection(name).notices
        while notices:
            print(f"mcp: {notices.popleft()}", file=sys.stderr)


def _report_failures(table: Any, manager: Any = None) -> None:
    for row in table:
        if row.state == "failed" and row.error:
            print(f"mcp: {row.error}", file=sys.stderr)
    if manager is not None:
        show_authorization(manager, [row.name for row in table if row.state == "auth required"])


def show_authorization(manager: Any, names: list[str]) -> None:
    """Display the Authorize widget of each server waiting for a person (on the main thread)."""
    if not names:
        return
    from IPython.display import display

    from .widgets import AuthorizeWidget

    for name in names:
        connection = manager.connection(name)
        print(
            f"mcp: server {name!r} needs authorization"
            + (" (a browser window was opened)" if manager.oauth.options.open_browser else "")
            + f"; it connects by itself once you authorize; link: {connection.auth_url}",
            file=sys.stderr,
        )
        display(AuthorizeWidget(manager, name))


@command("load", "%mcp load [PATH]", "load .env, then servers_config.json or .mcp.json (or PATH)")
def _load(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    paths = _names_only(m, "load", tokens)
    if len(paths) > 1:
        raise UsageError("%mcp load takes one PATH")
    result = m.manager.load(paths[0] if paths else None)
    _warn(result.warnings)
    return m.manager.status(*[s.name for s in result.servers])


@command("config", "%%mcp config   (cell body: a config in any accepted format)", "add the servers of a config written in the cell")
def _config(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    if cell is None or not cell.strip():
        raise UsageError("%%mcp config takes the config as the cell body, e.g. {\"mcpServers\": {\"name\": {...}}}")
    result = m.manager.configure(cell)
    _warn(result.warnings)
    return m.manager.status(*[s.name for s in result.servers])


_add = _parser("add", "Add an HTTP server (NAME URL) or a stdio server (NAME -- COMMAND [ARG...]).")
_add.add_argument("name")
_add.add_argument("url", nargs="?")
_add.add_argument("--transport", choices=["sse", "streamable_http", "http", "stdio"])
_add.add_argument("-H", "--header", action="append", default=[], metavar="'K: V'")
_add.add_argument("--auth", choices=["none", "oauth", "client_credentials"])
_add.add_argument("--env", action="append", default=[], metavar="K=V")
_add.add_argument("--cwd")
_add.add_argument("--timeout", type=float)


@command("add", "%mcp add NAME URL [--transport sse|streamable_http] [-H 'K: V']... [--auth oauth]\n%mcp add NAME [--env K=V]... [--cwd DIR] -- COMMAND [ARG...]", "add one server", _add)
def _add_cmd(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    command_line: list[str] = []
    if "--" in tokens:
        i = tokens.index("--")
        tokens, command_line = tokens[:i], [unquote(t) for t in tokens[i + 1 :]]
        if not command_line:
            raise UsageError("%mcp add NAME -- COMMAND [ARG...]: give the command after --")
    args = _add.parse_args([unquote(t) for t in tokens])
    headers = {}
    for h in args.header:
        key, sep, value = h.partition(":")
        if not sep or not key.strip():
            raise UsageError(f"bad header {h!r}: write -H 'Name: value'")
        headers[key.strip()] = value.strip()
    env = {}
    for e in args.env:
        key, sep, value = e.partition("=")
        if not sep:
            raise UsageError(f"bad --env {e!r}: write --env KEY=value")
        env[key] = value
    if command_line:
        if args.url:
            raise UsageError("%mcp add: give a URL or '-- COMMAND', not both")
        server = m.manager.add(args.name, command=command_line[0], args=command_line[1:], transport=args.transport, env=env, cwd=args.cwd, timeout=args.timeout)
    else:
        if not args.url:
            raise UsageError("%mcp add NAME URL, or %mcp add NAME -- COMMAND [ARG...]")
        if env or args.cwd:
            raise UsageError("--env and --cwd are for stdio servers (%mcp add NAME -- COMMAND)")
        server = m.manager.add(args.name, args.url, transport=args.transport, headers=headers, auth=args.auth, timeout=args.timeout)
    from .config import lint

    _warn(lint({"headers": headers}, server))
    return m.manager.status(server.name)


@command("remove", "%mcp remove NAME", "disconnect and forget a server")
def _remove(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    names = _names_only(m, "remove", tokens)
    if not names:
        raise UsageError("%mcp remove NAME")
    for name in names:
        m.manager.remove(name)
    return m.manager.status()


_connect = _parser("connect", "Connect the named servers (all configured when none named), concurrently.")
_connect.add_argument("names", nargs="*")
_connect.add_argument("--wait", action="store_true")


@command("connect", "%mcp connect [NAME...] [--wait]", "connect servers concurrently (all when none named); --wait also waits for authorizations", _connect)
def _connect_cmd(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    args = _connect.parse_args([unquote(t) for t in tokens])
    if not args.names and not m.manager.names:
        raise UsageError("no servers configured: use %mcp load, %%mcp config or %mcp add first")
    if args.wait:
        # show the Authorize widgets first: the wait below is for the person to use them
        m.manager.connect(*args.names)
        show_authorization(m.manager, [r.name for r in m.manager.status(*args.names) if r.state == "auth required"])
        table = m.manager.connect(*args.names, wait=True)
        _report_failures(table)
    else:
        table = m.manager.connect(*args.names)
        _report_failures(table, m.manager)
    return status_panel(m, [row.name for row in table])


def status_panel(m: MCPMagics, names: list[str] | None = None) -> Any:
    """The live panel (a value too: indexing and repr give the status table)."""
    from .widgets import StatusPanel

    return StatusPanel(m.manager, names or None)


@command("disconnect", "%mcp disconnect [NAME...]", "close connections (all when none named)")
def _disconnect(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    return m.manager.disconnect(*_names_only(m, "disconnect", tokens))


@command("connections", "%mcp connections [NAME...]   (alias: status)", "the live status panel of every (or the named) server")
def _connections(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    names = _names_only(m, "connections", tokens)
    for name in names:
        m.manager.connection(name)  # unknown names are an error
    return status_panel(m, names)


@command("refresh", "%mcp refresh [NAME...]", "re-list capabilities; reconnect servers that are down; re-authenticate if tokens died")
def _refresh(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    table = m.manager.refresh(*_names_only(m, "refresh", tokens))
    _print_notices(m, [row.name for row in table])
    _report_failures(table, m.manager)
    return table


@command("auth", "%mcp auth NAME [PASTED_URL]", "start or resume OAuth for a server: Authorize button, link and paste box")
def _auth(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    words = _names_only(m, "auth", tokens)
    if not words or len(words) > 2:
        raise UsageError("%mcp auth NAME, or %mcp auth NAME PASTED_URL to finish with the URL the browser landed on")
    if len(words) == 2:
        print(m.manager.complete_auth(words[1]))
        m.manager.connect(words[0], wait=True)
        return m.manager.status(words[0])
    m.manager.auth(words[0])
    from .widgets import AuthorizeWidget

    return AuthorizeWidget(m.manager, words[0])


@command("logout", "%mcp logout NAME", "disconnect and forget the stored tokens and client registration")
def _logout(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    names = _names_only(m, "logout", tokens)
    if len(names) != 1:
        raise UsageError("%mcp logout NAME")
    forgot = m.manager.logout(names[0])
    print(f"forgot the stored tokens of {names[0]}" if forgot else f"nothing was stored for {names[0]}; it is disconnected")


@command("debug", "%mcp debug [on|off]", "detailed, redacted transport logging (and server logs at debug level)")
def _debug(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    words = _names_only(m, "debug", tokens)
    if len(words) > 1 or (words and words[0] not in ("on", "off")):
        raise UsageError("%mcp debug on, or %mcp debug off")
    on = not words or words[0] == "on"
    set_debug(on)
    m.manager.set_log_level("debug" if on else (m.log_level or None))
    print(f"mcp debug logging {'on' if on else 'off'}")


_list = {}
for _kind in ("tools", "resources", "templates", "prompts"):
    _list[_kind] = _parser(_kind, f"List the {_kind} of one server, or of every connected server.")
    _list[_kind].add_argument("server", nargs="?")


def _listing(kind: str) -> Callable[[MCPMagics, list[str], str | None], Any]:
    def run(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
        args = _list[kind].parse_args([unquote(t) for t in tokens])
        return getattr(m.manager, kind)(args.server)

    return run


for _kind, _summary in (
    ("tools", "the tools of one or every connected server, as a table"),
    ("resources", "the resources"),
    ("templates", "the resource templates"),
    ("prompts", "the prompts"),
):
    command(_kind, f"%mcp {_kind} [NAME]", _summary, _list[_kind])(_listing(_kind))


def _split_options(tokens: list[str], options: dict[str, bool]) -> tuple[list[str], dict[str, str]]:
    """Pull ``--opt VALUE`` options out of a token list; the rest stay in order."""
    rest: list[str] = []
    found: dict[str, str] = {}
    it = iter(tokens)
    for token in it:
        if token.startswith("--") and "=" in token and token.split("=", 1)[0] in options:
            key, value = token.split("=", 1)
            found[key] = unquote(value)
        elif token in options:
            value = next(it, None)
            if value is None:
                raise UsageError(f"{token} needs a value")
            found[token] = unquote(value)
        elif token.startswith("--"):
            raise UsageError(f"unknown option {token}; options here: {', '.join(options)}")
        else:
            rest.append(token)
    return rest, found


def _timeout(found: dict[str, str]) -> float | None:
    if "--timeout" not in found:
        return None
    try:
        value = float(found["--timeout"])
    except ValueError:
        raise UsageError(f"--timeout takes seconds, got {found['--timeout']!r}") from None
    if value <= 0:
        raise UsageError("--timeout must be positive")
    return value


def _out(m: MCPMagics, found: dict[str, str], value: Any) -> Any:
    var = found.get("--out")
    if var is not None:
        if not var.isidentifier():
            raise UsageError(f"--out {var!r}: give a Python variable name")
        m.shell.user_ns[var] = value
    return value


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{where} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); write a JSON object like {{\"key\": 1}}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{where} must be a JSON object like {{\"key\": 1}}, got {type(value).__name__}")
    return value


@command(
    "call",
    "%mcp call [SERVER.]TOOL [k=v ...] [--json '{...}'] [--server NAME] [--out VAR] [--timeout S]\n%%mcp call [SERVER.]TOOL   (cell body: the JSON object of arguments)",
    "call a tool; returns its result (.text, .structured, .is_error, .content)",
)
def _call(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    rest, found = _split_options(tokens, {"--json": True, "--out": True, "--timeout": True, "--server": True})
    if not rest:
        raise UsageError("%mcp call [SERVER.]TOOL [k=v ...]: name the tool (see %mcp tools)")
    tool, kv = unquote(rest[0]), rest[1:]
    arguments: dict[str, Any] = {}
    if cell is not None and cell.strip():
        arguments.update(_json_object(cell, "the cell body"))
    if "--json" in found:
        arguments.update(_json_object(found["--json"], "--json"))
    arguments.update(parse_kv(kv))
    progress = m.last_progress = CallProgress(tool, show=can_show_widgets(m.shell))
    try:
        result = m.manager.call(
            tool, arguments, server=found.get("--server"), timeout=_timeout(found), raise_on_error=False,
            progress=progress.on_progress, tick=progress.tick,
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
    _print_notices(m, [result.server])  # e.g. a question the blocked cell had to decline
    return _out(m, found, result)


def can_show_widgets(shell: Any) -> bool:
    """Widgets render only in a kernel with a front end, not in plain IPython."""
    return getattr(shell, "kernel", None) is not None


@command("read", "%mcp read URI [--server NAME] [--out VAR] [--timeout S]", "read a resource")
def _read(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    rest, found = _split_options(tokens, {"--server": True, "--out": True, "--timeout": True})
    if len(rest) != 1:
        raise UsageError("%mcp read URI [--server NAME]: give one URI (see %mcp resources)")
    return _out(m, found, m.manager.read(unquote(rest[0]), server=found.get("--server"), timeout=_timeout(found)))


@command("prompt", "%mcp prompt [SERVER.]NAME [k=v ...] [--server NAME] [--out VAR]", "get a prompt rendered with arguments")
def _prompt(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    rest, found = _split_options(tokens, {"--server": True, "--out": True, "--timeout": True, "--json": True})
    if not rest:
        raise UsageError("%mcp prompt [SERVER.]NAME [k=v ...]: name the prompt (see %mcp prompts)")
    arguments = _json_object(found["--json"], "--json") if "--json" in found else {}
    if cell is not None and cell.strip():
        arguments.update(_json_object(cell, "the cell body"))
    arguments.update(parse_kv(rest[1:]))
    return _out(m, found, m.manager.prompt(unquote(rest[0]), arguments, server=found.get("--server"), timeout=_timeout(found)))


def _subscription(on: bool) -> Callable[[MCPMagics, list[str], str | None], Any]:
    def run(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
        rest, found = _split_options(tokens, {"--server": True})
        if len(rest) != 1:
            raise UsageError(f"%mcp {'subscribe' if on else 'unsubscribe'} URI [--server NAME]")
        uri = unquote(rest[0])
        server = (m.manager.subscribe if on else m.manager.unsubscribe)(uri, server=found.get("--server"))
        print(f"{'subscribed to' if on else 'unsubscribed from'} {uri} on {server}" + (" (updates appear in %mcp log)" if on else ""))

    return run


command("subscribe", "%mcp subscribe URI [--server NAME]", "get resource-updated notifications (see %mcp log)")(_subscription(True))
command("unsubscribe", "%mcp unsubscribe URI [--server NAME]", "stop them")(_subscription(False))


@command("log", "%mcp log [NAME] [--limit N]", "notifications, server log messages and stderr received")
def _log(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    rest, found = _split_options(tokens, {"--limit": True})
    if len(rest) > 1:
        raise UsageError("%mcp log [NAME] [--limit N]")
    limit = None
    if "--limit" in found:
        if not found["--limit"].isdigit():
            raise UsageError("--limit takes a whole number")
        limit = int(found["--limit"])
    return m.manager.log(unquote(rest[0]) if rest else None, limit=limit)


@command("help", "%mcp help [COMMAND]", "this help, or one command's")
def _help(m: MCPMagics, tokens: list[str], cell: str | None) -> Any:
    if tokens:
        name = ALIASES.get(tokens[0], tokens[0])
        if name not in COMMANDS:
            raise UsageError(unknown_command(name))
        c = COMMANDS[name]
        print(c.usage + "\n\n" + c.summary + ("\n\n" + c.parser.format_help() if c.parser else ""))
        return None
    print(help_text())
    return None


def help_text() -> str:
    lines = ["%mcp COMMAND ...   (no command: the status of every server)", ""]
    for c in COMMANDS.values():
        lines.extend(f"  {usage}" for usage in c.usage.splitlines())
        lines.append(f"      {c.summary}")
    lines += ["", "%mcp help COMMAND for one command; settings: %config MCPMagics"]
    return "\n".join(lines)


def unknown_command(name: str) -> str:
    close = difflib.get_close_matches(name, list(COMMANDS) + list(ALIASES), n=1)
    return f"unknown %mcp command {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "") + "; see %mcp help"
