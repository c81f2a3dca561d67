"""One server: its lifecycle state and the owner task that holds its transport and session.

The owner task runs on the loop thread.  It enters the transport and the SDK
client's context (``mcp.Client``, which negotiates the protocol: it probes
``server/discover`` and falls back to the ``initialize`` handshake of older
servers), sets up what is optional, lists capabilities, marks the server
connected, and then holds the contexts until it is asked to stop or the server
goes away; so every anyio context is entered and exited in one task.  While
connected, ``connection.session`` (``session.Session``) holds the negotiated
session and is the request primitive: every request runs as its own task on
the same loop, through it.  The connection is also the ``AuthHost`` of its
OAuth provider: the auth layer moves its state through ``auth_waiting`` and
``auth_resumed``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

from mcpomni_jupyter.auth.state import AuthState
from mcpomni_jupyter.config import ServerConfig
from mcpomni_jupyter.core.aio import end_task, wait_while, wake
from mcpomni_jupyter.core.session.catalog import Catalog
from mcpomni_jupyter.core.session.errormap import map_error
from mcpomni_jupyter.core.session.listen import Listener
from mcpomni_jupyter.core.session.notifications import announces_changes, on_log, on_message
from mcpomni_jupyter.core.session.recovery import SessionRecovery, request_error
from mcpomni_jupyter.core.session.serverlog import LogEntry, ServerLog, clip
from mcpomni_jupyter.core.session.session import PreCall, Session
from mcpomni_jupyter.core.session.state import STOP_GRACE, STOP_TIMEOUT, State
from mcpomni_jupyter.core.session.stderr import StderrCapture
from mcpomni_jupyter.errors import ServerConnectionError
from mcpomni_jupyter.redact import redact

ERROR_CHARS = 1_000  # a state's error message is cut here

logging.getLogger("mcp").addHandler(logging.NullHandler())  # no stray tracebacks on the notebook's stderr


class Connection:
    """One configured server and, while connected, its live session."""

    def __init__(
        self,
        config: ServerConfig,
        on_change: Callable[[Connection], None] | None = None,
        auth_factory: Callable[[Connection], Any] | None = None,
        auth_ready: Callable[[Connection], Awaitable[None]] | None = None,
        callbacks: Callable[[Connection], dict[str, Any]] | None = None,
        checks: list[PreCall] | None = None,
    ) -> None:
        self.config = config
        self.state = State.DISCONNECTED
        self.error: str | None = None
        self.session: Session | None = None  # the negotiated session and request primitive, while connected
        self.checks: list[PreCall] = checks if checks is not None else []  # the manager's pre-call checks
        self.catalog = Catalog(self)
        self.listener = Listener(self)
        self.log = ServerLog()
        self.log_level: str | None = None
        self.listeners: list[Callable[[LogEntry], Any]] = []
        self.auth = AuthState()
        self.http_status: int | None = None  # the last HTTP error status seen (streamable HTTP hides it)
        self.auth_provider: Any = None  # an OAuth server's httpx2.Auth while connected (its context: the tokens and their expiry)
        self.interactive_callers: list[Any] = []  # top-level-await calls waiting on this server
        self.notices: deque[str] = deque(maxlen=20)  # one-line hints for the calling cell
        self._on_change = on_change
        self._auth_factory = auth_factory
        self._auth_ready = auth_ready  # awaited before the factory: what the OAuth flow needs first (the relay's page)
        self._callbacks = callbacks  # the session's server-request callbacks (roots, sampling, elicitation)
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._settled: asyncio.Event | None = None
        self._final: asyncio.Event | None = None
        self._restarting = False  # between ``restart``'s stop and start
        self._stderr: StderrCapture | None = None
        self._recovery = SessionRecovery()

    @property
    def name(self) -> str:
        return self.config.name

    def __repr__(self) -> str:
        return f"<Connection {self.name} {self.config.transport} {self.state.value}>"

    # ----------------------------------------------------------------- what it offers

    tools = property(lambda self: self.catalog.tools, doc="The listed tools (the catalog's).")
    resources = property(lambda self: self.catalog.resources, doc="The listed resources.")
    templates = property(lambda self: self.catalog.templates, doc="The listed resource templates.")
    prompts = property(lambda self: self.catalog.prompts, doc="The listed prompts.")
    owner_task = property(lambda self: self._task, doc="The task that holds the transport and session (None before a start).")

    # ----------------------------------------------------------------- state

    def set_state(self, state: State, error: str | None = None) -> None:
        """Move to ``state`` and tell the observers (the one place the state changes); stopped only to start
        again at once (``restart``), a server shows as connecting, never as disconnected in between."""
        state = State.CONNECTING if state is State.DISCONNECTED and self._restarting else state
        self.state = state
        self.error = redact(clip(error, ERROR_CHARS)) if error else None
        if self._settled is not None:
            self._settled.clear() if state is State.CONNECTING else self._settled.set()
        if self._final is not None:
            self._final.clear() if state in (State.CONNECTING, State.AUTH_REQUIRED) else self._final.set()
        self.notify()

    def notify(self) -> None:
        """Tell the observers something about this server changed (state, lists, counts)."""
        if self._on_change is not None:
            try:
                self._on_change(self)
            except Exception:  # noqa: BLE001 - an observer must never break a connection
                pass

    @property
    def is_connected(self) -> bool:
        return self.state is State.CONNECTED

    # what the session negotiated (None / False while not connected)

    @property
    def client(self) -> Any:
        """The SDK's ``mcp.Client`` while connected."""
        return self.session.client if self.session is not None else None

    @property
    def protocol_version(self) -> str | None:
        return self.session.protocol_version if self.session is not None else None

    @property
    def capabilities(self) -> Any:
        return self.session.capabilities if self.session is not None else None

    @property
    def is_modern(self) -> bool:
        """Whether the negotiated protocol is 2026-07-28 or newer (stateless, per-request envelope)."""
        return self.session is not None and self.session.is_modern

    def request_meta(self) -> dict[str, Any] | None:
        """``_meta`` for a request (``Session.request_meta``)."""
        return self.session.request_meta() if self.session is not None else None

    @property
    def uses_oauth(self) -> bool:
        return self.config.transport != "stdio" and self.config.auth.uses_oauth

    def auth_waiting(self) -> None:
        self.set_state(State.AUTH_REQUIRED)

    def auth_resumed(self, in_session: bool) -> None:
        self.set_state(State.CONNECTED if in_session else State.CONNECTING)

    def record(self, kind: str, message: str, level: str = "info", data: Any = None) -> LogEntry:
        """Add to this server's log and tell the listeners (``on_notification`` callbacks)."""
        entry = self.log.add(self.name, kind, message, level, data)
        for listener in list(self.listeners):
            try:
                listener(entry)
            except Exception:  # noqa: BLE001 - a listener must never break a connection
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
        stale = (self._settled, self._final)  # set below: whoever waits on them (across a restart) waits on the new ones
        self._stop, self._settled, self._final = asyncio.Event(), asyncio.Event(), asyncio.Event()
        for event in stale:
            wake(event)
        self.auth.reauth_needed = False
        self.set_state(State.CONNECTING)
        self._task = asyncio.get_running_loop().create_task(self._own(), name=f"mcp:{self.name}")

    async def wait_settled(self, timeout: float | None = None) -> State:
        """Wait until the server is no longer connecting."""
        await wait_while(lambda: self._settled if self.state is State.CONNECTING else None, timeout)
        return self.state

    async def wait_final(self, timeout: float | None = None) -> State:
        """Wait until the server is connected, failed or disconnected (through any authorization)."""
        await wait_while(lambda: self._final if self.state in (State.CONNECTING, State.AUTH_REQUIRED) else None, timeout)
        return self.state

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask the owner task to close everything, and wait for it (cancelling it if it takes too long).

        Reports DISCONNECTED only once the owner task has really ended; a
        cancellation of the caller propagates (it is never swallowed).
        """
        task = self._task
        if task is None or task.done():
            self.set_state(State.DISCONNECTED)
            return
        assert self._stop is not None
        self._stop.set()
        self.auth.cancel()
        if not await end_task(task, timeout, STOP_GRACE):
            self.set_state(State.FAILED, f"server {self.name!r} did not stop within {timeout + STOP_GRACE:g} s; its process may still run")
            return
        self.set_state(State.DISCONNECTED)

    async def restart(self) -> None:
        """Stop and start again, shown as connecting throughout (to ``wait_final`` too); a second one meanwhile is a no-op."""
        if self._restarting:
            return
        self._restarting = True
        try:
            await self.stop()
        except BaseException:  # cancelled: not left "connecting" with nothing running
            self._restarting = False
            if self.state is State.CONNECTING and (self._task is None or self._task.done()):
                self.set_state(State.DISCONNECTED)
            raise
        self._restarting = False
        await self.start()

    async def _own(self) -> None:
        stopping = False
        if self.config.transport == "stdio":
            self._stderr = StderrCapture(lambda line: self.record("stderr", line))
            await self._stderr.start()
        try:
            async with AsyncExitStack() as stack:
                closed = asyncio.Event()
                await self._open(stack, closed)
                await self._set_up()
                self.set_state(State.CONNECTED)
                stopping = await self._hold(closed)
        except asyncio.CancelledError:
            self._forget_session()
            self.set_state(State.DISCONNECTED)
            raise
        except BaseException as exc:  # noqa: BLE001 - mapped once, here, for the owner task
            self._forget_session()
            self.auth.cancel()
            if not stopping:
                await self._fail(exc)
                return
            self.record("error", f"while closing: {map_error(exc, self.config)}", "warning")
        finally:
            self._forget_session()
            if self._stderr is not None:
                await self._stderr.aclose()
                self._stderr = None
        self.set_state(State.DISCONNECTED)

    async def _hold(self, closed: asyncio.Event) -> bool:
        """Hold the session until asked to stop (True) or the server goes away (raises)."""
        assert self._stop is not None
        waits = [asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(closed.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        self.session = None
        if self._stop.is_set():
            return True
        await self._drain_stderr()
        tail = self.stderr_tail()
        raise ServerConnectionError(
            f"server {self.name!r} closed the connection"
            + (f" (stderr: {tail})" if tail else "")
            + f"; run %mcp connect {self.name} to restart it"
        )

    async def _fail(self, exc: BaseException) -> None:
        await self._drain_stderr()
        error = map_error(exc, self.config, self.stderr_tail(), self.http_status)
        self.record("error", str(error), "error")
        self.set_state(State.FAILED, str(error))

    def _forget_session(self) -> None:
        self.session = None
        self.listener.cancel()
        self.auth.url = None
        self.catalog.clear()

    async def _drain_stderr(self) -> None:
        if self._stderr is not None:
            await self._stderr.drain(1.0)

    async def _open(self, stack: AsyncExitStack, closed: asyncio.Event) -> Any:
        """Enter the transport and the SDK's ``Client``, which negotiates the protocol (bounded by the timeout).

        ``mcp.Client`` (``mode="auto"``) probes ``server/discover`` (2026-07-28)
        and falls back to the ``initialize`` handshake of older servers.  A
        stdio server is started first, without the SDK, so that it boots while
        the SDK is imported (a fresh kernel's first connection).
        """
        from mcpomni_jupyter.core.session.spawn import started

        process = await started(stack, self.config, self._stderr) if self.config.transport == "stdio" and os.name == "posix" else None
        from mcp import Client

        from mcpomni_jupyter.core.schemas import install_output_check
        from mcpomni_jupyter.core.session.transports import Wire, client_info, open_transport

        self.http_status = None
        if self.uses_oauth and self._auth_ready is not None:
            await self._auth_ready(self)
        auth = self.auth_provider = self._auth_factory(self) if self.uses_oauth and self._auth_factory is not None else None
        wire = Wire(auth=auth, stderr=self._stderr, closed=closed, on_status=self._on_status, process=process)
        client = Client(
            open_transport(self.config, wire),
            mode="auto",
            logging_callback=self._on_log,
            message_handler=self._on_message,
            client_info=client_info(),
            **(self._callbacks(self) if self._callbacks is not None else {}),
        )
        # an OAuth handshake may wait for a person: allow for that
        limit = self.config.timeout + (self.auth.timeout if self.config.auth.method == "oauth" else 0)
        try:
            async with asyncio.timeout(limit):  # in this task: the client's contexts must exit where they entered
                await stack.enter_async_context(client)
        except TimeoutError:
            raise ServerConnectionError(
                f"server {self.name!r} did not answer server/discover or initialize within {limit:g} s; "
                f'check that it is an MCP server speaking {self.config.transport}, or raise its "timeout"'
            ) from None
        self.auth.url = None
        self.session = Session(self, client, self.checks)
        wire.modern = self.session.is_modern  # from here on, a result without resultType is "complete" (SEP-2322)
        install_output_check(self, client.session)  # a $ref to another document never fails a result (SEP-2106)
        return client

    async def _set_up(self) -> None:
        """What follows the handshake: the log level, the listings, the listen stream. None of it fails the connection."""
        if self.log_level:
            await self.apply_log_level(self.log_level)
        await self.catalog.list(strict=False, cache_mode="refresh")
        if self.is_modern and announces_changes(self.capabilities):
            await self.listener.start()

    async def apply_log_level(self, level: str | None) -> None:
        """Keep ``level`` for this server and, while connected, send it (``Session.set_log_level``; never fails)."""
        self.log_level = level
        if self.session is not None:
            await self.session.set_log_level(level)

    # ----------------------------------------------------------------- notifications

    async def _on_log(self, params: Any) -> None:
        on_log(self, params)

    async def _on_message(self, message: Any) -> None:
        on_message(self, message)

    # ----------------------------------------------------------------- requests (loop thread)

    def server_callbacks(self) -> dict[str, Any]:
        """The session's server-request callbacks (roots, sampling, elicitation): a task's questions go through them too."""
        return self._callbacks(self) if self._callbacks is not None else {}

    def live(self) -> Session:
        """The session, or a one-line ``ServerConnectionError`` saying why there is none and what to do."""
        session = self.session
        if session is None or self.state is not State.CONNECTED:
            if self.state is State.FAILED:
                raise ServerConnectionError(
                    f"server {self.name!r} is not connected (failed: {self.error}); fix it and run %mcp connect {self.name}",
                    server=self.name,
                )
            raise ServerConnectionError(f"server {self.name!r} is {self.state.value}; run %mcp connect {self.name}", server=self.name)
        return session

    async def request(self, fn: Callable[[Any], Awaitable[Any]], what: str = "a request") -> Any:
        """``fn(client)`` through the session (``Session.request``: errors mapped, a forgotten session renewed)."""
        return await self.live().request(fn, what)

    async def renew(self) -> None:
        """Reconnect quietly after the server forgot our session (backed off; see ``recovery``)."""
        await self._recovery.renew(self)

    async def request_error(self, exc: BaseException) -> BaseException:
        """``exc`` as one of our errors (naming this server), after reconnecting if the tokens died (``recovery``)."""
        return await request_error(self, exc)
