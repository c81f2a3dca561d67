"""Tools over data against a real stdio test server: mcp.map, tools.S.T.map, %mcp map, DataFrames, interrupts."""

from __future__ import annotations

import _thread
import threading

import pytest
from conftest import PY, SERVER, usage_error

from mcpomni_jupyter.core.host import UiHost
from mcpomni_jupyter.core.mapping.feed import READ_AHEAD
from mcpomni_jupyter.errors import ArgumentError, ToolCallError
from mcpomni_jupyter.results import CallResult
from mcpomni_jupyter.results.batch import MapResults, RowError


@pytest.fixture
def mcp(run):
    assert run(f"%mcp add s -- {PY} {SERVER} stdio").ok
    assert run("%mcp connect s").ok
    from mcpomni_jupyter.core.kernel import get_manager

    return get_manager()


def test_results_come_back_in_input_order(mcp):
    # the first rows take longest, so they finish last
    rows = [{"seconds": round(1.0 - i * 0.08, 2)} for i in range(10)]
    out = mcp.map("s.sleep", rows, concurrency=10)
    assert isinstance(out, MapResults) and all(isinstance(r, CallResult) for r in out)
    assert [r.text for r in out] == [f"slept {row['seconds']}" for row in rows]
    assert out.tool == "s.sleep" and out.done == 10 and not out.interrupted
    # concurrently: about the longest call (1 s), far from the sum (6.4 s); the margin absorbs a loaded machine
    assert out.elapsed < 4.0


def test_row_errors_are_collected_and_errors_raise_stops(mcp):
    rows = [{"a": 1, "b": 2}, {"a": "one", "b": 2}, {"a": 3, "b": 4}]
    out = mcp.map("add", rows)  # SERVER. may be left out, as in call
    assert out.values == [3.0, None, 7.0] and (out.done, out.failed) == (2, 1)
    error = out.errors[0]
    assert isinstance(error, RowError) and error.index == 1 and error.arguments == {"a": "one", "b": 2}
    assert error.result.is_error and "validation error" in error.message
    with pytest.raises(ToolCallError, match=r"^row 1: tool s\.add returned an error"):
        mcp.map("s.add", rows, errors="raise", concurrency=1)
    assert mcp.call("s.echo", text="still here").text == "still here"  # the connection is fine


def test_a_dataframe_in_and_a_dataframe_out(mcp):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"id": ["a", "b", "c"], "values": [[1, 2, 3], [10], "oops"]}, index=[10, 20, 30])
    out = mcp.map("s.stats", df, columns={"values": "numbers"})
    assert list(out.index) == [10, 20, 30] and list(out.columns) == ["id", "values", "count", "sum", "mean", "error"]
    assert out.loc[10, "mean"] == 2.0 and out.loc[20, "sum"] == 10
    assert out.loc[10, "error"] is None and "validation error" in out.loc[30, "error"] and pd.isna(out.loc[30, "count"])
    unnamed = mcp.map("s.stats", df)  # no columns=: every column is an argument, and each row fails alone
    assert list(unnamed.columns) == ["id", "values", "error"] and unnamed["error"].str.contains("validation error").all()
    with pytest.raises(ArgumentError, match="no column 'numbers' in the DataFrame; it has: id, values"):
        mcp.map("s.stats", df, columns=["numbers"])


def test_a_tool_callable_maps_and_checks_each_row_first(mcp):
    out = mcp.tools.s.add.map([{"a": 1, "b": 1}, {"a": 1}, {"a": 1, "b": "x"}])
    assert out[0].value == 2.0
    assert isinstance(out[1].error, ArgumentError) and "missing required argument(s): b" in out[1].message
    assert isinstance(out[2].error, ArgumentError) and "b: 'x' is not of type 'number'" in out[2].message


def test_a_generator_of_100000_rows_is_read_as_the_calls_go(mcp):
    """Interrupted after ~1.5 s: only the rows that ran (and the few in flight) ever left the generator."""
    concurrency, pulled, widest = 8, [0], [0]

    class Watcher:  # the progress view: ticked on this thread about ten times a second
        def __init__(self, state):
            self.state = state

        def tick(self):
            widest[0] = max(widest[0], self.state.pulled - self.state.settled)

        def finish(self, outcome):
            self.outcome = outcome

    mcp.register_ui(UiHost(map_view=Watcher))

    def rows():
        for i in range(100_000):
            pulled[0] += 1
            yield {"a": i, "b": 0.5}

    timer = threading.Timer(1.5, _thread.interrupt_main)  # a kernel interrupt is SIGINT: KeyboardInterrupt in this thread
    timer.start()
    try:
        out = mcp.map("s.add", rows(), concurrency=concurrency)
    finally:
        timer.cancel()
    # a generator is read on a thread of its own, at most READ_AHEAD rows ahead of the calls: those are reported as
    # not started, so every row that left the generator is in the result
    assert out.interrupted and out.done > 0 and out.cancelled <= concurrency + READ_AHEAD and out.failed == 0
    assert pulled[0] == len(out) <= out.done + concurrency + READ_AHEAD  # a bounded read-ahead, none lost
    assert 0 < widest[0] <= concurrency
    finished = [(i, r.value) for i, r in enumerate(out) if not r.is_error]  # calls finish out of order: not a prefix
    assert len(finished) == out.done and all(value == i + 0.5 for i, value in finished)
    assert all(r.cancelled for r in out if r.is_error)
    assert mcp.call("s.echo", text="after").text == "after"


def test_a_slow_generator_never_stalls_the_other_calls(mcp):
    """The person's generator runs on a reader thread: while it waits, a call to the same server goes through."""
    waiting, release = threading.Event(), threading.Event()

    def rows():
        yield {"text": "first"}
        waiting.set()
        release.wait(30)  # a generator reading a slow file or the network
        yield {"text": "second"}

    outcome: list = []
    mapper = threading.Thread(target=lambda: outcome.append(mcp.map("s.echo", rows(), concurrency=2, progress=False)))
    mapper.start()
    try:
        assert waiting.wait(30)
        # on the loop thread, the generator's wait would hold this call for 30 s
        assert mcp.call("s.echo", text="meanwhile", timeout=10).text == "meanwhile"
        assert mapper.is_alive() and not release.is_set()  # the generator is still waiting: the call did not wait for it
    finally:
        release.set()
        mapper.join(30)
    assert [r.text for r in outcome[0]] == ["first", "second"]


def test_a_rows_check_failing_fails_that_row_alone(mcp):
    checked = []

    def check(arguments):
        checked.append(threading.current_thread().name)
        if arguments["a"] < 0:
            raise ArgumentError("a must not be negative")

    out = mcp.map("s.add", ({"a": a, "b": 1} for a in (1, -1, 2)), check=check)
    assert out.values == [2.0, None, 3.0] and "a must not be negative" in out.errors[0].message
    assert set(checked) == {"mcp-map-rows"}  # on the reader thread, not on the loop thread


def test_the_map_magic(run, mcp):
    shell_rows = [{"text": "one"}, {"text": "two"}]
    from IPython import get_ipython

    get_ipython().user_ns["texts"] = shell_rows
    cell = run("%mcp map s.echo --from texts --concurrency 2 --out echoed")
    assert cell.ok and isinstance(cell.value, MapResults) and [r.text for r in cell.value] == ["one", "two"]
    assert run("echoed").value is cell.value
    assert "map s.echo: 2 rows, 2 done" in repr(cell.value)

    pd = pytest.importorskip("pandas")
    get_ipython().user_ns["frame"] = pd.DataFrame({"x": [1, 2], "y": [3, 4], "note": ["n", "m"]})
    framed = run('%mcp map s.add --from frame --columns \'{"x": "a", "y": "b"}\'').value
    assert list(framed["result"]) == [4.0, 6.0]
    assert list(run("%mcp map s.add --from frame --columns x,y --errors collect").value["error"].str.contains("validation error")) == [
        True,
        True,
    ]

    for line, expected in [
        ("%mcp map s.echo", "give the variable that holds the rows"),
        ("%mcp map --from texts", "name one tool"),
        ("%mcp map s.echo --from nothing_here", "there is no variable 'nothing_here'"),
        ("%mcp map s.echo --from 'a b'", "give the name of a Python variable"),
        ("%mcp map s.echo --from texts --concurrency lots", "--concurrency takes a whole number"),
        ("%mcp map s.echo --from texts --concurrency 0", "concurrency must be a whole number from 1"),
        ("%mcp map s.echo --from texts --errors ignore", "errors must be 'collect'"),
        ("%mcp map s.echo --from texts --columns a", "columns= picks and renames a DataFrame"),
        ("%mcp map s.nope --from texts", "has no tool 'nope'"),
        ("%mcp map s.echo --from texts --bogus 1", "unknown option --bogus"),
    ]:
        assert expected in usage_error(run(line)), line
    run("number = 5")
    assert "not an int" in usage_error(run("%mcp map s.echo --from number"))
    assert run("%mcp call s.echo text=ok").value.text == "ok"


def test_map_completion_and_help(shell, mcp, run):
    complete = lambda line: shell.complete(None, line, len(line))[1]  # noqa: E731
    assert "map" in complete("%mcp ma")
    assert "s.echo" in complete("%mcp map s.e")
    run("my_rows = [{'text': 'a'}]\nnot_rows = 3")
    assert "my_rows" in complete("%mcp map s.echo --from ") and "not_rows" not in complete("%mcp map s.echo --from ")
    assert complete("%mcp map s.echo --from my_rows --err") == ["--errors"]
    assert complete("%mcp map s.echo --errors ") == ["collect", "raise"]
    assert "--concurrency" in complete("%mcp map s.echo --from my_rows ")
    help_text = run("%mcp help map").out
    assert "%mcp map [SERVER.]TOOL --from VAR" in help_text and "--concurrency N" in help_text


def test_amap_for_top_level_await(mcp):
    import asyncio

    out = asyncio.run(mcp.tools.s.echo.amap([{"text": str(i)} for i in range(5)], concurrency=2))
    assert [r.text for r in out] == ["0", "1", "2", "3", "4"] and out.done == 5


def test_an_interrupt_while_the_server_connects_returns_at_once(manager):
    """Interrupted before any row ran (the server still starting): the map returns with nothing done, not after CANCEL_WAIT."""
    import time
    from pathlib import Path

    tiny = str(Path(__file__).resolve().parent.parent / "bench" / "tiny_server.py")
    manager.add("late", command=PY, args=[tiny, "--delay", "4"])  # answers only after 4 s
    timer = threading.Timer(0.5, _thread.interrupt_main)
    start = time.monotonic()
    timer.start()
    try:
        out = manager.map("late.noop", [{}, {}], progress=False)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 3.0
    assert out.interrupted and out.done == 0
