"""The words of a ``%mcp`` line: tokens that keep quotes and brackets, ``k=v`` values as JSON, option values.

The pieces ``command.py`` parses a line with; every mistake is a
``UsageError`` (one line, no traceback), so a bad line never exits the kernel.
"""

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
    except (ValueError, RecursionError):
        return raw


def parse_kv(tokens: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or not key or not key.replace("_", "a").replace("-", "a").isalnum():
            raise UsageError(f"bad argument {token!r}: write key=value (values are JSON when they parse, else strings)")
        out[key] = parse_value(value)
    return out


def seconds(raw: str, where: str) -> float:
    """A positive number of seconds (``--timeout 5``)."""
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{where} takes seconds, got {raw!r}") from None
    if not 0 < value < float("inf"):
        raise UsageError(f"{where} must be a positive number of seconds, got {raw!r}")
    return value


def whole_number(raw: str, where: str) -> int:
    """A whole number, 0 or more (``--limit 5``)."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise UsageError(f"{where} takes a whole number (0 or more), got {raw!r}")
    return int(raw)


def variable(raw: str, where: str) -> str:
    """The name of a Python variable (``--out VAR``, ``--from VAR``)."""
    if not raw.isidentifier():
        raise UsageError(f"{where} {raw!r}: give the name of a Python variable")
    return raw


def json_object(text: str, where: str) -> dict[str, Any]:
    """A JSON object given as text (``--json``, a cell body)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise UsageError(f'{where} is not valid JSON ({detail}); write a JSON object like {{"key": 1}}') from None
    except RecursionError:
        raise UsageError(f'{where} is nested too deeply; write a JSON object like {{"key": 1}}') from None
    if not isinstance(value, dict):
        raise UsageError(f'{where} must be a JSON object like {{"key": 1}}, got {type(value).__name__}')
    return value
