"""Finding the server behind a name: ``[SERVER.]TOOL``, ``[SERVER.]PROMPT``, a resource URI.

Runs on the loop thread.  A configured server that is not connected is
connected on first use; one that is connecting is waited for; one waiting for
authorization is waited for up to the request timeout (so "Run All" works).
``SERVER.`` may be left out when only one connected server has the name; when
several do, the error lists the candidates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.session.state import SETTLE_GRACE, State
from mcpomni_jupyter.errors import AuthError, LookupFailed, ServerConnectionError, did_you_mean

if TYPE_CHECKING:
    from mcpomni_jupyter.core.registry import Registry
    from mcpomni_jupyter.core.session.connection import Connection


async def ready(connection: Connection, wait: float) -> Connection:
    """``connection``, connected: started if down, waited for if connecting or (up to ``wait``) authorizing."""
    if connection.state is State.DISCONNECTED:
        await connection.start()
    if connection.state is State.CONNECTING:
        await connection.wait_settled(connection.config.timeout + SETTLE_GRACE)
    if connection.state is State.AUTH_REQUIRED:
        await connection.wait_final(wait)
        if connection.state is State.AUTH_REQUIRED:
            raise AuthError(
                f"server {connection.name!r} is waiting for authorization: click Authorize, open the link, "
                f"or run %mcp auth {connection.name}"
            )
    connection.live()
    return connection


async def settle_all(registry: Registry, wait: float) -> list[Connection]:
    """The connected servers, after waiting for those still connecting (and, up to ``wait``, authorizing)."""
    import asyncio

    servers = registry.snapshot().values()
    busy = [c for c in servers if c.state in (State.CONNECTING, State.AUTH_REQUIRED)]
    if busy:
        await asyncio.gather(*(c.wait_settled(c.config.timeout + SETTLE_GRACE) for c in busy))
        waiting = [c for c in busy if c.state is State.AUTH_REQUIRED]
        if waiting:
            await asyncio.gather(*(c.wait_final(wait) for c in waiting))
    return [c for c in registry.snapshot().values() if c.state is State.CONNECTED]


def find(connection: Connection, kind: str, name: str) -> Any:
    """The tool or prompt ``name`` of ``connection`` (``kind`` is "tools" or "prompts")."""
    return connection.catalog.find(kind, name)


async def resolve(registry: Registry, kind: str, spec: str, server: str | None, wait: float) -> tuple[Connection, Any]:
    """The connection and item behind ``[SERVER.]NAME`` (a tool or a prompt)."""
    if server is not None:
        connection = await ready(registry.get(server), wait)
        return connection, find(connection, kind, spec)
    names = registry.snapshot()
    for i, ch in enumerate(spec):  # SERVER.NAME, trying every dot (server and tool names may both hold dots)
        if ch == "." and spec[:i] in names and spec[i + 1 :]:
            connection = await ready(names[spec[:i]], wait)
            return connection, find(connection, kind, spec[i + 1 :])
    connected = await settle_all(registry, wait)
    if not connected:
        raise ServerConnectionError(f"no server is connected; run %mcp connect (or name the server: SERVER.{spec})")
    matches = [(c, item) for c in connected for item in getattr(c, kind) if item.name == spec]
    if len(matches) == 1:
        return matches[0]
    noun = kind[:-1]
    if matches:
        raise LookupFailed(f"{noun} {spec!r} is offered by several servers; name one: {', '.join(f'{c.name}.{spec}' for c, _ in matches)}")
    every = [item.name for c in connected for item in getattr(c, kind)]
    raise LookupFailed(f"unknown {noun} {spec!r}{did_you_mean(spec, every)}; see %mcp {kind} for the {kind} of the connected servers")


async def resource_server(registry: Registry, uri: str, server: str | None, wait: float) -> Connection:
    """The server that offers ``uri``: named, or found by its listed resources, then its templates."""
    if server is not None:
        return await ready(registry.get(server), wait)
    connected = await settle_all(registry, wait)
    owners = [c for c in connected if any(str(r.uri) == uri for r in c.resources)]
    if not owners:
        owners = [c for c in connected if any(uri.startswith(str(t.uri_template).split("{", 1)[0]) for t in c.templates)]
    if not owners:
        owners = [c for c in connected if c.capabilities is not None and c.capabilities.resources]
    if len(owners) == 1:
        return owners[0]
    if not owners:
        raise LookupFailed(f"no connected server offers resource {uri!r}; see %mcp resources, or add --server NAME")
    raise LookupFailed(f"resource {uri!r} may come from {', '.join(c.name for c in owners)}; name one with --server NAME")


async def listing(registry: Registry, kind: str, server: str | None, wait: float) -> list[tuple[Connection, Any]]:
    """(connection, item) for every ``kind`` item of one server, or of every connected server.

    A 2026-07-28 server's list is re-listed when its cache hint says it is
    stale (a fresh one costs no request); one that gave no lifetime (ttlMs
    absent or 0: the client *may* fetch it every time) is kept current by its
    list-changed events while its ``subscriptions/listen`` stream is open.  An
    older server's list is kept current by its list-changed notifications.
    """
    if server is not None:
        connections = [await ready(registry.get(server), wait)]
    else:
        connections = await settle_all(registry, wait)
        if not connections:
            raise ServerConnectionError("no server is connected; run %mcp connect")
    group = "resources" if kind == "templates" else kind
    for c in connections:
        if c.is_modern and (c.catalog.timed(group) or not c.listener.keeps_current(group)):
            await c.catalog.list((group,), strict=False, cache_mode="use")
    return [(c, item) for c in connections for item in getattr(c, kind)]
