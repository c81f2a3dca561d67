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

import time

from mcpomni_jupyter.text import duration
from mcpomni_jupyter.ui.bars import BarWidget
from mcpomni_jupyter.ui.links import show_pending

SHOW_AFTER = 1.0
OUTCOMES = {"success": "done", "error": "✗ error", "timeout": "timed out", "interrupted": "interrupted"}


class CallProgress:
    def __init__(self, label: str, show: bool = True) -> None:
        self.label = label
        self.show = show  # False where widgets cannot render (plain IPython)
        self.started = time.monotonic()
        self.value: float | None = None
        self.total: float | None = None
        self.message: str | None = None
        self.updates = 0
        self.widget: BarWidget | None = None
        self.outcome: str | None = None

    # loop thread: store only
    def on_progress(self, value: float, total: float | None, message: str | None) -> None:
        self.value, self.total, self.message = value, total, (str(message)[:200] if message else message)
        self.updates += 1

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _build(self) -> BarWidget:
        self.bar_widget = BarWidget(self.label)
        self.title, self.bar, self.text = self.bar_widget.title, self.bar_widget.bar, self.bar_widget.text
        return self.bar_widget

    def tick(self) -> None:
        """On the main thread: show the bar when due, and bring it up to date."""
        show_pending()  # a page a server asks the person to open, shown in this cell (ui.links)
        if self.widget is None:
            if not (self.updates or self.elapsed >= SHOW_AFTER):
                return
            self.widget = self._build()
            if self.show:
                self.widget.show()
        total = self.total if self.total else None
        if total:
            value = min(float(self.value or 0), float(total))
            self.widget.set(value / float(total), self._info(total), value, float(total))
        elif self.value is not None or self.outcome == "success":
            self.widget.set(1.0 if self.outcome == "success" else None, self._info(total), 1, 1)  # no total: a full bar
        else:
            self.widget.set(None, self._info(total))

    def _info(self, total: float | None) -> str:
        parts = []
        if self.value is not None:
            parts.append(f"{self.value:g}" + (f"/{total:g}" if total else ""))
        if self.message:
            parts.append(self.message)
        parts.append(duration(self.elapsed))
        if self.outcome is not None:
            parts.append(OUTCOMES.get(self.outcome, self.outcome))
        return " · ".join(parts)

    def finish(self, outcome: str) -> None:
        """``success``, ``error``, ``timeout`` or ``interrupted``; only a bar that was shown changes."""
        self.outcome = outcome
        if self.widget is None and self.updates:
            self.tick()  # progress came, but the call ended before the first tick: show it now, complete
        if self.widget is None:
            return
        if outcome == "success":
            self.bar.bar_style = "success"
            if self.total:
                self.value = self.total
        else:
            self.bar.bar_style = "danger" if outcome == "error" else "warning"
        self.tick()
        self.widget.update()  # the notebook keeps the final line (text/plain, text/html)
