"""The notebook's end of the OAuth relay, and the Authorize button that opens links in the notebook's browser.

``Bridge`` is one invisible anywidget per manager (``ensure_bridge``), made
the first time ``%mcp`` runs in a kernel with a front end.  Its ESM
(``bridge.js``, shipped in the package: no build step, no CDN) runs in the
notebook page as soon as the front end creates the widget, displayed or
not: it reports the page's origin and the Jupyter server's base URL (the
relay's redirect URI, and what ``callback = "auto"`` decides by), listens
on the origin's ``BroadcastChannel`` for what the relay page
(``auth.relay``) posts, forwards it over the widget's comm, and posts the
kernel's acknowledgement back.  The kernel routes the code by ``state``
(``auth.relay_route``).  A comm message is handled when the kernel is idle
(or the running cell awaits), like a widget click.

``AuthorizeButton`` (``authorize_button.js``) opens the authorization page
with ``window.open`` in the notebook's own browser: through the relay the
Jupyter server's login cookie and the ``BroadcastChannel`` belong to that
browser, and a page can only open a window on a person's click.  It reports
the page too, the moment it is shown: the row that waits for the page is the
one that tells it.
"""

from __future__ import annotations

import pathlib
import weakref
from typing import Any

import anywidget
import traitlets

from mcpomni_jupyter.redact import redact

_HERE = pathlib.Path(__file__).parent
_bridges: weakref.WeakKeyDictionary[Any, Bridge] = weakref.WeakKeyDictionary()


class Bridge(anywidget.AnyWidget):
    """Forwards relay messages between the notebook page and the manager; reports the page."""

    _esm = _HERE / "bridge.js"

    def __init__(self, manager: Any) -> None:
        super().__init__()
        self._manager = weakref.ref(manager)
        self.on_msg(self._received)

    def _received(self, _widget: Any, content: Any, _buffers: Any) -> None:
        manager = self._manager()
        if manager is None or manager.closed or not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "page":
            manager.ui.set_page(content.get("origin"), content.get("base_url"))
        elif kind == "callback":
            try:
                ack = manager.ui.relay_deliver(content)
            except Exception as exc:  # noqa: BLE001 - the page must hear back; the kernel goes on
                ack = {
                    "type": "ack",
                    "id": str(content.get("id", ""))[:128],
                    "status": "refused",
                    "title": "Not taken",
                    "message": redact(str(exc))[:500],  # the page is the person's own, but codes and tokens stay out of it
                }
            self.send(ack)


def ensure_bridge(manager: Any) -> Bridge:
    """The manager's bridge, made (its comm opened) on first use."""
    bridge = _bridges.get(manager)
    if bridge is None or bridge.comm is None:
        bridge = _bridges[manager] = Bridge(manager)
        manager.ui.expect_page()
    return bridge


class AuthorizeButton(anywidget.AnyWidget):
    """A button that opens ``url`` in the notebook's browser on click, or asks the kernel to start first."""

    _esm = _HERE / "authorize_button.js"
    description = traitlets.Unicode("Authorize").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)
    url = traitlets.Unicode("").tag(sync=True)  # the authorization link while one waits (checked: https or loopback http)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handlers: list[Any] = []
        self.on_page: Any = None  # on_page(origin, base_url): the button reports the page it is shown in
        self.on_msg(self._received)

    def on_click(self, handler: Any) -> None:
        """``handler(button, opened)``: ``opened`` says whether the page opened the link itself."""
        self._handlers.append(handler)

    def click(self, opened: bool = False) -> None:
        """A click, as from the page (``opened=False``: nothing was opened there, as with no front end)."""
        for handler in self._handlers:
            handler(self, opened)

    def _received(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "click":
            self.click(bool(content.get("opened")))
        elif content.get("type") == "page" and self.on_page is not None:
            self.on_page(content.get("origin"), content.get("base_url"))
