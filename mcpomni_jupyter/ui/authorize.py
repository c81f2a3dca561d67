"""The Authorize row of an OAuth server: button, link, redirect URI, paste box and live state.

Stock ipywidgets plus the ``AuthorizeButton`` of ``bridge``, which opens the
authorization page in the notebook's own browser.  The row says where the
authorization comes back: the loopback callback (``http://localhost:3000/callback``)
or the Jupyter server's relay.  The paste box is the last resort, for front
ends without a Jupyter server: the person pastes the URL the browser landed
on, and the flow completes from it.  The pasted URL is cleared from the
widget at once (a code must not stay in widget state).
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as w

from mcpomni_jupyter.core.session.state import State
from mcpomni_jupyter.errors import McpJupyterError
from mcpomni_jupyter.redact import redact
from mcpomni_jupyter.results.style import ERROR_COLOUR, STATE_COLOURS, STATE_ICONS
from mcpomni_jupyter.ui.bridge import AuthorizeButton, ensure_bridge


def expiry_text(manager: Any, name: str) -> str:
    """``12 min`` / ``40 s`` / ``expired (refreshed on next use)``, or ``""`` when unknown."""
    try:
        expires = manager.token_expiry(name)
    except McpJupyterError:
        return ""
    if not expires:
        return ""
    left = expires - time.time()
    if left <= 0:
        return "expired (refreshed on next use)"
    return f"{int(left // 60)} min" if left >= 60 else f"{int(left)} s"


class AuthorizeWidget(w.VBox):
    """Authorize button, authorization link, paste box and live state for one OAuth server."""

    def __init__(self, manager: Any, name: str) -> None:
        self.manager = manager
        self.name = name
        self.title = w.HTML()
        self.state = w.HTML()
        self.button = AuthorizeButton()
        self.link = w.HTML()
        self.redirect = w.HTML()
        self.paste = w.Text(
            placeholder="Browser could not reach the kernel? Paste the URL it landed on here",
            layout=w.Layout(width="70%"),
        )
        self.submit = w.Button(description="Complete", tooltip="Finish authorization with the pasted URL")
        self.message = w.HTML()
        self.button.on_click(self._authorize)
        self.button.on_page = manager.ui.set_page  # shown: it reports the page, which a relay flow may wait for
        self.submit.on_click(self._complete)
        super().__init__(
            [
                w.HBox([self.title, self.state]),
                w.HBox([self.button, self.link]),
                self.redirect,
                w.HBox([self.paste, self.submit]),
                self.message,
            ]
        )
        self.add_class("mcpomni-authorize")
        ensure_bridge(manager)  # the relay's end in this notebook (and the page's address)
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
        waiting = c.state is State.AUTH_REQUIRED and c.auth.url
        words = {
            State.AUTH_REQUIRED: "waiting for this notebook page's address (the relay)…"
            if c.auth.waiting_page
            else "waiting for authorization",
            State.CONNECTING: "connecting…",
            State.CONNECTED: "authorized and connected" + _valid_for(self.manager, self.name),
            State.DISCONNECTED: "disconnected",
            State.FAILED: html.escape(redact(c.error or "failed")),
        }[c.state]
        text = f"{STATE_ICONS[c.state.value]} {words}"
        colour = (
            STATE_COLOURS["connected"]
            if c.state is State.CONNECTED
            else ERROR_COLOUR
            if c.state is State.FAILED
            else STATE_COLOURS["connecting"]
        )
        self.state.value = f"<span style='color:{colour}'>{text}</span>"
        if waiting:
            url = html.escape(c.auth.url, quote=True)
            self.link.value = f"&nbsp;<a href='{url}' target='_blank' rel='noopener noreferrer'>open the authorization page</a>"
            how = "through the Jupyter server (relay)" if c.auth.via == "relay" else "to this kernel's loopback callback"
            self.redirect.value = f"<small>comes back {how}: <code>{html.escape(c.auth.redirect_uri or '')}</code></small>"
        else:
            self.link.value = self.redirect.value = ""
        self.button.url = c.auth.url if waiting else ""
        self.button.disabled = c.state in (State.CONNECTING, State.CONNECTED)
        self.paste.disabled = self.submit.disabled = not waiting

    def _authorize(self, _: Any, opened: bool = False) -> None:
        try:
            c = self.connection
            if c.state is State.AUTH_REQUIRED and c.auth.url and not self.manager.ui.auth_outdated(self.name):
                if opened:  # the page opened it in the notebook's browser
                    self.message.value = "<small>Opened the authorization page in a new tab.</small>"
                elif c.auth.via == "relay":
                    self.message.value = "<small>Open the link above in the browser this notebook runs in.</small>"
                elif self.manager.ui.open_authorization_page(self.name):
                    self.message.value = "<small>Opened the authorization page; if no browser appeared, use the link.</small>"
            else:  # start (again): never wait here, the state shows progress; the page opens the link when it comes
                self.manager.ui.authorize(self.name)
                self.message.value = ""
        except McpJupyterError as exc:
            self.message.value = f"<span style='color:{ERROR_COLOUR}'>{html.escape(redact(str(exc)))}</span>"

    def _complete(self, _: Any) -> None:
        value, self.paste.value = self.paste.value.strip(), ""  # the code must not stay in widget state
        if not value:
            self.message.value = "<small>Paste the full URL from the browser's address bar.</small>"
            return
        try:
            text = self.manager.complete_auth(value)
        except McpJupyterError as exc:
            self.message.value = f"<span style='color:{ERROR_COLOUR}'>{html.escape(redact(str(exc)))}</span>"
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
        try:
            c = self.connection
        except McpJupyterError:
            return f"{self.name}: removed"
        line = f"{self.name}: {c.state.value}"
        if c.state is State.AUTH_REQUIRED and c.auth.waiting_page:
            line += "\nwaiting for this notebook page to report its address (the relay); the link follows"
        elif c.state is State.AUTH_REQUIRED and c.auth.url:
            line += f"\nopen this link to authorize: {c.auth.url}"
            if c.auth.via == "relay":
                line += f"\nin the browser this notebook runs in; it comes back through the Jupyter server ({c.auth.redirect_uri})"
            else:
                line += f"\nthen, if the browser cannot reach this kernel, run: %mcp auth {self.name} PASTED_URL"
        elif c.error:
            line += f" ({redact(c.error)})"
        return line


def _valid_for(manager: Any, name: str) -> str:
    text = expiry_text(manager, name)
    return f" · token {text}" if text.startswith("expired") else f" · token valid for {text}" if text else ""
