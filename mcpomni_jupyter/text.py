"""Small text helpers every layer uses: a server's text on printable lines, a duration in words.

Below everything but ``errors`` (it imports nothing of the package): the
status line of a task, a progress bar's text and a question's form all show a
server's text through ``printable``, so none of them can move a terminal's
cursor, hide text behind a right-to-left override, or start a new line the
reader did not expect.
"""

from __future__ import annotations


def printable(text: str, keep: str = "") -> str:
    """``text`` with every character that is not printable (controls, format characters, line breaks) turned into a space.

    Characters in ``keep`` (``"\\n"`` for a multi-line text) stay as they are.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in keep else " " for ch in text)


def duration(seconds: float) -> str:
    """``4.1 s``, ``2:05 min``, ``1:02:05 h``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d} min" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}:{secs:02d} h"
