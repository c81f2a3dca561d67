"""Parsing a ``%mcp`` line: tokens that keep quotes and brackets, and ``k=v`` values as JSON."""

from __future__ import annotations

import json
from typing import Any

from IPython.core.error import UsageError


def tokenize(line: str) -> list[str]:
    """Split on whitespace outside quotes and brackets; quotes stay in the token.

    So ``text="hello world"`` and ``tags=["a", "b"]`` are one token each, and
    ``n="3"`` keeps the quotes that make it a string.
    """
    tokens: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    depth = 0
    escaped = False
    for ch in line:
        if quote:
            buf.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
            buf.append(ch)
            continue
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        if ch.isspace() and depth == 0:
            if buf:
                tokens.append("".join(buf))
                buf = []
            continue
        buf.append(ch)
    if quote:
        raise UsageError(f"unbalanced {quote} quote in: {line.strip()}")
    if buf:
        tokens.append("".join(buf))
    return tokens


def unquote(token: str) -> str:
    """Strip one pair of surrounding quotes (a backslash is kept, so Windows paths survive)."""
    if len(token) >= 2 and token[0] == token[-1] == "'":
        return token[1:-1]
    if len(token) >= 2 and token[0] == token[-1] == '"':
        return token[1:-1].replace('\\"', '"')
    return token


def parse_value(raw: str) -> Any:
    """A ``k=v`` value: JSON when it parses (``3``, ``true``, ``["a"]``, ``"3"``), else the string."""
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        raw = raw[1:-1]
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_kv(tokens: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or not key or not key.replace("_", "a").replace("-", "a").isalnum():
            raise UsageError(f"bad argument {token!r}: write key=value (values are JSON when they parse, else strings)")
        out[key] = parse_value(value)
    return out
