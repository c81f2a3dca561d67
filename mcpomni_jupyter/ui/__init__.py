"""The notebook's widgets (ipywidgets): status panel, Authorize row, progress bars, elicitation forms.

Above the core in the layers: it uses the manager's public API; the core
reaches it only through what ``install`` registers on a manager.
"""

from __future__ import annotations

from typing import Any


def install(manager: Any) -> None:
    """Give ``manager`` the notebook's UI: questions from servers are answered in an inline form."""
    from .forms import ask

    manager.set_elicitation_handler(ask)
