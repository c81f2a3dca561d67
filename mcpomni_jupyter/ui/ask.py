"""The live view of an ask under its cell: the answer as Markdown as it streams, each tool call a collapsed step.

One display (``text/markdown`` with a ``text/plain`` twin) updated in place,
so a saved notebook keeps the answer and its steps as text.  Everything in
it came from a model or a server: the answer is Markdown with HTML and
images neutralised outside code (``<`` escaped, ``![`` defused: an image
would load a URL by itself), a step's arguments and result preview are
redacted, bounded and shown in code fences longer than any backtick run in
them.  Updates are throttled (``INTERVAL``) except the first text, which
shows at once; from another thread (a blocking ask runs on the loop thread)
the view only marks itself changed and ``tick()`` on the kernel's thread
shows it.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
import time
from typing import Any

from mcpomni_jupyter.core.agents.ask import AskView
from mcpomni_jupyter.core.agents.conversation import PREVIEW_CHARS, AskResult, ToolStep
from mcpomni_jupyter.redact import redact
from mcpomni_jupyter.text import printable

INTERVAL = 0.1  # seconds between two updates of the display while text streams
ANSWER_CHARS = 200_000  # of the answer shown (the returned value holds all of it)
_ICONS = {"running": "⏳", "ok": "✅", "error": "⚠️", "denied": "⛔"}
# What the neutraliser leaves as written, because Markdown shows it as code: only where every Markdown reading agrees.
_OPEN = re.compile(r"^(`{3,}|~{3,})(.*)$")  # an opening fence at the line's start (an indented one may sit in a list item)
_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})")  # a closing fence: up to three spaces in (closing too soon is the safe side)
_CODE = re.compile(r"(`+)[^`|]+\1(?!`)")  # a code span within one line, no pipe in it (a table splits cells first)


def _fence(text: str) -> str:
    ticks = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, ticks + 1)
    return f"{fence}\n{text}\n{fence}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("![", "!\\[")


def _defuse(line: str, open_tick: bool) -> tuple[str, bool]:
    """A line outside fenced code: no raw HTML, no image that loads by itself; inline code spans kept as written.

    Left to right, a backtick run that does not open a span we are sure of (unpaired on the line, escaped,
    pairing across a pipe) may still open one in Markdown's reading: the rest of the line, and of the
    paragraph (``open_tick``), is then all escaped.  Returns the line and the new ``open_tick``.
    """
    if not line.strip():
        return line, False
    out, at = [], 0
    while not open_tick and (tick := line.find("`", at)) != -1:
        match = _CODE.match(line, tick)
        if match is None or line[tick - 1 : tick] == "\\":
            open_tick = True
            break
        out += [_escape(line[at:tick]), match.group(0)]
        at = match.end()
    return "".join(out) + _escape(line[at:]), open_tick


def safe_markdown(text: str) -> str:
    """A model's Markdown with HTML and images neutralised outside fenced and inline code."""
    lines, marker, open_tick = [], "", False
    for line in text.splitlines(keepends=True):
        if marker:  # inside a fenced block: as written, up to its closing fence
            close = _CLOSE.match(line)
            if close and close.group(1)[0] == marker[0] and len(close.group(1)) >= len(marker):
                marker = ""
            lines.append(line)
            continue
        fence = _OPEN.match(line)
        if fence and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):
            marker, open_tick = fence.group(1), False
            lines.append(line)
            continue
        shown, open_tick = _defuse(line, open_tick)
        lines.append(shown)
    return "".join(lines)


def step_markdown(step: ToolStep) -> str:
    took = f" · {step.seconds:.2f} s" if step.seconds is not None else ""
    summary = html.escape(
        printable(f"{_ICONS.get(step.status, '')} {step.name} · {step.status}{took}")
    )  # one line: a blank one would end the HTML
    args = redact(json.dumps(step.arguments, ensure_ascii=False, indent=1, default=str))[: PREVIEW_CHARS * 4]
    body = f"arguments:\n\n{_fence(args)}\n"
    if step.preview:
        body += f"\nresult:\n\n{_fence(step.preview)}\n"
    return f"<details><summary>{summary}</summary>\n\n{body}\n</details>\n"


class AskCellView(AskView):
    """The cell's view of one ask."""

    def __init__(self, live: bool = True) -> None:
        self.chunks: list[str] = []
        self.steps: list[ToolStep] = []
        self.status = ""
        self.live = live  # a front end that updates a display in place; else the view shows once, at the end
        self.handle: Any = None
        self.changed = False
        self.first_text_at: float | None = None  # when the first text was shown (the bench reads it)
        self._last = 0.0
        self._flush_due = False

    def text(self, delta: str) -> None:
        self.chunks.append(delta)
        self._changed(first=self.first_text_at is None)

    def step(self, step: ToolStep) -> None:
        if step not in self.steps:
            self.steps.append(step)
        self._changed(first=True)

    def finish(self, result: AskResult | None, error: str | None = None) -> None:
        self.status = error or ""
        self.render()
        if result is not None:
            result.shown = True  # the cell showed the answer: its value need not show it again

    def tick(self) -> None:
        """On the kernel's thread: show what changed."""
        if self.changed and self.live:
            self.render()

    def _changed(self, first: bool) -> None:
        self.changed = True
        if not self.live or threading.current_thread() is not threading.main_thread():
            return  # a blocking ask: tick() shows it
        wait = INTERVAL - (time.monotonic() - self._last)
        if first or wait <= 0:
            self.render()
        elif not self._flush_due:  # text that arrives just before the model pauses must not wait for more text
            try:
                asyncio.get_running_loop().call_later(wait, self._flush)
                self._flush_due = True
            except RuntimeError:  # no loop running here: the next change or the end shows it
                pass

    def _flush(self) -> None:
        self._flush_due = False
        if self.changed:
            self.render()

    def markdown(self) -> str:
        answer = "".join(self.chunks)
        shown = safe_markdown(redact(answer[:ANSWER_CHARS]))
        if len(answer) > ANSWER_CHARS:
            shown += f"\n\n*[cut: {len(answer) - ANSWER_CHARS} more characters; the returned value's .output holds all]*"
        parts = [step_markdown(s) for s in self.steps] + [shown]
        if self.status:
            parts.append(f"\n*{html.escape(self.status)}*")
        return "\n".join(parts)

    def plain(self) -> str:
        lines = [f"[{s.status}] {s.line()}" for s in self.steps]  # e.g. [ok] demo.add({"a": 1}) 0.01 s
        return "\n".join([*lines, redact("".join(self.chunks)), self.status]).strip()

    def render(self) -> None:
        self.changed, self._last = False, time.monotonic()
        from IPython.display import display

        bundle = {"text/markdown": self.markdown(), "text/plain": self.plain()}
        if self.first_text_at is None and self.chunks:
            self.first_text_at = time.monotonic()
        if self.handle is None:
            self.handle = display(bundle, raw=True, display_id=True)
        else:
            self.handle.update(bundle, raw=True)
