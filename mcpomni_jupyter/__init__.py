"""mcpomni_jupyter: a notebook gateway to MCP servers.

``%load_ext mcpomni_jupyter`` registers the ``%mcp`` magics; the manager
behind them is ``mcpomni_jupyter.get_manager()``.  Loading stays light: the
MCP SDK is imported on first use, not here.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "MCPManager",
    "get_manager",
    "load_ipython_extension",
    "unload_ipython_extension",
    "McpJupyterError",
    "ConfigError",
    "LookupFailed",
    "ServerConnectionError",
    "AuthError",
    "RequestTimeout",
    "ServerError",
    "ToolCallError",
]

from .errors import (  # noqa: E402  (light: no third-party imports)
    AuthError,
    ConfigError,
    LookupFailed,
    McpJupyterError,
    RequestTimeout,
    ServerConnectionError,
    ServerError,
    ToolCallError,
)


def __getattr__(name: str) -> Any:
    if name in ("MCPManager", "get_manager"):
        from . import manager

        return getattr(manager, name)
    raise AttributeError(name)


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%mcp`` / ``%%mcp`` and tab completion (``%load_ext mcpomni_jupyter``)."""
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Close every connection (``%unload_ext mcpomni_jupyter``)."""
    from .magics import unload

    unload(ipython)
