"""Parsing a ``%mcp`` line: tokens that keep quotes and brackets, ``k=v`` values as JSON, options.

Every mistake is a ``UsageError`` (one line, no traceback): argparse's
``error`` and ``exit`` are turned into one too, so a bad line never exits the
kernel.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, NoReturn

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


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting the kernel."""

    def __init__(self, name: str, description: str) -> None:
        super().__init__(prog=f"%mcp {name}", description=description, add_help=False, allow_abbrev=False)
        self.command = name

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"%mcp {self.command}: {message}; see %mcp help {self.command}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message or f"%mcp {self.command}: see %mcp help {self.command}")

    def parse_tokens(self, tokens: list[str]) -> argparse.Namespace:
        return self.parse_args([unquote(t) for t in tokens])


def names_only(command: str, tokens: list[str]) -> list[str]:
    """The words of a command that takes names and no options."""
    for t in tokens:
        if t.startswith("-"):
            raise UsageError(f"%mcp {command}: unknown option {t}; see %mcp help {command}")
    return [unquote(t) for t in tokens]


def split_options(tokens: list[str], options: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """Pull ``--opt VALUE`` / ``--opt=VALUE`` options out of a token list; the rest stay in order."""
    rest: list[str] = []
    found: dict[str, str] = {}
    it = iter(tokens)
    for token in it:
        key, eq, value = token.partition("=")
        if token.startswith("--") and eq and key in options:
            found[key] = unquote(value)
        elif token in options:
            following = next(it, None)
            if following is None:
                raise UsageError(f"{token} needs a value")
            found[token] = unquote(following)
        elif token.startswith("--"):
            raise UsageError(f"unknown option {token}; options here: {', '.join(options)}")
        else:
            rest.append(token)
    return rest, found


def seconds(found: dict[str, str], option: str = "--timeout") -> float | None:
    """A positive number of seconds given with ``option``, or None."""
    if option not in found:
        return None
    try:
        value = float(found[option])
    except ValueError:
        raise UsageError(f"{option} takes seconds, got {found[option]!r}") from None
    if not 0 < value < float("inf"):
        raise UsageError(f"{option} must be a positive number of seconds")
    return value


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
