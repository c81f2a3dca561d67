"""The Python API behind ``%mcp``: ``MCPManager``, and the kernel's one manager, ``get_manager()``.

A facade: each operation is a sync method that hops to the loop thread and
waits (the kernel's own loop is busy running the cell), and an ``a``-prefixed
async twin for top-level ``await``; both run a coroutine of
``operations.Operations``.  Errors are ours (``errors.py``); the Python API
raises on a tool's error result, the magics return it.  The UI is injected:
a hook of ``core.hooks`` lets the magics give a new manager their settings and
the elicitation form, without the core importing them.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextvars
import weakref
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from mcpomni_jupyter.auth.oauth import OAuthCoordinator
from mcpomni_jupyter.config import LoadResult, ServerConfig, load_file, parse_config, parse_server, parse_text, server_entry
from mcpomni_jupyter.core.agents.methods import AgentMethods
from mcpomni_jupyter.core.apps.methods import AppMethods
from mcpomni_jupyter.core.auth_methods import OAuthMethods
from mcpomni_jupyter.core.host import UiHost, UiPort
from mcpomni_jupyter.core.listings import ListingMethods
from mcpomni_jupyter.core.loop import LoopThread
from mcpomni_jupyter.core.mapping.methods import MapMethods
from mcpomni_jupyter.core.operations import Operations, Progress, Settings
from mcpomni_jupyter.core.registry import Registry
from mcpomni_jupyter.core.requests.handlers import Caller, ServerRequests
from mcpomni_jupyter.core.requests.methods import RequestMethods
from mcpomni_jupyter.core.session.connection import Connection
from mcpomni_jupyter.core.session.session import PreCall
from mcpomni_jupyter.core.session.state import HOP_GRACE, SHUTDOWN_TIMEOUT, STOP_BUDGET, STOP_GRACE, State
from mcpomni_jupyter.core.skills.methods import SkillMethods
from mcpomni_jupyter.core.tasks.methods import TaskMethods
from mcpomni_jupyter.defaults import REQUEST_TIMEOUT
from mcpomni_jupyter.errors import ConfigError
from mcpomni_jupyter.redact import add_secret
from mcpomni_jupyter.results import (
    CallResult,
    LogList,
    PromptResult,
    ReadResult,
    StatusTable,
)
from mcpomni_jupyter.results.results import checked


class MCPManager(ListingMethods, OAuthMethods, RequestMethods, MapMethods, AppMethods, TaskMethods, AgentMethods, SkillMethods):
    """Every configured MCP server of this kernel, and what you can do with them."""

    def __init__(self, loop: LoopThread | None = None, timeout: float = REQUEST_TIMEOUT) -> None:
        self._loop = loop or LoopThread()
        self.settings = Settings(timeout)
        self.registry = Registry()
        self.requests = ServerRequests()
        self.oauth = OAuthCoordinator()
        self._ops = Operations(self.registry, self.settings)
        self.call_checks: list[PreCall] = []  # run before every tool call goes out, whoever makes it (add_call_check)
        self.ui_host = UiHost()  # what the UI registered (register_ui): forms, links, progress views
        self.ui = UiPort(self)  # what the widgets do through the manager: buttons, the relay bridge, apps' requests
        self.install_approval()  # what a model may run: the first pre-call check
        self.closed = False
        self._finalizer = weakref.finalize(self, _shutdown, self._ops, self._loop, self.oauth)
        atexit.register(_shutdown_at_exit, weakref.ref(self))  # a weak reference: managers can be collected

    # ------------------------------------------------------------------ plumbing

    @property
    def loop(self) -> LoopThread:
        """This manager's loop thread (one per kernel), started on first use."""
        return self._loop

    @property
    def timeout(self) -> float:
        """Seconds a request (tool call, read, prompt) may take before it is cancelled."""
        return self.settings.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self.settings.timeout = value

    def _run(self, coro: Coroutine[Any, Any, Any], budget: float, what: str, tick: Callable[[], Any] | None = None) -> Any:
        return self.loop.run(coro, budget, what, tick)

    def _budget(self, timeout: float | None = None) -> float:
        """How long the kernel's thread waits for a request: its limit, a connect on first use, and a margin."""
        worst_connect = max((c.config.timeout for c in self.registry.snapshot().values()), default=0)
        return (timeout or self.timeout) + worst_connect + HOP_GRACE

    def _background(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return self.loop.submit(coro)

    def observe(self, callback: Callable[[Connection], Any]) -> Callable[[], None]:
        """Call ``callback(connection)`` on every state change (from the loop thread); returns an unsubscribe."""
        return self.registry.observe(callback)

    # ------------------------------------------------------------------ registry

    @property
    def names(self) -> list[str]:
        return self.registry.names

    @property
    def connections(self) -> dict[str, Connection]:
        """A snapshot of the registry (safe from any thread)."""
        return self.registry.snapshot()

    def connection(self, name: str) -> Connection:
        return self.registry.get(name)

    def add_server(self, server: ServerConfig, auth_factory: Callable[[Connection], Any] | None = None) -> Connection:
        """Register (or replace) a server; a replaced connected server is disconnected first.

        ``auth_factory(connection)`` gives an OAuth server's ``httpx2.Auth`` (default: the OAuth coordinator's
        providers; a Dask worker's map uses the notebook's access token instead)."""
        for value in server.secret_values():
            add_secret(value)
        old = self.registry.find(server.name)
        if old is not None and old.state is not State.DISCONNECTED:
            self._run(old.stop(), STOP_BUDGET, f"disconnecting {old.name!r}")
        connection = Connection(
            server,
            on_change=self.registry.changed,
            auth_factory=auth_factory or self.oauth.build,
            auth_ready=self.oauth.wait_for_page,
            callbacks=self.requests.callbacks,
            checks=self.call_checks,
        )
        connection.log_level = self.settings.log_level
        connection.auth.timeout = self.oauth.options.auth_timeout
        connection.listeners.append(self.registry.dispatch)
        self.registry.put(connection)
        self.registry.changed(connection)
        return connection

    def _add_all(self, result: LoadResult) -> LoadResult:
        for server in result.servers:
            self.add_server(server)
        return result

    def load(self, path: str | None = None) -> LoadResult:
        """Load a config file (``servers_config.json`` or ``.mcp.json`` when no path); ``.env`` feeds ``${VAR}``."""
        return self._add_all(load_file(path))

    def add_servers(self, config: str | dict[str, Any], source: str = "<cell>") -> LoadResult:
        """Add the servers of a config given as JSON text or a dict, in any accepted format."""
        return self._add_all(parse_text(config, source) if isinstance(config, str) else parse_config(config, source))

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
        try:
            raw = server_entry(url, command, args, transport, headers, env, cwd, auth, timeout)
        except ConfigError as exc:
            raise ConfigError(f"server {name!r}: {exc}") from None
        server = parse_server(name, raw)
        self.add_server(server)
        return server

    def remove(self, name: str) -> None:
        """Disconnect and forget a server."""
        connection = self.connection(name)
        self._run(connection.stop(), STOP_BUDGET, f"disconnecting {name!r}")
        self.registry.pop(name)
        self.registry.changed(connection)

    # ------------------------------------------------------------------ lifecycle

    def connect(self, *names: str, wait: bool = False) -> StatusTable:
        """Connect the named servers (all enabled ones when none named), concurrently.

        Returns once each is connected, failed, or waiting for authorization;
        ``wait=True`` also waits for the authorizations.
        """
        chosen = self._ops.select(names)
        budget = max((c.config.timeout + (c.auth.timeout if wait else 0) for c in chosen), default=0) + HOP_GRACE
        self._run(self._ops.connect(names, wait), budget, "connecting")
        return self.status(*[c.name for c in chosen])

    async def aconnect(self, *names: str, wait: bool = False) -> StatusTable:
        chosen = await self.loop.arun(self._ops.connect(names, wait))
        return self.status(*[c.name for c in chosen])

    def disconnect(self, *names: str) -> StatusTable:
        """Close the named connections (all when none named); their subprocesses exit."""
        self._run(self._ops.disconnect(names), STOP_BUDGET, "disconnecting")
        return self.status(*names)

    async def adisconnect(self, *names: str) -> StatusTable:
        await self.loop.arun(self._ops.disconnect(names))
        return self.status(*names)

    def refresh(self, *names: str) -> StatusTable:
        """Re-list capabilities of connected servers (re-authenticating dead tokens); (re)connect the others."""
        self._run(self._ops.refresh(names), self._budget(), "refreshing")
        return self.status(*names)

    async def arefresh(self, *names: str) -> StatusTable:
        await self.loop.arun(self._ops.refresh(names))
        return self.status(*names)

    def status(self, *names: str) -> StatusTable:
        """A table of every (or the named) server's state."""
        registry = self.registry.snapshot()
        return StatusTable([registry[n] for n in names if n in registry] if names else list(registry.values()))

    def shutdown(self) -> None:
        """Close every connection and stop the loop thread (at kernel exit); safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self._finalizer.detach()
        _shutdown(self._ops, self._loop, self.oauth)

    # ------------------------------------------------------------------ requests

    def call(
        self,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        server: str | None = None,
        timeout: float | None = None,
        raise_on_error: bool = True,
        progress: Progress | None = None,
        tick: Callable[[], Any] | None = None,
        task: bool = False,
        **kwargs: Any,
    ) -> CallResult:
        """Call ``[SERVER.]TOOL`` with ``arguments`` (and/or keyword arguments).

        Raises ``ToolCallError`` when the tool answers with an error result,
        unless ``raise_on_error`` is False.  ``progress(value, total, message)``
        sees progress notifications (and a task's status); ``tick()`` runs on
        this thread while waiting.  ``task=True`` calls a tool whose
        ``taskSupport`` is optional as an MCP task (required ones always are).
        """
        context = contextvars.copy_context() if progress is not None else None
        coro = self._ops.call(tool, {**(arguments or {}), **kwargs}, server, timeout, progress, context, task=task)
        return checked(self._run(coro, self._budget(timeout), f"the call to {tool!r}", tick), raise_on_error)

    async def acall(
        self,
        tool: str,
        arguments: dict[str, Any] | None = None,
        *,
        server: str | None = None,
        timeout: float | None = None,
        raise_on_error: bool = True,
        progress: Progress | None = None,
        task: bool = False,
        **kwargs: Any,
    ) -> CallResult:
        context = contextvars.copy_context()
        caller = Caller(asyncio.get_running_loop(), context)  # a server's question can be answered in a form
        coro = self._ops.call(tool, {**(arguments or {}), **kwargs}, server, timeout, progress, context, caller, task=task)
        return checked(await self.loop.arun(coro), raise_on_error)

    def read(self, uri: str, *, server: str | None = None, timeout: float | None = None) -> ReadResult:
        """Read a resource; the server is found from the listed resources when not named."""
        return self._run(self._ops.read(uri, server, timeout), self._budget(timeout), f"reading {uri!r}")

    async def aread(self, uri: str, *, server: str | None = None, timeout: float | None = None) -> ReadResult:
        return await self.loop.arun(self._ops.read(uri, server, timeout))

    def prompt(
        self, name: str, arguments: dict[str, Any] | None = None, *, server: str | None = None, timeout: float | None = None, **kwargs: Any
    ) -> PromptResult:
        """Get ``[SERVER.]PROMPT`` rendered with ``arguments``."""
        coro = self._ops.prompt(name, {**(arguments or {}), **kwargs}, server, timeout)
        return self._run(coro, self._budget(timeout), f"the prompt {name!r}")

    async def aprompt(
        self, name: str, arguments: dict[str, Any] | None = None, *, server: str | None = None, timeout: float | None = None, **kwargs: Any
    ) -> PromptResult:
        return await self.loop.arun(self._ops.prompt(name, {**(arguments or {}), **kwargs}, server, timeout))

    def subscribe(self, uri: str, *, server: str | None = None) -> str:
        """Ask for resource-updated notifications for ``uri``; they appear in ``log()``."""
        return self._run(self._ops.subscribe(uri, server, True), self._budget(), f"subscribing to {uri!r}")

    async def asubscribe(self, uri: str, *, server: str | None = None) -> str:
        return await self.loop.arun(self._ops.subscribe(uri, server, True))

    def unsubscribe(self, uri: str, *, server: str | None = None) -> str:
        return self._run(self._ops.subscribe(uri, server, False), self._budget(), f"unsubscribing from {uri!r}")

    async def aunsubscribe(self, uri: str, *, server: str | None = None) -> str:
        return await self.loop.arun(self._ops.subscribe(uri, server, False))

    @property
    def tools(self) -> Any:
        """``mcp.tools()`` lists tools; ``mcp.tools.<server>.<tool>(**kwargs)`` calls one (see callables.py)."""
        from mcpomni_jupyter.core.callables import ToolsNamespace

        return ToolsNamespace(self)

    # ------------------------------------------------------------------ server messages and requests

    def log(self, server: str | None = None, limit: int | None = None) -> LogList:
        """Notifications, log messages and stderr lines received, oldest first."""
        connections = [self.connection(server)] if server else list(self.connections.values())
        entries = sorted((e for c in connections for e in c.log.snapshot()), key=lambda e: e.time)
        return LogList(entries[-limit:] if limit else entries)

    def on_notification(self, callback: Callable[[Any], Any], server: str | None = None) -> Callable[[], None]:
        """Call ``callback(entry)`` for every notification, log message and stderr line (a ``LogEntry``).

        Runs on the loop thread, in the context of the cell that registered it.
        Returns a function that unregisters it.
        """
        return self.registry.listen(callback, server)

    def set_log_level(self, level: str | None, *names: str) -> None:
        """Ask servers for log messages at ``level`` (debug, info, ...); only servers that declare logging are asked."""
        if not names:
            self.settings.log_level = level
        self._run(self._ops.set_log_level(level, names), self._budget(), "setting the log level")

    def add_call_check(self, check: PreCall) -> Callable[[], None]:
        """Run ``check(call)`` before every tool call goes out, whoever makes it; returns a function that removes it.

        ``call`` is a ``ToolCall`` (``server``, ``tool``, ``arguments``,
        ``spec``, ``origin``: person, map, app, job or model); a check raises
        (an ``McpJupyterError`` with one line saying why) to refuse the call,
        and may be a coroutine function.  It runs on the loop thread: keep it quick.
        """
        if not callable(check):
            raise TypeError(f"add_call_check() takes a function, not {type(check).__name__}")
        self.call_checks.append(check)

        def remove() -> None:
            if check in self.call_checks:
                self.call_checks.remove(check)

        return remove

    def register_ui(self, host: UiHost) -> None:
        """The UI's ports (``ui.install`` registers them): a form for a server's question during a top-level-await
        call, a page link in the calling cell, a map's progress view, a background job's live line.
        ``set_elicitation_handler`` is unaffected."""
        self.ui_host = host
        self.requests.form_handler = host.form
        self.requests.link_handler = host.link
        self.approval.asker = host.approve


def _shutdown(ops: Operations, loop: LoopThread, oauth: OAuthCoordinator) -> None:
    """Close every connection and the callback servers, then stop the loop thread (never raises)."""
    if loop.running:
        try:
            loop.run(ops.stop_all(oauth), SHUTDOWN_TIMEOUT + STOP_GRACE, "closing connections")
        except Exception:  # noqa: BLE001 - at exit, closing is best effort; the loop stops regardless
            pass
    loop.stop()


def _shutdown_at_exit(ref: weakref.ref[MCPManager]) -> None:
    manager = ref()
    if manager is not None:
        manager.shutdown()
