"""One server: its lifecycle state and the owner task that holds its transport and session.

The owner task runs on the loop thread.  It enters the transport and the
``ClientSession`` contexts, initializes, lists capabilities, marks the server
connected, and then holds the contexts until it is asked to stop or the
server goes away; so every anyio context is entered and exited in one task.
Requests (tool calls, reads, ...) run as their own tasks on the same loop.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from .config import ServerConfig
from .errormap import map_error
from .errors import McpJupyterError, ServerConnectionError
from .redact import redact

LOG_LIMIT = 500

logging.getLogger("mcp").addHandler(logging.NullHandler())  # no stray tracebacks on the notebook's stderr


class State(str, enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    AUTH_REQUIRED = "auth required"
    CONNECTED = "connected"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


@dataclass
class LogEntry:
    """A notification, log message or stderr line received from a server."""

    server: str
    kind: str  # "log", "stderr", "tools", "resources", "prompts", "updated", "progress", "error"
    message: str
    level: str = "info"
    data: Any = None
    time: float = field(default_factory=time.time)


# --------------------------------------------------------------------------- stream watch


class _EOFWatch:
    """A read stream that sets ``closed`` when the server's stream ends (exit, crash, hang-up)."""

    def __init__(self, stream: Any, closed: asyncio.Event) -> None:
        self._stream = stream
        self._closed = closed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    async def receive(self) -> Any:
        try:
            return await self._stream.receive()
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                self._closed.set()
            raise

    def __aiter__(self) -> _EOFWatch:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except Exception as exc:
            if type(exc).__name__ in ("EndOfStream", "ClosedResourceError"):
                raise StopAsyncIteration from None
            raise

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def __aenter__(self) -> _EOFWatch:
        await self._stream.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._stream.__aexit__(*exc)


# --------------------------------------------------------------------------- the connection


class Connection:
    """One configured server and, while connected, its live session."""

    def __init__(
        self,
        config: ServerConfig,
        on_change: Callable[[Connection], None] | None = None,
        auth_factory: Callable[[Connection], Any] | None = None,
    ) -> None:
        self.config = config
        self.state = State.DISCONNECTED
        self.error: str | None = None
        self.session: Any = None
        self.server_info: Any = None
        self.instructions: str | None = None
        self.capabilities: Any = None
        self.tools: list[Any] = []
        self.resources: list[Any] = []
        self.templates: list[Any] = []
        self.prompts: list[Any] = []
        self.log: deque[LogEntry] = deque(maxlen=LOG_LIMIT)
        self.log_level: str | None = None
        self.listeners: list[Callable[[LogEntry], Any]] = []
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._settled: asyncio.Event | None = None
        self._stderr: Any = None
        self._stderr_pos = 0
        self.http_status: int | None = None
        self.auth_factory = auth_factory
        self.auth_url: str | None = None  # the authorization link while a person is needed
        self.auth_flow: Any = None  # the callback flow waiting for the redirect
        self.reauth_needed = False
        self.auth_in_session = False  # the authorization under way re-authorizes a live session
        self.auth_timeout = 600.0
        self._final: asyncio.Event | None = None
        self.requests: Any = None  # ServerRequests: roots, sampling, elicitation
        self.interactive_callers: list[Any] = []  # top-level-await calls waiting on this server
        self.notices: deque[str] = deque(maxlen=20)  # one-line hints for the calling cell

    @property
    def name(self) -> str:
        return self.config.name

    def __repr__(self) -> str:
        return f"<Connection {self.name} {self.config.transport} {self.state.value}>"

    # ----------------------------------------------------------------- state

    def _set(self, state: State, error: str | None = None) -> None:
        self.state = state
        self.error = redact(error) if error else None
        if self._settled is not None:
            if state is State.CONNECTING:
                self._settled.clear()
            else:
                self._settled.set()
        if self._final is not None:
            if state in (State.CONNECTING, State.AUTH_REQUIRED):
                self._final.clear()
            else:
                self._final.set()
        if self._on_change is not None:
            try:
                self._on_change(self)
            except Exception:  # an observer must never break a connection
                pass

    set_state = _set

    @property
    def uses_oauth(self) -> bool:
        return self.config.transport != "stdio" and self.config.auth.method in ("oauth", "client_credentials")

    def record(self, kind: str, message: str, level: str = "info", data: Any = None) -> LogEntry:
        entry = LogEntry(self.name, kind, redact(message), level, data)
        self.log.append(entry)
        for listener in list(self.listeners):
            try:
                listener(entry)
            except Exception:
                pass
        return entry

    def stderr_lines(self) -> list[str]:
        """New lines the stdio server wrote to stderr since the last look; also recorded in the log."""
        if self._stderr is None:
            return []
        try:
            self._stderr.seek(self._stderr_pos)
            text = self._stderr.read()
            self._stderr_pos = self._stderr.tell()
        except (OSError, ValueError):
            return []
        lines = [line for line in text.splitlines() if line.strip()]
        for line in lines:
            self.record("stderr", line, "info")
        return lines

    def stderr_tail(self) -> str:
        self.stderr_lines()
        tail = [e.message for e in self.log if e.kind == "stderr"][-1:]
        return tail[0][-300:] if tail else ""

    def _on_status(self, status: int) -> None:
        self.http_status = status if status >= 400 else None

    # ----------------------------------------------------------------- lifecycle (loop thread)

    async def start(self) -> None:
        """Start the owner task unless it runs already."""
        if self._task is not None and not self._task.done():
            return
        self._stop = asyncio.Event()
        self._settled = asyncio.Event()
        self._final = asyncio.Event()
        self.reauth_needed = False
        self._set(State.CONNECTING)
        self._task = asyncio.get_running_loop().create_task(self._own(), name=f"mcp:{self.name}")

    async def wait_settled(self, timeout: float | None = None) -> State:
        """Wait until the server is no longer connecting."""
        if self.state is State.CONNECTING and self._settled is not None:
            try:
                await asyncio.wait_for(self._settled.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return self.state

    async def wait_final(self, timeout: float | None = None) -> State:
        """Wait until the server is connected, failed or disconnected (through any authorization)."""
        if self.state in (State.CONNECTING, State.AUTH_REQUIRED) and self._final is not None:
            try:
                await asyncio.wait_for(self._final.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return self.state

    def cancel_authorization(self) -> None:
        flow = self.auth_flow
        if flow is not None and not flow.future.done():
            flow.future.cancel()

    async def stop(self, timeout: float = 10.0) -> None:
        """Ask the owner task to close everything, and wait for it."""
        task = self._task
        if task is None or task.done():
            self._set(State.DISCONNECTED)
            return
        assert self._stop is not None
        self._stop.set()
        self.cancel_authorization()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except (asyncio.TimeoutError, Exception):
            task.cancel()
            try:
                await asyncio.wait_for(task, 5)
            except BaseException:
                pass
        self._set(State.DISCONNECTED)

    async def _own(self) -> None:
        from mcp import ClientSession

        from .transports import open_transport

        assert self._stop is not None
        closed = asyncio.Event()
        stopping = False
        errlog = None
        if self.config.transport == "stdio":
            # a file outlives the transport, so a server's last words can explain its exit
            self._stderr = errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
            self._stderr_pos = 0
        try:
            async with AsyncExitStack() as stack:
                self.http_status = None
                auth = self.auth_factory(self) if self.uses_oauth and self.auth_factory is not None else None
                read, write = await stack.enter_async_context(
                    open_transport(self.config, errlog=errlog, auth=auth, on_status=self._on_status)
                )
                session = ClientSession(
                    _EOFWatch(read, closed),
                    write,
                    logging_callback=self._on_log,
                    message_handler=self._on_message,
                    client_info=_client_info(),
                    **(self.requests.callbacks(self) if self.requests is not None else {}),
                )
                await stack.enter_async_context(session)
                # an OAuth handshake may wait for a person: allow for that
                limit = self.config.timeout + (self.auth_timeout if self.config.auth.method == "oauth" else 0)
                result = await asyncio.wait_for(session.initialize(), limit)
                self.auth_url = None
                self.session = session
                self.server_info = result.server_info
                self.instructions = result.instructions
                self.capabilities = result.capabilities
                if self.log_level:
                    await session.set_logging_level(self.log_level)
                await self.list_capabilities()
                self._set(State.CONNECTED)
                waits = [asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(closed.wait())]
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waits:
                        w.cancel()
                stopping = self._stop.is_set()
                self.session = None
                if not stopping:
                    raise ServerConnectionError(
                        f"server {self.name!r} closed the connection"
                        + (f" (stderr: {self.stderr_tail()})" if self.stderr_tail() else "")
                        + f"; run %mcp connect {self.name} to restart it"
                    )
        except asyncio.CancelledError:
            self.session = None
            self.auth_url = None
            self._set(State.DISCONNECTED)
            raise
        except BaseException as exc:  # mapped once, here, for the owner task
            self.session = None
            self.auth_url = None
            self.cancel_authorization()
            error = map_error(exc, self.config, self.stderr_tail(), self.http_status)
            self.record("error", str(error), "error")
            self._set(State.FAILED, str(error))
            return
        finally:
            self.session = None
            self.tools, self.resources, self.templates, self.prompts = [], [], [], []
            self.stderr_lines()
            if errlog is not None:
                errlog.close()
            self._stderr = None
        self._set(State.DISCONNECTED)

    # ----------------------------------------------------------------- capabilities

    async def _paged(self, method: Callable[..., Awaitable[Any]], attr: str) -> list[Any]:
        from mcp_types import PaginatedRequestParams

        items: list[Any] = []
        cursor = None
        for _ in range(1000):
            result = await method(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
            items.extend(getattr(result, attr))
            cursor = result.next_cursor
            if not cursor:
                break
        return items

    async def list_capabilities(self, which: tuple[str, ...] = ("tools", "resources", "prompts")) -> None:
        """(Re)list what the server offers, per its declared capabilities."""
        session, caps = self.session, self.capabilities
        if session is None or caps is None:
            return
        timeout = self.config.timeout
        if "tools" in which:
            self.tools = await asyncio.wait_for(self._paged(session.list_tools, "tools"), timeout) if caps.tools else []
        if "resources" in which:
            if caps.resources:
                self.resources = await asyncio.wait_for(self._paged(session.list_resources, "resources"), timeout)
                self.templates = await asyncio.wait_for(
                    self._paged(session.list_resource_templates, "resource_templates"), timeout
                )
            else:
                self.resources, self.templates = [], []
        if "prompts" in which:
            self.prompts = await asyncio.wait_for(self._paged(session.list_prompts, "prompts"), timeout) if caps.prompts else []

    # ----------------------------------------------------------------- notifications

    async def _on_log(self, params: Any) -> None:
        data = params.data
        message = data if isinstance(data, str) else repr(data)
        if params.logger:
            message = f"{params.logger}: {message}"
        self.record("log", message, str(params.level), data)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            self.record("error", f"transport error: {map_error(message, self.config)}", "warning")
            return
        method = getattr(message, "method", "")
        if method == "notifications/tools/list_changed":
            self.record("tools", "tool list changed; re-listed")
            await self._relist(("tools",))
        elif method == "notifications/resources/list_changed":
            self.record("resources", "resource list changed; re-listed")
            await self._relist(("resources",))
        elif method == "notifications/prompts/list_changed":
            self.record("prompts", "prompt list changed; re-listed")
            await self._relist(("prompts",))
        elif method == "notifications/resources/updated":
            uri = str(message.params.uri)
            self.record("updated", f"resource updated: {uri}", data=uri)

    async def _relist(self, which: tuple[str, ...]) -> None:
        # Runs in the dispatcher's task: list in a task of its own so the
        # dispatcher can deliver the answers.
        async def relist() -> None:
            try:
                await self.list_capabilities(which)
            except Exception as exc:
                self.record("error", f"re-listing failed: {map_error(exc, self.config)}", "warning")
                return
            self._set(self.state)

        asyncio.get_running_loop().create_task(relist())

    # ----------------------------------------------------------------- requests (loop thread)

    def require_session(self) -> Any:
        if self.session is None or self.state is not State.CONNECTED:
            if self.state is State.FAILED:
                raise ServerConnectionError(
                    f"server {self.name!r} is not connected (failed: {self.error}); fix it and run %mcp connect {self.name}"
                )
            raise ServerConnectionError(f"server {self.name!r} is {self.state.value}; run %mcp connect {self.name}")
        return self.session

    async def request(self, fn: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run ``fn(session)`` and map its errors."""
        session = self.require_session()
        try:
            return await fn(session)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if self.reauth_needed:
                # its tokens are gone for good: reconnect; the new owner task asks the person again
                self.reauth_needed = False
                await self._restart()
                from .auth.oauth import ReauthorizationNeeded

                raise ReauthorizationNeeded(
                    f"server {self.name!r} needs authorization again: click Authorize, or run %mcp auth {self.name}"
                ) from None
            if isinstance(exc, McpJupyterError):
                raise
            error = map_error(exc, self.config, self.stderr_tail() if self.config.transport == "stdio" else "", self.http_status)
            if isinstance(error, ServerConnectionError) and self._task is not None and not self._task.done():
                # the server went away: let the owner task settle the state before we report
                try:
                    await asyncio.wait_for(asyncio.shield(self._task), 5)
                except BaseException:
                    pass
                if self.error:
                    error = ServerConnectionError(self.error)
            raise error from None

    async def _restart(self) -> None:
        await self.stop()
        await self.start()


def _client_info() -> Any:
    from mcp_types import Implementation

    from . import __version__

    return Implementation(name="mcpomni-jupyter", version=__version__)
