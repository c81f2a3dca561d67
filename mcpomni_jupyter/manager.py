"""The registry of connections and the Python API behind ``%mcp``.

``MCPManager`` holds every configured server, connects them concurrently on
the loop thread, tells observers when a state changes, and offers sync
methods (``call``, ``read``, ``prompt``, ``tools``, ...) with ``a``-prefixed
async twins for top-level ``await``.  Errors are ours (``errors.py``); the
Python API raises on a tool's error result, the magics return it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import difflib
import threading
import warnings
import weakref
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from . import display
from .config import AuthConfig, LoadResult, ServerConfig, load_file, parse_config, parse_server, parse_text
from .connection import Connection, State
from .errors import AuthError, ConfigError, LookupFailed, RequestTimeout, ServerConnectionError, ToolCallError
from .auth.api import OAuthAPI
from .auth.oauth import OAuthCoordinator, ReauthorizationNeeded
from .loop import LoopThread
from .requests import ServerMessagesAPI, ServerRequests
from .redact import add_secret, redact

DEFAULT_TIMEOUT = 60.0


def _register_secrets(server: ServerConfig) -> None:
    for value in server.secret_values():
        add_secret(value)


def _close(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


class MCPManager(OAuthAPI, ServerMessagesAPI):
    """Every configured MCP server of this kernel, and what you can do with them."""

    def __init__(self, loop: LoopThread | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._loop = loop or LoopThread()
        self.timeout = timeout
        self.log_level: str | None = None
        self._connections: dict[str, Connection] = {}
        self._observers: list[Callable[[Connection], Any]] = []
        self._listeners: list[Callable[[Any], Any]] = []
        self._lock = threading.RLock()
        self._closed = False
        self.oauth = OAuthCoordinator()
        self.requests = ServerRequests()
        self._finalizer = weakref.finalize(self, MCPManager._shutdown_all, self._connections, self._loop, self.oauth)
        atexit.register(_shutdown_at_exit, weakref.ref(self))  # a weak reference: managers can be collected

    # ------------------------------------------------------------------ plumbing

    @property
    def loop(self) -> LoopThread:
        """This manager's loop thread (one per kernel), started on first use."""
        return self._loop

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float | None, what: str, tick: Callable[[], Any] | None = None) -> Any:
        return self.loop.run(coro, timeout, what, tick)

    def observe(self, callback: Callable[[Connection], Any]) -> Callable[[], None]:
        """Call ``callback(connection)`` on every state change (from the loop thread); returns an unsubscribe."""
        self._observers.append(callback)
        return lambda: self._observers.remove(callback) if callback in self._observers else None

    def _changed(self, connection: Connection) -> None:
        for callback in list(self._observers):
            try:
                callback(connection)
            except Exception:
                pass

    # ------------------------------------------------------------------ registry

    @property
    def names(self) -> list[str]:
        with self._lock:
            return list(self._connections)

    @property
    def connections(self) -> dict[str, Connection]:
        """A snapshot of the registry (safe from any thread: the kernel's thread adds while the loop reads)."""
        with self._lock:
            return dict(self._connections)

    def connection(self, name: str) -> Connection:
        with self._lock:
            found = self._connections.get(name)
        if found is not None:
            return found
        names = self.names
        raise LookupFailed(
            f"unknown server {name!r}{_close(name, names)}; configured: {', '.join(names) or 'none'} "
            "(add one with %mcp add or %mcp load)"
        )

    def add_server(self, server: ServerConfig) -> Connection:
        """Register (or replace) a server; a replaced connected server is disconnected first."""
        _register_secrets(server)
        with self._lock:
            old = self._connections.get(server.name)
        if old is not None and old.state is not State.DISCONNECTED:
            self._run(old.stop(), old.config.timeout + 15, f"disconnecting {old.name!r}")
        connection = Connection(server, on_change=self._changed, auth_factory=self.oauth.build)
        connection.log_level = self.log_level
        connection.auth_timeout = self.oauth.options.auth_timeout
        connection.requests = self.requests
        connection.listeners.append(self._dispatch_entry)
        with self._lock:
            self._connections[server.name] = connection
        self._changed(connection)
        return connection

    def _add_result(self, result: LoadResult) -> LoadResult:
        for server in result.servers:
            self.add_server(server)
        return result

    def load(self, path: str | None = None) -> LoadResult:
        """Load a config file (``servers_config.json`` or ``.mcp.json`` when no path); ``.env`` feeds ``${VAR}``."""
        return self._add_result(load_file(path))

    def configure(self, config: str | dict[str, Any], source: str = "<cell>") -> LoadResult:
        """Add the servers of a config given as JSON text or a dict, in any accepted format."""
        result = parse_text(config, source) if isinstance(config, str) else parse_config(config, source)
        return self._add_result(result)

    def add(
        self,
        name: str,
        url: str | None = None,
        *,
        command: str | None = None,
        args: Iterable[str] = (),
        transport: str | None = None,
        headers: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        auth: str | dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> ServerConfig:
        """Add one server: an HTTP ``url``, or a stdio ``command`` with ``args``."""
        if (url is None) == (command is None):
            raise ConfigError(f"server {name!r}: give either a URL or a command, not {'both' if url else 'neither'}")
        raw: dict[str, Any] = {}
        if url is not None:
            raw["url"] = url
            raw["transport_type"] = transport or "streamable_http"
            if headers:
                raw["headers"] = headers
            if auth:
                raw["auth"] = auth if isinstance(auth, dict) else {"method": auth}
        else:
            raw.update(command=command, args=list(args), transport_type="stdio")
            if transport not in (None, "stdio"):
                raise ConfigError(f"server {name!r}: a command runs over stdio; --transport {transport} needs a URL")
            if env:
                raw["env"] = env
            if cwd:
                raw["cwd"] = cwd
        if timeout is not None:
            raw["timeout"] = timeout
        server = parse_server(name, raw)
        self.add_server(server)
        return server

    def remove(self, name: str) -> None:
        """Disconnect and forget a server."""
        connection = self.connection(name)
        self._run(connection.stop(), connection.config.timeout + 15, f"disconnecting {name!r}")
        with self._lock:
            self._connections.pop(name, None)
        self._changed(connection)

    # ------------------------------------------------------------------ lifecycle

    def _select(self, names: Iterable[str]) -> list[Connection]:
        names = list(names)
        if not names:
            return [c for c in self.connections.values() if not c.config.disabled]
        return [self.connection(n) for n in names]

    async def _connect(self, names: Iterable[str], wait: bool = False) -> list[Connection]:
        connections = self._select(names)
        for connection in connections:
            if connection.state in (State.DISCONNECTED, State.FAILED):
                await connection.start()
        # never wait on a person unless asked: a server that needs authorization settles as "auth required"
        await asyncio.gather(*(c.wait_settled(c.config.timeout + 5) for c in connections))
        if wait:
            await asyncio.gather(*(c.wait_final(c.config.timeout + c.auth_timeout + 5) for c in connections))
        return connections

    def connect(self, *names: str, wait: bool = False) -> display.StatusTable:
        """Connect the named servers (all enabled ones when none named), concurrently.

        Returns once each is connected, failed, or waiting for authorization;
        ``wait=True`` also waits for the authorizations.
        """
        connections = self._select(names)
        budget = max((c.config.timeout + (c.auth_timeout if wait else 0) for c in connections), default=0) + 15
        self._run(self._connect(names, wait), budget, "connecting")
        return self.status(*[c.name for c in connections])

    async def aconnect(self, *names: str, wait: bool = False) -> display.StatusTable:
        await self.loop.arun(self._connect(names, wait))
        return self.status(*names)

    async def _disconnect(self, names: Iterable[str]) -> None:
        connections = self._select(names) if list(names) else list(self.connections.values())
        await asyncio.gather(*(c.stop() for c in connections))

    def disconnect(self, *names: str) -> display.StatusTable:
        """Close the named connections (all when none named); their subprocesses exit."""
        self._run(self._disconnect(names), 30, "disconnecting")
        return self.status(*names)

    async def adisconnect(self, *names: str) -> display.StatusTable:
        await self.loop.arun(self._disconnect(names))
        return self.status(*names)

    async def _refresh(self, names: Iterable[str]) -> None:
        connections = self._select(names)
        for c in connections:
            if c.state is State.CONNECTED:
                try:
                    await c.request(lambda session, c=c: c.list_capabilities())
                except ReauthorizationNeeded as exc:  # reconnected already: it now waits for the person
                    c.notices.append(str(exc))
                    continue
                c._set(State.CONNECTED)
            elif c.state in (State.DISCONNECTED, State.FAILED):
                await c.start()
        await asyncio.gather(*(c.wait_settled(c.config.timeout + 5) for c in connections))

    def refresh(self, *names: str) -> display.StatusTable:
        """Re-list capabilities of connected servers; (re)connect the others."""
        self._run(self._refresh(names), self.timeout + 15, "refreshing")
        return self.status(*names)

    async def arefresh(self, *names: str) -> display.StatusTable:
        await self.loop.arun(self._refresh(names))
        return self.status(*names)

    def status(self, *names: str) -> display.StatusTable:
        """A table of every (or the named) server's state."""
        registry = self.connections
        connections = [registry[n] for n in names if n in registry] if names else list(registry.values())
        return display.StatusTable(connections)

    def shutdown(self) -> None:
        """Close every connection and stop the loop thread (at kernel exit); safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        MCPManager._shutdown_all(self._connections, self._loop, self.oauth)

    @staticmethod
    def _shutdown_all(connections: dict[str, Connection], loop: LoopThread | None, oauth: Any = None) -> None:
        if loop is None or not loop.running:
            return
        live = [c for c in connections.values() if c.state is not State.DISCONNECTED]

        async def stop_all() -> None:
            await asyncio.wait_for(asyncio.gather(*(c.stop(5) for c in live), return_exceptions=True), 20)
            if oauth is not None:
                await oauth.stop()

        if live or (oauth is not None and any(cb.running for cb in oauth._callbacks.values())):
            try:
                loop.run(stop_all(), 25, "closing connections")
            except BaseException:
                pass
        loop.stop()

    # ------------------------------------------------------------------ resolution (loop thread)

    async def _ready(self, connection: Connection) -> Connection:
        """A connected connection: connects a configured one on first use, waits for one connecting
        (and, up to the request timeout, for one waiting for authorization, so "Run All" works)."""
        if connection.state is State.DISCONNECTED:
            await connection.start()
        if connection.state is State.CONNECTING:
            await connection.wait_settled(connection.config.timeout + 5)
        if connection.state is State.AUTH_REQUIRED:
            await connection.wait_final(self.timeout)
            if connection.state is State.AUTH_REQUIRED:
                raise AuthError(
                    f"server {connection.name!r} is waiting for authorization: click Authorize, open the link, "
                    f"or run %mcp auth {connection.name}"
                )
        connection.require_session()
        return connection

    async def _settle_all(self) -> list[Connection]:
        busy = [c for c in self.connections.values() if c.state in (State.CONNECTING, State.AUTH_REQUIRED)]
        if busy:
            await asyncio.gather(*(c.wait_settled(c.config.timeout + 5) for c in busy))
            waiting = [c for c in busy if c.state is State.AUTH_REQUIRED]
            if waiting:
                await asyncio.gather(*(c.wait_final(self.timeout) for c in waiting))
        return [c for c in self.connections.values() if c.state is State.CONNECTED]

    async def _resolve(self, kind: str, spec: str, server: str | None) -> tuple[Connection, Any]:
        """Find ``[SERVER.]NAME`` of a tool or prompt; ``kind`` is "tools" or "prompts"."""
        noun = kind[:-1]
        if server is not None:
            connection = await self._ready(self.connection(server))
            return connection, self._find(connection, kind, spec)
        # SERVER.NAME, trying every dot (server and tool names may both hold dots)
        registry = self.connections
        for i, ch in enumerate(spec):
            if ch == "." and spec[:i] in registry and spec[i + 1 :]:
                connection = await self._ready(registry[spec[:i]])
                return connection, self._find(connection, kind, spec[i + 1 :])
        connected = await self._settle_all()
        if not connected:
            raise ServerConnectionError(
                "no server is connected; run %mcp connect (or name the server: SERVER." + spec + ")"
            )
        matches = [(c, item) for c in connected for item in getattr(c, kind) if item.name == spec]
        if len(matches) == 1:
            return matches[0]
        if matches:
            names = ", ".join(f"{c.name}.{spec}" for c, _ in matches)
            raise LookupFailed(f"{noun} {spec!r} is offered by several servers; name one: {names}")
        every = [item.name for c in connected for item in getattr(c, kind)]
        raise LookupFailed(
            f"unknown {noun} {spec!r}{_close(spec, every)}; see %mcp {kind} for the {kind} of the connected servers"
        )

    def _find(self, connection: Connection, kind: str, name: str) -> Any:
        for item in getattr(connection, kind):
            if item.name == name:
                return item
        names = [item.name for item in getattr(connection, kind)]
        raise LookupFailed(
            f"server {connection.name!r} has no {kind[:-1]} {name!r}{_close(name, names)}; "
            f"it has: {', '.join(names) or 'none'}"
        )

    async def _resource_server(self, uri: str, server: str | None) -> Connection:
        if server is not None:
            return await self._ready(self.connection(server))
        connected = await self._settle_all()
        owners = [c for c in connected if any(str(r.uri) == uri for r in c.resources)]
        if not owners:
            owners = [
                c for c in connected
                if any(uri.startswith(str(t.uri_template).split("{", 1)[0]) for t in c.templates)
            ]
        if not owners:
            owners = [c for c in connected if c.capabilities is not None and c.capabilities.resources]
        if len(owners) == 1:
            return owners[0]
        if not owners:
            raise LookupFailed(f"no connected server offers resource {uri!r}; see %mcp resources, or add --server NAME")
        raise LookupFailed(
            f"resource {uri!r} may come from {', '.join(c.name for c in owners)}; name one with --server NAME"
        )

    # ------------------------------------------------------------------ listings

    async def _listing(self, kind: str, server: str | None) -> list[tuple[Connection, Any]]:
        if server is not None:
            connections = [await self._ready(self.connection(server))]
        else:
            connections = await self._settle_all()
            if not connections:
                raise ServerConnectionError("no server is connected; run %mcp connect")
        return [(c, item) for c in connections for item in getattr(c, kind)]

    @property
    def tools(self) -> Any:
        """``mcp.tools()`` lists tools; ``mcp.tools.<server>.<tool>(**kwargs)`` calls one (see callables.py)."""
        from .callables import ToolsNamespace

        return ToolsNamespace(self)

    def list_tools(self, server: str | None = None) -> display.ToolList:
        """The tools of one server, or of every connected server."""
        return display.ToolList(self._run(self._listing("tools", server), self.timeout, "listing tools"))

    async def atools(self, server: str | None = None) -> display.ToolList:
        return display.ToolList(await self.loop.arun(self._listing("tools", server)))

    def resources(self, server: str | None = None) -> display.ResourceList:
        return display.ResourceList(self._run(self._listing("resources", server), self.timeout, "listing resources"))

    async def aresources(self, server: str | None = None) -> display.ResourceList:
        return display.ResourceList(await self.loop.arun(self._listing("resources", server)))

    def templates(self, server: str | None = None) -> display.TemplateList:
        return display.TemplateList(self._run(self._listing("templates", server), self.timeout, "listing templates"))

    async def atemplates(self, server: str | None = None) -> display.TemplateList:
        return display.TemplateList(await self.loop.arun(self._listing("templates", server)))

    def prompts(self, server: str | None = None) -> display.PromptList:
        return display.PromptList(self._run(self._listing("prompts", server), self.timeout, "listing prompts"))

    async def aprompts(self, server: str | None = None) -> display.PromptList:
        return display.PromptList(await self.loop.arun(self._listing("prompts", server)))

    # ------------------------------------------------------------------ requests

    async def _call(
        self,
        tool: str,
        arguments: dict[str, Any] | None,
        server: str | None,
        timeout: float | None,
        progress: Callable[[float, float | None, str | None], Any] | None = None,
        context: contextvars.Context | None = None,
        caller: Any = None,
    ) -> display.CallResult:
        connection, spec = await self._resolve("tools", tool, server)
        limit = timeout or self.timeout
        if caller is not None:  # a top-level-await call: the server may ask the person a question
            connection.interactive_callers.append(caller)
        try:
            return await self._call_tool(connection, spec, arguments, limit, progress, context)
        finally:
            if caller is not None:
                connection.interactive_callers.remove(caller)

    async def _call_tool(
        self,
        connection: Connection,
        spec: Any,
        arguments: dict[str, Any] | None,
        limit: float,
        progress: Callable[[float, float | None, str | None], Any] | None,
        context: contextvars.Context | None,
    ) -> display.CallResult:

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            shown_total = f"{total:g}" if total is not None else "?"
            connection.record("progress", f"{spec.name}: {value:g}/{shown_total} {message or ''}".strip(), data=(value, total, message))
            if progress is not None:
                # run in the caller's context, so output goes to the calling cell
                result = context.run(progress, value, total, message) if context else progress(value, total, message)
                if asyncio.iscoroutine(result):
                    await result

        try:
            result = await connection.request(
                lambda s: s.call_tool(spec.name, arguments or {}, read_timeout_seconds=limit, progress_callback=on_progress)
            )
        except RequestTimeout:
            raise RequestTimeout(
                f"{connection.name}.{spec.name} got no answer within {limit:g} s; the server was told to cancel it "
                "and the connection stays open; raise the limit with --timeout"
            ) from None
        return display.CallResult(result, server=connection.name, tool=spec.name)

    def _call_budget(self, timeout: float | None) -> float:
        worst_connect = max((c.config.timeout for c in self.connections.values()), default=0)
        return (timeout or self.timeout) + worst_connect + 15

    def call(
        self,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        server: str | None = None,
        timeout: float | None = None,
        raise_on_error: bool = True,
        progress: Callable[[float, float | None, str | None], Any] | None = None,
        tick: Callable[[], Any] | None = None,
        **kwargs: Any,
    ) -> display.CallResult:
        """Call ``[SERVER.]TOOL`` with ``arguments`` (and/or keyword arguments).

        Raises ``ToolCallError`` when the tool answers with an error result,
        unless ``raise_on_error`` is False.  ``progress(value, total, message)``
        sees progress notifications; ``tick()`` runs on this thread while waiting.
        """
        args = {**(arguments or {}), **kwargs}
        context = contextvars.copy_context() if progress is not None else None
        result = self._run(
            self._call(tool, args, server, timeout, progress, context), self._call_budget(timeout), f"the call to {tool!r}", tick
        )
        return self._check(result, raise_on_error)

    async def acall(
        self,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        server: str | None = None,
        timeout: float | None = None,
        raise_on_error: bool = True,
        progress: Callable[[float, float | None, str | None], Any] | None = None,
        **kwargs: Any,
    ) -> display.CallResult:
        args = {**(arguments or {}), **kwargs}
        from .forms import Caller

        context = contextvars.copy_context()
        caller = Caller(asyncio.get_running_loop(), context)
        result = await self.loop.arun(self._call(tool, args, server, timeout, progress, context, caller))
        return self._check(result, raise_on_error)

    @staticmethod
    def _check(result: display.CallResult, raise_on_error: bool) -> display.CallResult:
        if raise_on_error and result.is_error:
            first = (result.text or "error").strip().splitlines()[0] if (result.text or "").strip() else "error"
            raise ToolCallError(redact(f"tool {result.server}.{result.tool} returned an error: {first[:500]}"), result)
        return result

    async def _read(self, uri: str, server: str | None, timeout: float | None) -> display.ReadResult:
        connection = await self._resource_server(uri, server)
        result = await connection.request(lambda s: asyncio.wait_for(s.read_resource(uri), timeout or self.timeout))
        return display.ReadResult(result, server=connection.name, uri=uri)

    def read(self, uri: str, *, server: str | None = None, timeout: float | None = None) -> display.ReadResult:
        """Read a resource; the server is found from the listed resources when not named."""
        return self._run(self._read(uri, server, timeout), self._call_budget(timeout), f"reading {uri!r}")

    async def aread(self, uri: str, *, server: str | None = None, timeout: float | None = None) -> display.ReadResult:
        return await self.loop.arun(self._read(uri, server, timeout))

    async def _prompt(self, name: str, arguments: dict[str, Any] | None, server: str | None, timeout: float | None) -> display.PromptResult:
        connection, spec = await self._resolve("prompts", name, server)
        args = {k: v if isinstance(v, str) else display.to_json(v) for k, v in (arguments or {}).items()}
        result = await connection.request(lambda s: asyncio.wait_for(s.get_prompt(spec.name, args), timeout or self.timeout))
        return display.PromptResult(result, server=connection.name, name=spec.name)

    def prompt(self, name: str, arguments: dict[str, Any] | None = None, *, server: str | None = None, timeout: float | None = None, **kwargs: Any) -> display.PromptResult:
        """Get ``[SERVER.]PROMPT`` rendered with ``arguments``."""
        args = {**(arguments or {}), **kwargs}
        return self._run(self._prompt(name, args, server, timeout), self._call_budget(timeout), f"the prompt {name!r}")

    async def aprompt(self, name: str, arguments: dict[str, Any] | None = None, *, server: str | None = None, timeout: float | None = None, **kwargs: Any) -> display.PromptResult:
        return await self.loop.arun(self._prompt(name, {**(arguments or {}), **kwargs}, server, timeout))

    async def _subscribe(self, uri: str, server: str | None, on: bool) -> str:
        connection = await self._resource_server(uri, server)
        caps = connection.capabilities
        if caps is None or caps.resources is None or not caps.resources.subscribe:
            raise LookupFailed(
                f"server {connection.name!r} does not offer resource subscriptions "
                "(its resources.subscribe capability is off); poll with %mcp read instead"
            )

        def request(session: Any) -> Any:
            with warnings.catch_warnings():  # deprecated only for the 2026-07-28 protocol, not the one we speak
                warnings.simplefilter("ignore")
                coro = session.subscribe_resource(uri) if on else session.unsubscribe_resource(uri)
            return asyncio.wait_for(coro, self.timeout)

        await connection.request(request)
        return connection.name

    def subscribe(self, uri: str, *, server: str | None = None) -> str:
        """Ask for resource-updated notifications for ``uri``; they appear in ``log()``."""
        return self._run(self._subscribe(uri, server, True), self._call_budget(None), f"subscribing to {uri!r}")

    def unsubscribe(self, uri: str, *, server: str | None = None) -> str:
        return self._run(self._subscribe(uri, server, False), self._call_budget(None), f"unsubscribing from {uri!r}")

    async def asubscribe(self, uri: str, *, server: str | None = None) -> str:
        return await self.loop.arun(self._subscribe(uri, server, True))

    async def aunsubscribe(self, uri: str, *, server: str | None = None) -> str:
        return await self.loop.arun(self._subscribe(uri, server, False))


def _shutdown_at_exit(ref: weakref.ref[MCPManager]) -> None:
    manager = ref()
    if manager is not None:
        manager.shutdown()


_default: MCPManager | None = None


def get_manager() -> MCPManager:
    """The kernel's manager, the one behind ``%mcp``."""
    global _default
    if _default is None or _default._closed:
        _default = MCPManager()
        _take_magics_settings(_default)
    return _default


def _take_magics_settings(manager: MCPManager) -> None:
    """Apply the ``%config MCPMagics`` settings of the running IPython, if the extension is loaded."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    shell = get_ipython()
    magics = shell.magics_manager.registry.get("MCPMagics") if shell is not None else None
    if magics is not None:
        magics._manager = manager
        magics.manager  # noqa: B018 - the property applies the settings


__all__ = ["MCPManager", "get_manager", "AuthConfig"]
