"""The inline form that answers a server's elicitation request, built from its JSON schema.

Shown only while the call that caused it runs under top-level ``await``: the
kernel's own loop is then free, so the form is created and displayed there
(on the main thread, in the calling cell's context), and its clicks arrive.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

import ipywidgets as w

from ..core.server_requests import Caller

MESSAGE_CHARS = 2_000


def _kind(schema: Any) -> str:
    kind = schema.get("type", "string") if isinstance(schema, dict) else "string"
    return kind if kind in ("string", "integer", "number", "boolean") else "string"


def _coerce(kind: str, value: Any) -> Any:
    """``value`` as the schema's ``kind``; raises ValueError/TypeError when it is not one."""
    if kind == "integer":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(value)
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if kind == "boolean":
        if isinstance(value, str):
            return {"true": True, "false": False}[value.strip().lower()]
        return bool(value)
    return value if isinstance(value, str) else str(value)


def field_widget(name: str, schema: Any, required: bool) -> w.Widget:
    """A widget for one field; a schema it cannot honour (a default of the wrong type) gives a text field."""
    schema = schema if isinstance(schema, dict) else {}
    label = str(schema.get("title") or name)[:100] + (" *" if required else "")
    kind = _kind(schema)
    default = schema.get("default")
    style = {"description_width": "initial"}
    try:
        if "enum" in schema or "oneOf" in schema:
            raw = schema.get("enum") or [o.get("const") for o in schema.get("oneOf", []) if isinstance(o, dict)]
            values = [o for o in raw if isinstance(o, (str, int, float, bool))][:200]
            value = default if default in values else (values[0] if values else None)
            return w.Dropdown(options=[(str(o)[:200], o) for o in values], value=value, description=label, style=style)
        if kind == "boolean":
            return w.Checkbox(
                value=bool(_coerce(kind, default)) if default is not None else False, description=label, style=style, indent=False
            )
        if kind == "integer":
            return w.IntText(value=_coerce(kind, default) if default is not None else 0, description=label, style=style)
        if kind == "number":
            return w.FloatText(value=_coerce(kind, default) if default is not None else 0.0, description=label, style=style)
    except (ValueError, TypeError, KeyError, OverflowError):
        pass  # fall through: the person types the value, checked when sent
    hint = str(schema.get("description", ""))[:200]
    return w.Text(value="" if default is None else str(default)[:1000], description=label, placeholder=hint, style=style)


class ElicitationForm(w.VBox):
    """A question from a server with Accept / Decline / Cancel."""

    def __init__(self, server: str, message: str, schema: dict[str, Any], answer: Any) -> None:
        required = set(schema.get("required", []) or [])
        properties = schema.get("properties") or {}
        self.kinds = {name: _kind(sub) for name, sub in properties.items()}
        self.fields = {name: field_widget(name, sub, name in required) for name, sub in list(properties.items())[:100]}
        self.accept = w.Button(description="Accept", button_style="primary")
        self.decline = w.Button(description="Decline")
        self.cancel = w.Button(description="Cancel")
        self.status = w.HTML()
        self._answer = answer
        for button, action in ((self.accept, "accept"), (self.decline, "decline"), (self.cancel, "cancel")):
            button.on_click(lambda _, action=action: self._send(action))
        super().__init__(
            [
                w.HTML(f"<b>{html.escape(server)}</b> asks: {html.escape(str(message)[:MESSAGE_CHARS])}"),
                *self.fields.values(),
                w.HBox([self.accept, self.decline, self.cancel]),
                self.status,
            ]
        )

    def _content(self) -> dict[str, Any] | None:
        """The answers typed into the form, as the schema's types; None (and a message) when one does not fit."""
        content = {}
        for name, widget in self.fields.items():
            kind = self.kinds.get(name, "string")
            try:
                content[name] = _coerce(kind, widget.value) if isinstance(widget, w.Text) and kind != "string" else widget.value
            except (ValueError, TypeError, KeyError, OverflowError):
                self.status.value = f"<span style='color:#cf222e'>{html.escape(name)} must be a{'n' if kind[0] in 'aeiou' else ''} {html.escape(kind)}</span>"
                return None
        return content

    def _send(self, action: str) -> None:
        content = self._content() if action == "accept" else None
        if action == "accept" and content is None:
            return
        for widget in (*self.fields.values(), self.accept, self.decline, self.cancel):
            widget.disabled = True
        self.status.value = f"<small>sent: {action}</small>"
        self._answer(action, content)


async def ask(caller: Caller, server: str, params: Any, timeout: float) -> Any:
    """Show the form in the caller's cell and wait for the person's answer."""
    from mcp_types import ElicitResult

    ours = asyncio.get_running_loop()
    answer: asyncio.Future[tuple[str, Any]] = ours.create_future()

    def settle(action: str, content: Any) -> None:
        if not answer.done():
            answer.set_result((action, content))

    def reply(action: str, content: Any) -> None:
        ours.call_soon_threadsafe(settle, action, content)

    def show() -> None:
        from IPython.display import display

        try:
            display(ElicitationForm(server, params.message, params.requested_schema, reply))
        except Exception as exc:  # noqa: BLE001 - a schema we cannot render: decline now, never leave the server waiting
            print(f"mcp: declined {server}'s question: its form could not be shown ({type(exc).__name__})")
            reply("decline", None)

    caller.loop.call_soon_threadsafe(caller.context.run, show)
    try:
        action, content = await asyncio.wait_for(answer, timeout)
    except TimeoutError:
        return ElicitResult(action="cancel")
    return ElicitResult.model_validate({"action": action, "content": content})
