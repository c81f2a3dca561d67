"""ipywidgets for the notebook: the live status panel and the Authorize row of an OAuth server.

Built from stock widgets only (no custom JavaScript).  A widget is created
and displayed on the kernel's main thread; afterwards it follows the
connection's state through the manager's observer, which may fire on the
loop thread: that only sets traits of existing widgets, it never displays a
new one.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

import ipywidgets as w

from .connection import State
from .errors import McpJupyterError
from .redact import redact


def _expiry(manager: Any, name: str) -> str:
    try:
        expires = manager.token_expiry(name)
    except Exception:
        return ""
    if not expires:
        return ""
    left = expires - time.time()
    if left <= 0:
        return " · token expired (refreshed on next use)"
    return f" · token valid for {int(left // 60)} min" if left >= 60 else f" · token valid for {int(left)} s"


class AuthorizeWidget(w.VBox):
    """Authorize button, authorization link, paste box and live state for one OAuth server."""

    def __init__(self, manager: Any, name: str) -> None:
        self.manager = manager
        self.name = name
        self.title = w.HTML()
        self.state = w.HTML()
        self.button = w.Button(description="Authorize", icon="key", button_style="primary", tooltip="Open the authorization page in your browser")
        self.link = w.HTML()
        self.paste = w.Text(
            placeholder="Browser could not reach the kernel? Paste the URL it landed on here",
            layout=w.Layout(width="70%"),
        )
        self.submit = w.Button(description="Complete", tooltip="Finish authorization with the pasted URL")
        self.message = w.HTML()
        self.button.on_click(self._authorize)
        self.submit.on_click(self._complete)
        super().__init__(
            [w.HBox([self.title, self.state]), w.HBox([self.button, self.link]), w.HBox([self.paste, self.submit]), self.message]
        )
        self._unobserve = manager.observe(self._changed)
        self.update()

    @property
    def connection(self) -> Any:
        return self.manager.connection(self.name)

    def _changed(self, connection: Any) -> None:
        if connection.name == self.name:
            self.update()

    def update(self) -> None:
        """Show the connection's current state (safe from any thread)."""
        try:
            c = self.connection
        except McpJupyterError:
            self.state.value = "<i>removed</i>"
            self.button.disabled = self.submit.disabled = True
            return
        self.title.value = f"<b>{html.escape(self.name)}</b>&nbsp;"
        waiting = c.state is State.AUTH_REQUIRED and c.auth_url
        text = {
            State.AUTH_REQUIRED: "🔑 waiting for authorization",
            State.CONNECTING: "◌ connecting…",
            State.CONNECTED: "✅ authorized and connected" + _expiry(self.manager, self.name),
            State.DISCONNECTED: "○ disconnected",
            State.FAILED: "✖ " + html.escape(redact(c.error or "failed")),
        }[c.state]
        colour = {State.CONNECTED: "#1a7f37", State.FAILED: "#cf222e"}.get(c.state, "#9a6700")
        self.state.value = f"<span style='color:{colour}'>{text}</span>"
        if waiting:
            url = html.escape(c.auth_url, quote=True)
            self.link.value = f"&nbsp;<a href='{url}' target='_blank' rel='noopener'>open the authorization page</a>"
        else:
            self.link.value = ""
        self.button.disabled = c.state in (State.CONNECTING, State.CONNECTED)
        self.paste.disabled = self.submit.disabled = not waiting

    def _authorize(self, _: Any) -> None:
        from .auth.oauth import open_browser

        c = self.connection
        if c.state is State.AUTH_REQUIRED and c.auth_url:
            open_browser(c.auth_url)
            self.message.value = "<small>Opened the authorization page; if no browser appeared, use the link.</small>"
        else:  # start (again): never wait here, the state shows progress
            self.manager.loop.submit(self.manager._connect([self.name]))
            self.message.value = ""

    def _complete(self, _: Any) -> None:
        value, self.paste.value = self.paste.value.strip(), ""  # the code must not stay in widget state
        if not value:
            self.message.value = "<small>Paste the full URL from the browser's address bar.</small>"
            return
        try:
            text = self.manager.complete_auth(value)
        except McpJupyterError as exc:
            self.message.value = f"<span style='color:#cf222e'>{html.escape(str(exc))}</span>"
        else:
            self.message.value = f"<small>{html.escape(text)}</small>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = super()._repr_mimebundle_(**kwargs)
        if data:
            data["text/plain"] = repr(self)  # whole, for terminals and static viewers (ipywidgets cuts it)
        return data

    def close(self) -> None:
        self._unobserve()
        super().close()

    def __repr__(self) -> str:
        c = self.connection
        line = f"{self.name}: {c.state.value}"
        if c.state is State.AUTH_REQUIRED and c.auth_url:
            line += f"\nopen this link to authorize: {c.auth_url}\nthen, if the browser cannot reach this kernel, run: %mcp auth {self.name} PASTED_URL"
        elif c.error:
            line += f" ({redact(c.error)})"
        return line


# --------------------------------------------------------------------------- the status panel

COLUMNS = ["server", "transport", "auth", "state", "tools/res/prompts", "token", "messages", "last error", ""]
_WIDTHS = ["110px", "135px", "70px", "140px", "135px", "110px", "80px", "260px", "440px"]


def _cell(width: str) -> Any:
    return w.HTML(layout=w.Layout(width=width, overflow="hidden"))


class ServerRow(w.HBox):
    """One server: name, transport, auth, state, counts, token expiry, messages, last error, buttons."""

    def __init__(self, panel: StatusPanel, name: str) -> None:
        self.panel, self.name = panel, name
        self.cells = [_cell(width) for width in _WIDTHS[:-1]]
        self.connect = w.Button(description="Connect", icon="plug", layout=w.Layout(width="100px"))
        self.disconnect = w.Button(description="Disconnect", icon="power-off", layout=w.Layout(width="118px"))
        self.refresh = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="98px"))
        self.authorize = w.Button(description="Authorize", icon="key", button_style="warning", layout=w.Layout(width="110px"))
        for button, action in ((self.connect, "connect"), (self.disconnect, "disconnect"), (self.refresh, "refresh"), (self.authorize, "authorize")):
            button.on_click(lambda _, action=action: panel.act(action, name))
        buttons = w.HBox([self.connect, self.disconnect, self.refresh, self.authorize], layout=w.Layout(width=_WIDTHS[-1]))
        super().__init__([*self.cells, buttons])
        self.update()

    def update(self) -> None:
        from .display import STATE_COLOURS, STATE_ICONS

        manager = self.panel.manager
        try:
            c = manager.connection(self.name)
        except McpJupyterError:
            self.cells[3].value = "<i>removed</i>"
            for button in (self.connect, self.disconnect, self.refresh, self.authorize):
                button.disabled = True
            return
        state = c.state.value
        auth = c.config.auth.method if c.config.auth.method != "none" else ("headers" if c.config.headers else "none")
        expiry = _expiry(manager, self.name).replace(" · ", "") if c.uses_oauth else ""
        values = [
            f"<b>{html.escape(self.name)}</b>",
            html.escape(c.config.transport),
            html.escape(auth),
            f"<span style='color:{STATE_COLOURS[state]};font-weight:bold'>{STATE_ICONS[state]} {html.escape(state)}</span>",
            f"{len(c.tools)} / {len(c.resources)} / {len(c.prompts)}",
            html.escape(expiry.replace("token valid for ", "")),
            str(c.log.count(exclude=("stderr", "progress"))),
            f"<span style='color:#cf222e' title='{html.escape(redact(c.error or ''), quote=True)}'>{html.escape(redact(c.error or '')[:80])}</span>",
        ]
        for cell, value in zip(self.cells, values):
            if cell.value != value:
                cell.value = value
        down = c.state in (State.DISCONNECTED, State.FAILED)
        self.connect.disabled = not down
        self.disconnect.disabled = down
        self.refresh.disabled = c.state is not State.CONNECTED and not down
        self.authorize.layout.display = "" if c.uses_oauth and c.state is State.AUTH_REQUIRED else "none"


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
        self.header = w.HBox([w.HTML(f"<b>{html.escape(c)}</b>", layout=w.Layout(width=width)) for c, width in zip(COLUMNS, _WIDTHS)])
        self.message = w.HTML()
        self.rows: dict[str, ServerRow] = {}
        super().__init__()
        self._sync_rows()
        self._unobserve = manager.observe(self._changed)

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

    def act(self, action: str, name: str) -> None:
        """A button: start the work on the loop and return at once (never block on a click)."""
        manager = self.manager

        async def run() -> None:
            try:
                if action == "connect" or (action == "authorize" and manager.connection(name).auth_url is None):
                    await manager._connect([name])
                elif action == "disconnect":
                    await manager.connection(name).stop()
                elif action == "refresh":
                    await manager._refresh([name])
                elif action == "authorize":
                    from .auth.oauth import open_browser

                    open_browser(manager.connection(name).auth_url)
            except McpJupyterError as exc:
                self.message.value = f"<span style='color:#cf222e'>{html.escape(str(exc))}</span>"
            except Exception as exc:  # a button must never raise into the kernel
                self.message.value = f"<span style='color:#cf222e'>{html.escape(type(exc).__name__)}: {html.escape(redact(str(exc)))}</span>"

        self.message.value = ""
        manager.loop.submit(run())

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

    def close(self) -> None:
        self._unobserve()
        super().close()
