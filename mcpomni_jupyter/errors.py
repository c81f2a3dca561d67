"""The exception tree of mcpomni_jupyter.

    McpJupyterError                 base class; str(exc) is one sentence saying what to do
     +-- ConfigError                a server config that cannot be used (bad JSON, unknown key, unset ${VAR})
     +-- LookupFailed               an unknown server, tool, prompt or resource, or an ambiguous tool name
     +-- ServerConnectionError      a server that cannot be reached, exited, or is not connected
     +-- AuthError                  the server refused our credentials (HTTP 401/403)
     +-- RequestTimeout             a request got no answer in time (the server was told to cancel it)
     +-- ToolCallError              a tool answered with an error result (Python API only; magics return it)
     +-- ServerError                the server answered a request with a JSON-RPC error

Lower-level errors (httpx2, anyio, the MCP SDK, OSError) are mapped once, in
``connection.map_error``; only ``magics.py`` turns these into IPython's
``UsageError``.
"""

from __future__ import annotations


class McpJupyterError(Exception):
    """Base class of every error mcpomni_jupyter raises on purpose."""


class ConfigError(McpJupyterError, ValueError):
    """A configuration that cannot be used."""


class LookupFailed(McpJupyterError, LookupError):
    """An unknown or ambiguous server, tool, prompt or resource name."""


class ServerConnectionError(McpJupyterError, ConnectionError):
    """A server that cannot be reached, that exited, or that is not connected."""


class AuthError(McpJupyterError):
    """The server refused our credentials."""


class RequestTimeout(McpJupyterError, TimeoutError):
    """A request that got no answer in time."""


class ServerError(McpJupyterError):
    """The server answered with a JSON-RPC error."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class ToolCallError(McpJupyterError):
    """A tool that answered with ``isError``; ``.result`` holds what it returned."""

    def __init__(self, message: str, result: object = None):
        super().__init__(message)
        self.result = result
