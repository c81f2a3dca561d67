"""The conversation an ask carries across cells, bounded by tokens, saved and loaded as JSON with no secret in it.

Messages are pydantic-ai's (``ModelRequest`` / ``ModelResponse``).  The
bound (``%config MCPMagics.history_tokens``) drops the oldest whole turns:
a turn starts at a person's prompt, so a tool call is never separated from
its result.  The size of a message is estimated (a token is about four
characters of its JSON); the newest turn is always kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcpomni_jupyter.core.agents.models import require
from mcpomni_jupyter.errors import ConfigError
from mcpomni_jupyter.redact import redact

HISTORY_TOKENS = 50_000  # the default bound of a conversation
CHARS_PER_TOKEN = 4
PREVIEW_CHARS = 300  # of a tool result, in a step


@dataclass
class ToolStep:
    """One tool call of an ask, as its cell shows it."""

    name: str  # SERVER.TOOL (or the model's name for a tool we do not know)
    arguments: Any
    call_id: str | None = None
    status: str = "running"  # running, ok, error, denied
    seconds: float | None = None
    preview: str = ""  # the start of what the model read back (redacted, bounded)

    def line(self) -> str:
        took = f" {self.seconds:.2f} s" if self.seconds is not None else ""
        args = redact(json.dumps(self.arguments, ensure_ascii=False, default=str))[:PREVIEW_CHARS]
        return f"{self.name}({args}){took}"


@dataclass
class Usage:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, usage: Any) -> None:
        self.requests += int(getattr(usage, "requests", 0) or 0)
        self.input_tokens += int(getattr(usage, "input_tokens", 0) or 0)
        self.output_tokens += int(getattr(usage, "output_tokens", 0) or 0)


@dataclass
class AskResult:
    """What ``%%mcp ask`` returns: ``.output`` (the answer), ``.messages``, ``.tool_calls``, ``.usage``."""

    output: str
    messages: list[Any] = field(default_factory=list)  # the conversation after this ask (pydantic-ai messages)
    tool_calls: list[ToolStep] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    interrupted: bool = False
    shown: bool = False  # its cell showed the answer as it streamed

    def _ipython_display_(self) -> None:
        if not self.shown:  # the value of a cell that did not stream it (mcp.ask from code)
            print(redact(self.output))

    def __repr__(self) -> str:
        return f"<AskResult {self.model}: {len(self.tool_calls)} tool call(s), {self.usage.output_tokens} output tokens>"

    def __str__(self) -> str:
        return self.output


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(redact(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(message: Any) -> int:
    adapter = require("pydantic_ai.messages", "a conversation").ModelMessagesTypeAdapter
    return len(adapter.dump_json([message])) // CHARS_PER_TOKEN


def _starts_turn(message: Any) -> bool:
    parts = getattr(message, "parts", ())
    return getattr(message, "kind", None) == "request" and any(getattr(p, "part_kind", None) == "user-prompt" for p in parts)


class Conversation:
    """The messages so far and what they cost; ``bounded()`` is what the next ask sends."""

    def __init__(self, limit: int = HISTORY_TOKENS) -> None:
        self.messages: list[Any] = []
        self.limit = limit
        self.usage = Usage()

    def __len__(self) -> int:
        return len(self.messages)

    def __repr__(self) -> str:
        turns = self.turns()
        head = f"conversation: {len(turns)} turn(s), {len(self.messages)} message(s), {self.usage.output_tokens} output tokens so far"
        lines = [head] + [
            f"{i}. you: {asked}\n   model: {said}" + (f" ({calls} tool call(s))" if calls else "")
            for i, (asked, said, calls) in enumerate(turns, 1)
        ]
        return "\n".join(lines)

    def turns(self) -> list[tuple[str, str, int]]:
        """(what the person asked, the model's last words, how many tools it called) per turn, bounded and redacted."""
        out: list[tuple[str, str, int]] = []
        for message in self.messages:
            parts = getattr(message, "parts", ())
            if _starts_turn(message):
                asked = next(str(p.content) for p in parts if getattr(p, "part_kind", None) == "user-prompt")
                out.append((_short(asked), "", 0))
            elif out and getattr(message, "kind", None) == "response":
                asked, said, calls = out[-1]
                text = "".join(str(p.content) for p in parts if getattr(p, "part_kind", None) == "text")
                calls += sum(getattr(p, "part_kind", None) == "tool-call" for p in parts)
                out[-1] = (asked, _short(text) if text else said, calls)
        return out

    def clear(self) -> None:
        self.messages = []

    def bounded(self) -> list[Any]:
        """The newest whole turns that fit in ``limit`` tokens (the newest turn always)."""
        sizes = [_size(m) for m in self.messages]
        starts = [i for i, m in enumerate(self.messages) if _starts_turn(m)] or [0]
        for start in starts:
            if sum(sizes[start:]) <= self.limit or start == starts[-1]:
                return self.messages[start:]
        return self.messages

    def save(self, path: str | Path) -> Path:
        """Write the conversation as JSON (pydantic-ai's message format), every known secret masked."""
        adapter = require("pydantic_ai.messages", "a conversation").ModelMessagesTypeAdapter
        target = Path(path).expanduser()
        target.write_text(redact(adapter.dump_json(self.messages, indent=1).decode()), encoding="utf-8")
        return target

    def load(self, path: str | Path) -> int:
        """Replace the conversation with a saved one; the number of messages."""
        adapter = require("pydantic_ai.messages", "a conversation").ModelMessagesTypeAdapter
        source = Path(path).expanduser()
        try:
            self.messages = list(adapter.validate_json(source.read_bytes()))
        except OSError as exc:
            raise ConfigError(f"cannot read {str(source)!r}: {exc.strerror or exc}") from None
        except ValueError as exc:
            first = str(exc).splitlines()[0][:200]
            raise ConfigError(f"{str(source)!r} is not a saved conversation (%mcp history --save writes one): {first}") from None
        return len(self.messages)
