"""What a tool call, a resource read and a prompt return: values with text and HTML renderings.

``.text``, ``.structured``, ``.content`` (and ``.value``) hold everything the
server sent; the renderings are previews (see ``content``), with any secret
of ours the server echoes back masked.
"""

from __future__ import annotations

import json
from typing import Any

from mcpomni_jupyter.errors import ToolCallError
from mcpomni_jupyter.redact import redact
from mcpomni_jupyter.results.content import (
    Budget,
    blob_text,
    block_html,
    block_repr,
    block_text,
    contents_html,
    contents_repr,
    esc,
    json_html,
    save,
    source_size,
)


def checked(result: CallResult, raise_on_error: bool) -> CallResult:
    """``result``; or, for a tool's error result when ``raise_on_error``, a ``ToolCallError`` whose message is its first line, redacted."""
    if raise_on_error and result.is_error:
        text = (result.text or "").strip()
        first = text.splitlines()[0] if text else "error"
        raise ToolCallError(redact(f"tool {result.server}.{result.tool} returned an error: {first[:500]}"), result)
    return result


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


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
            parts.append(f"<div><em>{esc(note)}</em></div>")
        inner = "".join(parts) or "<em>(empty result)</em>"
        if self.is_error:
            return (
                "<div style='border-left:4px solid #cf222e;padding:4px 8px;background:#fff0f0'>"
                f"<b style='color:#cf222e'>{esc(self.server)}.{esc(self.tool)} returned an error</b>{inner}</div>"
            )
        return inner

    def save(self, path: Any, index: int | None = None) -> Any:
        """Write a content block's bytes (an image, audio or a blob; text as UTF-8) to ``path``; returns the Path.

        The only block, or the only binary one, unless ``index`` picks.
        """
        return save(self.content, path, index, f"the result of {self.server}.{self.tool}")

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
        """The text contents joined by newlines, text-typed blobs (``text/*``, JSON, ...) decoded among them."""
        texts = (c.text if getattr(c, "text", None) is not None else blob_text(c) for c in self.contents)
        return "\n".join(t for t in texts if t is not None)

    @property
    def blobs(self) -> list[bytes]:
        import base64

        return [base64.b64decode(c.blob) for c in self.contents if getattr(c, "blob", None) is not None]

    def _size(self) -> int:
        return sum(len(getattr(c, "text", None) or getattr(c, "blob", None) or "") for c in self.contents)

    def save(self, path: Any, index: int | None = None) -> Any:
        """Write the resource's bytes (a blob decoded; text as UTF-8) to ``path``; returns the Path.

        The only contents, or the only blob, unless ``index`` picks.
        """
        return save(self.contents, path, index, f"resource {self.uri}")

    def __repr__(self) -> str:
        budget = Budget()
        body = budget.take_text("\n".join(contents_repr(c, budget) for c in self.contents))
        note = budget.note(self._size(), _HINT.replace("%mcp call", "%mcp read"))
        return f"{body}\n{note}" if note else body

    def _repr_html_(self) -> str:
        budget = Budget()
        parts = [contents_html(c, budget) for c in self.contents]
        note = budget.note(self._size(), _HINT.replace("%mcp call", "%mcp read"))
        if note:
            parts.append(f"<div><em>{esc(note)}</em></div>")
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
        rows = "".join(f"<div style='margin:4px 0'><b>{esc(m.role)}</b>{block_html(m.content, budget)}</div>" for m in self.messages)
        return rows or "<em>(empty prompt)</em>"

    def __str__(self) -> str:
        return self.text
