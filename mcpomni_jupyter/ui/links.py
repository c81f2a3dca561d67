"""A page a server asks the person to open (URL-mode elicitation), shown in the calling cell, never opened by us.

The notice is plain HTML, not a widget: the server's name, the page's host,
its message, the full URL as a link and an **Open** button, which is that
link styled as a button.  The browser follows it only when the person
clicks; the kernel takes no part, so it works while a blocking ``%mcp call``
holds the cell (a widget's click would wait for the cell to end), on a
remote kernel too, and nothing ever calls ``webbrowser``.  The URL was
checked by the core (https, or http to this machine) and is escaped here.

It is displayed on the kernel's main thread: in the cell of a call made with
top-level ``await`` through that cell's loop, and in a blocking call's cell
by the call's progress tick (``show_pending``, ten times a second).  A link
nobody takes within half a second (a blocking Python API call gives no tick)
is displayed from the loop thread, which is plain output, no widget: the
kernel sends it to the cell that is running.
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcpomni_jupyter.core.requests.elicitation import Caller, Link

MESSAGE_CHARS = 2_000
CLAIM_WAIT = 0.5  # seconds a blocking call's tick has to take a link before it is displayed from the loop thread
SHOW_WAIT = 5.0  # seconds a main thread has to display a link it took
PENDING_MAX = 20  # links waiting for a tick; an older one is displayed from the loop thread instead

BUTTON = (
    "display:inline-block;padding:1px 14px;margin:4px 8px 4px 0;border-radius:4px;"
    "background:#0969da;color:#ffffff;text-decoration:none;font-weight:600"
)


class LinkNotice:
    """The notice for one link: HTML in a notebook, text in a terminal."""

    def __init__(self, link: Link) -> None:
        self.link = link

    def _repr_html_(self) -> str:
        link = self.link
        href = html.escape(link.url, quote=True)
        anchor = f'href="{href}" target="_blank" rel="noopener noreferrer"'
        return (
            "<div style='border-left:3px solid #bf8700;padding:2px 8px;margin:4px 0'>"
            f"<b>{html.escape(link.server)}</b> asks you to open a page on <b>{html.escape(link.host)}</b>: "
            f"{html.escape(link.message[:MESSAGE_CHARS])}<br>"
            f"<a {anchor} style='{BUTTON}'>Open</a><a {anchor}><code>{html.escape(link.url)}</code></a><br>"
            "<small>Nothing was opened: the page opens in your browser only if you click. "
            "The server was told the link was shown.</small></div>"
        )

    def __repr__(self) -> str:
        link = self.link
        return (
            f"mcp: {link.server} asks you to open a page on {link.host}: {link.message[:MESSAGE_CHARS]}\n"
            f"  {link.url}\n  (nothing was opened; open it in your browser if you agree)"
        )


@dataclass(eq=False)
class _Pending:
    link: Link
    taken: bool = False
    shown: bool = False
    done: threading.Event = field(default_factory=threading.Event)


_pending: deque[_Pending] = deque()
_lock = threading.Lock()


def _display(link: Link) -> bool:
    from IPython.display import display

    try:
        display(LinkNotice(link))
    except Exception:  # noqa: BLE001 - a display that fails must not break the call that is waiting
        return False
    return True


def show_pending() -> None:
    """On the main thread (a blocking call's tick): display the links waiting for it."""
    while True:
        with _lock:
            if not _pending:
                return
            entry = _pending.popleft()
            if entry.taken:
                continue
            entry.taken = True
        entry.shown = _display(entry.link)
        entry.done.set()


async def _show_in(caller: Caller, link: Link) -> bool:
    """Display ``link`` in the cell of a top-level-await call (on the kernel's loop, in that cell's context)."""
    ours = asyncio.get_running_loop()
    done: asyncio.Future[bool] = ours.create_future()

    def settle(shown: bool) -> None:
        if not done.done():
            done.set_result(shown)

    def show() -> None:
        shown = _display(link)
        ours.call_soon_threadsafe(settle, shown)

    caller.loop.call_soon_threadsafe(caller.context.run, show)
    return await asyncio.wait_for(done, SHOW_WAIT)


async def show_link(caller: Caller | None, link: Link) -> bool:
    """Show ``link`` in the calling cell (the core's link handler); True once it is shown."""
    if caller is not None:
        return await _show_in(caller, link)
    entry = _Pending(link)
    with _lock:
        _pending.append(entry)
        while len(_pending) > PENDING_MAX:
            _pending.popleft()  # its waiter displays it itself
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLAIM_WAIT
    while loop.time() < deadline:
        await asyncio.sleep(0.02)
        with _lock:
            if entry.taken:
                break
    with _lock:
        mine = not entry.taken
        entry.taken = True
        if mine and entry in _pending:
            _pending.remove(entry)
    if mine:
        return _display(link)  # nobody ticks: plain output from this thread, which the kernel sends to the running cell
    end = loop.time() + SHOW_WAIT
    while not entry.done.is_set() and loop.time() < end:
        await asyncio.sleep(0.02)
    return entry.shown
