"""The notebook's widgets (ipywidgets): status panel, Authorize row, progress bars, elicitation forms and links.

Above the core in the layers: it uses the manager's public API; the core
reaches it only through the ``UiHost`` that ``install`` registers on a manager;
its widgets act through ``manager.ui`` (``core/host.py``).
"""

from __future__ import annotations

from typing import Any


def install(manager: Any) -> None:
    """Give ``manager`` the notebook's UI: a server's question is answered in an inline form (under top-level
    ``await``), a page it asks the person to open is shown as a link in the calling cell, a ``map`` shows
    its progress bar, and a model's call the approval policy asks about gets an Approve / Deny row.

    Kept apart from the notebook's own ``set_elicitation_handler``: installing the UI never replaces it.
    """
    from mcpomni_jupyter.core.host import UiHost
    from mcpomni_jupyter.ui.approval import approve
    from mcpomni_jupyter.ui.forms import ask
    from mcpomni_jupyter.ui.links import show_link
    from mcpomni_jupyter.ui.mapbar import map_view
    from mcpomni_jupyter.ui.tasks import task_view

    # a background job shows a live status line
    manager.register_ui(UiHost(form=ask, link=show_link, map_view=map_view, task_view=task_view, approve=approve))
