"""The ``%mcp`` surface: the magics class, the command table and its handlers, parsing, completion.

The top layer: it uses the Python API (``core``), the values (``results``)
and the widgets (``ui``); nothing below imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_remove_hook: Callable[[], None] | None = None


def load(ipython: Any) -> None:
    """Register ``%mcp`` / ``%%mcp`` and tab completion; the kernel's manager gets their settings when made."""
    global _remove_hook
    from mcpomni_jupyter.core.hooks import add_manager_hook
    from mcpomni_jupyter.magics import awaited
    from mcpomni_jupyter.magics.agents import install_ask_transformer
    from mcpomni_jupyter.magics.magics import MCPMagics

    magics = MCPMagics(shell=ipython)
    ipython.register_magics(magics)
    install_ask_transformer(ipython)  # %%mcp ask cells run awaited: the kernel stays free for the Approve row
    awaited.install(ipython)  # a cell of %mcp lines waiting on the relay runs awaited: the page and the code get through
    if _remove_hook is not None:
        _remove_hook()
    _remove_hook = add_manager_hook(magics.adopt)
    if getattr(ipython, "_mcpomni_completer", False):
        return  # a reload: the hook finds the new magics through the registry

    def completer(_self: Any, event: Any) -> list[str]:
        current = ipython.magics_manager.registry.get("MCPMagics")
        if current is None:
            return []
        from mcpomni_jupyter.magics.completion import complete

        return complete(current.manager, getattr(event, "text_until_cursor", None) or event.line, ipython.user_ns)

    ipython.set_hook("complete_command", completer, str_key="%mcp")
    ipython.set_hook("complete_command", completer, str_key="%%mcp")
    ipython._mcpomni_completer = True


def unload(ipython: Any) -> None:
    """Close every connection (``%unload_ext``); the next ``%mcp`` after a reload makes a new manager."""
    global _remove_hook
    from mcpomni_jupyter.core.kernel import reset_manager
    from mcpomni_jupyter.magics import awaited
    from mcpomni_jupyter.magics.agents import remove_ask_transformer

    if _remove_hook is not None:
        _remove_hook()
        _remove_hook = None
    remove_ask_transformer(ipython)
    awaited.remove(ipython)
    reset_manager()
