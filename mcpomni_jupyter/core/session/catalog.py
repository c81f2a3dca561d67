"""What a server offers (tools, resources, templates, prompts), listed per its capabilities.

Listing follows the server's declared capabilities.  At connect and on
list-changed notifications a listing that fails is a warning in the log and
leaves that list empty: the connection stays.  List-changed notifications are
coalesced: a burst within ``RELIST_DEBOUNCE`` becomes one re-listing, and at
most one re-listing is in flight and one pending per kind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.session.errormap import map_error
from mcpomni_jupyter.errors import LookupFailed, did_you_mean

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection

RELIST_DEBOUNCE = 0.1  # list-changed notifications arriving this close together cause one re-listing
MAX_PAGES = 1000  # a server that paginates forever is cut off
KINDS = ("tools", "resources", "prompts")
# kind -> (list, the session's listing method, the result's attribute, the request's name)
_PLAN = {
    "tools": [("tools", "list_tools", "tools", "tools/list")],
    "resources": [
        ("resources", "list_resources", "resources", "resources/list"),
        ("templates", "list_resource_templates", "resource_templates", "resources/templates/list"),
    ],
    "prompts": [("prompts", "list_prompts", "prompts", "prompts/list")],
}


class Catalog:
    """The lists of one connection and the re-listing that keeps them current."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.tools: list[Any] = []
        self.resources: list[Any] = []
        self.templates: list[Any] = []
        self.prompts: list[Any] = []
        self._relisting: dict[str, asyncio.Task[None]] = {}
        self._pending: set[str] = set()
        self._index: dict[str, tuple[list[Any], dict[str, Any]]] = {}  # kind -> (the list it indexes, name -> item)
        self.kept: dict[tuple[str, str], Any] = {}  # what was read for these lists (a tool's app), until they are listed again
        self.ttls: dict[str, int | None] = {}  # list -> the server's cache hint (ttlMs, the shortest of its pages; None: none given)

    def find(self, kind: str, name: str) -> Any:
        """The tool or prompt ``name`` (``kind`` is "tools" or "prompts"), or a one-line ``LookupFailed`` naming what there is.

        An index by name, rebuilt when the list is replaced (a listing), not per call.
        """
        items = getattr(self, kind)
        index = self._index.get(kind)
        if index is None or index[0] is not items:
            by_name: dict[str, Any] = {}
            for item in items:
                by_name.setdefault(item.name, item)  # the first of a name, as the server listed it
            index = self._index[kind] = (items, by_name)
        found = index[1].get(name)
        if found is not None:
            return found
        names = list(index[1])
        server = self._connection.name
        raise LookupFailed(
            f"server {server!r} has no {kind[:-1]} {name!r}{did_you_mean(name, names)}; it has: {', '.join(names[:50]) or 'none'}"
            + (f" and {len(names) - 50} more" if len(names) > 50 else ""),
            server=server,
        )

    def timed(self, kind: str) -> bool:
        """Whether the server gave the ``kind`` list (tools, prompts, resources) a lifetime (a positive ttlMs) to honour."""
        return any((self.ttls.get(plan[0]) or 0) > 0 for plan in _PLAN[kind])

    def tool(self, name: str) -> Any:
        """The listed tool ``name`` (``LookupFailed`` if there is none)."""
        return self.find("tools", name)

    def clear(self) -> None:
        """Forget every list and stop any re-listing (the session is gone)."""
        for task in self._relisting.values():
            task.cancel()
        self._relisting.clear()
        self._pending.clear()
        self.kept.clear()
        self.tools, self.resources, self.templates, self.prompts = [], [], [], []

    async def list(self, which: tuple[str, ...] = KINDS, strict: bool = True, cache_mode: str = "use") -> None:
        """(Re)list what the server offers; ``strict=False``: a failure is a warning, the list stays empty.

        Through the SDK client's response cache: with ``cache_mode="use"`` a
        listing still fresh by the server's cache hints (2026-07-28) costs no
        request; ``"refresh"`` always asks.
        """
        c = self._connection
        client, caps = c.client, c.capabilities
        if client is None or caps is None:
            return
        declared = {"tools": caps.tools, "resources": caps.resources, "prompts": caps.prompts}
        plans = []
        for kind in which:
            for plan in _PLAN[kind]:
                if declared[kind]:
                    plans.append(plan)
                else:
                    setattr(self, plan[0], [])
        if cache_mode == "refresh" and ("tools" in which or "resources" in which):
            self.kept.clear()  # listed again (at connect, on a list-changed notification, %mcp refresh): a tool's app may have changed
        # concurrently: a connect waits for one round trip, not four
        await asyncio.gather(*(self._list_one(client, plan, strict, cache_mode) for plan in plans))

    async def _list_one(self, client: Any, plan: tuple[str, str, str, str], strict: bool, cache_mode: str) -> None:
        c = self._connection
        attr, method, field, request = plan
        try:
            items, self.ttls[attr] = await asyncio.wait_for(_paged(getattr(client, method), field, cache_mode), c.config.timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if strict:
                raise
            c.record("error", f"{request} failed: {map_error(exc, c.config)}; run %mcp refresh {c.name} to try again", "warning")
            return
        setattr(self, attr, items)

    def changed(self, kind: str) -> None:
        """A list-changed notification: re-list ``kind`` soon, coalesced with any other of its kind."""
        running = self._relisting.get(kind)
        if running is not None and not running.done():
            self._pending.add(kind)
            return
        # a task of its own: this runs in the dispatcher's task, which must stay free to deliver the answers
        self._relisting[kind] = asyncio.get_running_loop().create_task(self._relist(kind))

    async def _relist(self, kind: str) -> None:
        c = self._connection
        while True:
            await asyncio.sleep(RELIST_DEBOUNCE)  # a burst of notifications becomes one re-listing
            self._pending.discard(kind)
            await self.list((kind,), strict=False, cache_mode="refresh")
            c.record(kind, f"{kind[:-1]} list changed; re-listed ({len(getattr(self, kind))} now)")
            c.notify()  # observers (the panel) see the new counts: once per re-listing
            if kind not in self._pending:
                return


async def _paged(method: Callable[..., Awaitable[Any]], field: str, cache_mode: str) -> tuple[list[Any], int | None]:
    """Every page's items, and the shortest cache hint (ttlMs) the pages gave (None: none did)."""
    items: list[Any] = []
    ttls: list[int] = []
    cursor = None
    for _ in range(MAX_PAGES):
        result = await method(cursor=cursor, cache_mode=cache_mode)
        items.extend(getattr(result, field))
        if isinstance(getattr(result, "ttl_ms", None), int):
            ttls.append(result.ttl_ms)
        cursor = result.next_cursor
        if not cursor:
            break
    return items, (min(ttls) if ttls else None)
