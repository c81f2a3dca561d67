"""A streamable-HTTP POST that fails on the wire: resent once when that is safe, else failed on its own.

The SDK (mcp 2.3) lets a transport error of one POST escape into the
transport's task group (python-sdk#3522): a single refused connect while a
server restarts (a background re-list, the listen stream re-opening) ends
the whole transport, and every later call fails although the server is back.
``ResendingClient.send``, under the SDK's transport, handles the POSTs that
carry a JSON-RPC message:

- A message is resent once, on another connection, when resending is safe:
  after a connect error for any message (nothing was sent); after a
  connection that ended before any response byte (``RemoteProtocolError``
  "Server disconnected without sending a response", ``ReadError``: a
  keep-alive connection the server closed as our request went out) only
  for a request without side effects (``SAFE_METHODS``).  A ``tools/call``
  that may have reached the server is never repeated.
- What still fails becomes that request's own JSON-RPC error (see
  ``errormap.contained_error``), and a notification or a response is dropped
  (202 Accepted): one request fails, with one clear line, and the connection
  lives on.  The handshake (``server/discover``, ``initialize``) keeps its
  errors: an outage must never pass for the server's era.

GET and DELETE requests pass through: the SDK handles their errors itself.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from mcpomni_jupyter.config import ServerConfig
from mcpomni_jupyter.core.session.errormap import contained_error
from mcpomni_jupyter.httpclient import tls_context

# requests that change nothing on the server: resending one that may have arrived is harmless
SAFE_METHODS = frozenset(
    {
        "server/discover",
        "ping",
        "tools/list",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "resources/subscribe",
        "resources/unsubscribe",
        "prompts/list",
        "prompts/get",
        "completion/complete",
        "logging/setLevel",
        "subscriptions/listen",
        "tasks/get",
        "tasks/list",
        "tasks/result",
        "tasks/cancel",
    }
)
HANDSHAKE = frozenset({"server/discover", "initialize"})  # their failure is the connection's: not contained

_log = logging.getLogger("mcpomni_jupyter.requests")


def resending_client(server: ServerConfig, **kwargs: Any) -> Any:
    """An ``httpx2.AsyncClient`` (on the shared TLS context) whose POSTs of JSON-RPC messages are resent or contained."""
    kwargs.setdefault("verify", tls_context())
    client = _client_class()(**kwargs)
    client.mcp_server = server
    return client


def message_of(request: Any) -> dict[str, Any] | None:
    """The JSON-RPC message a POST carries, or None (another method, a batch, a body not JSON)."""
    if request.method != "POST":
        return None
    try:
        message = json.loads(request.content)
    except (ValueError, RuntimeError):  # RuntimeError: a streamed body that was not read
        return None
    return message if isinstance(message, dict) and message.get("jsonrpc") == "2.0" else None


def safe_to_resend(exc: BaseException, message: dict[str, Any]) -> bool:
    """Whether ``message``, whose POST failed with ``exc`` before any response, may be sent again."""
    import httpx2

    if isinstance(exc, (httpx2.ConnectError, httpx2.ConnectTimeout)):
        return True  # no connection, nothing sent
    if isinstance(exc, (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError)):
        return "id" in message and message.get("method") in SAFE_METHODS
    return False


def contained_response(exc: BaseException, message: dict[str, Any], request: Any, server: ServerConfig) -> Any:
    """The response that fails ``message`` alone; None when the error is the connection's (the handshake)."""
    import httpx2

    method = message.get("method")
    if method in HANDSHAKE:
        return None
    if method is None or "id" not in message:  # a notification, or our answer to a server's request
        _log.debug("%s: %s not delivered (%s)", server.name, method or "a response", type(exc).__name__)
        return httpx2.Response(202, request=request)
    error = contained_error(exc, server)
    return httpx2.Response(200, json={"jsonrpc": "2.0", "id": message["id"], "error": error}, request=request)


@functools.cache
def _client_class() -> type:
    import httpx2

    class ResendingClient(httpx2.AsyncClient):
        """``send`` resends a failed POST once when safe, and fails only its request otherwise (see the module)."""

        mcp_server: ServerConfig

        async def send(self, request: Any, **kwargs: Any) -> Any:
            try:
                return await super().send(request, **kwargs)
            except httpx2.TransportError as exc:
                message = message_of(request)
                if message is None:
                    raise
                error: BaseException = exc
            if safe_to_resend(error, message):
                _log.debug("%s: resending %s after %s", self.mcp_server.name, message.get("method"), type(error).__name__)
                try:
                    return await super().send(request, **kwargs)
                except httpx2.TransportError as again:
                    error = again
            response = contained_response(error, message, request, self.mcp_server)
            if response is None:
                raise error
            return response

    return ResendingClient
