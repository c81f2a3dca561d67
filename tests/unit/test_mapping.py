"""The map engine without a server: order, errors, the bounded window, interrupts, DataFrames in and out."""

from __future__ import annotations

import asyncio
import random
import threading
import tracemalloc

import pytest
from mcp_types import CallToolResult, TextContent

from mcpomni_jupyter.core.loop import LoopThread
from mcpomni_jupyter.core.mapping import engine as mapping
from mcpomni_jupyter.core.mapping import frames
from mcpomni_jupyter.core.mapping.feed import LoopFeed
from mcpomni_jupyter.errors import ArgumentError, RequestTimeout, ToolCallError
from mcpomni_jupyter.results import CallResult
from mcpomni_jupyter.results.batch import MapResults, RowError


def result(text: str, error: bool = False, structured=None) -> CallResult:
    raw = CallToolResult(content=[TextContent(type="text", text=text)], is_error=error, structured_content=structured)
    return CallResult(raw, server="s", tool="t")


def go(rows, call, concurrency=4, raise_errors=False, total=None):
    state = mapping.MapRun("s.t", total)
    asyncio.run(mapping.run(LoopFeed(frames.plan(rows).rows), call, state, concurrency, raise_errors))
    return state


def test_outcomes_keep_input_order_whatever_order_calls_finish_in():
    async def call(arguments):
        await asyncio.sleep(random.random() / 100)
        return result(str(arguments["n"]))

    state = go([{"n": i} for i in range(60)], call, concurrency=8)
    assert [o.text for o in state.results()] == [str(i) for i in range(60)]
    assert (state.done, state.failed, state.cancelled, state.pulled) == (60, 0, 0, 60)


def test_row_errors_are_collected_with_their_row():
    async def call(arguments):
        if arguments["n"] == 2:
            raise RequestTimeout("s.t got no answer within 1 s")
        return result(f"bad {arguments['n']}", error=arguments["n"] == 4)

    out = go([{"n": 0}, {"n": 1}, {"n": 2}, "not a dict", {"n": 4}], call).results()
    assert isinstance(out, MapResults) and len(out) == 5 and (out.done, out.failed) == (2, 3)
    timeout, not_dict, tool_error = out[2], out[3], out[4]
    assert isinstance(timeout.error, RequestTimeout) and timeout.arguments == {"n": 2} and timeout.index == 2
    assert "is a str, not a dict" in not_dict.message
    assert tool_error.result.is_error and tool_error.message == "bad 4" and tool_error.text == "bad 4"
    assert out.values[:2] == ["bad 0", "bad 1"] and out.values[2:] == [None, None, None]
    assert "2 done, 3 failed" in repr(out) and "[4] failed: bad 4" in repr(out)


def test_errors_raise_stops_at_the_first_and_names_the_row():
    calls = []

    async def call(arguments):
        calls.append(arguments["n"])
        await asyncio.sleep(0.001)
        return result("no", error=arguments["n"] == 3)

    with pytest.raises(ToolCallError, match=r"^row 3: tool s\.t returned an error: no"):
        go(({"n": i} for i in range(1000)), call, concurrency=2, raise_errors=True)
    assert len(calls) < 10  # stopped: the rest were never called

    async def timeout(arguments):
        raise RequestTimeout("no answer")

    with pytest.raises(RequestTimeout, match="^row 0: no answer"):
        go([{}], timeout, raise_errors=True)


def test_a_generator_is_read_as_the_calls_go_never_all_at_once():
    """100,000 rows of 1 KB: at most `concurrency` rows are out of the generator and unfinished, and memory stays flat."""
    concurrency, pulled = 16, [0]
    state = mapping.MapRun("s.t")
    widest = [0]

    def rows():
        for i in range(100_000):
            pulled[0] += 1
            widest[0] = max(widest[0], pulled[0] - state.settled)
            yield {"payload": "x" * 1000, "n": i}

    done = result("ok")

    async def call(arguments):
        await asyncio.sleep(0)
        return done

    tracemalloc.start()
    try:
        asyncio.run(mapping.run(LoopFeed(frames.plan(rows()).rows), call, state, concurrency, False))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert state.done == pulled[0] == 100_000
    assert widest[0] == concurrency  # the window was full, and never wider
    # the outcomes list is 100,000 pointers (~0.8 MB) plus the labels; the rows themselves would be >100 MB
    assert peak < 12_000_000, peak


def test_an_interrupt_cancels_what_runs_and_returns_what_finished():
    loop = LoopThread("test-map-loop")
    cancelled = []

    async def call(arguments):
        if arguments["n"] < 5:
            return result(str(arguments["n"]))
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(arguments["n"])
            raise
        return result("late")

    state = mapping.MapRun("s.t")
    ticks = [0]

    def tick():  # the kernel's thread, ten times a second: here the interrupt comes
        ticks[0] += 1
        if state.done == 5 and len(state.running) == 3:
            raise KeyboardInterrupt

    try:
        coro = mapping.run(LoopFeed(frames.plan({"n": i} for i in range(100_000)).rows), call, state, 3, False)
        mapping.wait(loop, coro, state, tick)
    finally:
        loop.stop()
    out = state.results()
    assert out.interrupted and len(out) == 8 and (out.done, out.cancelled, out.failed) == (5, 3, 0)
    assert sorted(cancelled) == [5, 6, 7] and all(o.cancelled for o in out[5:])
    assert "interrupted" in out.summary() and out[5].arguments == {"n": 5}


def test_options_and_inputs_are_checked_with_one_line_errors():
    for bad in (0, -1, 1.5, True, "8", 10_001):
        with pytest.raises(ArgumentError, match="concurrency must be a whole number"):
            mapping.check_options(bad, "collect")
    with pytest.raises(ArgumentError, match="errors must be 'collect'"):
        mapping.check_options(4, "ignore")
    with pytest.raises(ArgumentError, match="not a dict; for one call use call"):
        frames.plan({"a": 1})
    with pytest.raises(ArgumentError, match="not an int"):
        frames.plan(5)
    with pytest.raises(ArgumentError, match="columns= picks"):
        frames.plan([{}], columns=["a"])
    assert frames.plan([{}, {}]).total == 2 and frames.plan({} for _ in range(3)).total is None


def test_dataframe_rows_in_and_a_dataframe_out():
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {"x": [1, 2, np.nan], "label": ["a", None, "c"], "when": pd.to_datetime(["2024-01-02", "2024-01-03", None]), "error": [0, 0, 0]},
        index=["r1", "r2", "r3"],
    )
    rows = list(frames.plan(df).rows)
    assert rows[0] == ("r1", {"x": 1.0, "label": "a", "when": "2024-01-02T00:00:00", "error": 0})
    assert rows[2] == ("r3", {"label": "c", "error": 0})  # missing values leave their argument out
    assert type(rows[0][1]["error"]) is int  # numpy scalars become Python ones
    renamed = list(frames.plan(df, columns={"x": "value"}).rows)
    assert renamed[1] == ("r2", {"value": 2.0})
    with pytest.raises(ArgumentError, match="no column 'nope' in the DataFrame; it has: x, label, when, error"):
        frames.plan(df, columns=["nope"])

    outcomes = [result("", structured={"double": 2, "error": "none"}), RowError("r2", {}, "boom"), result("plain")]
    out = frames.frame_out(df, outcomes)
    assert list(out.columns) == ["x", "label", "when", "error", "double", "error_result", "text", "map_error"]
    assert list(out.map_error) == [None, "boom", None] and out.loc["r1", "error_result"] == "none"
    assert list(out.index) == ["r1", "r2", "r3"] and out.loc["r1", "double"] == 2
    assert out.loc["r3", "text"] == "plain"
    partial = frames.frame_out(df, outcomes[:2])
    assert list(partial.index) == ["r1", "r2"]


def test_result_renderings_escape_and_stay_small():
    outcomes = [RowError(i, {}, "<script>alert(1)</script>") for i in range(500)]
    out = MapResults(outcomes, tool="s.<b>", elapsed=1.0)
    html = out._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>" not in html.replace("<b>map", "")
    assert html.count("<tr>") == 21 and len(repr(out).splitlines()) == 22


def test_wait_ticks_on_the_calling_thread():
    loop = LoopThread("test-map-tick")
    threads = set()

    async def call(arguments):
        await asyncio.sleep(0.05)
        return result("ok")

    state = mapping.MapRun("s.t", 6)
    try:
        mapping.wait(
            loop,
            mapping.run(LoopFeed(frames.plan([{}] * 6).rows), call, state, 2, False),
            state,
            lambda: threads.add(threading.current_thread()),
        )
    finally:
        loop.stop()
    assert threads == {threading.current_thread()} and state.done == 6 and state.eta is None


def test_result_fields_never_replace_a_column_and_their_number_is_bounded():
    """The fields are the server's: a name already taken gets a free suffix; past MAX_RESULT_COLUMNS they share one column."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [1, 2], "x_result": ["mine", "mine"], "error": ["e", "e"]})
    outcomes = [result("r", structured={"x": 10, "x_result": 11}), result("r", structured={"x": 20})]
    out = frames.frame_out(frame, outcomes)
    assert list(out.columns) == ["x", "x_result", "error", "x_result2", "x_result_result", "map_error"]
    assert list(out["x_result"]) == ["mine", "mine"] and list(out["x_result2"]) == [10, 20]
    many = [result("r", structured={f"k{row}_{i}": i for i in range(20)}) for row in range(300)]  # 6,000 distinct names
    wide = frames.frame_out(pd.DataFrame({"a": range(300)}), many)
    assert len(wide.columns) == 1 + frames.MAX_RESULT_COLUMNS + 2  # a, the kept fields, more_results, error
    assert wide.loc[299, "more_results"] == {f"k299_{i}": i for i in range(20)} and wide.loc[0, "more_results"] is None
