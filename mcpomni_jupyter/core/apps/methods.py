"""The MCP Apps part of the manager's Python API: advertise the extension, load a call's app, answer an app's requests.

A base class of ``MCPManager`` (like ``auth_api``): the notebook's UI turns
the extension on where a front end can render apps (``enable_apps``); after a
call, ``app_for`` reads the tool's ``ui://`` resource; ``app_request`` carries
an app's ``tools/call`` and ``resources/read`` to its own server without
blocking the kernel (a future, resolved on the loop thread).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.apps.app import App, app_call, app_read, load_app, resource_uri
from mcpomni_jupyter.core.session.state import HOP_GRACE
from mcpomni_jupyter.errors import LookupFailed

if TYPE_CHECKING:
    from mcpomni_jupyter.core.operations import Settings
    from mcpomni_jupyter.core.requests.handlers import ServerRequests
    from mcpomni_jupyter.core.session.connection import Connection
    from mcpomni_jupyter.results.results import CallResult


class AppMethods:
    """MCP Apps; mixed into ``MCPManager``, whose attributes it declares here."""

    requests: ServerRequests
    settings: Settings
    app_permissions: tuple[str, ...] = ()  # what an app may be granted of what it asks (camera, clipboardWrite, ...)

    def connection(self, name: str) -> Connection:
        raise NotImplementedError

    def _run(self, coro: Coroutine[Any, Any, Any], budget: float, what: str, tick: Any = None) -> Any:
        raise NotImplementedError

    def _background(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        raise NotImplementedError

    def enable_apps(self, on: bool = True) -> None:
        """Advertise MCP Apps (``io.modelcontextprotocol/ui``) to servers connected from now on: only where
        a front end renders them (the notebook's UI calls this); elsewhere a tool's text result shows."""
        self.requests.apps = on

    @property
    def apps_enabled(self) -> bool:
        return self.requests.apps

    def app_for(self, result: CallResult, timeout: float | None = None) -> App | None:
        """The app of the tool behind ``result`` (its ``ui://`` resource, read now); None when it has none."""
        connection = self.connection(result.server)
        tool = next((t for t in connection.tools if t.name == result.tool), None)
        if tool is None or resource_uri(tool) is None:  # most tools: answered here, no hop to the loop per call
            return None
        limit = timeout or self.settings.timeout
        return self._run(load_app(connection, result.tool, limit), limit + HOP_GRACE, f"reading the app of {result.tool!r}")

    def app_request(self, server: str, method: str, params: Any) -> concurrent.futures.Future[dict[str, Any]]:
        """An app's request to its server (``tools/call`` or ``resources/read``), answered in the background."""
        connection = self.connection(server)
        params = params if isinstance(params, dict) else {}
        limit = self.settings.timeout
        if method == "tools/call":
            return self._background(app_call(connection, params.get("name"), params.get("arguments"), limit))
        if method == "resources/read":
            return self._background(app_read(connection, params.get("uri"), limit))
        raise LookupFailed(f"an app may send tools/call and resources/read to its server, not {str(method)[:60]!r}")
