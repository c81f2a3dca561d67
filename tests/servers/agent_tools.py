"""Tools the agents' tests need of the basic server (tests/servers/basic.py), on with MCPJ_AGENT_TOOLS=1.

``route`` takes two ``Point`` objects, so its input schema has ``$defs`` (a
schema the tool lists must pass on as sent); ``picture`` answers with text
and a PNG (images in each API's answer).
"""

from __future__ import annotations

import base64
from typing import Any

from mcp.server import MCPServer
from mcp_types import ImageContent, TextContent, ToolAnnotations
from pydantic import BaseModel

# a 1x1 PNG
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e1a4b2a80000000049454e44ae426082"
    )
).decode()


class Point(BaseModel):
    x: float
    y: float


def add_agent_tools(server: MCPServer) -> None:
    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def route(start: Point, end: Point) -> str:
        """The distance from start to end (points with x and y)."""
        return f"{((end.x - start.x) ** 2 + (end.y - start.y) ** 2) ** 0.5:g}"

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def picture() -> list[Any]:
        """A caption and a one-pixel PNG."""
        return [TextContent(type="text", text="a red dot"), ImageContent(type="image", data=PNG, mime_type="image/png")]
