"""``subscriptions/listen``: how a 2026-07-28 server tells us its lists changed or a resource was updated.

Older servers send list-changed and resource-updated notifications on their
own (after ``resources/subscribe`` for updates).  A 2026-07-28 server sends
them only on a ``subscriptions/listen`` stream whose filter names what the
client wants.  The ``Listener`` keeps one such stream open per connection,
asking for every list change and for the URIs of ``%mcp subscribe``; a new
URI set re-opens the stream.  The events reach the connection's message
handler (the SDK tees them), so list-changed handling is the same for every
revision; the listener only keeps the stream open and drained.  A stream that
drops (ends without the listen request's result) is re-opened after a pause
(and the lists re-fetched, as the spec says: there is no replay); a stream the
server ends with that result is a clean end (spec #3171): it is not re-opened,
and ``keeps_current`` is false from then on.  A server that does not serve
``subscriptions/listen`` is noted once and left alone.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.aio import end_task
from mcpomni_jupyter.errors import LookupFailed

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection

RELISTEN_DELAYS = (1.0, 5.0, 30.0)  # pauses before re-opening a dropped stream, then the last one again
ACK_TIMEOUT = 10.0  # for the server to acknowledge a listen request
ENDED = "the server ended the subscriptions/listen stream (a clean end, not a drop: it is not re-opened); lists are fetched when asked for"


class Listener:
    """The ``subscriptions/listen`` stream of one 2026-07-28 connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.uris: set[str] = set()
        self.honored: Any = None  # the filter the server agreed to (SubscriptionFilter)
        self._task: asyncio.Task[None] | None = None
        self._tried: asyncio.Event | None = None  # set once the first attempt is acknowledged or has failed
        self._error: BaseException | None = None
        self._drops = 0  # drops since the stream was last open: the pause before re-opening grows with them

    @property
    def active(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Open the stream (a task of its own: the listen context is entered and exited there)."""
        await self.stop()
        self._tried, self._error = asyncio.Event(), None
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mcp-listen:{self._connection.name}")

    def cancel(self) -> None:
        """Stop at once (the session is going away anyway)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await end_task(task, 0, 1.0)

    async def watch(self, uri: str, on: bool) -> None:
        """Add (or drop) ``uri`` and re-open the stream with the new filter; LookupFailed if not honored."""
        (self.uris.add if on else self.uris.discard)(uri)
        await self.start()
        assert self._tried is not None and self._task is not None
        acked = asyncio.ensure_future(self._tried.wait())
        try:
            await asyncio.wait({acked, self._task}, timeout=ACK_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        finally:
            acked.cancel()
        honored = list(getattr(self.honored, "resource_subscriptions", None) or [])
        if on and uri not in honored:
            detail = f": {self._error}" if self._error is not None else ""
            raise LookupFailed(f"server {self._connection.name!r} did not accept a subscription to {uri!r}{detail}; poll it with %mcp read")

    async def _run(self) -> None:
        from mcp import MCPError
        from mcp.client.subscriptions import ListenNotSupportedError, SubscriptionLost
        from mcp_types import CONNECTION_CLOSED

        c = self._connection
        for _ in range(10_000):
            try:
                if await self._listen_once():
                    c.record("listen", ENDED, "info")
                return  # a clean end (spec #3171): not re-opened
            except (ListenNotSupportedError, MCPError) as exc:
                self._error = exc
                if not (isinstance(exc, MCPError) and exc.error.code == CONNECTION_CLOSED):
                    c.record("listen", f"subscriptions/listen is not available ({exc}); list changes arrive only when re-listed", "warning")
                    return
                # the stream could not be opened (the server is restarting, say): like a drop
            except (SubscriptionLost, TimeoutError) as exc:
                self._error = exc
            if self._tried is not None:
                self._tried.set()  # a subscription waiting for the first answer has it: not honored
            delay = RELISTEN_DELAYS[min(self._drops, len(RELISTEN_DELAYS) - 1)]
            self._drops += 1
            c.record("listen", f"the subscriptions/listen stream dropped ({self._error}); re-opening it in {delay:g} s", "warning")
            await asyncio.sleep(delay)
            await c.catalog.list(strict=False)  # no replay: what changed meanwhile is fetched again
            c.notify()

    async def _listen_once(self) -> bool:
        """One stream, to its end: True when the server ended it with the listen request's result (a clean end);
        an abrupt drop raises (``SubscriptionLost``)."""
        client = self._connection.client
        if client is None:
            return False
        async with client.listen(
            tools_list_changed=True,
            prompts_list_changed=True,
            resources_list_changed=True,
            resource_subscriptions=sorted(self.uris),
        ) as subscription:
            self.honored = subscription.honored
            self._drops = 0  # open again: the next drop waits the shortest pause
            if self._tried is not None:
                self._tried.set()
            try:
                async for _event in subscription:  # the events reach the message handler through the SDK's tee
                    pass
            finally:
                self.honored = None  # no stream, no word of a change: lists are fetched again when asked for
        return True

    def keeps_current(self, kind: str) -> bool:
        """Whether the open stream tells us when the ``kind`` list (tools, prompts, resources) changes:
        then the list we hold is current, and asking for it again costs a request for nothing."""
        return bool(getattr(self.honored, f"{kind}_list_changed", False))
