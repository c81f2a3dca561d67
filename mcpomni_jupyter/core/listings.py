"""The listings part of the manager's Python API: tools, resources, templates and prompts, as tables.

A base class of ``MCPManager`` whose methods are typed against it (``self:
MCPManager``).  Each listing is a real method (so type checkers, IDEs, ``?``
and ``help()`` see it), sync and ``a``-prefixed async, over one ``_table``.
App-only tools (MCP Apps visibility ``["app"]``) are for apps, not for the
listings, unless ``everything=True``.  ``mcp.tools`` (the property in
``manager.py``) lists when called and reaches the tool callables as attributes.
``search=`` ranks the tools for a few words instead (``core/agents/search.py``,
the ranking a model's tool search uses too) and keeps the best ``limit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.agents.search import check_search, search_tools
from mcpomni_jupyter.core.apps.app import for_model
from mcpomni_jupyter.results import PromptList, ResourceList, Table, TemplateList, ToolList

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager

_TABLES: dict[str, type[Table]] = {"tools": ToolList, "resources": ResourceList, "templates": TemplateList, "prompts": PromptList}


def _table(kind: str, pairs: list[tuple[Any, Any]], everything: bool, search: str | None = None, limit: int = 20) -> Table:
    if kind == "tools" and not everything:
        pairs = [pair for pair in pairs if for_model(pair[1])]
    if search is None:
        return _TABLES[kind](pairs)
    hits = search_tools([(c.name, t) for c, t in pairs], search, limit)  # the index is built once per catalog
    found = ToolList([(hit.server, hit.tool) for hit in hits])
    found.empty = f"no tool matches {search[:200]!r}"
    return found


class ListingMethods:
    """``list_tools``, ``resources``, ``templates``, ``prompts`` and their async twins; mixed into ``MCPManager``."""

    def _listing(self: MCPManager, kind: str, server: str | None, everything: bool, search: str | None = None, limit: int = 20) -> Table:
        if search is not None:
            check_search(search, limit)  # before listing: a bad query connects nothing
        pairs = self._run(self._ops.listing(kind, server), self._budget(), f"listing {kind}")
        return _table(kind, pairs, everything, search, limit)

    async def _alisting(
        self: MCPManager, kind: str, server: str | None, everything: bool, search: str | None = None, limit: int = 20
    ) -> Table:
        if search is not None:
            check_search(search, limit)
        return _table(kind, await self.loop.arun(self._ops.listing(kind, server)), everything, search, limit)

    def list_tools(
        self: MCPManager, server: str | None = None, *, everything: bool = False, search: str | None = None, limit: int = 20
    ) -> Table:
        """The tools of one server, or of every connected server (``everything=True``: app-only tools too).

        ``search="read file"``: only the best ``limit`` tools for those words,
        best first (names count most, then titles, then descriptions;
        ``"fs.read"`` searches server ``fs``).  An empty search is an ``ArgumentError``.
        """
        return self._listing("tools", server, everything, search, limit)

    async def atools(
        self: MCPManager, server: str | None = None, *, everything: bool = False, search: str | None = None, limit: int = 20
    ) -> Table:
        """The tools of one server, or of every connected server, or the best ``limit`` for ``search`` (awaitable)."""
        return await self._alisting("tools", server, everything, search, limit)

    def resources(self: MCPManager, server: str | None = None) -> Table:
        """The resources of one server, or of every connected server."""
        return self._listing("resources", server, False)

    async def aresources(self: MCPManager, server: str | None = None) -> Table:
        """The resources of one server, or of every connected server (awaitable)."""
        return await self._alisting("resources", server, False)

    def templates(self: MCPManager, server: str | None = None) -> Table:
        """The resource templates of one server, or of every connected server."""
        return self._listing("templates", server, False)

    async def atemplates(self: MCPManager, server: str | None = None) -> Table:
        """The resource templates of one server, or of every connected server (awaitable)."""
        return await self._alisting("templates", server, False)

    def prompts(self: MCPManager, server: str | None = None) -> Table:
        """The prompts of one server, or of every connected server."""
        return self._listing("prompts", server, False)

    async def aprompts(self: MCPManager, server: str | None = None) -> Table:
        """The prompts of one server, or of every connected server (awaitable)."""
        return await self._alisting("prompts", server, False)
