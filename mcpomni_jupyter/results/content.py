"""Content blocks (text, image, audio, resources, links) rendered safely and in bounded size.

Everything here comes from a server and is untrusted.  Every string is
HTML-escaped; a ``data:`` URI is built only from a mime type of the form
``image/png`` and data that is plain base64, else the block shows as a
placeholder; links are shown as text, never as ``href``.  A rendering stops
at a budget of characters (``PREVIEW_CHARS`` for each of text and HTML, the
notebook stores both) and says how much it left out: a 20 MB result must not
freeze the browser or bloat the saved notebook, while the value returned to
the user keeps all of it.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from ..redact import redact_known

PREVIEW_CHARS = 32_000
_MIME = re.compile(r"[a-z]+/[a-z0-9][a-z0-9.+\-]{0,100}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
PRE = "<pre style='white-space:pre-wrap;margin:0'>"


def esc(value: Any) -> str:
    """HTML-escape anything (quotes too, so it is safe inside an attribute)."""
    return html.escape("" if value is None else str(value), quote=True)


def size_text(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


def data_uri(mime: Any, data: Any, kinds: tuple[str, ...]) -> str | None:
    """A ``data:`` URI for an attribute, or None when the mime type or the data is not what it claims."""
    if not isinstance(mime, str) or not isinstance(data, str):
        return None
    mime = mime.strip().lower()
    if not _MIME.fullmatch(mime) or mime.split("/", 1)[0] not in kinds:
        return None
    if not _BASE64.fullmatch(data):
        return None
    return f"data:{mime};base64,{data}"


def _data_len(data: Any) -> int:
    return len(data) * 3 // 4 if isinstance(data, str) else 0


class Budget:
    """How many characters a rendering may still use, and how many source characters it left out."""

    def __init__(self, limit: int = PREVIEW_CHARS) -> None:
        self.left = limit
        self.omitted = 0

    def take_text(self, text: str) -> str:
        """As much of ``text`` as fits, with known secrets masked (a server may echo our token back)."""
        if len(text) <= self.left:
            self.left -= len(text)
            return redact_known(text)
        kept = text[: max(self.left, 0)]
        self.omitted += len(text) - len(kept)
        self.left = 0
        return redact_known(kept)

    def fits(self, n: int) -> bool:
        if n <= self.left:
            self.left -= n
            return True
        self.omitted += n
        return False

    def note(self, total: int, hint: str) -> str:
        """The sentence that says what was left out (empty when nothing was)."""
        if not self.omitted:
            return ""
        return f"… preview only: {size_text(self.omitted)} of {size_text(total)} not shown; {hint}"


# --------------------------------------------------------------------------- text


def block_text(block: Any) -> str | None:
    """The text of a text block or of an embedded text resource."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return block.text
    if kind == "resource":
        return getattr(block.resource, "text", None)
    return None


def block_repr(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind} {block.mime_type}, {size_text(_data_len(block.data))}]"
    if kind == "resource":
        text = getattr(block.resource, "text", None)
        return text if text is not None else f"[resource {block.resource.uri}]"
    if kind == "resource_link":
        return f"[link {block.uri}]"
    return str(block)


def source_size(block: Any) -> int:
    """About how many characters a block holds (for the left-out note)."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return len(block.text or "")
    if kind in ("image", "audio"):
        return len(block.data or "")
    if kind == "resource":
        res = block.resource
        return len(getattr(res, "text", None) or getattr(res, "blob", None) or "")
    return len(str(block))


# --------------------------------------------------------------------------- HTML


def block_html(block: Any, budget: Budget) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return f"{PRE}{esc(budget.take_text(str(block.text or '')))}</pre>"
    if kind == "image":
        return _media("img", "image", block.mime_type, block.data, budget)
    if kind == "audio":
        return _media("audio", "audio", block.mime_type, block.data, budget)
    if kind == "resource":
        return contents_html(block.resource, budget)
    if kind == "resource_link":
        name = budget.take_text(str(block.name or ""))
        return f"<div>🔗 <code>{esc(budget.take_text(str(block.uri)))}</code> {esc(name)}</div>"
    return f"<pre>{esc(budget.take_text(str(block)))}</pre>"


def _media(tag: str, kind: str, mime: Any, data: Any, budget: Budget) -> str:
    uri = data_uri(mime, data, (kind,))
    label = esc(str(mime)[:100])
    if uri is None:
        budget.take_text("x" * 80)
        return f"<div><em>[{kind} {label}: not shown, its data or mime type is not valid]</em></div>"
    if not budget.fits(len(uri)):
        return f"<div><em>[{kind} {label}, {size_text(_data_len(data))}: too large to preview]</em></div>"
    if tag == "img":
        return f"<img src='{esc(uri)}' alt='{label}' style='max-width:100%'/>"
    return f"<audio controls src='{esc(uri)}'></audio>"


def contents_html(contents: Any, budget: Budget) -> str:
    """One resource's contents (text, or a blob: images shown, others summarised)."""
    uri = esc(budget.take_text(str(getattr(contents, "uri", ""))))
    mime = getattr(contents, "mime_type", None) or ""
    head = f"<small><code>{uri}</code> {esc(str(mime)[:100])}</small>"
    text = getattr(contents, "text", None)
    if text is not None:
        return f"<div>{head}{PRE}{esc(budget.take_text(str(text)))}</pre></div>"
    blob = getattr(contents, "blob", "") or ""
    if isinstance(mime, str) and mime.lower().startswith("image/"):
        return f"<div>{head}<br>{_media('img', 'image', mime, blob, budget)}</div>"
    return f"<div>{head}: {size_text(_data_len(blob))}</div>"


def json_html(value: Any, budget: Budget) -> str:
    return f"<pre>{esc(budget.take_text(json.dumps(value, indent=2, default=str)))}</pre>"
