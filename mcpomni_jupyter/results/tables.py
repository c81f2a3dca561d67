"""Lists that render as tables: tools, resources, templates, prompts, the status and the log.

Each is a ``list`` of small records (a value a user can keep and index) with a
plain-text ``__repr__`` and an HTML ``_repr_html_``.  Cells are escaped and
cut at ``CELL_CHARS``; at most ``TABLE_ROWS`` rows are rendered.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self

from mcpomni_jupyter.errors import ArgumentError
from mcpomni_jupyter.redact import redact_known
from mcpomni_jupyter.results.content import esc
from mcpomni_jupyter.results.style import ERROR_COLOUR, STATE_COLOURS, auth_label, state_label

_TABLE_STYLE = "border-collapse:collapse;text-align:left"
_CELL = "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top"


CELL_CHARS = 2_000  # a table cell shows at most this much (a hostile description may be megabytes)
TABLE_ROWS = 2_000  # a table renders at most this many rows (a page)...
TABLE_BYTES = 200 * 1024  # ...and at most about this much HTML or text, like every preview
TOOL_ROWS = 200  # a tool table's page: a catalog may hold thousands


def _short(text: str | None, width: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell_text(cell: Any) -> str:
    text = "" if cell is None else str(cell)
    return redact_known(text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…")


def _fitting(lines: Iterable[str], budget: int = TABLE_BYTES) -> list[str]:
    """The first of ``lines`` that fit in ``budget`` bytes (always the first one: a cell is already bounded)."""
    out: list[str] = []
    size = 0
    for line in lines:
        size += len(line.encode())
        if out and size > budget:
            break
        out.append(line)
    return out


def _html_rows(rows: list[list[Any]], raw_columns: frozenset[int]) -> list[str]:
    return _fitting(
        "<tr>"
        + "".join(f"<td style='{_CELL}'>{cell if i in raw_columns else esc(_cell_text(cell))}</td>" for i, cell in enumerate(row))
        + "</tr>"
        for row in rows[:TABLE_ROWS]
    )


def html_table(headers: list[str], rows: list[list[Any]], raw_columns: frozenset[int] = frozenset(), footer: str | None = None) -> str:
    """A table; cells are escaped (and cut at ``CELL_CHARS``) unless their column is pre-rendered HTML.

    At most ``TABLE_ROWS`` rows and about ``TABLE_BYTES`` of them; ``footer``
    (text, escaped) says what was left out, else a line counting the rows not shown.
    """
    body = _html_rows(rows, raw_columns)
    if footer is None and len(body) < len(rows):
        footer = f"{len(rows) - len(body)} more rows: use the value (a list)"
    return _assemble(headers, body, footer)


def _assemble(headers: list[str], body: list[str], footer: str | None) -> str:
    head = "".join(f"<th style='{_CELL}'>{esc(h)}</th>" for h in headers)
    more = f"<tr><td colspan='{len(headers)}'><em>… {esc(footer)}</em></td></tr>" if footer else ""
    return f"<table style='{_TABLE_STYLE}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}{more}</tbody></table>"


def text_table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else redact_known(str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Table(list):
    """A list of records that renders as a table, a page at a time (``page_rows`` rows, about ``TABLE_BYTES``).

    The value holds every record; only the rendering is bounded.  ``at_page(n)``
    is the same records rendering page ``n``; the footer says which rows are
    shown of how many, and how to see the rest (``_hint``).
    """

    headers: list[str] = []
    empty = "nothing"
    page_rows = TABLE_ROWS
    page = 1  # the page rendered (1 is the first)

    def rows(self, items: Iterable[Any] | None = None) -> list[list[Any]]:
        return [[getattr(item, h) for h in self.headers] for item in (self if items is None else items)]

    def _text_rows(self, items: list[Any]) -> list[list[Any]]:
        return [[_short(str(c) if c is not None else "", 60) for c in row] for row in self.rows(items)]

    @property
    def pages(self) -> int:
        """How many pages the table renders in (at least 1)."""
        return max(1, -(-len(self) // self.page_rows))

    def at_page(self, page: int) -> Self:
        """These records, rendering page ``page`` (1-based); a page past the last is a one-line ``ArgumentError``."""
        if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= self.pages:
            raise ArgumentError(f"page {str(page)[:20]} does not exist: there {_pages_text(self.pages, self.page_rows, len(self))}")
        other = copy.copy(self)
        other.page = page
        return other

    def _window(self) -> tuple[int, list[Any]]:
        """(the index of the page's first record, the page's records)."""
        start = (min(self.page, self.pages) - 1) * self.page_rows
        return start, self[start : start + self.page_rows]

    def _footer(self, start: int, shown: int) -> str:
        """What the rendering leaves out, and how to see it ("" when every row is shown)."""
        if start == 0 and shown == len(self):
            return ""
        cut = " (the rest of this page is too large to show)" if shown < len(self._window()[1]) else ""
        return f"rows {start + 1:,}–{start + shown:,} of {len(self):,}{cut}; {self._hint()}"

    def _hint(self) -> str:
        nxt = f".at_page({self.page + 1}) for the next page, " if self.page < self.pages else ""
        return f"{nxt}the value (a list) holds them all"

    def __repr__(self) -> str:
        if not self:
            return f"({self.empty})"
        start, items = self._window()
        lines = text_table(self.headers, self._text_rows(items)).split("\n")
        shown = _fitting(lines)
        footer = self._footer(start, len(shown) - 2)
        return "\n".join(shown) + (f"\n… {footer}" if footer else "")

    def _html(self, rows: list[list[Any]], raw_columns: frozenset[int] = frozenset()) -> str:
        body = _html_rows(rows, raw_columns)
        return _assemble(self.headers, body, self._footer(self._window()[0], len(body)))

    def _repr_html_(self) -> str:
        if not self:
            return f"<em>({esc(self.empty)})</em>"
        return self._html(self.rows(self._window()[1]))

    def to_records(self) -> list[dict[str, Any]]:
        return [{h: getattr(item, h) for h in self.headers} for item in self]


def _pages_text(pages: int, size: int, total: int) -> str:
    return f"{'is 1 page' if pages == 1 else f'are {pages:,} pages'} of up to {size} rows ({total:,} in all)"


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


class ToolList(Table):
    """The tools of the connected servers; items are ``ToolInfo``, built from (connection or server name, tool) pairs."""

    headers = ["server", "name", "arguments", "description"]
    empty = "no tools"
    page_rows = TOOL_ROWS
    listing = "%mcp tools"  # the command that lists these (with its server), for the footer's hints

    def _hint(self) -> str:
        nxt = f"{self.listing} --page {self.page + 1} (or .at_page({self.page + 1})), " if self.page < self.pages else ""
        return f"see more with {nxt}%mcp tools --search TEXT, or the value (a list of all {len(self):,})"

    def __init__(self, pairs: list[tuple[Any, Any]] = ()) -> None:  # type: ignore[assignment]
        super().__init__(
            t
            if isinstance(t, ToolInfo)
            else ToolInfo(c if isinstance(c, str) else c.name, t.name, t.description, dict(t.input_schema or {}), t)
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


class ResourceList(Table):
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


class TemplateList(Table):
    headers = ["server", "uri_template", "name", "description"]
    empty = "no resource templates"

    def __init__(self, pairs: list[tuple[Any, Any]] = ()) -> None:  # type: ignore[assignment]
        super().__init__(TemplateInfo(c.name, str(t.uri_template), t.name, t.mime_type, t.description, t) for c, t in pairs)


@dataclass
class PromptInfo:
    server: str
    name: str
    description: str | None
    arguments: str
    raw: Any = field(repr=False, default=None)


class PromptList(Table):
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


# --------------------------------------------------------------------------- status and log


@dataclass
class StatusRow:
    name: str
    transport: str
    target: str
    auth: str
    state: str
    protocol: str  # the negotiated MCP revision ("" until connected)
    tools: int
    resources: int
    prompts: int
    error: str | None


class StatusTable(Table):
    """A snapshot of every server's state (the live widget panel comes with ipywidgets)."""

    headers = ["name", "transport", "target", "auth", "state", "protocol", "tools", "resources", "prompts", "error"]
    empty = "no servers configured: use %mcp load, %%mcp config or %mcp add"

    def __init__(self, connections: list[Any] = ()) -> None:  # type: ignore[assignment]
        super().__init__(
            StatusRow(
                c.name,
                c.config.transport,
                c.config.shown_target,
                auth_label(c.config),
                c.state.value,
                c.protocol_version or "",
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

    def _text_rows(self, items: list[Any]) -> list[list[Any]]:
        rows = []
        for r in items:
            rows.append(
                [
                    r.name,
                    r.transport,
                    _short(r.target, 40),
                    r.auth,
                    state_label(r.state),
                    r.protocol,
                    r.tools,
                    r.resources,
                    r.prompts,
                    _short(r.error or "", 200),
                ]
            )
        return rows

    def _repr_html_(self) -> str:
        if not self:
            return f"<em>({esc(self.empty)})</em>"
        rows = []
        for r in self._window()[1]:
            colour = STATE_COLOURS.get(r.state, "#000")
            state = f"<span style='color:{colour};font-weight:bold'>{esc(state_label(r.state))}</span>"
            rows.append(
                [
                    esc(r.name),
                    esc(r.transport),
                    f"<code>{esc(_short(r.target, 60))}</code>",
                    esc(r.auth),
                    state,
                    esc(r.protocol),
                    r.tools,
                    r.resources,
                    r.prompts,
                    f"<span style='color:{ERROR_COLOUR}'>{esc(r.error or '')}</span>",
                ]
            )
        return self._html(rows, raw_columns=frozenset(range(len(self.headers))))


class LogList(Table):
    """Notifications, server log messages and stderr lines; items are ``LogEntry``."""

    headers = ["time", "server", "kind", "level", "message"]
    empty = "no messages"

    def rows(self, items: Iterable[Any] | None = None) -> list[list[Any]]:
        entries = self if items is None else items
        return [[time.strftime("%H:%M:%S", time.localtime(e.time)), e.server, e.kind, e.level, e.message] for e in entries]

    def _text_rows(self, items: list[Any]) -> list[list[Any]]:
        return [[*row[:-1], _short(row[-1], 120)] for row in self.rows(items)]

    def to_records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.headers, row)) for row in self.rows()]
