"""The OAuth callback server: one per port, on loopback, routing each redirect by ``state``.

It starts on demand when a flow begins to wait, listens on
``http://localhost:3000/callback`` by default (host, port and path are
settings), and stops when no flow waits.  A redirect whose ``state`` matches
no waiting flow gets a 400 page and completes nothing; an ``error=`` redirect
ends its flow with that error.  The paste box delivers a pasted URL through
the same ``deliver`` routine, so whichever arrives first wins.  A redirect
whose ``iss`` is not the issuer of the authorization server the flow was sent
to (or that has none where that server promised one) ends its flow with an
error and a 400 page, before any code is exchanged (RFC 9207, the mix-up
defence the MCP revision 2026-07-28 requires).  The redirect
URI keeps ``localhost`` (what the README and the MCPOmni Connect guide
promise, and what stored client registrations were made for); the hardened
HTTP serving is ``loopback.LoopbackHTTPServer``.  No page echoes the code or
the state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from mcpomni_jupyter.auth.loopback import LoopbackHTTPServer
from mcpomni_jupyter.errors import AuthError, AuthorizationDenied

UNKNOWN_STATE = (
    "This authorization response matches no sign-in that is waiting (its state is unknown or already used); start again from the notebook"
)

WRONG_ISSUER = (
    "This response did not come from the authorization server the sign-in was sent to, so nothing was completed; "
    "start again from the notebook"
)


@dataclass
class Flow:
    """One authorization waiting for its redirect."""

    state: str
    server: str
    url: str
    future: asyncio.Future[Any] = field(repr=False)
    issuer: str | None = None  # the authorization server's issuer: what ``iss`` must be
    iss_required: bool = False  # that server promised ``iss`` (authorization_response_iss_parameter_supported)
    note: Callable[[str], None] | None = field(default=None, repr=False)  # a warning into the server's own log

    def issuer_problem(self, iss: str | None) -> str | None:
        """Why ``iss`` refutes this response (RFC 9207: exact string comparison), or None."""
        if iss is None:
            if not self.iss_required:
                return None
            return (
                f"server {self.server!r}: the authorization response carried no issuer (iss), which its authorization "
                f"server promised; nothing was completed: run %mcp auth {self.server} to try again"
            )
        if iss == self.issuer:
            return None
        return (
            f"server {self.server!r}: the authorization response names the issuer {iss[:80]!r}, not {self.issuer!r}, "
            "the authorization server it was sent to (a mix-up, RFC 9207); nothing was completed: "
            f"run %mcp auth {self.server} to try again, and tell the server's operator if it happens again"
        )


class FlowRouter:
    """Authorizations waiting for their redirect, by ``state``: what the loopback server and the relay share."""

    def __init__(self) -> None:
        self._flows: dict[str, Flow] = {}

    @property
    def redirect_uri(self) -> str:
        raise NotImplementedError

    @property
    def waiting(self) -> list[Flow]:
        return list(self._flows.values())

    async def start(self) -> None:
        """Be ready for redirects (the loopback server listens; the relay needs nothing)."""

    async def stop(self) -> None:
        """Stop listening once nothing waits."""

    async def expect(self, state: str, server: str, url: str, issuer: str | None = None, iss_required: bool = False) -> Flow:
        """Register a flow waiting for ``state`` (from the authorization server ``issuer``); starts the server if needed."""
        await self.start()
        flow = Flow(state, server, url, asyncio.get_running_loop().create_future(), issuer, iss_required)
        self._flows[state] = flow
        return flow

    async def release(self, flow: Flow) -> None:
        """Forget a flow; stop the server once nothing waits."""
        self._flows.pop(flow.state, None)
        if not flow.future.done():
            flow.future.cancel()
        if not self._flows:
            await self.stop()

    def deliver(self, query: str | dict[str, str]) -> tuple[int, str, str]:
        """Route redirect parameters to their flow: returns (status, page title, message)."""
        params = {k: v[0] for k, v in parse_qs(query).items()} if isinstance(query, str) else dict(query)
        state = params.get("state")
        flow = self._flows.get(state or "")
        if flow is None or flow.future.done():
            return 400, "Unknown authorization", UNKNOWN_STATE
        problem = flow.issuer_problem(params.get("iss"))
        if problem is not None:
            flow.future.set_exception(AuthError(problem))
            return 400, "Authorization refused", WRONG_ISSUER
        if "error" in params:
            error = params["error"]
            description = params.get("error_description", "")
            flow.future.set_exception(
                AuthorizationDenied(
                    f"server {flow.server!r}: authorization refused ({error}{': ' + description if description else ''}); "
                    f"run %mcp auth {flow.server} to try again"
                )
            )
            return 200, "Authorization refused", f"The authorization server said: {error} {description}".strip()
        if not params.get("code"):
            return 400, "Incomplete authorization", "The response carried no authorization code. Start again from the notebook."
        from mcp.shared.auth import AuthorizationCodeResult

        flow.future.set_result(AuthorizationCodeResult(code=params["code"], state=state, iss=params.get("iss")))
        return 200, "Authorization complete", f"{flow.server} is authorized. You can close this tab and return to the notebook."

    def deliver_url(self, url: str) -> tuple[int, str, str]:
        """The paste-box path: the whole URL the browser landed on."""
        parsed = urlparse(url.strip())
        return self.deliver(parsed.query or url.strip().lstrip("?"))


class CallbackServer(LoopbackHTTPServer, FlowRouter):
    """A tiny HTTP server on the loop thread that hands authorization codes to waiting flows."""

    def __init__(self, host: str = "localhost", port: int = 3000, path: str = "/callback", **limits: Any) -> None:
        LoopbackHTTPServer.__init__(self, host, port, **limits)  # raises AuthError for a non-loopback host
        FlowRouter.__init__(self)
        self.path = path if path.startswith("/") else "/" + path

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}{self.path}"

    def route(self, method: str, target: str) -> tuple[int, str, str]:
        if method != "GET":
            return 405, "Method not allowed", "Only GET is served here."
        path, _, query = target.partition("?")
        if path != self.path:
            return 404, "Not found", "This is the notebook's OAuth callback; nothing else is here."
        return self.deliver(query)


class RelayCallback(FlowRouter):
    """Flows whose redirect comes back through the Jupyter server's relay page (``auth.relay``).

    Nothing listens here: the notebook's bridge widget hands the relay page's
    ``code`` and ``state`` to ``deliver``, which routes them exactly as the
    loopback server does.
    """

    def __init__(self, redirect_uri: str) -> None:
        super().__init__()
        self._redirect_uri = redirect_uri

    @property
    def redirect_uri(self) -> str:
        return self._redirect_uri

    @property
    def running(self) -> bool:
        return False
