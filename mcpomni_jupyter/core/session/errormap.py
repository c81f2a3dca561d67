"""Error mapping: transport, SDK and OS errors become ours, once, at the boundary.

``map_error`` unwraps exception groups, finds the most telling cause and
returns an ``errors.py`` error whose message says what happened and what to
do (as httpx's ``map_httpcore_exceptions`` does for httpcore).  A server that
requires a client capability answers ``-32021`` (2026-07-28; the tasks
extension's text said ``-32003`` until spec PR #3116): the error names what it requires.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mcpomni_jupyter.config import ServerConfig
from mcpomni_jupyter.errors import AuthError, McpJupyterError, RequestTimeout, ServerConnectionError, ServerError
from mcpomni_jupyter.redact import redact, redact_url

CONTAINED_KEY = "mcpomni_jupyter.contained"  # in a JSON-RPC error's data: a transport error that failed one request
CONTAINED_CHARS = 500  # such an error's message is cut here


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for sub in exc.exceptions:
            out.extend(_leaves(sub))
        return out
    return [exc]


def root_error(exc: BaseException) -> BaseException:
    """The most telling leaf of an exception (group): ours first, then httpx2's, then the first."""
    import httpx2

    leaves = [e for e in _leaves(exc) if not isinstance(e, asyncio.CancelledError)] or [exc]
    for kind in (McpJupyterError, httpx2.HTTPError):  # the most specific cause wins
        for leaf in leaves:
            if isinstance(leaf, kind):
                return leaf
    return leaves[0]


def map_error(exc: BaseException, server: ServerConfig, stderr_tail: str = "", http_status: int | None = None) -> McpJupyterError:
    """Turn a transport, SDK or OS error into one of ours, with a sentence saying what to do.

    Called only once the MCP SDK (and with it httpx2 and anyio) is loaded.
    """
    import httpx2
    from mcp import MCPError

    exc = root_error(exc)
    if isinstance(exc, McpJupyterError):
        return exc
    if isinstance(exc, httpx2.HTTPStatusError):
        return _status_error(exc.response.status_code, server)
    if http_status is not None and http_status >= 400 and isinstance(exc, MCPError) and not _servers_own(exc, http_status):
        # streamable HTTP turns an HTTP error into a JSON-RPC one; the status was seen by a hook
        return _status_error(http_status, server)
    hint = f" (stderr: {stderr_tail})" if stderr_tail else ""
    return _http_error(exc, server) or _sdk_error(exc, server, hint) or _os_error(exc, server, hint)


def _servers_own(exc: Any, status: int) -> bool:
    """Whether an error at HTTP ``status`` is the server's own JSON-RPC error (a 2026-07-28 server answers
    invalid params with 400 and the error in the body), not the SDK's stand-in for a bare HTTP error."""
    return status not in (401, 403, 404) and exc.error.message != "Server returned an error response"


def _status_error(code: int, server: ServerConfig) -> McpJupyterError:
    name, url = server.name, server.shown_target
    if code == 401:
        if server.auth.method == "oauth":
            return AuthError(f"server {name!r} answered 401 Unauthorized: authorize again with %mcp auth {name}")
        if server.auth.uses_oauth:  # client credentials or an identity assertion: the grant's settings
            return AuthError(f"server {name!r} answered 401 Unauthorized: check the credentials in its auth config ({server.auth.method})")
        return AuthError(
            f"server {name!r} answered 401 Unauthorized: add a bearer header "
            f"(-H 'Authorization: Bearer ${{TOKEN}}') or set auth.method to oauth"
        )
    if code == 403:
        return AuthError(f"server {name!r} answered 403 Forbidden: the credentials lack permission for {url}")
    if code == 404:
        return ServerConnectionError(
            f"server {name!r}: {url} answered 404 Not Found; check the path (streamable HTTP servers usually serve /mcp, SSE servers /sse)"
        )
    return ServerConnectionError(f"server {name!r}: {url} answered HTTP {code}")


def _http_error(exc: BaseException, server: ServerConfig) -> McpJupyterError | None:
    import httpx2

    name = server.name
    if isinstance(exc, httpx2.TimeoutException):
        return RequestTimeout(f"server {name!r}: {server.shown_target} did not answer in time; is it up? (timeout {server.timeout:g} s)")
    if isinstance(exc, httpx2.TransportError):
        try:
            url = redact_url(str(exc.request.url))
        except RuntimeError:  # an error raised before any request was made
            url = server.shown_target
        return ServerConnectionError(
            f"server {name!r}: cannot reach {url} ({redact(str(exc)) or type(exc).__name__}); is the server running?"
        )
    return None


def _sdk_error(exc: BaseException, server: ServerConfig, hint: str) -> McpJupyterError | None:
    from mcp import MCPError
    from mcp.client.auth import OAuthFlowError, OAuthRegistrationError, OAuthTokenError
    from mcp_types import CONNECTION_CLOSED, MISSING_REQUIRED_CLIENT_CAPABILITY, REQUEST_TIMEOUT

    name = server.name
    if isinstance(exc, (OAuthFlowError, OAuthTokenError, OAuthRegistrationError)):
        return AuthError(f"server {name!r}: OAuth failed: {redact(str(exc))}; run %mcp auth {name} to try again")
    if isinstance(exc, MCPError):
        code = exc.error.code
        if code == CONNECTION_CLOSED and (contained := _contained(exc, server)) is not None:
            return contained
        if code == CONNECTION_CLOSED:
            return ServerConnectionError(f"server {name!r} closed the connection{hint}; run %mcp connect {name} to restart it")
        if code == REQUEST_TIMEOUT:
            return RequestTimeout(f"server {name!r} did not answer in time and the request was cancelled; raise --timeout")
        if code == MISSING_REQUIRED_CLIENT_CAPABILITY:
            return ServerError(f"server {name!r} requires a client capability{_required(exc.error.data)}; {CAPABILITY_HINT}", code)
        return ServerError(f"server {name!r}: {redact(exc.error.message)}", code)
    return None


CAPABILITY_HINT = "this client did not offer it on the request, so the server refused it; ask the server's maintainers to make it optional"
REQUIRED_CHARS = 200  # of the capabilities a -32021 error names


def _required(data: Any) -> str:
    """`` (NAMES)``: what a -32021 error's ``data.requiredCapabilities`` names (keys only, bounded: the server is untrusted)."""
    required = data.get("requiredCapabilities") if isinstance(data, dict) else None
    if not isinstance(required, dict) or not required:
        return ""
    names = [f"{k}: {', '.join(map(str, v))}" if isinstance(v, dict) and v else str(k) for k, v in list(required.items())[:5]]
    text = " ".join("; ".join(names).split())  # one line, whatever the server sent
    return f" ({redact(text[:REQUIRED_CHARS])})"


def contained_error(exc: BaseException, server: ServerConfig) -> dict[str, Any]:
    """The JSON-RPC error object that fails one request whose POST hit transport error ``exc``.

    Its message is ``map_error``'s sentence without the server's name, and its
    data says which of our errors it stands for; ``map_error`` turns it back.
    """
    from mcp_types import CONNECTION_CLOSED

    error = map_error(exc, server)
    kind = "timeout" if isinstance(error, RequestTimeout) else "connection"
    text = str(error).removeprefix(f"server {server.name!r}: ")
    return {"code": CONNECTION_CLOSED, "message": text, "data": {CONTAINED_KEY: kind}}


def is_contained(exc: BaseException) -> bool:
    """Whether ``exc`` is a request's own transport failure (``contained_error``): the connection lives on."""
    from mcp import MCPError

    error = root_error(exc)
    data = error.error.data if isinstance(error, MCPError) else None
    return isinstance(data, dict) and CONTAINED_KEY in data


def _contained(exc: Any, server: ServerConfig) -> McpJupyterError | None:
    """Our error back from ``contained_error``'s JSON-RPC error (a server that sends one only names itself)."""
    data = exc.error.data
    kind = data.get(CONTAINED_KEY) if isinstance(data, dict) else None
    if kind not in ("timeout", "connection"):
        return None
    text = f"server {server.name!r}: {' '.join(redact(str(exc.error.message)).split())[:CONTAINED_CHARS]}"
    return RequestTimeout(text) if kind == "timeout" else ServerConnectionError(text)


SCHEMA_PHRASES = (
    "has an output schema but did not return structured content",
    "Invalid structured content returned by tool",
    "Invalid schema for tool",
)


def is_schema_error(exc: BaseException) -> bool:
    """The SDK's ``validate_tool_result`` refusal (a ``RuntimeError``, told apart only by its text)."""
    return any(phrase in str(exc) for phrase in SCHEMA_PHRASES)


def schema_error(server: str, exc: BaseException) -> ServerError:
    text = redact(str(exc)).splitlines()[0][:300] if str(exc) else type(exc).__name__
    return ServerError(
        f"server {server!r}: {text}; the result breaks the tool's output schema, so it was refused: report it to the server's maintainers"
    )


def _os_error(exc: BaseException, server: ServerConfig, hint: str) -> McpJupyterError:
    import anyio

    name = server.name
    if isinstance(exc, FileNotFoundError) and server.transport == "stdio":
        return ServerConnectionError(f"server {name!r}: command {server.command!r} not found; check 'command' and PATH")
    if isinstance(exc, PermissionError) and server.transport == "stdio":
        return ServerConnectionError(f"server {name!r}: command {server.command!r} is not executable")
    if isinstance(exc, TimeoutError):
        return RequestTimeout(f"server {name!r} did not answer in time; raise its 'timeout' or --timeout")
    if isinstance(exc, RuntimeError) and is_schema_error(exc):
        return schema_error(name, exc)
    closed = (EOFError, BrokenPipeError, ConnectionError, anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError)
    if isinstance(exc, closed):
        return ServerConnectionError(f"server {name!r} closed the connection{hint}; run %mcp connect {name} to restart it")
    text = redact(str(exc)) or type(exc).__name__
    return ServerConnectionError(f"server {name!r}: {type(exc).__name__}: {text}{hint}")
