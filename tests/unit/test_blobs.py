"""Blobs show what they are: text blobs decoded (bounded, errors replaced), other blobs summarised and saved."""

from __future__ import annotations

import base64

import pytest
from mcp_types import BlobResourceContents, CallToolResult, EmbeddedResource, ImageContent, ReadResourceResult, TextContent

from mcpomni_jupyter.errors import ArgumentError, ServerError
from mcpomni_jupyter.results import CallResult, ReadResult
from mcpomni_jupyter.results.content import PREVIEW_CHARS, blob_text, is_text_mime


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def read(*contents) -> ReadResult:
    return ReadResult(ReadResourceResult(contents=list(contents)), server="s", uri="demo://x")


def blob(data: bytes, mime: str | None, uri: str = "demo://x") -> BlobResourceContents:
    return BlobResourceContents(uri=uri, blob=b64(data), mime_type=mime)


def test_a_text_blob_is_decoded_and_shown_as_text():
    r = read(blob(b"Resource 2: This is a base64 blob", "text/plain"))
    assert repr(r) == "Resource 2: This is a base64 blob" and r.text == "Resource 2: This is a base64 blob"
    assert "This is a base64 blob</pre>" in r._repr_html_()
    markup = read(blob(b"<script>alert(1)</script>", "application/json"))
    assert "&lt;script&gt;" in markup._repr_html_() and "<script>" not in markup._repr_html_()


def test_text_mime_types_and_charsets():
    assert all(
        is_text_mime(m) for m in ("text/csv", "TEXT/PLAIN; charset=utf-8", "application/json", "application/ld+json", "image/svg+xml")
    )
    assert not any(is_text_mime(m) for m in ("application/octet-stream", "image/png", None, 5, "application/gzip"))
    assert read(blob("café".encode("latin-1"), "text/plain; charset=ISO-8859-1")).text == "café"
    assert read(blob("café".encode("latin-1"), "text/plain")).text == "caf\ufffd"  # errors replaced, never raised
    assert read(blob(b"abc", "text/plain; charset=rot13")).text == "abc"  # a server's charset picks no odd codec
    broken = BlobResourceContents(uri="demo://b", blob="not base64!", mime_type="text/plain")
    assert blob_text(broken) is None and "not valid base64" in repr(read(broken)) and "not valid base64" in read(broken)._repr_html_()


def test_a_huge_text_blob_is_previewed_not_decoded_whole():
    data = ("0123456789" * 100 + "\n").encode() * 10_000  # 10 MB
    r = read(blob(data, "text/plain"))
    html, text = r._repr_html_(), repr(r)
    assert len(html) < PREVIEW_CHARS + 2_000 and len(text) < PREVIEW_CHARS + 500
    assert "preview only" in html and "not shown" in text and "10.0 MB" in text
    assert len(r.text) == len(data)  # the value keeps all of it


def test_other_blobs_say_their_type_and_size_and_save(tmp_path):
    data = bytes(range(256)) * 4
    r = read(blob(data, "application/gzip"))
    assert repr(r) == "[blob application/gzip, 1.0 KB: save it with .save(PATH)]"
    assert "1.0 KB" in r._repr_html_() and ".save(PATH)" in r._repr_html_()
    path = r.save(tmp_path / "out.gz")
    assert path.read_bytes() == data and r.blobs == [data]

    two = read(blob(b"a", "text/plain", "demo://a"), blob(b"b", "text/plain", "demo://b"))
    with pytest.raises(ArgumentError, match=r"has 2 contents; pick one: \.save\(path, index=N\)"):
        two.save(tmp_path / "x")
    assert two.save(tmp_path / "b.txt", index=1).read_bytes() == b"b"
    with pytest.raises(ArgumentError, match="index=5 is not one of them"):
        two.save(tmp_path / "x", index=5)
    with pytest.raises(ServerError, match="nothing was written"):
        read(BlobResourceContents(uri="demo://b", blob="%%%", mime_type="application/zip")).save(tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


def test_call_results_save_their_binary_block(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 20
    embedded = EmbeddedResource(type="resource", resource=blob(b"log line\n", "text/plain"))
    r = CallResult(
        CallToolResult(
            content=[TextContent(type="text", text="a chart"), ImageContent(type="image", data=b64(png), mime_type="image/png"), embedded]
        ),
        server="s",
        tool="t",
    )
    assert "log line" in repr(r) and "log line" in r._repr_html_()  # an embedded text blob reads as text
    with pytest.raises(ArgumentError, match="has 3 contents"):
        r.save(tmp_path / "x")  # two binary blocks: pick one
    assert r.save(tmp_path / "chart.png", index=1).read_bytes() == png
