"""A progress bar widget that reads well without widgets, as ``tqdm.notebook``'s does.

``BarWidget`` is tqdm's ``HBox([HTML, FloatProgress, HTML])``; its
``text/plain`` form is the bar drawn in text (``word_count ━━━━━━━━━━ 100%
0.2 s done``) and its ``text/html`` form the same line, escaped, so nbconvert,
GitHub's viewer and plain IPython show the bar, not ``HBox(children=...``.
It is displayed with a display id, and ``finish`` updates that display: the
output an executed notebook keeps is the final line, not the first.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from mcpomni_jupyter.text import printable

WIDTH = 10  # characters of the text bar
STYLE_COLOURS = {"success": "#1a7f37", "danger": "#cf222e", "warning": "#9a6700", "info": "#0969da", "": "#0969da"}


def text_bar(fraction: float) -> str:
    """``━━━━━─────`` for ``fraction``."""
    filled = round(max(0.0, min(1.0, fraction)) * WIDTH)
    return "━" * filled + "─" * (WIDTH - filled)


class BarWidget(w.HBox):
    """Label, bar and a line of text; ``line`` is what it says in text form."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.title = w.HTML(f"<code>{html.escape(label)}</code>&nbsp;")
        self.bar = w.FloatProgress(min=0, max=1, value=0, bar_style="info", layout=w.Layout(width="40%"))
        self.text = w.HTML()
        self.fraction: float | None = None
        self.info = ""  # the text after the percentage (plain text, escaped when shown)
        self.handle: Any = None
        super().__init__([self.title, self.bar, self.text])

    def relabel(self, label: str) -> None:
        if label != self.label:
            self.label = label
            self.title.value = f"<code>{html.escape(label)}</code>&nbsp;"

    def set(self, fraction: float | None, info: str, value: float | None = None, maximum: float | None = None) -> None:
        """Bring the bar and its text up to date (traits only); the bar shows ``value`` of ``maximum``, else ``fraction``."""
        self.fraction, self.info = fraction, info
        if maximum is not None:
            self.bar.max, self.bar.value = maximum, value or 0.0
        elif fraction is not None:
            self.bar.max, self.bar.value = 1.0, max(0.0, min(1.0, fraction))
        escaped = html.escape(info)
        if self.text.value != escaped:
            self.text.value = escaped

    def line(self) -> str:
        """The bar in text: ``label ━━━━━━━━━━ 100% info``, or ``label info`` while the fraction is unknown (as tqdm)."""
        bar = "" if self.fraction is None else f" {text_bar(self.fraction)} {round(100 * self.fraction):3d}%"
        return printable(f"{self.label}{bar} {self.info}").rstrip()  # a server's message must not move a terminal's cursor

    def __repr__(self) -> str:
        return self.line()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = super()._repr_mimebundle_(**kwargs) or {}
        colour = STYLE_COLOURS.get(self.bar.bar_style or "", STYLE_COLOURS[""])
        data["text/plain"] = self.line()
        data["text/html"] = f"<pre style='margin:0;color:{colour}'>{html.escape(self.line())}</pre>"
        return data

    def show(self) -> None:
        """Display under the running cell, keeping the handle that ``update`` refreshes."""
        from IPython.display import display

        self.handle = display(self, display_id=True)

    def update(self) -> None:
        """Refresh the displayed output, so that the notebook keeps the final text and HTML forms."""
        if self.handle is not None:
            self.handle.update(self)
