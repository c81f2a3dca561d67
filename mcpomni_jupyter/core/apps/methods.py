"""The MCP Apps part of the manager's Python API: advertise the extension, load a call's app, answer an app's requests.

A base class of ``MCPManager`` (each method typed against it): the notebook's
UI turns the extension on where a front end can render apps (``enable_apps``);
after a call, ``app_for`` gives the tool's app (its ``ui://`` resource, read
once and kept until the server's lists change); an app's own ``tools/call``
and ``resources/read`` go through ``manager.ui.app_request`` (``core/host.py``)
and the request primitive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcpomni_jupyter.core.apps.app import App, load_app, resource_uri
from mcpomni_jupyter.core.session.state import HOP_GRACE

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager
    from mcpomni_jupyter.results.results import CallResult


class AppMethods:
    """MCP Apps; mixed into ``MCPManager`` (each method typed against it)."""

    app_permissions: tuple[str, ...] = ()  # what an app may be granted of what it asks (camera, clipboardWrite, ...)

    def enable_apps(self: MCPManager, on: bool = True) -> None:
        """Advertise MCP Apps (``io.modelcontextprotocol/ui``) to servers connected from now on: only where
        a front end renders them (the notebook's UI calls this); elsewhere a tool's text result shows."""
        self.requests.apps = on

    @property
    def apps_enabled(self: MCPManager) -> bool:
        return self.requests.apps

    def app_for(self: MCPManager, result: CallResult, timeout: float | None = None) -> App | None:
        """The app of the tool behind ``result`` (its ``ui://`` resource, read now); None when it has none."""
        connection = self.connection(result.server)
        tool = next((t for t in connection.tools if t.name == result.tool), None)
        if tool is None or resource_uri(tool) is None:  # most tools: answered here, no hop to the loop per call
            return None
        kept = connection.catalog.kept.get(("app", result.tool))
        if kept is not None:  # read before, and the server's lists have not changed since: no 5 MB read per call
            return kept
        limit = timeout or self.settings.timeout
        return self._run(load_app(connection, result.tool, limit), limit + HOP_GRACE, f"reading the app of {result.tool!r}")
