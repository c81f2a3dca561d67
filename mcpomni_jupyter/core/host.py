"""The UI's ports: what a front end registers with the manager (``UiHost``), and what its widgets do through it (``UiPort``).

The core never imports a widget.  A UI (``ui.install``) registers one
``UiHost`` with ``manager.register_ui(host)``: how a server's question is
asked in a form, how a page link is shown in the calling cell, how a ``map``
shows its progress and a background job its live line.  Its widgets act
through ``manager.ui`` (a ``UiPort``): the panel's and the Authorize row's
buttons, which must never block the kernel (each returns a future), the relay
bridge's reports, and an MCP App's requests.  So the manager's own surface is
the Python API a person uses, not the plumbing between it and its widgets.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.session.state import HOP_GRACE
from mcpomni_jupyter.errors import LookupFailed

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager


@dataclass
class UiHost:
    """What a UI gives the core; any of it may be None (a terminal: answers from code, text progress)."""

    form: Callable[..., Any] | None = None  # form(caller, server, params, timeout): a server's question, during a top-level-await call
    link: Callable[..., Any] | None = None  # link(caller_or_None, link): show a checked page URL in the calling cell; whether it was shown
    map_view: Callable[..., Any] | None = None  # map_view(run): an object with tick() and finish(outcome)
    task_view: Callable[..., Any] | None = None  # task_view(job): an object with _repr_mimebundle_ (a live status line)
    approve: Callable[..., Any] | None = None  # approve(caller, request, timeout): the Approve / Deny row; allow | always | deny | None


class UiPort:
    """What the widgets ask of the manager: buttons (futures, never blocking), the relay bridge, an app's requests."""

    def __init__(self, manager: MCPManager) -> None:
        self._manager = manager

    # ------------------------------------------------------------------ buttons

    def connect(self, *names: str) -> concurrent.futures.Future[Any]:
        """Start connecting and return at once (a widget's button must never block the kernel)."""
        m = self._manager
        return m._background(m._ops.connect(names))

    def disconnect(self, *names: str) -> concurrent.futures.Future[Any]:
        m = self._manager
        return m._background(m._ops.disconnect(names))

    def refresh(self, *names: str) -> concurrent.futures.Future[Any]:
        m = self._manager
        return m._background(m._ops.refresh(names))

    def authorize(self, name: str) -> concurrent.futures.Future[Any]:
        """The Authorize button: (re)start the authorization of ``name`` without blocking."""
        m = self._manager
        connection = m._oauth_connection(name)

        async def restart() -> Any:
            if self.auth_outdated(name):  # connecting throughout: a cell waiting on it goes on waiting
                await connection.restart()
            return await m._ops.connect([name])

        return m._background(restart())

    def open_authorization_page(self, name: str) -> bool:
        """Open the waiting authorization link of ``name`` in the browser again (a person's click); False if none waits."""
        from mcpomni_jupyter.auth.oauth import open_browser

        url = self._manager.connection(name).auth.url
        if url:
            open_browser(url)
        return bool(url)

    def auth_outdated(self, name: str) -> bool:
        """Whether the authorization waiting for ``name`` comes back another way than the settings now say
        (``callback = "auto"`` chose the loopback callback before the notebook page was known)."""
        return self._manager._auth_outdated(name)

    # ------------------------------------------------------------------ the relay bridge

    def expect_page(self) -> None:
        """A notebook front end is here (the bridge widget was made): it will report the page, so a flow
        through the relay waits for that instead of failing."""
        self._manager.oauth.relay.expected = True

    def set_page(self, origin: Any, base_url: Any) -> bool:
        """The notebook page's origin and the Jupyter server's base URL (the bridge and the Authorize button
        report them); False if they are not a plain http(s) origin and path.  A flow waiting for the page goes
        on by itself; one that ``callback = "auto"`` sent to the loopback callback before a remote page was
        known starts again through the relay."""
        m = self._manager
        if m.oauth.set_page(origin, base_url) is None:
            return False
        for name, connection in m.connections.items():
            if connection.uses_oauth and self.auth_outdated(name):
                self.authorize(name)
        return True

    def relay_deliver(self, message: dict[str, Any]) -> dict[str, str]:
        """A redirect the relay page posted, through the bridge: route it by state; the page's acknowledgement."""
        m = self._manager
        return m._run(m.oauth.relay_deliver(message), HOP_GRACE, "delivering the authorization")

    # ------------------------------------------------------------------ MCP Apps

    def app_request(self, server: str, method: str, params: Any) -> concurrent.futures.Future[dict[str, Any]]:
        """An app's request to its server (``tools/call`` or ``resources/read``), answered in the background."""
        from mcpomni_jupyter.core.apps.app import app_call, app_read

        m = self._manager
        connection = m.connection(server)
        params = params if isinstance(params, dict) else {}
        limit = m.settings.timeout
        if method == "tools/call":
            return m._background(app_call(connection, params.get("name"), params.get("arguments"), limit))
        if method == "resources/read":
            return m._background(app_read(connection, params.get("uri"), limit))
        raise LookupFailed(f"an app may send tools/call and resources/read to its server, not {str(method)[:60]!r}")
