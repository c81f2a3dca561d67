"""The kernel's one manager: ``get_manager()``, made on first use, and ``reset_manager()``."""

from __future__ import annotations

from mcpomni_jupyter.core.hooks import manager_made
from mcpomni_jupyter.core.manager import MCPManager

_default: MCPManager | None = None


def get_manager() -> MCPManager:
    """The kernel's manager, the one behind ``%mcp`` (the hooks of ``core.hooks`` run when it is made)."""
    global _default
    if _default is None or _default.closed:
        _default = MCPManager()
        manager_made(_default)
    return _default


def reset_manager() -> None:
    """Shut the kernel's manager down and forget it (``%unload_ext``)."""
    global _default
    if _default is not None:
        _default.shutdown()
    _default = None
