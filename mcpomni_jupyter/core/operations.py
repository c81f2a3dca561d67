"""What each operation of the Python API does, on the loop thread.

``MCPManager`` is the public facade: it offers each operation as a sync method
(which hops to the loop thread and waits) and an ``a``-prefixed async twin (for
top-level ``await``); both run the coroutines here.  A request finds its server
(``resolve``) and goes out through the server's session, the one request
primitive (``core/session/session.py``).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core import resolve
from mcpomni_jupyter.core.session.session import Origin, Progress
from mcpomni_jupyter.core.session.state import SETTLE_GRACE, SHUTDOWN_TIMEOUT, STOP_GRACE, State
from mcpomni_jupyter.defaults import REQUEST_TIMEOUT
from mcpomni_jupyter.errors import LookupFailed, ReauthorizationNeeded
from mcpomni_jupyter.results import CallResult, PromptResult, ReadResult

if TYPE_CHECKING:
    from mcpomni_jupyter.core.registry import Registry
    from mcpomni_jupyter.core.requests.handlers import Caller
    from mcpomni_jupyter.core.session.connection import Connection


@dataclass
class Settings:
    """The manager's own settings (the OAuth ones live in ``AuthOptions``)."""

    timeout: float = REQUEST_TIMEOUT  # a tool call, read or prompt
    log_level: str | None = None  # asked of every server that declares logging


class Operations:
    """The async bodies of the manager's methods."""

    def __init__(self, registry: Registry, settings: Settings) -> None:
        self.registry = registry
        self.settings = settings

    def select(self, names: Iterable[str]) -> list[Connection]:
        """The named servers, or every enabled one when none is named."""
        names = list(names)
        if not names:
            return [c for c in self.registry.snapshot().values() if not c.config.disabled]
        return [self.registry.get(n) for n in names]

    # ------------------------------------------------------------------ lifecycle

    async def connect(self, names: Iterable[str], wait: bool = False) -> list[Connection]:
        """Start the named servers concurrently; return once each is connected, failed or waiting for a person."""
        connections = self.select(names)
        for connection in connections:
            if connection.state in (State.DISCONNECTED, State.FAILED):
                await connection.start()
        # never wait on a person unless asked: a server that needs authorization settles as "auth required"
        await asyncio.gather(*(c.wait_settled(c.config.timeout + SETTLE_GRACE) for c in connections))
        if wait:
            await asyncio.gather(*(c.wait_final(c.config.timeout + c.auth.timeout + SETTLE_GRACE) for c in connections))
        return connections

    async def disconnect(self, names: Iterable[str]) -> None:
        names = list(names)
        connections = self.select(names) if names else list(self.registry.snapshot().values())
        await asyncio.gather(*(c.stop() for c in connections))

    async def refresh(self, names: Iterable[str]) -> None:
        """Re-list connected servers (reconnecting one whose tokens died); (re)connect the others."""
        connections = self.select(names)
        for c in connections:
            if c.state is State.CONNECTED:
                try:
                    await c.request(_relist(c))
                except ReauthorizationNeeded as exc:  # reconnected already: it now waits for the person
                    c.notices.append(str(exc))
                    continue
                c.notify()
            elif c.state in (State.DISCONNECTED, State.FAILED):
                await c.start()
        await asyncio.gather(*(c.wait_settled(c.config.timeout + SETTLE_GRACE) for c in connections))

    async def stop_all(self, oauth: Any) -> None:
        """Close every connection, then the callback servers (kernel exit)."""
        live = [c for c in self.registry.snapshot().values() if c.state is not State.DISCONNECTED]
        await asyncio.wait_for(asyncio.gather(*(c.stop(STOP_GRACE) for c in live), return_exceptions=True), SHUTDOWN_TIMEOUT)
        await oauth.stop()

    async def set_log_level(self, level: str | None, names: Iterable[str]) -> None:
        for c in self.select(names):
            await c.apply_log_level(level)  # only where the server declares logging; never fails

    # ------------------------------------------------------------------ requests

    async def call(
        self,
        tool: str,
        arguments: dict[str, Any],
        server: str | None,
        timeout: float | None,
        progress: Progress | None = None,
        context: contextvars.Context | None = None,
        caller: Caller | None = None,
        task: bool = False,
        origin: Origin = "person",
    ) -> CallResult:
        connection, spec = await resolve.resolve(self.registry, "tools", tool, server, self.settings.timeout)
        if caller is not None:  # a top-level-await call: the server may ask the person a question
            connection.interactive_callers.append(caller)
        try:
            return await connection.live().call_tool(
                spec.name,
                arguments,
                timeout=timeout or self.settings.timeout,
                progress=progress,
                task=task,
                origin=origin,
                context=context,
                caller=caller,
            )
        finally:
            if caller is not None:
                connection.interactive_callers.remove(caller)

    async def read(self, uri: str, server: str | None, timeout: float | None) -> ReadResult:
        connection = await resolve.resource_server(self.registry, uri, server, self.settings.timeout)
        return await connection.live().read_resource(uri, timeout=timeout or self.settings.timeout)

    async def prompt(self, name: str, arguments: dict[str, Any], server: str | None, timeout: float | None) -> PromptResult:
        connection, spec = await resolve.resolve(self.registry, "prompts", name, server, self.settings.timeout)
        return await connection.live().get_prompt(spec.name, arguments, timeout=timeout or self.settings.timeout)

    async def listing(self, kind: str, server: str | None) -> list[tuple[Connection, Any]]:
        return await resolve.listing(self.registry, kind, server, self.settings.timeout)

    async def subscribe(self, uri: str, server: str | None, on: bool) -> str:
        import warnings

        connection = await resolve.resource_server(self.registry, uri, server, self.settings.timeout)
        caps = connection.capabilities
        if caps is None or caps.resources is None or not caps.resources.subscribe:
            raise LookupFailed(
                f"server {connection.name!r} does not offer resource subscriptions "
                "(its resources.subscribe capability is off); poll with %mcp read instead"
            )

        if connection.is_modern:  # 2026-07-28: the URIs go in the subscriptions/listen filter
            await connection.listener.watch(uri, on)
            return connection.name

        def request(client: Any) -> Any:
            with warnings.catch_warnings():  # deprecated for 2026-07-28 only; this is an older server
                warnings.simplefilter("ignore")
                coro = client.subscribe_resource(uri) if on else client.unsubscribe_resource(uri)
            return asyncio.wait_for(coro, self.settings.timeout)

        await connection.request(request, "resources/subscribe" if on else "resources/unsubscribe")
        return connection.name


def _relist(connection: Connection) -> Callable[[Any], Any]:
    """A request that re-lists everything ``connection`` offers."""

    def request(client: Any) -> Any:
        return connection.catalog.list(cache_mode="refresh")

    return request
