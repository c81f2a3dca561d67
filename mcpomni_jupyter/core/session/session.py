"""The request primitive of one live server: every ``tools/call``, ``resources/read`` and ``prompts/get`` goes out here.

A ``Session`` is what the handshake gave a ``Connection`` (the SDK client,
the negotiated protocol version and with it the era, the server's info and
capabilities) and the request envelope (2026-07-28: the log level in each
request's ``_meta``).  It lives while the connection is connected; the
connection holds it as ``connection.session``.

Its requests are the one way out for the Python API, the magics, ``map``, the
MCP Apps host, background jobs and the tool callables:

- ``call_tool(name, arguments, *, timeout, progress, task, origin)``: runs the
  pre-call checks the manager installs (where an approval policy plugs in),
  decides whether the call goes out as an MCP task (one policy,
  ``tasks.wire.as_task``, for every origin), bounds it by ``timeout`` (the
  server is told to cancel), has the result checked against the tool's output
  schema (by the SDK's ``call_tool``, or by the task path), maps errors once,
  with the server and tool they concern, and returns a ``CallResult``;
- ``read_resource(uri, *, timeout)`` and ``get_prompt(name, arguments, *, timeout)``;
- ``request(fn, what)``, the level under them (and under listings and task
  requests): ``fn(client)`` with errors mapped once and a session the server
  forgot (HTTP 404) renewed once.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mcpomni_jupyter.core.session.errormap import map_error
from mcpomni_jupyter.core.session.recovery import session_lost
from mcpomni_jupyter.core.tasks import calls as task_calls
from mcpomni_jupyter.core.tasks.run import TaskRun
from mcpomni_jupyter.core.tasks.wire import as_task
from mcpomni_jupyter.errors import McpJupyterError, RequestTimeout, with_context
from mcpomni_jupyter.results import CallResult, PromptResult, ReadResult, to_json

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection

Progress = Callable[[float, "float | None", "str | None"], Any]
Origin = Literal["person", "map", "app", "job", "model"]
OPTIONAL_REQUEST_TIMEOUT = 10.0  # an optional request at connect (logging/setLevel) may take this long
MODERN_DEFAULT_LOG_LEVEL = "info"  # asked of 2026-07-28 servers when no level is set (older ones send theirs unasked)

_debug = logging.getLogger("mcpomni_jupyter.requests")  # %mcp debug: one line per request, with the protocol version


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call about to go out, as the pre-call checks see it.

    ``origin`` says who asked: ``person`` (``%mcp call``, ``mcp.call``, a
    callable), ``map`` (a row of ``mcp.map``), ``app`` (an MCP App under a
    cell), ``job`` (a background task), ``model`` (an agent).  ``spec`` is the
    tool's listed definition (its annotations, schemas, ``_meta``).
    """

    server: str
    tool: str
    arguments: dict[str, Any]
    spec: Any
    origin: Origin
    caller: Any = None  # a top-level-await call's Caller (its loop and cell), where the person can be asked; else None


PreCall = Callable[[ToolCall], "Awaitable[None] | None"]  # raises (an McpJupyterError) to refuse the call


class Session:
    """One negotiated session of a connection, and the requests that go through it."""

    __slots__ = ("capabilities", "checks", "client", "connection", "instructions", "is_modern", "protocol_version", "server_info")

    def __init__(self, connection: Connection, client: Any, checks: list[PreCall]) -> None:
        self.connection = connection
        self.client = client  # the SDK's mcp.Client, entered by the connection's owner task
        self.protocol_version: str | None = client.protocol_version  # what the client and the server agreed on
        self.server_info: Any = client.server_info
        self.instructions: str | None = client.instructions
        self.capabilities: Any = client.server_capabilities
        self.is_modern = self.protocol_version in _modern_versions()  # 2026-07-28 or newer: stateless, per-request envelope
        self.checks = checks  # the manager's pre-call checks (shared: one list per manager)

    def __repr__(self) -> str:
        return f"<Session {self.connection.name} MCP {self.protocol_version}>"

    def request_meta(self) -> dict[str, Any] | None:
        """``_meta`` for a request: the log level, per request, on a 2026-07-28 connection.

        An older server sends its log messages at its own default level until
        ``logging/setLevel``; a 2026-07-28 server sends none unless a request
        asks, so we ask for ``MODERN_DEFAULT_LOG_LEVEL`` unless a level is set.
        """
        if not self.is_modern:
            return None
        return {_log_level_key(): self.connection.log_level or MODERN_DEFAULT_LOG_LEVEL}

    async def set_log_level(self, level: str | None) -> None:
        """Send ``logging/setLevel`` if the server declares logging; a failure is a warning in the log.

        A 2026-07-28 server takes the level on each request instead (``request_meta``).
        """
        client, caps, connection = self.client, self.capabilities, self.connection
        if not level or caps is None or caps.logging is None or self.is_modern:
            return
        try:
            with warnings.catch_warnings():  # deprecated for 2026-07-28 only; this is an older server
                warnings.simplefilter("ignore")
                request = client.set_logging_level(level)
            await asyncio.wait_for(request, min(connection.config.timeout, OPTIONAL_REQUEST_TIMEOUT))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - an optional request never fails the connection
            error = map_error(exc, connection.config)
            connection.record(
                "error", f"logging/setLevel {level!r} failed: {error}; log messages come at the server's default level", "warning"
            )

    # ------------------------------------------------------------------ the level under every request

    async def request(self, fn: Callable[[Any], Awaitable[Any]], what: str = "a request") -> Any:
        """Run ``fn(client)`` and map its errors; a session the server forgot (HTTP 404) is renewed once."""
        connection = self.connection
        if _debug.isEnabledFor(logging.DEBUG):
            _debug.debug("%s: %s (MCP %s)", connection.name, what, self.protocol_version)
        try:
            return await fn(self.client)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - every error is mapped to one of ours
            if not session_lost(connection, exc):
                raise await connection.request_error(exc) from None
        await connection.renew()
        try:
            return await fn(connection.live().client)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - every error is mapped to one of ours
            raise await connection.request_error(exc) from None

    # ------------------------------------------------------------------ the three requests

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any],
        *,
        timeout: float | None,
        progress: Progress | None = None,
        task: bool = False,
        origin: Origin = "person",
        context: contextvars.Context | None = None,
        run: TaskRun | None = None,
        caller: Any = None,
    ) -> CallResult:
        """``tools/call`` of ``name`` (listed by this server), by the one policy; a ``CallResult`` (errors are raised).

        ``timeout`` bounds the call (None: no bound, for a background job);
        ``progress(value, total, message)`` hears progress notifications and a
        task's status, in ``context`` when given (the calling cell's);
        ``task=True`` asks for a task where the tool's ``taskSupport`` is
        optional; ``run`` is a background job's ``TaskRun`` to report into;
        ``caller`` is where the pre-call checks may ask the person (a top-level-await call's cell).
        A map row (``origin="map"``) asks for no progress notifications.
        """
        connection = self.connection
        spec = connection.catalog.tool(name)
        try:
            if self.checks:
                await self._check(ToolCall(connection.name, name, arguments, spec, origin, caller))
            # a map row or a background job asks for no progress notifications (each shows its own progress)
            on_progress = None if origin in ("map", "job") else _relay(connection, name, progress, context)
            if run is not None or as_task(connection, spec, task):
                raw = await self._task(name, arguments, timeout, progress, on_progress, context, run)
            else:
                raw = await self._plain(name, arguments, timeout, on_progress)
        except McpJupyterError as exc:
            with_context(exc, connection.name, name)
            raise
        return CallResult(raw, server=connection.name, tool=name)

    async def read_resource(self, uri: str, *, timeout: float) -> ReadResult:
        """``resources/read`` of ``uri``."""
        meta = self.request_meta()
        try:
            result = await self.request(lambda c: asyncio.wait_for(c.read_resource(uri, meta=meta), timeout), "resources/read")
        except McpJupyterError as exc:
            with_context(exc, self.connection.name)
            raise
        return ReadResult(result, server=self.connection.name, uri=uri)

    async def get_prompt(self, name: str, arguments: dict[str, Any], *, timeout: float) -> PromptResult:
        """``prompts/get`` of ``name`` with ``arguments`` (values that are not strings are sent as JSON)."""
        args = {k: v if isinstance(v, str) else to_json(v) for k, v in arguments.items()}
        meta = self.request_meta()
        try:
            result = await self.request(lambda c: asyncio.wait_for(c.get_prompt(name, args, meta=meta), timeout), "prompts/get")
        except McpJupyterError as exc:
            with_context(exc, self.connection.name)
            raise
        return PromptResult(result, server=self.connection.name, name=name)

    # ------------------------------------------------------------------ the two ways a tool call goes out

    async def _check(self, call: ToolCall) -> None:
        for check in list(self.checks):
            outcome = check(call)
            if outcome is not None and asyncio.iscoroutine(outcome):
                await outcome

    async def _plain(self, name: str, arguments: dict[str, Any], limit: float | None, on_progress: Any) -> Any:
        meta = self.request_meta()
        try:
            return await self.request(
                lambda c: c.call_tool(name, arguments, read_timeout_seconds=limit, progress_callback=on_progress, meta=meta), "tools/call"
            )
        except RequestTimeout:
            raise RequestTimeout(
                f"{self.connection.name}.{name} got no answer within {limit:g} s; the server was told to cancel it "
                "and the connection stays open; raise the limit with --timeout (timeout= in Python)"
            ) from None

    async def _task(
        self,
        name: str,
        arguments: dict[str, Any],
        limit: float | None,
        progress: Progress | None,
        on_progress: Any,
        context: contextvars.Context | None,
        run: TaskRun | None,
    ) -> Any:
        """A task: created, followed and collected (``core/tasks/calls.py``); its status goes to ``progress``."""
        if run is None:
            run = TaskRun(self.connection.name, name, limit)
        if progress is not None:
            run.on_status = _status(progress, context)
        return await task_calls.call(self.connection, name, arguments, run, on_progress)


_pending: set[asyncio.Future[Any]] = set()  # async status callbacks still running


def _status(progress: Progress, context: contextvars.Context | None) -> Callable[..., None]:
    """A task's status for ``progress`` (in the caller's context); an async callback is run, not dropped."""

    def on_status(*args: Any) -> None:
        result = context.run(progress, *args) if context is not None else progress(*args)
        if asyncio.iscoroutine(result):
            future = asyncio.ensure_future(result)
            _pending.add(future)
            future.add_done_callback(_pending.discard)

    return on_status


def _relay(connection: Connection, tool: str, progress: Progress | None, context: contextvars.Context | None) -> Any:
    """A progress callback that records in the log and tells ``progress`` (in the caller's context)."""

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        shown_total = f"{total:g}" if total is not None else "?"
        connection.record("progress", f"{tool}: {value:g}/{shown_total} {message or ''}".strip(), data=(value, total, message))
        if progress is not None:
            # run in the caller's context, so output goes to the calling cell
            result = context.run(progress, value, total, message) if context else progress(value, total, message)
            if asyncio.iscoroutine(result):
                await result

    return on_progress


@functools.cache
def _modern_versions() -> frozenset[str]:
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS

    return frozenset(MODERN_PROTOCOL_VERSIONS)


@functools.cache
def _log_level_key() -> str:
    from mcp_types import LOG_LEVEL_META_KEY

    return LOG_LEVEL_META_KEY
