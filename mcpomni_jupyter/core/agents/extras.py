"""The optional packages of the ``agents`` extra, imported only when a feature needs them.

``import mcpomni_jupyter`` and ``%load_ext`` never import them; a missing one
is one ``MissingExtra`` line that names the extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from mcpomni_jupyter.errors import MissingExtra

AGENTS_EXTRA = "pip install 'mcpomni-jupyter[agents]'"
_DISTRIBUTIONS = {"langchain_core": "langchain-core", "pydantic_ai": "pydantic-ai-slim", "openai": "openai", "anthropic": "anthropic"}


def need(module: str, what: str) -> ModuleType:
    """``module`` imported, or ``MissingExtra`` saying that ``what`` needs it and how to install it."""
    top = module.partition(".")[0]
    try:
        importlib.import_module(top)  # the distribution itself (a submodule already imported would hide its absence)
        return importlib.import_module(module)
    except ImportError:
        package = _DISTRIBUTIONS.get(top, top)
        raise MissingExtra(f"{what} needs {package}, which is not installed: {AGENTS_EXTRA}") from None
