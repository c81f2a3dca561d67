"""The listings part of the manager's Python API: tools, resources, templates and prompts, as tables.

A base class of ``MCPManager`` whose methods are typed against it (``self:
MCPManager``).  Each listing is a real method (so type checkers, IDEs, ``?``
and ``help()`` see it), sync and ``a``-prefixed async, over one ``_table``.
App-only tools (MCP Apps visibility ``["app"]``) are for apps, not for the
listings, unless ``everything=True``.  ``mcp.tools`` (the property in
``manager.py``) lists when called and reaches the tool callables as attributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.apps.app import for_model
from mcpomni_jupyter.results import PromptList, ResourceList, Table, TemplateList, ToolList

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager

_TABLES: dict[str, type[Table]] = {"tools": ToolList, "resources": ResourceList, "templates": TemplateList, "prompts": PromptList}


def _table(kind: str, pairs: list[tuple[Any, Any]], everything: bool) -> Table:
    if kind == "tools" and not everything:
        pairs = [(c, t) for c, t in pairs if for_model(t)]
    return _TABLES[kind](pairs)


class ListingMethods:
    """``list_tools``, ``resources``, ``templates``, ``prompts`` and their async twins; mixed into ``MCPManager``."""

    def _listing(self: MCPManager, kind: str, server: str | None, everything: bool) -> Table:
        return _table(kind, self._run(self._ops.listing(kind, server), self._budget(), f"listing {kind}"), everything)

    async def _alisting(self: MCPManager, kind: str, server: str | None, everything: bool) -> Table:
        return _table(kind, await self.loop.arun(self._ops.listing(kind, server)), everything)

    def list_tools(self: MCPManager, server: str | None = None, *, everything: bool = False) -> Table:
        """The tools of one server, or of every connected server (``everything=True``: app-only tools too)."""
        return self._listing("tools", server, everything)

    async def atools(self: MCPManager, server: str | None = None, *, everything: bool = False) -> Table:
        """The tools of one server, or of every connected server (awaitable)."""
        return await self._alisting("tools", server, everything)

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
