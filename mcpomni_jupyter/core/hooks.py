"""Hooks run on each new kernel manager: how the upper layers (the magics, the UI) are injected.

Light on purpose (the standard library only): ``%load_ext`` registers its
hook here without importing the rest of the core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_hooks: list[Callable[[Any], None]] = []
_current: list[Any] = []  # the kernel's manager, once made


def add_manager_hook(hook: Callable[[Any], None]) -> Callable[[], None]:
    """Call ``hook(manager)`` for the kernel's manager, now if it exists and whenever a new one is made."""
    _hooks.append(hook)
    if _current and not _current[0].closed:
        hook(_current[0])
    return lambda: _hooks.remove(hook) if hook in _hooks else None


def manager_made(manager: Any) -> None:
    """Run every hook for a new kernel manager (called by ``get_manager``)."""
    _current[:] = [manager]
    for hook in list(_hooks):
        hook(manager)
