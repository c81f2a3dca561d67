"""The rows of a ``map``: argument dicts from any iterable or from a pandas DataFrame, and a DataFrame back.

pandas is imported only when a DataFrame is given (a DataFrame is recognised
through ``sys.modules``: if pandas was never imported, nothing is one).  A
DataFrame's rows are read lazily (``itertuples``); its columns become
arguments (``columns=`` picks and renames them), and a missing value (NaN,
None, NA, NaT) leaves its argument out, so the tool's default applies.
"""

from __future__ import annotations

import datetime
import itertools
import math
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mcpomni_jupyter.errors import ArgumentError
from mcpomni_jupyter.results.batch import RowError, kind_of

Row = tuple[Any, Any]

MAX_RESULT_COLUMNS = 100  # result fields that become columns; the rest share one column


@dataclass
class Plan:
    """The rows to map, how many are expected (None: unknown), and the DataFrame they came from."""

    rows: Iterator[Row]
    total: int | None
    frame: Any = None
    ours: bool = True  # read by our own code (a list, a tuple, a DataFrame), not by a person's iterator


def is_frame(value: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def plan(rows: Any, columns: Any = None, total: int | None = None) -> Plan:
    """The rows of ``rows`` (an iterable of dicts, or a DataFrame) without reading them yet."""
    if is_frame(rows):
        return _frame_plan(rows, columns)
    if columns is not None:
        raise ArgumentError("map(): columns= picks and renames a DataFrame's columns; rows given as dicts are used as they are")
    if isinstance(rows, (str, bytes, Mapping)):
        raise ArgumentError(
            f"map() takes an iterable of argument dicts or a DataFrame, not {kind_of(rows)}; for one call use call(), "
            "or wrap the dict in a list"
        )
    try:
        iterator = iter(rows)
    except TypeError:
        raise ArgumentError(f"map() takes an iterable of argument dicts or a DataFrame, not {kind_of(rows)}") from None
    if total is None:
        try:
            total = len(rows)
        except TypeError:
            total = None  # a generator: the progress shows counts and rate, no ETA (give total= for one)
    return Plan(enumerate(iterator), total, ours=type(rows) in (list, tuple))


def _columns(frame: Any, columns: Any) -> dict[Any, str]:
    """Column -> argument name."""
    if columns is None:
        chosen: dict[Any, Any] = {c: c for c in frame.columns}
    elif isinstance(columns, Mapping):
        chosen = dict(columns)
    elif isinstance(columns, (list, tuple)):
        chosen = {c: c for c in columns}
    else:
        raise ArgumentError(f"map(): columns= takes a list of column names or a dict {{column: argument}}, not {kind_of(columns)}")
    if frame.columns.has_duplicates:
        raise ArgumentError("map(): the DataFrame has duplicate column names; rename them, or pick columns with columns=")
    missing = [c for c in chosen if c not in frame.columns]
    if missing:
        raise ArgumentError(f"map(): no column {missing[0]!r} in the DataFrame; it has: {', '.join(map(str, frame.columns))}")
    bad = [a for a in chosen.values() if not isinstance(a, str) or not a]
    if bad:
        raise ArgumentError(f"map(): argument names must be strings, got {bad[0]!r}; rename the column with columns={{column: 'name'}}")
    return chosen


def _frame_plan(frame: Any, columns: Any) -> Plan:
    chosen = _columns(frame, columns)
    positions = [frame.columns.get_loc(c) for c in chosen]
    names = list(chosen.values())

    def rows() -> Iterator[Row]:
        for label, values in zip(frame.index, frame.itertuples(index=False, name=None)):
            arguments = {}
            for name, position in zip(names, positions):
                value = values[position]
                if not _missing(value):
                    arguments[name] = plain(value)
            yield label, arguments

    return Plan(rows(), len(frame), frame)


def _missing(value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    pandas = sys.modules["pandas"]
    return bool(value is pandas.NA or value is pandas.NaT)


def plain(value: Any) -> Any:
    """A cell as a JSON-able Python value: numpy scalars and arrays unwrapped, times as ISO 8601 text."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()  # a scalar's tolist() is the Python scalar
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def result_fields(outcome: Any) -> dict[str, Any]:
    """The columns a row's result adds: its structured fields, else ``result`` (a scalar) or ``text``."""
    if isinstance(outcome, RowError):
        return {}
    structured = outcome.structured
    if isinstance(structured, dict):
        return structured
    if structured is not None:
        return {"result": structured}
    return {"text": outcome.text}


def frame_out(frame: Any, outcomes: list[Any]) -> Any:
    """The input rows that ran, then a column per result field, then ``error`` (None where the row succeeded).

    A result column never replaces a column: one named like a column already
    there gets the suffix ``_result`` (``_result2``, ... if that is taken too);
    the error column is ``map_error`` when ``error`` is taken.  The fields are
    the server's: past ``MAX_RESULT_COLUMNS`` distinct names, the rest go
    together into one ``more_results`` column (a dict per row).
    """
    pandas = sys.modules["pandas"]  # imported already: the frame is one of its DataFrames

    out = frame.iloc[: len(outcomes)].copy()
    records = [result_fields(o) for o in outcomes]
    names = list(dict.fromkeys(itertools.chain.from_iterable(records)))
    kept, rest = names[:MAX_RESULT_COLUMNS], set(names[MAX_RESULT_COLUMNS:])
    taken = set(map(str, out.columns))
    columns: dict[str, Any] = {}
    for name in kept:
        columns[_free(str(name), taken)] = _series(pandas, [r.get(name) for r in records], out.index)
    if rest:
        more = [{k: v for k, v in r.items() if k in rest} or None for r in records]
        columns[_free("more_results", taken)] = pandas.Series(more, index=out.index, dtype=object)
    errors = [o.message if isinstance(o, RowError) else None for o in outcomes]
    columns[_free("error", taken, "map_error")] = pandas.Series(errors, index=out.index, dtype=object)
    return pandas.concat([out, pandas.DataFrame(columns, index=out.index)], axis=1)


def _free(name: str, taken: set[str], first_alternative: str | None = None) -> str:
    """``name``, or the first of ``first_alternative`` / ``name_result``, ``name_result2``, ... not ``taken``; then taken."""
    candidates = itertools.chain([name, first_alternative or f"{name}_result"], (f"{name}_result{i}" for i in itertools.count(2)))
    column = next(c for c in candidates if c not in taken)
    taken.add(column)
    return column


def _series(pandas: Any, values: list[Any], index: Any) -> Any:
    """A column with pandas' own type for it (numbers stay numbers), or object when the values do not fit one."""
    try:
        return pandas.Series(values, index=index)
    except (TypeError, ValueError):
        return pandas.Series(values, index=index, dtype=object)
