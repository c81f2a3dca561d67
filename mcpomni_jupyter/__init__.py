"""mcpomni_jupyter: a notebook gateway to MCP servers.

``%load_ext mcpomni_jupyter`` registers the ``%mcp`` magics; the manager
behind them is ``mcpomni_jupyter.get_manager()``.  Loading stays light: the
MCP SDK is imported on first use, not here.
"""

from __future__ import annotations

from typing import Any

from mcpomni_jupyter._version import __version__ as __version__

__all__ = [
    "ApprovalDenied",
    "ArgumentError",
    "AuthError",
    "AuthorizationDenied",
    "ConfigError",
    "LookupFailed",
    "MCPManager",
    "MapResults",
    "McpJupyterError",
    "MissingExtra",
    "ReauthorizationNeeded",
    "RequestTimeout",
    "RowError",
    "ServerConnectionError",
    "ServerError",
    "TaskCancelled",
    "ToolCallError",
    "get_manager",
    "load_ipython_extension",
    "unload_ipython_extension",
]

from mcpomni_jupyter.errors import (
    ApprovalDenied,
    ArgumentError,
    AuthError,
    AuthorizationDenied,
    ConfigError,
    LookupFailed,
    McpJupyterError,
    MissingExtra,
    ReauthorizationNeeded,
    RequestTimeout,
    ServerConnectionError,
    ServerError,
    TaskCancelled,
    ToolCallError,
)


def __getattr__(name: str) -> Any:
    if name == "MCPManager":
        from mcpomni_jupyter.core.manager import MCPManager

        return MCPManager
    if name in ("MapResults", "RowError"):
        from mcpomni_jupyter.results import batch

        return getattr(batch, name)
    if name == "get_manager":
        from mcpomni_jupyter.core.kernel import get_manager

        return get_manager
    raise AttributeError(name)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension: the OAuth relay page (enabled on install by ``jupyter_server_config.d``)."""
    return [{"module": "mcpomni_jupyter.serverext.relay"}]


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%mcp`` / ``%%mcp`` and tab completion (``%load_ext mcpomni_jupyter``)."""
    from mcpomni_jupyter.magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Close every connection (``%unload_ext mcpomni_jupyter``)."""
    from mcpomni_jupyter.magics import unload

    unload(ipython)
