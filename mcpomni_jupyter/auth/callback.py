"""The OAuth callback server: one per kernel, on loopback, routing each redirect by ``state``.

It starts on demand when a flow begins to wait, listens on
``http://localhost:3000/callback`` by default (host, port and path are
settings), and stops when no flow waits.  A redirect whose ``state`` matches
no waiting flow gets a 400 page and completes nothing; an ``error=`` redirect
ends its flow with that error.  The paste box delivers a pasted URL through
the same ``deliver`` routine, so whichever arrives first wins.
"""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

from ..errors import AuthError


UNKNOWN_STATE = (
    "This authorization response matches no sign-in that is waiting (its state is unknown or already used); "
    "start again from the notebook"
)


class AuthorizationDenied(AuthError):
    """The authorization server (or the user) refused: ``error=`` in the redirect."""


@dataclass
class Flow:
    state: str
    server: str
    url: str
    future: asyncio.Future[Any] = field(repr=False, default=None)  # type: ignore[assignment]


_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
    "<body style='font-family:sans-serif;margin:3em'><h2>{title}</h2><p>{body}</p></body></html>"
)


def _page(title: str, body: str) -> str:
    return _PAGE.format(title=html.escape(title), body=html.escape(body))


class CallbackServer:
    """A tiny HTTP server on the loop thread that hands authorization codes to waiting flows."""

    def __init__(self, host: str = "localhost", port: int = 3000, path: str = "/callback") -> None:
        self.host, self.port, self.path = host, port, path if path.startswith("/") else "/" + path
        self._flows: dict[str, Flow] = {}
        self._server: asyncio.AbstractServer | None = None

    @property
    def redirect_uri(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def waiting(self) -> list[Flow]:
        return list(self._flows.values())

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._server is not None:
            return
        bind = "127.0.0.1" if self.host == "localhost" else self.host
        try:
            self._server = await asyncio.start_server(self._handle, bind, self.port)
        except OSError as exc:
            raise AuthError(
                f"Failed to start OAuth callback server on {self.host}:{self.port} ({exc.strerror or exc}): "
                f"free port {self.port}, or choose another with %config MCPMagics.callback_port = 3001 "
                "(or \"callback_port\" in the server's auth config)"
            ) from None

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            try:
                await asyncio.wait_for(server.wait_closed(), 5)
            except (asyncio.TimeoutError, Exception):
                pass

    # ------------------------------------------------------------------ flows

    async def expect(self, state: str, server: str, url: str) -> Flow:
        """Register a flow waiting for ``state``; starts the server if needed."""
        await self.start()
        flow = Flow(state, server, url, asyncio.get_running_loop().create_future())
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

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 10)
            while True:  # headers: read and ignore
                line = await asyncio.wait_for(reader.readline(), 10)
                if line in (b"\r\n", b"\n", b""):
                    break
            parts = request_line.decode("latin-1").split()
            if len(parts) < 2 or parts[0] != "GET":
                status, title, message = 405, "Method not allowed", "Only GET is served here."
            else:
                target = urlparse(parts[1])
                if target.path != self.path:
                    status, title, message = 404, "Not found", "This is the notebook's OAuth callback; nothing else is here."
                else:
                    status, title, message = self.deliver(target.query)
            body = _page(title, message).encode()
            reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}[status]
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n".encode() + body
            )
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
