"""Server configuration: typed models, format detection and lint (``${VAR}`` expansion is in ``expansion``).

One loader accepts the shapes users already have:

- MCPOmni Connect ``{"mcpServers": {NAME: {"transport_type": ...}}}`` and a bare ``{NAME: {...}}`` map;
- Claude Desktop / Claude Code ``.mcp.json``: ``mcpServers`` whose entries use ``type``;
- VS Code ``mcp.json``: ``servers`` whose entries use ``type``.

Everything is normalised by ``parse_server`` into one ``ServerConfig``.  Only
the standard library is imported here, so loading the extension stays light.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlparse

from mcpomni_jupyter.authconfig import AUTH_KEYS as AUTH_KEYS  # re-exported: the auth part of a config lives in authconfig
from mcpomni_jupyter.authconfig import AUTH_METHODS as AUTH_METHODS
from mcpomni_jupyter.authconfig import AuthConfig as AuthConfig
from mcpomni_jupyter.authconfig import parse_auth as _parse_auth
from mcpomni_jupyter.defaults import CONNECT_TIMEOUT, SSE_READ_TIMEOUT
from mcpomni_jupyter.errors import ConfigError, did_you_mean
from mcpomni_jupyter.expansion import expand_tree, expansion_env
from mcpomni_jupyter.lint import lint
from mcpomni_jupyter.redact import MASK, MIN_SECRET, SECRET_NAME, redact, redact_args, secret_args

Transport = Literal["stdio", "sse", "streamable_http"]

TRANSPORT_ALIASES: dict[str, Transport] = {
    "stdio": "stdio",
    "sse": "sse",
    "streamable_http": "streamable_http",
    "streamable-http": "streamable_http",
    "streamablehttp": "streamable_http",
    "http": "streamable_http",
}

SERVER_KEYS = {
    "transport_type",
    "type",
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "headers",
    "timeout",
    "sse_read_timeout",
    "auth",
    "disabled",
    "roots",
    # descriptive keys that other clients write and that change nothing here
    "description",
    "name",
}
# Top-level keys of the accepted file formats that are not servers.
IGNORED_TOP_LEVEL = {"AgentConfig", "LLM", "inputs", "$schema"}

MAX_SECONDS = 86_400.0  # a day: also keeps NaN and infinity out
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")


@dataclass(frozen=True)
class ServerConfig:
    """One server, normalised: the transport is always one of ``stdio``, ``sse``, ``streamable_http``."""

    name: str
    transport: Transport
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = CONNECT_TIMEOUT
    sse_read_timeout: float = SSE_READ_TIMEOUT
    auth: AuthConfig = field(default_factory=AuthConfig)
    disabled: bool = False
    roots: tuple[str, ...] = ()  # directories (or file:// URIs) offered as roots; default: the cwd
    secrets: frozenset[str] = field(default=frozenset(), compare=False)  # values that came from ${VAR}

    @property
    def target(self) -> str:
        """What the server is: its URL, or its command line (secrets included: show ``shown_target``)."""
        if self.transport == "stdio":
            return " ".join([self.command or "", *self.args]).strip()
        return self.url or ""

    @property
    def shown_target(self) -> str:
        """``target`` fit to be shown: secrets, secret-flag values, URL userinfo and query masked."""
        if self.transport == "stdio":
            return self._mask(" ".join([self.command or "", *redact_args(self.args)]).strip())
        return self._mask(redact(self.url or ""))

    def _mask(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= MIN_SECRET:
                text = text.replace(secret, MASK)
        return redact(text)

    def secret_values(self) -> set[str]:
        """Everything about this server that must never be shown (registered with ``redact.add_secret``)."""
        values = set(self.secrets) | set(self.headers.values()) | set(secret_args(self.args))
        values |= {v for k, v in self.env.items() if SECRET_NAME.search(k)}
        if self.url:
            parsed = urlparse(self.url)
            values |= {v for _, v in parse_qsl(parsed.query)} | ({parsed.password} if parsed.password else set())
        return values | self.auth.secret_values()

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}", f"transport={self.transport!r}", f"target={self.shown_target!r}"]
        if self.headers:
            parts.append("headers={" + ", ".join(f"{k!r}: '***'" for k in self.headers) + "}")
        if self.env:
            parts.append("env={" + ", ".join(f"{k!r}: '***'" for k in self.env) + "}")
        if self.auth.method != "none":
            parts.append(f"auth={self.auth!r}")
        if self.disabled:
            parts.append("disabled=True")
        return f"ServerConfig({', '.join(parts)})"


@dataclass
class LoadResult:
    """What a load produced: the servers, the lint warnings, and where it came from."""

    servers: list[ServerConfig]
    warnings: list[str]
    source: str = "<cell>"


# --------------------------------------------------------------------------- parsing


def _str_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError(f'{where} must be an object of strings, like {{"KEY": "value"}}')
    out = {}
    for k, v in value.items():
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise ConfigError(f"{where}.{k} must be a string")
        out[str(k)] = str(v)
    return out


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_SECONDS:
        raise ConfigError(f"{where} must be a positive number of seconds (at most {MAX_SECONDS:g}), got {value!r}")
    return float(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    return value


def parse_server(name: str, raw: Any, environ: Mapping[str, str] | None = None) -> ServerConfig:
    """Turn one server entry of any accepted format into a ``ServerConfig``.

    ``environ`` is what ``${VAR}`` expands from (default: the process
    environment over the cwd's ``.env``).
    """
    where = f"server {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: a server name may hold only letters, digits, '_' and '-'")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be an object with a 'command' or a 'url'")
    for key in raw:
        if key not in SERVER_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}{did_you_mean(key, SERVER_KEYS)}")
    found: set[str] = set()
    raw = expand_tree(raw, where, expansion_env() if environ is None else environ, found)
    transport = _transport(raw, where)
    common = _common(name, transport, raw, where, found)
    if transport == "stdio":
        return _stdio(raw, where, common)
    return _http(raw, where, transport, common)


def _transport(raw: dict[str, Any], where: str) -> Transport:
    kind = raw.get("transport_type", raw.get("type"))
    if kind is None:
        kind = "stdio" if "command" in raw else "streamable_http" if "url" in raw else None
        if kind is None:
            raise ConfigError(f"{where}: give a 'command' (stdio server) or a 'url' (HTTP server)")
    transport = TRANSPORT_ALIASES.get(str(kind).lower())
    if transport is None:
        raise ConfigError(f"{where}: unknown transport {kind!r}; use one of stdio, sse, streamable_http (or http)")
    return transport


def _common(name: str, transport: Transport, raw: dict[str, Any], where: str, found: set[str]) -> dict[str, Any]:
    """The settings every kind of server has."""
    common: dict[str, Any] = {
        "name": name,
        "transport": transport,
        "disabled": _flag(raw.get("disabled", False), f"{where}.disabled"),
        "auth": _parse_auth(raw.get("auth"), f"{where}.auth"),
        "secrets": frozenset(found),
    }
    for key in ("timeout", "sse_read_timeout"):
        if key in raw:
            common[key] = _number(raw[key], f"{where}.{key}")
    if "roots" in raw:
        roots = raw["roots"]
        if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
            raise ConfigError(f"{where}.roots must be a list of directories (or file:// URIs)")
        common["roots"] = tuple(roots)
    return common


def _stdio(raw: dict[str, Any], where: str, common: dict[str, Any]) -> ServerConfig:
    command = raw.get("command")
    if not command or not isinstance(command, str):
        raise ConfigError(f"{where}: a stdio server needs a 'command' (the program to run)")
    for key in ("url", "headers"):
        if key in raw:
            raise ConfigError(f"{where}: {key!r} is for HTTP servers; a stdio server takes command, args, env, cwd")
    args = raw.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, (str, int, float)) and not isinstance(a, bool) for a in args):
        raise ConfigError(f"{where}.args must be a list of strings")
    if common["auth"].method != "none":
        raise ConfigError(f"{where}: auth applies to HTTP servers only; a stdio server takes credentials through 'env'")
    env = _str_map(raw.get("env", {}), f"{where}.env")
    return ServerConfig(
        command=command, args=tuple(str(a) for a in args), env=env, cwd=str(raw["cwd"]) if raw.get("cwd") else None, **common
    )


def _http(raw: dict[str, Any], where: str, transport: Transport, common: dict[str, Any]) -> ServerConfig:
    url = raw.get("url")
    if not url or not isinstance(url, str):
        raise ConfigError(f"{where}: a {transport} server needs a 'url'")
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{where}: url {url!r} is not an http:// or https:// URL")
    for key in ("command", "args", "env", "cwd"):
        if key in raw:
            raise ConfigError(f"{where}: {key!r} is for stdio servers; an HTTP server takes url, headers, timeout")
    return ServerConfig(url=url, headers=_str_map(raw.get("headers", {}), f"{where}.headers"), **common)


def _server_map(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError('a config must be a JSON object, like {"mcpServers": {"name": {...}}}')
    for key in ("mcpServers", "servers"):
        if key in data:
            others = set(data) - {key} - IGNORED_TOP_LEVEL
            if others:
                raise ConfigError(f"unknown top-level key {sorted(others)[0]!r}; servers go under {key!r}")
            servers = data[key]
            if not isinstance(servers, dict):
                raise ConfigError(f"{key!r} must be an object mapping server names to their settings")
            return servers
    return {k: v for k, v in data.items() if k not in IGNORED_TOP_LEVEL}


def server_entry(
    url: str | None,
    command: str | None,
    args: Iterable[str] = (),
    transport: str | None = None,
    headers: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    auth: str | dict[str, Any] | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """The config entry of one server given piece by piece (``%mcp add``, ``mcp.add``), for ``parse_server``."""
    if (url is None) == (command is None):
        raise ConfigError(f"give either a URL or a command, not {'both' if url else 'neither'}")
    if url is None and transport not in (None, "stdio"):
        raise ConfigError(f"a command runs over stdio; --transport {transport} needs a URL")
    raw: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
    if url is not None:
        raw.update(url=url, transport_type=transport or "streamable_http", headers=headers or {})
        if auth:
            raw["auth"] = auth if isinstance(auth, dict) else {"method": auth}
    else:
        raw.update(command=command, args=list(args), transport_type="stdio", env=env or {})
        if cwd:
            raw["cwd"] = cwd
    return raw


# --------------------------------------------------------------------------- entry points


def parse_config(data: Any, source: str = "<cell>", environ: Mapping[str, str] | None = None) -> LoadResult:
    """Parse an already decoded config of any accepted format."""
    servers, warnings = [], []
    env = expansion_env() if environ is None else environ
    for name, raw in _server_map(data).items():
        try:
            server = parse_server(name, raw, env)
        except RecursionError:
            raise ConfigError(f"server {name!r}: nested too deeply to be a server config") from None
        servers.append(server)
        if isinstance(raw, dict):
            warnings.extend(lint(raw, server))
    return LoadResult(servers, warnings, source)


def parse_text(text: str, source: str = "<cell>", environ: Mapping[str, str] | None = None) -> LoadResult:
    """Parse a config given as JSON text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ConfigError(f"{source}: the JSON is nested too deeply to be a config") from None
    return parse_config(data, source, environ)


def find_config(directory: str | os.PathLike[str] | None = None) -> Path | None:
    """The config a bare ``%mcp load`` uses: ``servers_config.json``, then ``.mcp.json``, in the cwd."""
    base = Path(directory or os.getcwd())
    for name in ("servers_config.json", ".mcp.json", "mcp.json", ".vscode/mcp.json"):
        if (base / name).is_file():
            return base / name
    return None


def load_file(path: str | os.PathLike[str] | None = None) -> LoadResult:
    """Load a config file (found in the cwd when ``path`` is None); ``${VAR}`` also reads ``.env``.

    The ``.env`` of the cwd, then the one beside the config, feed the
    expansion; neither changes ``os.environ``.
    """
    if path is None:
        found = find_config()
        if found is None:
            raise ConfigError("no servers_config.json or .mcp.json in the current directory; give a path: %mcp load PATH")
        path = found
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} does not exist; check the path")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {str(p)!r} ({exc}); check the file") from None
    return parse_text(text, source=str(p), environ=expansion_env(None, p.resolve().parent))
