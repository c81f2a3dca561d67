"""The inline form that answers a server's elicitation request, built from its JSON schema.

Shown only while the call that caused it runs under top-level ``await``: the
kernel's own loop is then free, so the form is created and displayed there
(on the main thread, in the calling cell's context), and its clicks arrive.
"""

from __future__ import annotations

import asyncio
import contextvars
import html
from dataclasses import dataclass
from typing import Any

import ipywidgets as w


@dataclass
class Caller:
    """Where a top-level-await call came from: the kernel's loop and the cell's context."""

    loop: asyncio.AbstractEventLoop
    context: contextvars.Context


def field_widget(name: str, schema: dict[str, Any], required: bool) -> w.Widget:
    label = (schema.get("title") or name) + (" *" if required else "")
    kind = schema.get("type", "string")
    default = schema.get("default")
    style = {"description_width": "initial"}
    if "enum" in schema or "oneOf" in schema:
        options = schema.get("enum") or [o.get("const") for o in schema.get("oneOf", [])]
        return w.Dropdown(options=options, value=default if default in options else (options[0] if options else None), description=label, style=style)
    if kind == "boolean":
        return w.Checkbox(value=bool(default), description=label, style=style, indent=False)
    if kind == "integer":
        return w.IntText(value=int(default or 0), description=label, style=style)
    if kind == "number":
        return w.FloatText(value=float(default or 0), description=label, style=style)
    return w.Text(value=str(default or ""), description=label, placeholder=schema.get("description", ""), style=style)


class ElicitationForm(w.VBox):
    """A question from a server with Accept / Decline / Cancel."""

    def __init__(self, server: str, message: str, schema: dict[str, Any], answer: Any) -> None:
        required = set(schema.get("required", []))
        self.fields = {name: field_widget(name, sub, name in required) for name, sub in (schema.get("properties") or {}).items()}
        self.accept = w.Button(description="Accept", button_style="primary")
        self.decline = w.Button(description="Decline")
        self.cancel = w.Button(description="Cancel")
        self.status = w.HTML()
        self._answer = answer
        for button, action in ((self.accept, "accept"), (self.decline, "decline"), (self.cancel, "cancel")):
            button.on_click(lambda _, action=action: self._send(action))
        super().__init__(
            [w.HTML(f"<b>{html.escape(server)}</b> asks: {html.escape(message)}"), *self.fields.values(),
             w.HBox([self.accept, self.decline, self.cancel]), self.status]
        )

    def _send(self, action: str) -> None:
        content = {name: widget.value for name, widget in self.fields.items()} if action == "accept" else None
        for widget in (*self.fields.values(), self.accept, self.decline, self.cancel):
            widget.disabled = True
        self.status.value = f"<small>sent: {action}</small>"
        self._answer(action, content)


async def ask(caller: Caller, server: str, params: Any, timeout: float) -> Any:
    """Show the form in the caller's cell and wait for the person's answer."""
    from mcp_types import ElicitResult

    ours = asyncio.get_running_loop()
    answer: asyncio.Future[tuple[str, Any]] = ours.create_future()

    def reply(action: str, content: Any) -> None:
        ours.call_soon_threadsafe(lambda: answer.done() or answer.set_result((action, content)))

    def show() -> None:
        from IPython.display import display

        display(ElicitationForm(server, params.message, params.requested_schema, reply))

    caller.loop.call_soon_threadsafe(caller.context.run, show)
    try:
        action, content = await asyncio.wait_for(answer, timeout)
    except asyncio.TimeoutError:
        return ElicitResult(action="cancel")
    return ElicitResult(action=action, content=content)
