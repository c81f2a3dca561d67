"""The inline form that answers a server's elicitation request, built from its JSON schema.

Shown only while the call that caused it runs under top-level ``await``: the
kernel's own loop is then free, so the form is created and displayed there
(on the main thread, in the calling cell's context), and its clicks arrive.
Fields start at the schema's defaults (SEP-1034); an optional text field left
empty is left out of the answer (the server's default then applies), and the
answer is checked against the schema before it is sent.  A handler set with
``mcp.set_elicitation_handler`` answers instead of the form, in any call.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

import ipywidgets as w

from mcpomni_jupyter.core.requests.elicitation import Caller, check_answer, question_schema, schema_defaults
from mcpomni_jupyter.text import printable

MESSAGE_CHARS = 2_000


def _kind(schema: Any) -> str:
    kind = schema.get("type", "string") if isinstance(schema, dict) else "string"
    return kind if kind in ("string", "integer", "number", "boolean", "array") else "string"


def _options(schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of an enum, or of a ``oneOf``/``anyOf`` of ``const`` with titles; at most 200."""
    if isinstance(schema.get("enum"), list):
        pairs = [(str(o), o) for o in schema["enum"]]
    else:
        raw = schema.get("oneOf") or schema.get("anyOf") or []
        pairs = [(str(o.get("title") or o.get("const")), o.get("const")) for o in raw if isinstance(o, dict) and "const" in o]
    return [(label[:200], value) for label, value in pairs if isinstance(value, (str, int, float, bool))][:200]


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
        items = schema.get("items")
        if kind == "array" and isinstance(items, dict) and _options(items):  # a multi-select (SEP-1330)
            options = _options(items)
            chosen = tuple(v for _, v in options if isinstance(default, list) and v in default)
            return w.SelectMultiple(options=options, value=chosen, description=label, style=style)
        if "enum" in schema or "oneOf" in schema or "anyOf" in schema:
            options = _options(schema)
            values = [v for _, v in options]
            value = default if default in values else (values[0] if values else None)
            return w.Dropdown(options=options, value=value, description=label, style=style)
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
        self.required = required
        self.schema = question_schema(schema)  # what the answer is checked against
        self.kinds = {name: _kind(sub) for name, sub in properties.items()}
        self.fields = {name: field_widget(name, sub, name in required) for name, sub in list(properties.items())[:100]}
        self.accept = w.Button(description="Accept", button_style="primary")
        self.decline = w.Button(description="Decline")
        self.cancel = w.Button(description="Cancel")
        self.status = w.HTML()
        self._answer = answer
        self.server, self.question = server, str(message)[:MESSAGE_CHARS]
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

    def __repr__(self) -> str:
        """The question in text (plain IPython, nbconvert, GitHub): what was asked and which fields, not ``VBox(...)``."""
        fields = ", ".join(self.fields) or "no fields"
        state = "answered" if self.status.value else "answer it in the notebook"
        text = f"{self.server} asks: {self.question}\n  a form ({fields}); {state}"
        return printable(text, keep="\n")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = repr(self)
        return data

    def _content(self) -> dict[str, Any] | None:
        """The answers typed into the form, as the schema's types; None (and a message) when one does not fit."""
        content: dict[str, Any] = {}
        for name, widget in self.fields.items():
            kind = self.kinds.get(name, "string")
            if isinstance(widget, w.Text) and widget.value == "" and name not in self.required:
                continue  # left empty: not answered (the server's default applies)
            try:
                value = _coerce(kind, widget.value) if isinstance(widget, w.Text) and kind != "string" else widget.value
            except (ValueError, TypeError, KeyError, OverflowError):
                self._problem(f"{name} must be a{'n' if kind[0] in 'aeiou' else ''} {kind}")
                return None
            content[name] = list(value) if isinstance(widget, w.SelectMultiple) else value
        problem = check_answer(self.schema, {**schema_defaults(self.schema), **content})
        if problem is not None:
            self._problem(problem)
            return None
        return content

    def _problem(self, text: str) -> None:
        self.status.value = f"<span style='color:#cf222e'>{html.escape(text)}</span>"

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
