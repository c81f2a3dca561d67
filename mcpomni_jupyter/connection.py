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
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from .config import ServerConfig
from .errormap import map_error
from .errors import McpJupyterError, ServerConnectionError
from .redact import redact
from .serverlog import LogEntry, ServerLog, clip
from .stderr import StderrCapture

OPTIONAL_REQUEST_TIMEOUT = 10.0  # an optional request at connect (logging/setLevel) may take this long
STOP_GRACE = 5.0  # after asking the owner task to stop and then cancelling it, wait this long more
SETTLE_GRACE = 5.0  # a request that saw its server go away waits this long for the owner task to settle
RECOVERY_WINDOW = 300.0  # session recoveries counted over this many seconds ...
RECOVERY_DELAYS = (0.0, 1.0, 4.0)  # ... and the delay before each; one more within the window is refused
RELIST_DEBOUNCE = 0.1  # list-changed notifications arriving this close together cause one re-listing

logging.getLogger("mcp").addHandler(logging.NullHandler())  # no stray tracebacks on the notebook's stderr


class State(str, enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    AUTH_REQUIRED = "auth required"
    CONNECTED = "connected"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


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
        self.log = ServerLog()
        self.log_level: str | None = None
        self.listeners: list[Callable[[LogEntry], Any]] = []
        self._on_change = on_change
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._settled: asyncio.Event | None = None
        self._stderr: StderrCapture | None = None
        self._relisting: dict[str, asyncio.Task[None]] = {}
        self._relist_pending: set[str] = set()
        self._recoveries: deque[float] = deque(maxlen=len(RECOVERY_DELAYS) + 1)
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
        self.error = redact(clip(error, 1000)) if error else None
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
        entry = self.log.add(self.name, kind, message, level, data)
        for listener in list(self.listeners):
            try:
                listener(entry)
            except Exception:
                pass
        return entry

    def stderr_tail(self) -> str:
        """The last line the stdio server wrote to stderr (for error messages)."""
        if self._stderr is not None:
            return redact(self._stderr.last())
        entry = self.log.last("stderr")
        return entry.message[-300:] if entry else ""

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
            await _wait_event(self._settled, timeout)
        return self.state

    async def wait_final(self, timeout: float | None = None) -> State:
        """Wait until the server is connected, failed or disconnected (through any authorization)."""
        if self.state in (State.CONNECTING, State.AUTH_REQUIRED) and self._final is not None:
            await _wait_event(self._final, timeout)
        return self.state

    def cancel_authorization(self) -> None:
        flow = self.auth_flow
        if flow is not None and not flow.future.done():
            flow.future.cancel()

    async def stop(self, timeout: float = 10.0) -> None:
        """Ask the owner task to close everything, and wait for it (cancelling it if it takes too long).

        Reports DISCONNECTED only once the owner task has really ended; a
        cancellation of the caller propagates (it is never swallowed).
        """
        task = self._task
        if task is None or task.done():
            self._set(State.DISCONNECTED)
            return
        assert self._stop is not None
        self._stop.set()
        self.cancel_authorization()
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=STOP_GRACE)
        if not done:
            self._set(State.FAILED, f"server {self.name!r} did not stop within {timeout + STOP_GRACE:g} s; its process may still run")
            return
        self._set(State.DISCONNECTED)

    async def _own(self) -> None:
        assert self._stop is not None
        closed = asyncio.Event()
        stopping = False
        if self.config.transport == "stdio":
            self._stderr = StderrCapture(lambda line: self.record("stderr", line))
            await self._stderr.start()
        try:
            async with AsyncExitStack() as stack:
                session = await self._open(stack, closed)
                await self._set_up(session)
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
                    await self._drain_stderr()
                    tail = self.stderr_tail()
                    raise ServerConnectionError(
                        f"server {self.name!r} closed the connection" + (f" (stderr: {tail})" if tail else "")
                        + f"; run %mcp connect {self.name} to restart it"
                    )
        except asyncio.CancelledError:
            self._forget_session()
            self._set(State.DISCONNECTED)
            raise
        except BaseException as exc:  # mapped once, here, for the owner task
            self._forget_session()
            self.cancel_authorization()
            if stopping:  # asked to stop: an error while closing is noted, not a failure
                self.record("error", f"while closing: {map_error(exc, self.config)}", "warning")
            else:
                await self._drain_stderr()
                error = map_error(exc, self.config, self.stderr_tail(), self.http_status)
                self.record("error", str(error), "error")
                self._set(State.FAILED, str(error))
                return
        finally:
            self._forget_session()
            self.tools, self.resources, self.templates, self.prompts = [], [], [], []
            if self._stderr is not None:
                await self._stderr.aclose()
                self._stderr = None
        self._set(State.DISCONNECTED)

    def _forget_session(self) -> None:
        self.session = None
        self.auth_url = None
        for task in self._relisting.values():
            task.cancel()
        self._relisting.clear()
        self._relist_pending.clear()

    async def _drain_stderr(self) -> None:
        if self._stderr is not None:
            await self._stderr.drain(1.0)

    async def _open(self, stack: AsyncExitStack, closed: asyncio.Event) -> Any:
        """Enter the transport and the session; initialize (bounded by the server's timeout)."""
        from mcp import ClientSession

        from .transports import open_transport

        self.http_status = None
        auth = self.auth_factory(self) if self.uses_oauth and self.auth_factory is not None else None
        errlog = self._stderr.file if self._stderr is not None else None
        read, write = await stack.enter_async_context(
            open_transport(self.config, errlog=errlog, auth=auth, on_status=self._on_status)
        )
        if self._stderr is not None:
            self._stderr.spawned()
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
        try:
            result = await asyncio.wait_for(session.initialize(), limit)
        except (asyncio.TimeoutError, TimeoutError):
            raise ServerConnectionError(
                f"server {self.name!r} did not answer the initialize request within {limit:g} s; "
                f"check that it is an MCP server speaking {self.config.transport}, or raise its \"timeout\""
            ) from None
        self.auth_url = None
        self.session = session
        self.server_info = result.server_info
        self.instructions = result.instructions
        self.capabilities = result.capabilities
        return session

    async def _set_up(self, session: Any) -> None:
        """What follows initialize: the log level (optional), then the listings. None of it fails the connection."""
        if self.log_level:
            await self.apply_log_level(self.log_level)
        await self.list_capabilities(strict=False)

    async def apply_log_level(self, level: str) -> None:
        """Send ``logging/setLevel`` if the server declares logging; a failure is a warning in the log."""
        self.log_level = level
        session, caps = self.session, self.capabilities
        if session is None or caps is None or caps.logging is None:
            return
        try:
            await asyncio.wait_for(session.set_logging_level(level), min(self.config.timeout, OPTIONAL_REQUEST_TIMEOUT))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.record("error", f"logging/setLevel {level!r} failed: {map_error(exc, self.config)}; "
                        "log messages come at the server's default level", "warning")

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

    async def list_capabilities(self, which: tuple[str, ...] = ("tools", "resources", "prompts"), strict: bool = True) -> None:
        """(Re)list what the server offers, per its declared capabilities.

        ``strict=False`` (at connect and on list-changed): a listing that fails
        is a warning in the log and leaves that list empty; the connection stays.
        """
        session, caps = self.session, self.capabilities
        if session is None or caps is None:
            return
        plan = {
            "tools": [("tools", caps.tools, session.list_tools, "tools/list")],
            "resources": [
                ("resources", caps.resources, session.list_resources, "resources/list"),
                ("templates", caps.resources, session.list_resource_templates, "resources/templates/list"),
            ],
            "prompts": [("prompts", caps.prompts, session.list_prompts, "prompts/list")],
        }
        attrs = {"templates": "resource_templates"}
        for kind in which:
            for attr, declared, method, request in plan[kind]:
                if not declared:
                    setattr(self, attr, [])
                    continue
                try:
                    setattr(self, attr, await asyncio.wait_for(self._paged(method, attrs.get(attr, attr)), self.config.timeout))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if strict:
                        raise
                    self.record("error", f"{request} failed: {map_error(exc, self.config)}; "
                                f"run %mcp refresh {self.name} to try again", "warning")

    # ----------------------------------------------------------------- notifications

    async def _on_log(self, params: Any) -> None:
        data = params.data
        message = data if isinstance(data, str) else repr(data)
        if params.logger:
            message = f"{params.logger}: {message}"
        self.record("log", message, str(params.level), data)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            line = _unparsed_line(message)
            if line is not None:
                self.record("stdout", f"the server wrote a line that is not JSON-RPC: {line}", "warning")
            else:
                self.record("error", f"transport error: {map_error(message, self.config)}", "warning")
            return
        method = getattr(message, "method", "")
        kinds = {
            "notifications/tools/list_changed": "tools",
            "notifications/resources/list_changed": "resources",
            "notifications/prompts/list_changed": "prompts",
        }
        if method in kinds:
            self._relist(kinds[method])
        elif method == "notifications/resources/updated":
            uri = str(message.params.uri)
            self.record("updated", f"resource updated: {uri}", data=uri)

    def _relist(self, kind: str) -> None:
        """Coalesce list-changed notifications: at most one re-listing in flight and one pending per kind."""
        running = self._relisting.get(kind)
        if running is not None and not running.done():
            self._relist_pending.add(kind)
            return
        # a task of its own: this runs in the dispatcher's task, which must stay free to deliver the answers
        self._relisting[kind] = asyncio.get_running_loop().create_task(self._relist_loop(kind))

    async def _relist_loop(self, kind: str) -> None:
        while True:
            await asyncio.sleep(RELIST_DEBOUNCE)  # a burst of notifications becomes one re-listing
            self._relist_pending.discard(kind)
            await self.list_capabilities((kind,), strict=False)
            self.record(kind, f"{kind[:-1]} list changed; re-listed ({len(getattr(self, kind))} now)")
            self._set(self.state)  # observers (the panel) see the new counts: once per re-listing
            if kind not in self._relist_pending:
                return

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
        """Run ``fn(session)`` and map its errors; a session the server forgot (HTTP 404) is renewed once."""
        session = self.require_session()
        try:
            return await fn(session)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if not self._session_lost(exc):
                raise await self._request_error(exc) from None
        await self._recover_session()
        try:
            return await fn(self.require_session())
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            raise await self._request_error(exc) from None

    async def _request_error(self, exc: BaseException) -> BaseException:
        if self.reauth_needed:
            # its tokens are gone for good: reconnect; the new owner task asks the person again
            self.reauth_needed = False
            await self._restart()
            from .auth.oauth import ReauthorizationNeeded

            return ReauthorizationNeeded(
                f"server {self.name!r} needs authorization again: click Authorize, or run %mcp auth {self.name}"
            )
        if isinstance(exc, McpJupyterError):
            return exc
        error = map_error(exc, self.config, self.stderr_tail() if self.config.transport == "stdio" else "", self.http_status)
        if isinstance(error, ServerConnectionError) and self._task is not None and not self._task.done():
            # the server went away: let the owner task settle the state before we report
            await asyncio.wait({self._task}, timeout=SETTLE_GRACE)
            if self.error:
                error = ServerConnectionError(self.error)
        return error

    def _session_lost(self, exc: BaseException) -> bool:
        """A streamable-HTTP server answered 404 mid-session: it restarted or expired our session (spec: re-initialize)."""
        from .errormap import root_error

        if self.config.transport != "streamable_http" or self.http_status != 404:
            return False
        return type(root_error(exc)).__name__ == "MCPError"

    async def _recover_session(self) -> None:
        """Reconnect quietly, at most a few times in ``RECOVERY_WINDOW`` and with growing delays."""
        now = time.monotonic()
        recent = [t for t in self._recoveries if now - t < RECOVERY_WINDOW]
        if len(recent) >= len(RECOVERY_DELAYS):
            self.record("session", "the server keeps losing our session; not reconnecting for now", "error")
            raise ServerConnectionError(
                f"server {self.name!r} keeps losing its session ({len(recent)} times in {RECOVERY_WINDOW / 60:g} min); "
                f"backing off: run %mcp connect {self.name} once it is stable"
            )
        await asyncio.sleep(RECOVERY_DELAYS[len(recent)])
        self._recoveries.append(time.monotonic())
        self.record("session", "the server no longer knew our session (HTTP 404); reconnected and retried the request", "warning")
        await self._restart()
        await self.wait_settled(self.config.timeout + SETTLE_GRACE)
        if self.state is not State.CONNECTED:
            raise ServerConnectionError(
                f"server {self.name!r} lost our session and reconnecting failed ({self.error or self.state.value}); "
                f"run %mcp connect {self.name}"
            )

    async def _restart(self) -> None:
        await self.stop()
        await self.start()


async def _wait_event(event: asyncio.Event, timeout: float | None) -> None:
    """Wait for ``event`` at most ``timeout`` seconds (no error on timeout, no task left behind)."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()


def _unparsed_line(exc: Exception) -> str | None:
    """The stdout line behind a parse error of the stdio transport, if that is what ``exc`` is."""
    errors = getattr(exc, "errors", None)
    if not callable(errors) or type(exc).__name__ != "ValidationError":
        return None
    try:
        first = errors()[0]
    except Exception:
        return None
    line = first.get("input")
    return clip(line, 500) if isinstance(line, str) else None


def _client_info() -> Any:
    from mcp_types import Implementation

    from . import __version__

    return Implementation(name="mcpomni-jupyter", version=__version__)
