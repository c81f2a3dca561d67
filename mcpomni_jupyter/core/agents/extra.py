"""The optional ``agents`` extra: its packages are imported only when a part that needs them is used.

``pip install 'mcpomni-jupyter[agents]'`` brings pydantic-ai-slim (with its
OpenAI and Anthropic providers) and langchain-core; nothing of theirs is
imported at ``import mcpomni_jupyter`` or ``%load_ext``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from mcpomni_jupyter.errors import MissingExtra

INSTALL = "pip install 'mcpomni-jupyter[agents]'"


def need(module: str, package: str, what: str, install: str = INSTALL) -> ModuleType:
    """Import ``module`` for ``what`` (e.g. ``"mcp.toolset()"``), or raise ``MissingExtra`` naming the extra (one line).

    ``install`` is the command that brings the extra (the ``agents`` one unless said)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if getattr(exc, "name", None) == module.split(".")[0]:
            raise MissingExtra(f"{what} needs {package}, which is not installed: {install}") from None
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise MissingExtra(f"{what} needs {package}, which could not be imported ({first}): reinstall it with {install}") from None
