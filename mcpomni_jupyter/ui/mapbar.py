"""The progress bar of a running ``map``: done / total, failed, rate and ETA, in the manner of ``tqdm.notebook``.

The loop thread only counts (``MapRun``); the bar is created, displayed and
updated on the kernel's main thread by ``tick()``, which the waiting ``map``
calls about ten times a second.  It turns red once a row has failed (sticky,
as tqdm's ``danger``), green when every row succeeded, amber when
interrupted.  Where widgets cannot render (plain IPython) nothing is
displayed; the returned value says how it went.
"""

from __future__ import annotations

from typing import Any

from mcpomni_jupyter.text import duration
from mcpomni_jupyter.ui.bars import BarWidget

OUTCOMES = {"success": "done", "error": "stopped by an error", "interrupted": "interrupted"}


class MapProgress:
    """The view the manager's ``map`` ticks (``UiHost.map_view``)."""

    def __init__(self, state: Any, show: bool = True) -> None:
        self.state = state
        self.show = show
        self.widget = BarWidget(f"{state.tool}")
        self.shown = False
        self.outcome: str | None = None

    def info(self) -> str:
        s = self.state
        parts = [f"{s.settled}/{s.total}" if s.total is not None else f"{s.settled} rows"]
        if s.failed:
            parts.append(f"{s.failed} failed")
        if s.cancelled:
            parts.append(f"{s.cancelled} cancelled")
        if s.settled:
            parts.append(f"{s.rate:.1f}/s")
        eta = s.eta
        if eta is not None and self.outcome is None:
            parts.append(f"ETA {duration(eta)}")
        parts.append(duration(s.elapsed))
        if self.outcome is not None:
            parts.append(OUTCOMES.get(self.outcome, self.outcome))
        return " · ".join(parts)

    def tick(self) -> None:
        """On the main thread: display the bar (first tick) and bring it up to date."""
        s = self.state
        self.widget.relabel(s.tool)  # SERVER.TOOL once the run has found the tool
        fraction = min(s.settled / s.total, 1.0) if s.total else (1.0 if self.outcome == "success" else None)
        self.widget.set(fraction, self.info())
        if s.failed:
            self.widget.bar.bar_style = "danger"
        if not self.shown and self.show:
            self.shown = True
            self.widget.show()

    def finish(self, outcome: str) -> None:
        """``success``, ``error`` or ``interrupted``: the final line, kept by the notebook."""
        self.outcome = outcome
        if outcome == "error" and not self.shown and not self.state.settled:
            return  # it failed before any row ran (an unknown tool): the error says it all, no empty bar
        self.tick()
        bar = self.widget.bar
        if outcome == "interrupted":
            bar.bar_style = "warning"
        elif outcome == "error" or self.state.failed:
            bar.bar_style = "danger"
        else:
            bar.bar_style = "success"
        self.widget.update()


def map_view(state: Any) -> MapProgress:
    """The UI's ``map`` progress view for ``state`` (displayed where a front end renders widgets)."""
    from IPython import get_ipython

    shell = get_ipython()
    return MapProgress(state, show=getattr(shell, "kernel", None) is not None)
