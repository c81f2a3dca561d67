"""Content blocks (text, image, audio, resources, links) rendered safely and in bounded size.

Everything here comes from a server and is untrusted.  Every string is
HTML-escaped; a ``data:`` URI is built only from a mime type of the form
``image/png`` and data that is plain base64, else the block shows as a
placeholder; links are shown as text, never as ``href``.  A blob whose mime
type is text (``text/*``, JSON, XML, YAML) is decoded (``errors="replace"``,
only as much as the preview shows) and shown as text; any other blob as its
mime type and size, with the way to save it.  A rendering stops
at a budget of characters (``PREVIEW_CHARS`` for each of text and HTML, the
notebook stores both) and says how much it left out: a 20 MB result must not
freeze the browser or bloat the saved notebook, while the value returned to
the user keeps all of it.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import json
import re
from typing import Any

from mcpomni_jupyter.redact import redact_known

PREVIEW_CHARS = 32_000
_MIME = re.compile(r"[a-z]+/[a-z0-9][a-z0-9.+\-]{0,100}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
PRE = "<pre style='white-space:pre-wrap;margin:0'>"
TEXT_TYPES = {"application/json", "application/xml", "application/yaml", "application/x-yaml", "application/toml", "application/javascript"}
CHARSETS = {"utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "ascii", "us-ascii", "latin-1", "iso-8859-1", "windows-1252", "cp1252"}
SAVE_HINT = "save it with .save(PATH)"


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


# --------------------------------------------------------------------------- blobs


def is_text_mime(mime: Any) -> bool:
    """A mime type whose bytes are text: ``text/*``, JSON, XML, YAML, TOML, JavaScript (``+json``, ``+xml`` too)."""
    if not isinstance(mime, str):
        return False
    base = mime.split(";", 1)[0].strip().lower()
    return base.startswith("text/") or base in TEXT_TYPES or base.endswith(("+json", "+xml"))


def _charset(mime: str) -> str:
    """The ``charset`` of a text mime type when it is one we know; else UTF-8 (a server's name picks no other codec)."""
    for param in mime.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            name = value.strip().strip("\"'").lower()
            return name if name in CHARSETS else "utf-8"
    return "utf-8"


def blob_bytes(blob: Any, limit: int | None = None) -> bytes | None:
    """The bytes of base64 ``blob`` (only the first ``limit`` or so when given); None when it is not base64."""
    if not isinstance(blob, str):
        return None
    if limit is not None and len(blob) > limit * 4 // 3 + 4:
        blob = blob[: (limit // 3 + 1) * 4]  # whole 4-character groups
    try:
        return base64.b64decode(blob, validate=True)
    except (binascii.Error, ValueError):
        return None


def blob_text(contents: Any, limit: int | None = None) -> str | None:
    """The text of a text-typed blob, decoded with ``errors="replace"`` (its first ``limit`` bytes or so), else None."""
    mime = getattr(contents, "mime_type", None)
    blob = getattr(contents, "blob", None)
    if blob is None or not is_text_mime(mime):
        return None
    data = blob_bytes(blob, limit)
    if data is None:
        return None
    whole = limit is None or len(data) >= _data_len(blob)
    return codecs.getincrementaldecoder(_charset(str(mime)))(errors="replace").decode(data, final=whole)


def item_bytes(item: Any) -> bytes | None:
    """What ``save`` writes for a content block or resource contents: a blob's bytes, or text as UTF-8."""
    kind = getattr(item, "type", None)
    if kind in ("image", "audio"):
        return blob_bytes(item.data)
    if kind == "resource":
        item = item.resource
    if getattr(item, "blob", None) is not None:
        return blob_bytes(item.blob)
    text = getattr(item, "text", None)
    return text.encode("utf-8") if isinstance(text, str) else None


def save(items: list[Any], path: Any, index: int | None, what: str) -> Any:
    """Write one item's bytes to ``path`` (the only one, or the only binary one, unless ``index`` picks); returns the Path."""
    from pathlib import Path

    from mcpomni_jupyter.errors import ArgumentError, ServerError

    if index is None:
        binary = [i for i, item in enumerate(items) if _is_binary(item)]
        if len(items) == 1 or len(binary) == 1:
            index = 0 if len(items) == 1 else binary[0]
        else:
            raise ArgumentError(f"{what} has {len(items)} contents; pick one: .save(path, index=N), N from 0 to {len(items) - 1}")
    if not -len(items) <= index < len(items):
        raise ArgumentError(f"{what} has {len(items)} contents; index={index} is not one of them")
    data = item_bytes(items[index])
    if data is None:
        raise ServerError(f"{what}: content {index} holds no data we can write (its base64 is not valid); nothing was written")
    target = Path(path).expanduser()
    target.write_bytes(data)
    return target


def _is_binary(item: Any) -> bool:
    kind = getattr(item, "type", None)
    if kind in ("image", "audio"):
        return True
    resource = item.resource if kind == "resource" else item
    return getattr(resource, "blob", None) is not None


def _blob_summary(contents: Any) -> str:
    mime = getattr(contents, "mime_type", None) or "application/octet-stream"
    return f"[blob {str(mime)[:100]}, {size_text(_data_len(getattr(contents, 'blob', '')))}: {SAVE_HINT}]"


def contents_repr(contents: Any, budget: Budget | None = None) -> str:
    """One resource's contents as text: its text, a text blob decoded (a preview), or what the blob is."""
    text = getattr(contents, "text", None)
    if text is not None:
        return str(text)
    limit = (budget.left if budget is not None else PREVIEW_CHARS) * 4 + 4
    decoded = blob_text(contents, limit)
    if decoded is None:
        mime = getattr(contents, "mime_type", None)
        return f"[blob {str(mime)[:100]}: its data is not valid base64]" if is_text_mime(mime) else _blob_summary(contents)
    if budget is not None:
        budget.omitted += max(0, _data_len(contents.blob) - limit)  # bytes never decoded
    return decoded


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
        if text is not None:
            return str(text)
        return blob_text(block.resource, PREVIEW_CHARS * 4) or f"[resource {block.resource.uri} {_blob_summary(block.resource)}]"
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
    if is_text_mime(mime):
        limit = budget.left * 4 + 4  # bytes: enough for what the preview can still show
        decoded = blob_text(contents, limit)
        if decoded is None:
            return f"<div>{head}: <em>[its data is not valid base64]</em></div>"
        budget.omitted += max(0, _data_len(blob) - limit)  # bytes never decoded
        return f"<div>{head}{PRE}{esc(budget.take_text(decoded))}</pre></div>"
    return f"<div>{head}: {size_text(_data_len(blob))} — <small>{SAVE_HINT}</small></div>"


def json_html(value: Any, budget: Budget) -> str:
    return f"<pre>{esc(budget.take_text(json.dumps(value, indent=2, default=str)))}</pre>"
