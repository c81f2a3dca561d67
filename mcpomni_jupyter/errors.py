"""The exception tree of mcpomni_jupyter, and the "did you mean" every lookup error uses.

    McpJupyterError                 base class; str(exc) is one sentence saying what to do
     +-- ConfigError                a server config that cannot be used (bad JSON, unknown key, unset ${VAR})
     +-- LookupFailed               an unknown server, tool, prompt or resource, or an ambiguous tool name
     +-- ArgumentError              arguments that do not match a tool's input schema (also a TypeError)
     +-- MissingExtra               an optional part's package is not installed (also an ImportError); names the extra
     +-- ServerConnectionError      a server that cannot be reached, exited, or is not connected
     +-- AuthError                  the server refused our credentials (HTTP 401/403), or OAuth failed
     |    +-- AuthorizationDenied   the authorization server (or the person) said no: ``error=`` in the redirect
     |    +-- ReauthorizationNeeded a connected server's tokens died and could not be refreshed
     +-- RequestTimeout             a request got no answer in time (the server was told to cancel it)
     +-- ToolCallError              a tool answered with an error result (Python API only; magics return it)
     +-- ServerError                the server answered a request with a JSON-RPC error

Errors carry their context, as httpx's carry the request: ``.server`` (the
server's name) and ``.tool`` (the tool or prompt) where there is one, set by
the request primitive (``core/session/session.py``) on every error of a
request; ``ServerError.code`` is the JSON-RPC code, ``ToolCallError.result``
what the tool returned.

Lower-level errors (httpx2, anyio, the MCP SDK, OSError) are mapped once, in
``core.errormap.map_error``; only the magics turn these into IPython's
``UsageError``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class McpJupyterError(Exception):
    """Base class of every error mcpomni_jupyter raises on purpose; ``.server`` and ``.tool`` say what it concerns."""

    def __init__(self, *args: object, server: str | None = None, tool: str | None = None) -> None:
        super().__init__(*args)
        self.server = server
        self.tool = tool


class ConfigError(McpJupyterError, ValueError):
    """A configuration that cannot be used."""


class LookupFailed(McpJupyterError, LookupError):
    """An unknown or ambiguous server, tool, prompt or resource name."""


class ArgumentError(McpJupyterError, TypeError):
    """Arguments that do not match a tool's input schema."""


class MissingExtra(McpJupyterError, ImportError):
    """An optional part needs a package that is not installed; the message names the extra to install."""


class ServerConnectionError(McpJupyterError, ConnectionError):
    """A server that cannot be reached, that exited, or that is not connected."""


class AuthError(McpJupyterError):
    """The server refused our credentials, or an authorization failed."""


class AuthorizationDenied(AuthError):
    """The authorization server (or the person) refused: ``error=`` in the redirect."""


class ReauthorizationNeeded(AuthError):
    """A connected server's tokens stopped working and could not be refreshed."""


class RequestTimeout(McpJupyterError, TimeoutError):
    """A request that got no answer in time."""


class ServerError(McpJupyterError):
    """The server answered with a JSON-RPC error."""

    def __init__(self, message: str, code: int | None = None, *, server: str | None = None, tool: str | None = None):
        super().__init__(message, server=server, tool=tool)
        self.code = code


class TaskCancelled(McpJupyterError):
    """An MCP task that ended ``cancelled`` (by us or by the server)."""


class ApprovalDenied(McpJupyterError, PermissionError):
    """A tool call the approval policy refused (a ``deny`` rule), or that the person (or the handler) denied."""


class ToolCallError(McpJupyterError):
    """A tool that answered with ``isError``; ``.result`` holds what it returned."""

    def __init__(self, message: str, result: object = None, *, server: str | None = None, tool: str | None = None):
        super().__init__(message, server=server or getattr(result, "server", None), tool=tool or getattr(result, "tool", None))
        self.result = result


def with_context(exc: McpJupyterError, server: str, tool: str | None = None) -> McpJupyterError:
    """``exc`` with ``.server`` (and ``.tool``) filled in where it did not say (the request primitive's boundary)."""
    if getattr(exc, "server", None) is None:
        exc.server = server
    if tool is not None and getattr(exc, "tool", None) is None:
        exc.tool = tool
    return exc


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ``""``."""
    match = difflib.get_close_matches(word, sorted(set(choices)), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""
