"""The live status panel: one row per server with state, counts, token expiry, last error and buttons.

Built from stock ipywidgets only.  Rows are created and displayed on the
kernel's main thread; afterwards they follow their server through the
manager's observer, which may fire on the loop thread and only sets traits of
existing widgets.  The panel is held weakly by the manager and unsubscribes
when closed; at most ``LIVE_PANELS`` panels follow the servers at once (an
older one says it stopped), so re-running ``%mcp connect`` never piles up
panels that keep updating.
"""

from __future__ import annotations

import html
import threading
from collections import deque
from typing import Any

import ipywidgets as w

from mcpomni_jupyter.core.session.state import State
from mcpomni_jupyter.errors import McpJupyterError
from mcpomni_jupyter.redact import redact
from mcpomni_jupyter.results.style import ERROR_COLOUR, STATE_COLOURS, auth_label, state_label
from mcpomni_jupyter.ui.authorize import expiry_text
from mcpomni_jupyter.ui.bridge import AuthorizeButton

LIVE_PANELS = 16
_live: deque[Any] = deque()  # the panels that follow the servers, oldest first

COLUMNS = ["server", "transport", "auth", "state", "protocol", "tools / res / prompts", "token", "messages", "last error", ""]
_WIDTHS = ["120px", "125px", "70px", "130px", "90px", "95px", "95px", "85px", "240px", "270px"]
ERROR_CHARS = 240  # of the last error, wrapped in its cell; all of it in the tooltip, %mcp status and panel[name].error
# Layout: every cell keeps its width (no flex shrinking: a narrow notebook must not squeeze a column into the next
# one), each row is as wide as its cells, and the panel scrolls sideways when the notebook is narrower.  A value
# wraps inside its cell, at any character if it must; nothing is cut off.
_WRAP = "<div style='line-height:1.35;margin:5px 0;white-space:normal;overflow-wrap:anywhere;padding-right:6px'>{}</div>"
_ROW = {"width": "max-content", "overflow": "visible", "align_items": "flex-start"}


def _cell(width: str, value: str = "") -> Any:
    return w.HTML(value, layout=w.Layout(width=width, flex="0 0 auto", overflow="hidden", margin="0"))


def wrapped(value: str) -> str:
    return _WRAP.format(value)


class ServerRow(w.HBox):
    """One server: name, transport, auth, state, counts, token expiry, messages, last error, buttons."""

    def __init__(self, panel: StatusPanel, name: str) -> None:
        self.panel, self.name = panel, name
        self.cells = [_cell(width) for width in _WIDTHS[:-1]]
        small = {"width": "40px", "flex": "0 0 auto"}
        self.connect = w.Button(icon="plug", tooltip="Connect", layout=w.Layout(**small))
        self.disconnect = w.Button(icon="power-off", tooltip="Disconnect", layout=w.Layout(**small))
        self.refresh = w.Button(icon="refresh", tooltip="Refresh", layout=w.Layout(**small))
        # opens the authorization page in the notebook's own browser (the relay needs that browser)
        self.authorize = AuthorizeButton(layout=w.Layout(width="110px", flex="0 0 auto"))
        for button, action in (
            (self.connect, "connect"),
            (self.disconnect, "disconnect"),
            (self.refresh, "refresh"),
        ):
            button.on_click(lambda _, action=action: panel.act(action, name))
        self.authorize.on_click(lambda _, opened: panel.act("authorize", name, opened))
        buttons = w.HBox(
            [self.connect, self.disconnect, self.refresh, self.authorize], layout=w.Layout(width=_WIDTHS[-1], flex="0 0 auto", margin="0")
        )
        super().__init__([*self.cells, buttons], layout=w.Layout(**_ROW))
        self.update()

    def update(self) -> None:
        manager = self.panel.manager
        try:
            c = manager.connection(self.name)
        except McpJupyterError:
            self.cells[3].value = "<i>removed</i>"
            for button in (self.connect, self.disconnect, self.refresh, self.authorize):
                button.disabled = True
            return
        state = c.state.value
        expiry = expiry_text(manager, self.name) if c.uses_oauth else ""
        values = [
            f"<b>{html.escape(self.name)}</b>",
            html.escape(c.config.transport),
            html.escape(auth_label(c.config)),
            f"<span style='color:{STATE_COLOURS[state]};font-weight:bold'>{html.escape(state_label(state))}</span>",
            html.escape(c.protocol_version or ""),
            f"{len(c.tools)} / {len(c.resources)} / {len(c.prompts)}",
            html.escape(expiry),
            str(c.log.count(exclude=("stderr", "progress"))),
            _error(c.error),
        ]
        for cell, value in zip(self.cells, values):
            value = wrapped(value)
            if cell.value != value:
                cell.value = value
        down = c.state in (State.DISCONNECTED, State.FAILED)
        self.connect.disabled = not down
        self.disconnect.disabled = down
        self.refresh.disabled = c.state is not State.CONNECTED and not down
        self.authorize.layout.display = "" if c.uses_oauth and c.state is State.AUTH_REQUIRED else "none"
        self.authorize.url = c.auth.url if c.state is State.AUTH_REQUIRED and c.auth.url else ""


def _authorize_here(manager: Any, name: str, opened: bool) -> bool:
    """Whether the waiting authorization's page is open now (in the notebook's browser, or by the kernel for
    the loopback callback); False when it must (re)start first."""
    c = manager.connection(name)
    if c.state is not State.AUTH_REQUIRED or not c.auth.url or manager.ui.auth_outdated(name):
        return False
    return opened or c.auth.via == "relay" or manager.ui.open_authorization_page(name)


def _error(error: str | None) -> str:
    """The last error, redacted and escaped: its first ``ERROR_CHARS`` in the cell, all of it in the tooltip."""
    text = redact(error or "")
    shown = text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"
    return f"<span style='color:{ERROR_COLOUR}' title='{html.escape(text, quote=True)}'>{html.escape(shown)}</span>"


class StatusPanel(w.VBox):
    """The live status of every server, one row each, with working buttons.

    Rows are created on the kernel's main thread only; the loop thread's state
    changes reach existing rows through ``_changed``, the one UI-update path.
    Indexing, iteration and ``repr`` give the same rows as ``StatusTable``,
    so the panel is also a value and reads well where widgets do not render.
    """

    def __init__(self, manager: Any, names: list[str] | None = None) -> None:
        self.manager = manager
        self.names = list(names) if names else None
        self.header = w.HBox(
            [_cell(width, wrapped(f"<b>{html.escape(c)}</b>")) for c, width in zip(COLUMNS, _WIDTHS)], layout=w.Layout(**_ROW)
        )
        self.message = w.HTML()
        self.rows: dict[str, ServerRow] = {}
        super().__init__(layout=w.Layout(overflow="auto hidden", max_width="100%"))
        self.add_class("mcpomni-status-panel")
        self._sync_rows()
        self._unobserve = manager.observe(self._changed)
        _follow(self)

    def _wanted(self) -> list[str]:
        return [n for n in (self.names or self.manager.names) if n in self.manager.connections]

    def _sync_rows(self) -> None:
        for name in self._wanted():
            if name not in self.rows:
                self.rows[name] = ServerRow(self, name)
        self.children = [self.header, *(self.rows[n] for n in self._wanted()), self.message]

    def _changed(self, connection: Any) -> None:
        """The one UI-update path: update existing rows from any thread; add rows on the main thread only."""
        row = self.rows.get(connection.name)
        if row is not None:
            row.update()
        if threading.current_thread() is threading.main_thread() and set(self._wanted()) != set(self.rows):
            self._sync_rows()

    def act(self, action: str, name: str, opened: bool = False) -> None:
        """A button: start the work on the loop and return at once (never block on a click)."""
        manager = self.manager
        self.message.value = ""
        try:
            if action == "authorize" and _authorize_here(manager, name, opened):
                return
            start = {
                "connect": manager.ui.connect,
                "authorize": manager.ui.authorize,
                "disconnect": manager.ui.disconnect,
                "refresh": manager.ui.refresh,
            }[action]
            start(name).add_done_callback(self._report)
        except McpJupyterError as exc:
            self._show_error(exc)

    def _report(self, future: Any) -> None:
        if not future.cancelled() and future.exception() is not None:
            self._show_error(future.exception())

    def _show_error(self, exc: BaseException) -> None:
        """A button's failure, in the panel (a button must never raise into the kernel)."""
        text = str(exc) if isinstance(exc, McpJupyterError) else f"{type(exc).__name__}: {exc}"
        self.message.value = f"<span style='color:{ERROR_COLOUR}'>{html.escape(redact(text))}</span>"

    # ----------------------------------------------------------------- a value, and text/HTML fallbacks

    @property
    def table(self) -> Any:
        return self.manager.status(*self._wanted())

    def __getitem__(self, key: Any) -> Any:
        return self.table[key]

    def __iter__(self) -> Any:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)

    def to_records(self) -> list[dict[str, Any]]:
        return self.table.to_records()

    def __repr__(self) -> str:
        return repr(self.table)

    def _repr_html_(self) -> str:
        return self.table._repr_html_()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = repr(self.table)
        data["text/html"] = self.table._repr_html_()  # static viewers show the table
        return data

    def stop_following(self, note: str = "") -> None:
        """Stop updating (closed, or replaced by a newer panel)."""
        self._unobserve()
        if note:
            self.message.value = f"<small>{html.escape(note)}</small>"

    def close(self) -> None:
        self.stop_following()
        if self in _live:
            _live.remove(self)
        super().close()


def _follow(panel: StatusPanel) -> None:
    """Count ``panel`` among the live ones; the oldest beyond ``LIVE_PANELS`` stops following."""
    _live.append(panel)
    while len(_live) > LIVE_PANELS:
        _live.popleft().stop_following("(this panel stopped updating: a newer one shows the live status)")
