"""After a ``%mcp call``: the tool's MCP App, displayed under the cell when a front end can render it."""

from __future__ import annotations

import sys
from typing import Any

from mcpomni_jupyter.errors import McpJupyterError
from mcpomni_jupyter.magics.command import Context
from mcpomni_jupyter.redact import redact


def show_app(ctx: Context, result: Any, arguments: dict[str, Any]) -> None:
    """Display the app of ``result``'s tool, if it has one; a failure is one line, and the text result still shows."""
    if not ctx.widgets or not ctx.manager.apps_enabled:
        return
    from IPython.display import display

    from mcpomni_jupyter.ui.apps import app_view

    try:
        view = app_view(ctx.manager, result, arguments, ctx.manager.app_permissions)
    except McpJupyterError as exc:
        print(f"mcp: {redact(str(exc))}", file=sys.stderr)
        return
    if view is not None:
        display(view)
