"""The kernel's end of the OAuth relay: the notebook page's address, and the flows the relay page finishes.

The notebook's bridge widget (``ui.bridge``) reports the page it runs in —
its origin and the Jupyter server's base URL — and hands over what the
relay page (``auth.relay``) posted: ``code``, ``state``, ``iss`` or an
``error``, under a message ``id``, with the ``page`` (path) of the relay page
that posted it.  Both come from the browser, so both are checked here: the
origin must be a bare ``http(s)://host[:port]``, the base URL a plain path;
a message holds only short strings of the known fields.  A message is routed
by ``state`` exactly as the loopback callback routes a redirect
(``callback.FlowRouter``): the first valid state wins, a replay or a forged
state completes nothing.  On a JupyterHub every user's server shares one
origin, so the channel does too: a message whose relay page is not this
kernel's redirect URI's path (another user's ``/user/bob/...``) is refused
and logged, whatever state it carries.  The answer goes back to the page as an
acknowledgement (taken, or refused with the reason), never with the code.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from mcpomni_jupyter.auth.callback import RelayCallback
from mcpomni_jupyter.defaults import RELAY_PATH
from mcpomni_jupyter.errors import AuthError
from mcpomni_jupyter.urls import is_loopback_url, split_url

FIELDS = ("code", "state", "iss", "error", "error_description")
MAX_FIELD = 4096  # longer than any code or state an authorization server sends
REMEMBER = 64  # message ids already taken: the page posts again until it hears back
_log = logging.getLogger("mcpomni_jupyter.auth")
_BASE_URL = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")

NO_PAGE = (
    "the OAuth relay needs the address of the notebook page, which the notebook reports once this extension's "
    "widgets load in JupyterLab or Notebook 7: let this cell finish, then click Authorize (or run %mcp auth {name}); "
    "where there is no Jupyter server (VS Code, Colab) use %config MCPMagics.callback = 'loopback' and the paste box"
)


@dataclass(frozen=True)
class Page:
    """Where the notebook is served: ``origin`` (``https://hub.example.org``) and ``base_url`` (``/user/ada/``)."""

    origin: str
    base_url: str

    @property
    def loopback(self) -> bool:
        """Whether the page is served from this machine (``urls.is_loopback_url``: not ``*.localhost``)."""
        return is_loopback_url(self.origin)

    @property
    def redirect_uri(self) -> str:
        return f"{self.origin}{self.base_url}{RELAY_PATH}"


def parse_page(origin: Any, base_url: Any) -> Page | None:
    """The page the bridge reported, or None when it is not a plain http(s) origin and path."""
    if not isinstance(origin, str) or not isinstance(base_url, str) or len(origin) > 512 or len(base_url) > 1024:
        return None
    try:
        parts = split_url(origin)  # no whitespace, control characters, backslash, bad port or bracket tricks
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    port = parts.port
    base = base_url if base_url.endswith("/") else base_url + "/"
    if not _BASE_URL.match(base) or "//" in base or "/../" in base or "/./" in base:
        return None
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    return Page(f"{parts.scheme}://{shown}{f':{port}' if port else ''}", quote(base, safe="/%:@!$&'()*+,;=~.-_"))


class RelayRoutes:
    """The page the notebook runs in, one ``RelayCallback`` per redirect URI, and the ids already taken."""

    def __init__(self) -> None:
        # the page is reported on the kernel's thread (the bridge's comm) and read on the loop thread: one lock
        self._lock = threading.Lock()
        self._page: Page | None = None
        self._routes: dict[str, RelayCallback] = {}
        self._taken: OrderedDict[str, str] = OrderedDict()  # message id -> the server it authorized
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []  # flows waiting for the page
        self.expected = False  # a notebook front end will report the page (its bridge widget was made)

    @property
    def page(self) -> Page | None:
        with self._lock:
            return self._page

    @property
    def routes(self) -> list[RelayCallback]:
        with self._lock:
            return list(self._routes.values())

    def set_page(self, origin: Any, base_url: Any) -> Page | None:
        page = parse_page(origin, base_url)
        if page is not None:
            with self._lock:
                self._page = page
                waiters, self._waiters = self._waiters, []
            for loop, event in waiters:  # the page is reported on the kernel's thread; the flows wait on the loop's
                if not loop.is_closed():
                    loop.call_soon_threadsafe(event.set)
        return page

    async def wait_page(self, timeout: float) -> Page | None:
        """The page, once the notebook reports it (None after ``timeout`` seconds); at once if known."""
        event = asyncio.Event()
        with self._lock:
            if self._page is not None:
                return self._page
            self._waiters.append((asyncio.get_running_loop(), event))
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return None
        finally:
            with self._lock:
                self._waiters = [(loop, e) for loop, e in self._waiters if e is not event]
        return self.page

    def route(self, server: str) -> RelayCallback:
        """The relay callback of the current page; AuthError while no page has been reported."""
        with self._lock:
            page = self._page
            if page is None:
                raise AuthError(f"server {server!r}: " + NO_PAGE.format(name=server))
            uri = page.redirect_uri
            if uri not in self._routes:
                self._routes[uri] = RelayCallback(uri)
            return self._routes[uri]

    def deliver(self, message: dict[str, Any]) -> dict[str, str]:
        """Route one message from the relay page; the acknowledgement: status "taken", "refused" or "unknown"."""
        ident = message.get("id")
        ident = ident if isinstance(ident, str) and 0 < len(ident) <= 128 else ""
        if ident and ident in self._taken:  # the page posted again before it heard back
            return _ack(ident, "taken", "Authorization complete", _closing(self._taken[ident]))
        params = {key: message[key] for key in FIELDS if isinstance(message.get(key), str) and len(message[key]) <= MAX_FIELD}
        state = params.get("state", "")
        for route in self._routes.values():
            flow = next((flow for flow in route.waiting if flow.state == state and not flow.future.done()), None)
            if flow is None:
                continue
            problem = _page_problem(message.get("page"), route.redirect_uri)
            if problem is not None:
                _log.warning("server %r: %s", flow.server, problem)
                if flow.note is not None:
                    flow.note(problem)  # the server's own log (%mcp log) too
                return _ack(ident, "refused", "Not taken", f"{problem}. Start again from the notebook that started it.")
            status, title, text = route.deliver(params)
            if status == 200 and title == "Authorization complete":
                if ident:
                    self._taken[ident] = flow.server
                    while len(self._taken) > REMEMBER:
                        self._taken.popitem(last=False)
                return _ack(ident, "taken", title, _closing(flow.server))
            return _ack(ident, "refused", title, text)
        return _ack(
            ident,
            "unknown",
            "Not waiting here",
            "This sign-in matches nothing this notebook is waiting for: it was already used, or it was started "
            "elsewhere. Start again from the notebook (click Authorize, or run %mcp auth NAME).",
        )


def _page_problem(page: Any, redirect_uri: str) -> str | None:
    """Why the relay page that posted a message is not this kernel's (its path differs from the redirect URI's)."""
    own = urlsplit(redirect_uri).path
    if not isinstance(page, str) or not page or len(page) > 1024:
        return (
            f"a relay message that does not say which relay page posted it was refused (this notebook's is {own}); "
            "update mcpomni_jupyter where the Jupyter server runs"
        )
    if unquote(page) != unquote(own):
        return f"a relay message from the relay page {page[:200]!r}, not this notebook's ({own}), was refused"
    return None


def _closing(server: str) -> str:
    return f"{server} is authorized. You can close this tab and return to the notebook."


def _ack(ident: str, status: str, title: str, message: str) -> dict[str, str]:
    return {"type": "ack", "id": ident, "status": status, "title": title, "message": message}
