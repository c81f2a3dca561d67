"""What ``map`` returns: one outcome per row, in input order, with counts and bounded renderings.

A ``MapResults`` is a list: a ``CallResult`` for each row that succeeded and a
``RowError`` for each row that failed (a tool's error result, a timeout, bad
arguments) or was cancelled by a kernel interrupt.  A ``RowError`` answers
``.is_error``, ``.text`` and ``.structured`` like a result, so a loop over the
list never has to test types.  The renderings show a summary and the first
rows only: a million results must not become a million-line output.
"""

from __future__ import annotations

from typing import Any

from mcpomni_jupyter.redact import redact
from mcpomni_jupyter.results.content import esc

PREVIEW_ROWS = 20
MESSAGE_CHARS = 500
REDACTED_CHARS = 20  # times the limit: the prefix of a line that is redacted before it is cut


def one_line(text: str, limit: int = MESSAGE_CHARS) -> str:
    """The first line of ``text``, redacted, then cut (a secret cut in half would escape redaction): what a row's error says.

    Only a generous prefix is redacted (a huge line costs no more than that): a secret cut at its end lies far past the cut.
    """
    first = (text or "").strip().splitlines()
    return redact(first[0][: REDACTED_CHARS * limit])[:limit] if first else "error"


def kind_of(value: Any) -> str:
    """``an int``, ``a str``: what ``value`` is, for an error message."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


class RowError:
    """A row that failed or was cancelled: ``.index`` (position or DataFrame label), ``.arguments``, ``.message``.

    ``.result`` is the tool's own error result when it answered with one;
    ``.error`` the exception otherwise (None for a cancelled row).
    """

    is_error = True
    structured = None

    def __init__(
        self,
        index: Any,
        arguments: Any,
        message: str,
        error: BaseException | None = None,
        result: Any = None,
        cancelled: bool = False,
    ) -> None:
        self.index = index
        self.arguments = arguments
        self.message = message
        self.error = error
        self.result = result
        self.cancelled = cancelled

    @property
    def text(self) -> str:
        return self.message

    @property
    def value(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<row {self.index!r} {'cancelled' if self.cancelled else 'failed'}: {self.message}>"


def _status(outcome: Any) -> str:
    if isinstance(outcome, RowError):
        return "cancelled" if outcome.cancelled else "failed"
    return "done"


class MapResults(list[Any]):
    """The outcomes of a ``map``, in input order (``CallResult`` or ``RowError``), with its counts.

    ``.done``, ``.failed``, ``.cancelled``, ``.errors`` (the ``RowError`` s),
    ``.values`` (each result's ``.value``, None for a failed row),
    ``.interrupted`` (a kernel interrupt stopped it: only the rows it had
    started are here) and ``.elapsed`` (seconds).
    """

    def __init__(self, outcomes: Any = (), tool: str = "", elapsed: float = 0.0, interrupted: bool = False) -> None:
        super().__init__(outcomes)
        self.tool = tool
        self.elapsed = elapsed
        self.interrupted = interrupted

    @property
    def errors(self) -> list[RowError]:
        return [o for o in self if isinstance(o, RowError)]

    @property
    def done(self) -> int:
        return sum(1 for o in self if not isinstance(o, RowError))

    @property
    def failed(self) -> int:
        return sum(1 for o in self if isinstance(o, RowError) and not o.cancelled)

    @property
    def cancelled(self) -> int:
        return sum(1 for o in self if isinstance(o, RowError) and o.cancelled)

    @property
    def values(self) -> list[Any]:
        return [o.value for o in self]

    def summary(self) -> str:
        """One line: what ran, how it ended."""
        parts = [f"{self.done} done"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.cancelled:
            parts.append(f"{self.cancelled} cancelled")
        ending = "; interrupted" if self.interrupted else ""
        return f"map {self.tool}: {len(self)} rows, {', '.join(parts)} in {self.elapsed:.1f} s{ending}"

    def _preview(self, outcome: Any) -> str:
        text = outcome.message if isinstance(outcome, RowError) else repr(outcome)
        text = " ".join(text.split())
        return text[:117] + "…" if len(text) > 120 else text

    def __repr__(self) -> str:
        lines = [self.summary()]
        for i, outcome in enumerate(self[:PREVIEW_ROWS]):
            index = outcome.index if isinstance(outcome, RowError) else i
            lines.append(f"  [{index}] {_status(outcome) + ': ' if isinstance(outcome, RowError) else ''}{self._preview(outcome)}")
        if len(self) > PREVIEW_ROWS:
            lines.append(f"  … {len(self) - PREVIEW_ROWS} more rows (it is a list: r[i], r.errors, r.values)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colours = {"done": "#1a7f37", "failed": "#cf222e", "cancelled": "#9a6700"}
        rows = []
        for i, outcome in enumerate(self[:PREVIEW_ROWS]):
            status = _status(outcome)
            index = outcome.index if isinstance(outcome, RowError) else i
            rows.append(
                f"<tr><td>{esc(index)}</td><td style='color:{colours[status]}'>{status}</td>"
                f"<td style='text-align:left;white-space:pre-wrap'>{esc(self._preview(outcome))}</td></tr>"
            )
        more = f"<div><small>… {len(self) - PREVIEW_ROWS} more rows</small></div>" if len(self) > PREVIEW_ROWS else ""
        return (
            f"<div><b>{esc(self.summary())}</b></div>"
            f"<table><thead><tr><th>row</th><th>status</th><th style='text-align:left'>result</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{more}"
        )
