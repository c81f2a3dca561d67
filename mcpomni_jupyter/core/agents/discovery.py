"""Many tools, one model: past a threshold the model first gets a search tool over the catalog, and the tools it finds.

pydantic-ai's ``ToolSearch`` capability hides "deferred" tools until a
search reveals them (natively where the provider can, through a local
``search_tools`` tool elsewhere).  ``tool_search(manager, ...)`` gives that
capability with our ranking (``search.search_tools``, the one ``%mcp tools
--search`` uses: names over titles over descriptions), so a person and a
model find the same tools for the same words.  ``%%mcp ask`` adds it when
the servers offer more than ``MCPMagics.tool_search_over`` tools; your own
``Agent`` can too: ``Agent(model, toolsets=[mcp.toolset()], capabilities=[mcp.tool_search()])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.agents.models import require
from mcpomni_jupyter.core.agents.search import index_for
from mcpomni_jupyter.errors import ArgumentError

if TYPE_CHECKING:
    from mcpomni_jupyter.core.agents.naming import ModelTool
    from mcpomni_jupyter.core.manager import MCPManager

MAX_RESULTS = 10  # tools one search reveals


def rank(tools: Sequence[ModelTool], queries: Sequence[str], offered: Sequence[str], limit: int = MAX_RESULTS) -> list[str]:
    """The model names of ``offered`` tools that best match ``queries``, best first."""
    wanted = set(offered)
    entries = [(t.server, t.spec) for t in tools if t.name in wanted]
    by_key = {(t.server, t.tool): t.name for t in tools}
    index = index_for(entries)
    names: list[str] = []
    for query in queries:
        if not isinstance(query, str) or not query.strip():
            continue
        try:
            hits = index.search(query[:1_000], limit)
        except ArgumentError:  # no words in it: nothing found, the model may ask again
            continue
        for hit in hits:
            found = by_key.get((hit.server, hit.name))
            if found is not None and found not in names:
                names.append(found)
    return names[:limit]


def tool_search(manager: MCPManager, servers: Any = None, *, tools: Any = None, limit: int = MAX_RESULTS) -> Any:
    """pydantic-ai's ``ToolSearch`` capability over the servers' tools, with our ranking."""
    capabilities = require("pydantic_ai.capabilities", "tool search")

    async def strategy(ctx: Any, queries: Sequence[str], definitions: Sequence[Any]) -> list[str]:
        model_tools = await manager.amodel_tools(servers, tools=tools)
        return rank(model_tools, list(queries), [d.name for d in definitions], limit)

    def ours(ctx: Any, definition: Any) -> bool:  # only the servers' tools are deferred, not the caller's own
        return isinstance(definition.metadata, dict) and "qualified" in definition.metadata

    return capabilities.ToolSearch(tools=ours, strategy=strategy, max_results=limit)
