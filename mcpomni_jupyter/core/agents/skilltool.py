"""Skills for a model: one ``load_skill`` tool whose description lists the skills the servers offer; nothing is prefetched.

The listing (``skills/list``: names and descriptions from the entries) is
all the model sees at first.  A skill's instructions are read only when the
model calls ``load_skill(name)``, through ``manager.askill``, which checks the
declared size, the sha256 digest and the frontmatter; a skill that fails a
check is refused with its one line, which the model reads as a retry prompt.
What it gets is the skill's ``context``: the text tagged with its server and
marked as coming from that server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.agents.models import require
from mcpomni_jupyter.errors import McpJupyterError

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager

LISTED = 100  # skills named in the tool's description
DESCRIPTION_CHARS = 200  # of each skill's description there
TOOL_NAMES = ("load_skill", "mcp_load_skill")


async def skill_toolset(manager: MCPManager, servers: Sequence[str] | None, taken: set[str]) -> Any:
    """A toolset with ``load_skill``, or None when no server in ``servers`` offers a skill that may be loaded."""
    try:
        listed = await manager.askills()
    except McpJupyterError:
        return None
    usable = [s for s in listed if s.problem is None and (servers is None or s.server in servers)][:LISTED]
    if not usable:
        return None
    toolsets = require("pydantic_ai.toolsets", "%%mcp ask")
    exceptions = require("pydantic_ai.exceptions", "%%mcp ask")
    catalog = "\n".join(f"- {s.server}.{s.name}: {' '.join(s.description.split())[:DESCRIPTION_CHARS]}" for s in usable)

    async def load_skill(name: str) -> str:
        try:
            loaded = await manager.askill(name)
        except McpJupyterError as exc:
            raise exceptions.ModelRetry(str(exc)) from None
        return str(loaded.context)

    name = next(n for n in TOOL_NAMES if n not in taken)
    description = (
        f"Load a skill's instructions (name it SERVER.NAME) when the task needs them. The skills the connected servers offer:\n{catalog}"
    )
    toolset = toolsets.FunctionToolset()
    toolset.add_function(load_skill, name=name, description=description)
    return toolset
