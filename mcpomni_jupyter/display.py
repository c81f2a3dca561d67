"""Small result objects with a plain-text ``__repr__`` and an HTML ``_repr_html_``.

Every ``%mcp`` command returns one of these: values a user can keep
(``r = %mcp call ...``) that render as tables or content blocks in
JupyterLab, Notebook 7 and VS Code, and as text in a terminal.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from .redact import redact_known
from .content import Budget, block_html, block_repr, block_text, contents_html, esc, json_html, source_size

STATE_COLOURS = {
    "connected": "#1a7f37",
    "connecting": "#9a6700",
    "auth required": "#9a6700",
    "failed": "#cf222e",
    "disconnected": "#6e7781",
}
STATE_ICONS = {"connected": "●", "connecting": "◌", "auth required": "🔑", "failed": "✖", "disconnected": "○"}

_TABLE_STYLE = "border-collapse:collapse;text-align:left"
_CELL = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top"


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


_esc = esc
CELL_CHARS = 2_000  # a table cell shows at most this much (a hostile description may be megabytes)
TABLE_ROWS = 2_000


def _short(text: str | None, width: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell_text(cell: Any) -> str:
    text = "" if cell is None else str(cell)
    return redact_known(text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…")


def html_table(headers: list[str], rows: list[list[Any]], raw_columns: frozenset[int] = frozenset()) -> str:
    """A table; cells are escaped (and cut at ``CELL_CHARS``) unless their column is pre-rendered HTML."""
    head = "".join(f"<th style='{_CELL}'>{_esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f"<td style='{_CELL}'>{cell if i in raw_columns else _esc(_cell_text(cell))}</td>" for i, cell in enumerate(row)
        ) + "</tr>"
        for row in rows[:TABLE_ROWS]
    )
    more = f"<tr><td colspan='{len(headers)}'><em>… {len(rows) - TABLE_ROWS} more rows: use the value (a list)</em></td></tr>" if len(rows) > TABLE_ROWS else ""
    return f"<table style='{_TABLE_STYLE}'><thead><tr>{head}</tr></thead><tbody>{body}{more}</tbody></table>"


def text_table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else redact_known(str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class _Table(list):
    """A list of records that renders as a table."""

    headers: list[str] = []
    empty = "nothing"

    def rows(self) -> list[list[Any]]:
        return [[getattr(item, h) for h in self.headers] for item in self]

    def _text_rows(self) -> list[list[Any]]:
        return [[_short(str(c) if c is not None else "", 60) for c in row] for row in self.rows()]

    def __repr__(self) -> str:
        if not self:
            return f"({self.empty})"
        rows = self._text_rows()
        more = f"\n… {len(rows) - TABLE_ROWS} more rows: use the value (a list)" if len(rows) > TABLE_ROWS else ""
        return text_table(self.headers, rows[:TABLE_ROWS]) + more

    def _repr_html_(self) -> str:
        if not self:
            return f"<em>({_esc(self.empty)})</em>"
        return html_table(self.headers, self.rows())

    def to_records(self) -> list[dict[str, Any]]:
        return [{h: getattr(item, h) for h in self.headers} for item in self]


# --------------------------------------------------------------------------- listings


@dataclass
class ToolInfo:
    server: str
    name: str
    description: str | None
    input_schema: dict[str, Any]
    raw: Any = field(repr=False, default=None)

    @property
    def arguments(self) -> str:
        props = (self.input_schema or {}).get("properties", {}) or {}
        required = set((self.input_schema or {}).get("required", []) or [])
        parts = []
        for name, schema in props.items():
            kind = schema.get("type", "any") if isinstance(schema, dict) else "any"
            parts.append(f"{name}{'' if name in required else '?'}: {kind}")
        return ", ".join(parts)


class ToolList(_Table):
    """The tools of the connected servers; items are ``ToolInfo``."""

    headers = ["server", "name", "arguments", "description"]
    empty = "no tools"

    def __init__(self, pairs: list[tuple[Any, Any]] = ()) -> None:  # type: ignore[assignment]
        super().__init__(
            ToolInfo(c.name, t.name, t.description, dict(t.input_schema or {}), t) if not isinstance(t, ToolInfo) else t
            for c, t in pairs
        )

    @property
    def names(self) -> list[str]:
        return [t.name for t in self]


@dataclass
class ResourceInfo:
    server: str
    uri: str
    name: str | None
    mime_type: str | None
    description: str | None
    raw: Any = field(repr=False, default=None)


class ResourceList(_Table):
    headers = ["server", "uri", "name", "mime_type", "description"]
    empty = "no resources"

    def __init__(self, pairs: list[tuple[Any, Any]] = ()) -> None:  # type: ignore[assignment]
        super().__init__(ResourceInfo(c.name, str(r.uri), r.name, r.mime_type, r.description, r) for c, r in pairs)


@dataclass
class TemplateInfo:
    server: str
    uri_template: str
    name: str | None
    mime_type: str | None
    description: str | None
    raw: Any = field(repr=False, default=None)


class TemplateList(_Table):
    headers = ["server", "uri_template", "name", "description"]
    empty = "no resource templates"

    def __init__(self, pairs: list[tuple[Any, Any]] = ()) -> None:  # type: ignore[assignment]
        super().__init__(
            TemplateInfo(c.name, str(t.uri_template), t.name, t.mime_type, t.description, t) for c, t in pairs
        )


@dataclass
class PromptInfo:
    server: str
    name: str
    description: str | None
    arguments: str
    raw: Any = field(repr=False, default=None)


class PromptList(_Table):
    headers = ["server", "name", "arguments", "description"]
    empty = "no prompts"

    def __init__(self, pairs: list[tuple[Any, Any]] = ()) -> None:  # type: ignore[assignment]
        super().__init__(
            PromptInfo(
                c.name,
                p.name,
                p.description,
                ", ".join(f"{a.name}{'' if a.required else '?'}" for a in (p.arguments or [])),
                p,
            )
            for c, p in pairs
        )


# --------------------------------------------------------------------------- results

_HINT = "the returned value holds all of it (.text, .content, .structured), e.g. r = %mcp call ... or --out VAR"


class CallResult:
    """What a tool returned: ``.text``, ``.structured``, ``.is_error``, ``.content``."""

    def __init__(self, result: Any, server: str, tool: str) -> None:
        self.raw = result
        self.server = server
        self.tool = tool
        self.content: list[Any] = list(result.content or [])
        self.structured: Any = result.structured_content
        self.is_error: bool = bool(result.is_error)

    @property
    def text(self) -> str:
        """The text content blocks joined by newlines."""
        return "\n".join(t for t in (block_text(b) for b in self.content) if t is not None)

    @property
    def value(self) -> Any:
        """The most useful Python value: structured content (unwrapped ``result``), else JSON-decoded text, else text."""
        if self.structured is not None:
            if isinstance(self.structured, dict) and set(self.structured) == {"result"}:
                return self.structured["result"]
            return self.structured
        try:
            return json.loads(self.text)
        except ValueError:
            return self.text

    def _size(self) -> int:
        size = sum(source_size(b) for b in self.content)
        return size or len(to_json(self.structured)) if self.structured is not None else size

    def __repr__(self) -> str:
        budget = Budget()
        body = budget.take_text("\n".join(block_repr(b) for b in self.content))
        if not body and self.structured is not None:
            body = budget.take_text(to_json(self.structured))
        note = budget.note(self._size(), _HINT)
        body = f"{body}\n{note}" if note else body
        return f"{'ERROR ' if self.is_error else ''}{body}" if body else f"<{self.server}.{self.tool}: empty result>"

    def _repr_html_(self) -> str:
        budget = Budget()
        parts = [block_html(b, budget) for b in self.content]
        if not parts and self.structured is not None:
            parts.append(json_html(self.structured, budget))
        note = budget.note(self._size(), _HINT)
        if note:
            parts.append(f"<div><em>{_esc(note)}</em></div>")
        inner = "".join(parts) or "<em>(empty result)</em>"
        if self.is_error:
            return (
                "<div style='border-left:4px solid #cf222e;padding:4px 8px;background:#fff0f0'>"
                f"<b style='color:#cf222e'>{_esc(self.server)}.{_esc(self.tool)} returned an error</b>{inner}</div>"
            )
        return inner

    def __str__(self) -> str:
        return self.text


class ReadResult:
    """The contents of a resource: ``.contents``, ``.text``, ``.blobs``."""

    def __init__(self, result: Any, server: str, uri: str) -> None:
        self.raw = result
        self.server = server
        self.uri = uri
        self.contents: list[Any] = list(result.contents)

    @property
    def text(self) -> str:
        return "\n".join(c.text for c in self.contents if getattr(c, "text", None) is not None)

    @property
    def blobs(self) -> list[bytes]:
        import base64

        return [base64.b64decode(c.blob) for c in self.contents if getattr(c, "blob", None) is not None]

    def _size(self) -> int:
        return sum(len(getattr(c, "text", None) or getattr(c, "blob", None) or "") for c in self.contents)

    def __repr__(self) -> str:
        budget = Budget()
        body = budget.take_text("\n".join(
            c.text if getattr(c, "text", None) is not None else f"[{c.mime_type or 'blob'} {c.uri}]" for c in self.contents
        ))
        note = budget.note(self._size(), _HINT.replace("%mcp call", "%mcp read"))
        return f"{body}\n{note}" if note else body

    def _repr_html_(self) -> str:
        budget = Budget()
        parts = [contents_html(c, budget) for c in self.contents]
        note = budget.note(self._size(), _HINT.replace("%mcp call", "%mcp read"))
        if note:
            parts.append(f"<div><em>{_esc(note)}</em></div>")
        return "".join(parts) or "<em>(empty resource)</em>"

    def __str__(self) -> str:
        return self.text


class PromptResult:
    """A rendered prompt: ``.messages`` (role, content) and ``.text``."""

    def __init__(self, result: Any, server: str, name: str) -> None:
        self.raw = result
        self.server = server
        self.name = name
        self.description = result.description
        self.messages: list[Any] = list(result.messages)

    @property
    def text(self) -> str:
        return "\n\n".join(t for t in (block_text(m.content) for m in self.messages) if t is not None)

    def to_messages(self) -> list[dict[str, Any]]:
        """The messages as plain dicts, ready for a chat API."""
        return [{"role": m.role, "content": block_text(m.content) or block_repr(m.content)} for m in self.messages]

    def __repr__(self) -> str:
        return Budget().take_text("\n\n".join(f"[{m.role}] {block_repr(m.content)}" for m in self.messages))

    def _repr_html_(self) -> str:
        budget = Budget()
        rows = "".join(
            f"<div style='margin:4px 0'><b>{_esc(m.role)}</b>{block_html(m.content, budget)}</div>" for m in self.messages
        )
        return rows or "<em>(empty prompt)</em>"

    def __str__(self) -> str:
        return self.text


# --------------------------------------------------------------------------- status and log


@dataclass
class StatusRow:
    name: str
    transport: str
    target: str
    auth: str
    state: str
    tools: int
    resources: int
    prompts: int
    error: str | None


class StatusTable(_Table):
    """A snapshot of every server's state (the live widget panel comes with ipywidgets)."""

    headers = ["name", "transport", "target", "auth", "state", "tools", "resources", "prompts", "error"]
    empty = "no servers configured: use %mcp load, %%mcp config or %mcp add"

    def __init__(self, connections: list[Any] = ()) -> None:  # type: ignore[assignment]
        super().__init__(
            StatusRow(
                c.name,
                c.config.transport,
                c.config.shown_target,
                c.config.auth.method if c.config.auth.method != "none" else ("headers" if c.config.headers else "none"),
                c.state.value,
                len(c.tools),
                len(c.resources),
                len(c.prompts),
                c.error,
            )
            for c in connections
        )

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            for row in self:
                if row.name == key:
                    return row
            raise KeyError(key)
        return super().__getitem__(key)

    def _text_rows(self) -> list[list[Any]]:
        rows = []
        for r in self:
            rows.append([
                r.name, r.transport, _short(r.target, 40), r.auth, f"{STATE_ICONS.get(r.state, '')} {r.state}",
                r.tools, r.resources, r.prompts, _short(r.error or "", 200),
            ])
        return rows

    def _repr_html_(self) -> str:
        if not self:
            return f"<em>({_esc(self.empty)})</em>"
        rows = []
        for r in self:
            colour = STATE_COLOURS.get(r.state, "#000")
            state = f"<span style='color:{colour};font-weight:bold'>{STATE_ICONS.get(r.state, '')} {_esc(r.state)}</span>"
            rows.append([
                _esc(r.name), _esc(r.transport), f"<code>{_esc(_short(r.target, 60))}</code>", _esc(r.auth), state,
                r.tools, r.resources, r.prompts, f"<span style='color:#cf222e'>{_esc(r.error or '')}</span>",
            ])
        return html_table(self.headers, rows, raw_columns=frozenset(range(len(self.headers))))


class LogList(_Table):
    """Notifications, server log messages and stderr lines; items are ``LogEntry``."""

    headers = ["time", "server", "kind", "level", "message"]
    empty = "no messages"

    def rows(self) -> list[list[Any]]:
        return [[time.strftime("%H:%M:%S", time.localtime(e.time)), e.server, e.kind, e.level, e.message] for e in self]

    def _text_rows(self) -> list[list[Any]]:
        return [row[:-1] + [_short(row[-1], 120)] for row in self.rows()]

    def to_records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.headers, row)) for row in self.rows()]
