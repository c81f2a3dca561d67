"""The progress bar of a running tool call, in the manner of ``tqdm.notebook``.

Progress notifications arrive on the loop thread and are only stored; the
widget is created, displayed and updated on the kernel's main thread by
``tick()``, which the waiting magic calls about ten times a second.  The bar
appears at the first progress notification or after a second, shows value,
total, message and elapsed time, and finishes as success, error, timeout or
interrupted (a sticky colour, as tqdm does).  The tick also shows, in the
calling cell, a link a server asked the person to open meanwhile (``links``).
"""

from __future__ import annotations

import html
import time
from typing import Any

from .links import show_pending

SHOW_AFTER = 1.0


class CallProgress:
    def __init__(self, label: str, show: bool = True) -> None:
        self.label = label
        self.show = show  # False where widgets cannot render (plain IPython)
        self.started = time.monotonic()
        self.value: float | None = None
        self.total: float | None = None
        self.message: str | None = None
        self.updates = 0
        self.widget: Any = None
        self.outcome: str | None = None

    # loop thread: store only
    def on_progress(self, value: float, total: float | None, message: str | None) -> None:
        self.value, self.total, self.message = value, total, (str(message)[:200] if message else message)
        self.updates += 1

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _build(self) -> Any:
        import ipywidgets as w

        self.title = w.HTML(f"<code>{html.escape(self.label)}</code>&nbsp;")
        self.bar = w.FloatProgress(min=0, max=1, value=0, bar_style="info", layout=w.Layout(width="40%"))
        self.text = w.HTML()
        return w.HBox([self.title, self.bar, self.text])

    def tick(self) -> None:
        """On the main thread: show the bar when due, and bring it up to date."""
        show_pending()  # a page a server asks the person to open, shown in this cell (ui.links)
        if self.widget is None:
            if not (self.updates or self.elapsed >= SHOW_AFTER):
                return
            self.widget = self._build()
            if self.show:
                from IPython.display import display

                display(self.widget)
        total = self.total if self.total else None
        if total:
            self.bar.max = float(total)
            self.bar.value = min(float(self.value or 0), float(total))
        elif self.value is not None:
            self.bar.max, self.bar.value = 1, 1  # no total: a full, pulsing-free bar with the count
        parts = []
        if self.value is not None:
            parts.append(f"{self.value:g}" + (f"/{total:g}" if total else ""))
        if self.message:
            parts.append(html.escape(self.message))
        parts.append(f"{self.elapsed:.1f} s")
        self.text.value = " · ".join(parts)

    def finish(self, outcome: str) -> None:
        """``success``, ``error``, ``timeout`` or ``interrupted``; only a bar that was shown changes."""
        self.outcome = outcome
        if self.widget is None and self.updates:
            self.tick()  # progress came, but the call ended before the first tick: show it now, complete
        if self.widget is None:
            return
        self.tick()
        if outcome == "success":
            self.bar.bar_style = "success"
            if self.total:
                self.bar.value = self.bar.max
        else:
            self.bar.bar_style = "danger" if outcome == "error" else "warning"
        self.text.value = f"{self.text.value} · {outcome if outcome != 'success' else 'done'}"
