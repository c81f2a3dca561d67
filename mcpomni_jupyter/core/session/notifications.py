"""What servers tell us unasked: log messages, list changes, resource updates, transport faults.

Runs on the loop thread, for one connection: list changes go to its catalog
(coalesced re-listing), updates and log messages to its log, a line on stdout
that is not JSON-RPC to its log as kind ``stdout``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.session.errormap import map_error
from mcpomni_jupyter.core.session.serverlog import clip

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.connection import Connection


def on_log(c: Connection, params: Any) -> None:
    """A server's log message: into the connection's log."""
    data = params.data
    message = data if isinstance(data, str) else repr(data)
    if params.logger:
        message = f"{params.logger}: {message}"
    c.record("log", message, str(params.level), data)


def on_message(c: Connection, message: Any) -> None:
    """A notification (or a transport fault): list changes re-listed, updates and the rest logged."""
    if isinstance(message, Exception):
        line = _unparsed_line(message)
        if line is not None:
            c.record("stdout", f"the server wrote a line that is not JSON-RPC: {line}", "warning")
        else:
            c.record("error", f"transport error: {map_error(message, c.config)}", "warning")
        return
    method = getattr(message, "method", "")
    kind = _LIST_CHANGED.get(method)
    if kind is not None:
        c.catalog.changed(kind)
    elif method == "notifications/elicitation/complete":  # a page the person was asked to open (2025-11-25)
        ident = clip(str(message.params.elicitation_id), 200)
        c.record("request", f"the server says the page it asked the person to open is done with (elicitation {ident})")
    elif method == "notifications/resources/updated":
        uri = str(message.params.uri)
        c.catalog.kept.clear()  # an app's ui:// resource may be the one that changed
        c.record("updated", f"resource updated: {uri}", data=uri)


_LIST_CHANGED = {
    "notifications/tools/list_changed": "tools",
    "notifications/resources/list_changed": "resources",
    "notifications/prompts/list_changed": "prompts",
}


def announces_changes(caps: Any) -> bool:
    """Whether a 2026-07-28 server serves ``subscriptions/listen`` (its list-changed flags say so)."""
    lists = (caps.tools, caps.prompts, caps.resources)
    return any(getattr(c, "list_changed", False) for c in lists) or bool(getattr(caps.resources, "subscribe", False))


def _unparsed_line(exc: Exception) -> str | None:
    """The stdout line behind a parse error of the stdio transport, if that is what ``exc`` is."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return None
    errors = exc.errors()
    line = errors[0].get("input") if errors else None
    return clip(line, 500) if isinstance(line, str) else None
