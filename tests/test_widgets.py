"""Widgets, progress, notifications, server requests and tools as callables, checked headlessly."""

from __future__ import annotations

import asyncio
import inspect
import re

import pytest
from conftest import PY, SERVER, usage_error, wait_until


@pytest.fixture
def connected(run):
    assert run(f"%mcp add s -- {PY} {SERVER} stdio").ok
    assert run("%mcp connect s").value["s"].state == "connected"
    from mcpomni_jupyter.core.kernel import get_manager

    return get_manager()


def test_status_panel_rows_buttons_and_fallbacks(run, connected):
    from mcpomni_jupyter.ui.panel import ServerRow, StatusPanel

    panel = run("%mcp connections").value
    assert isinstance(panel, StatusPanel)
    row = panel.rows["s"]
    assert isinstance(row, ServerRow) and panel.children[1] is row
    texts = [re.sub(r"^<div[^>]*>|</div>$", "", cell.value) for cell in row.cells]  # each value sits in a wrapping div
    assert (
        "<b>s</b>" in texts[0]
        and texts[1] == "stdio"
        and "connected" in texts[3]
        and texts[4] == "2026-07-28"
        and texts[5].startswith("16 / 1 / 1")
    )
    assert row.connect.disabled and not row.disconnect.disabled and row.authorize.layout.display == "none"
    bundle = panel._repr_mimebundle_()
    assert "● connected" in bundle["text/plain"] and "<table" in bundle["text/html"]

    row.disconnect.click()  # returns at once; the row follows the state
    assert wait_until(lambda: "disconnected" in row.cells[3].value)
    assert not row.connect.disabled and row.disconnect.disabled and ">0 / 0 / 0</div>" in row.cells[5].value
    row.connect.click()
    assert wait_until(lambda: "connected" in row.cells[3].value and "dis" not in row.cells[3].value)
    row.refresh.click()
    assert wait_until(lambda: "connected" in row.cells[3].value)
    assert panel["s"].state == "connected"

    # a server added later gets a row on the main thread; a removed one is marked
    assert run(f"%mcp add t -- {PY} {SERVER} stdio").ok
    assert "t" in panel.rows
    run("%mcp remove t")
    assert "removed" in panel.rows["t"].cells[3].value


def test_failed_server_row_shows_the_redacted_error(run, monkeypatch):
    monkeypatch.setenv("MCPJ_SECRET_HDR", "Bearer very-secret-value-123")
    run("%mcp add bad http://127.0.0.1:9/mcp -H 'Authorization: ${MCPJ_SECRET_HDR}'")
    panel = run("%mcp connect bad").value
    row = panel.rows["bad"]
    assert "failed" in row.cells[3].value and "cannot reach" in row.cells[8].value
    import json

    state = json.dumps([c.get_state() for c in row.cells], default=str)
    assert "very-secret-value-123" not in state + repr(panel) + panel._repr_html_()


def test_progress_bar_success_and_elapsed_time(run, shell):
    run(f"%mcp add s -- {PY} {SERVER} stdio")
    run("%mcp connect s")
    magics = shell.magics_manager.registry["MCPMagics"]
    assert run("%mcp call s.count n=3").value.text == "counted to 3"
    progress = magics.last_progress
    assert progress.updates == 3 and progress.outcome == "success"
    assert progress.bar.bar_style == "success" and progress.bar.value == progress.bar.max == 3
    assert "3/3" in progress.text.value and "done" in progress.text.value

    assert run("%mcp call s.sleep seconds=1.4").ok  # no progress, but over a second: elapsed time shows
    progress = magics.last_progress
    assert progress.widget is not None and progress.updates == 0 and " s" in progress.text.value

    run("%mcp call s.echo text=quick")  # fast and silent: no bar at all
    assert magics.last_progress.widget is None

    usage_error(run("%mcp call s.sleep seconds=5 --timeout 1.2"))
    assert magics.last_progress.outcome == "timeout" and magics.last_progress.bar.bar_style == "warning"
    run("%mcp call s.fail")
    assert magics.last_progress.outcome == "error"


def test_notifications_callback_list_changed_and_log(run, connected):
    seen = []
    unsubscribe = connected.on_notification(lambda entry: seen.append((entry.kind, entry.message)))
    run("%mcp call s.count n=2")
    assert run("%mcp call s.add_tool").value.text == "added"
    assert wait_until(lambda: "late" in connected.list_tools("s").names)  # re-listed automatically
    assert wait_until(lambda: any(k == "tools" and m.startswith("tool list changed; re-listed") for k, m in seen))
    assert sum(1 for kind, _ in seen if kind == "progress") == 2
    assert run("%mcp call s.late").value.text == "late but here"
    unsubscribe()
    n = len(seen)
    run("%mcp call s.count n=1")
    assert len(seen) == n
    assert any(e.kind == "tools" for e in run("%mcp log s").value)


def test_roots_sampling_and_elicitation_decline(run, connected, tmp_path):
    assert run("%mcp call s.roots").value.text == tmp_path.resolve().as_uri()  # the notebook's cwd
    connected.set_roots("s", [str(tmp_path / "data"), "file:///srv/shared"])
    assert run("%mcp call s.roots").value.text.splitlines() == [(tmp_path / "data").resolve().as_uri(), "file:///srv/shared"]

    # 2026-07-28: the question comes back in the call's result (a multi-round-trip request); a declined one fails the call
    declined = usage_error(run("%mcp call s.ask_llm question=hi"))
    assert "this notebook answers no sampling requests; register a handler" in declined
    connected.set_sampling_handler(lambda messages, params: f"echo {messages[-1]['content']} ({params.max_tokens})")
    assert run("%mcp call s.ask_llm question=hi").value.text == "model notebook said: echo hi (50)"

    cell = run("%mcp call s.ask_user")
    assert cell.value.text == "decline"
    assert "a blocked cell cannot answer it; make the call with top-level await" in cell.err


def test_roots_from_the_config(run, tmp_path):
    import json

    config = {"mcpServers": {"r": {"command": PY, "args": [SERVER, "stdio"], "roots": [str(tmp_path / "a"), str(tmp_path / "b")]}}}
    run("%%mcp config\n" + json.dumps(config))
    assert run("%mcp call r.roots").value.text.splitlines() == [(tmp_path / "a").as_uri(), (tmp_path / "b").as_uri()]


def test_elicitation_form_under_top_level_await(connected, monkeypatch):
    from mcpomni_jupyter.ui.forms import ElicitationForm

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))

    async def cell():  # what `await mcp.tools.s.ask_user.acall()` does in a notebook
        task = asyncio.ensure_future(connected.tools.s.ask_user.acall())
        while not shown:
            await asyncio.sleep(0.05)
        form = shown[0]
        assert isinstance(form, ElicitationForm) and "Who are you?" in form.children[0].value
        assert set(form.fields) == {"name", "count"} and form.fields["count"].value == 2
        form.fields["name"].value = "Ada"
        form.fields["count"].value = 3
        form.accept.click()
        return await task

    result = asyncio.run(cell())
    assert result.text == "accepted: Ada x3"
    assert shown[0].accept.disabled and "sent: accept" in shown[0].status.value


def test_tools_as_callables(run, connected, shell):
    add = connected.tools.s.add
    assert str(inspect.signature(add)) == "(*, a: float, b: float)"
    assert add.__doc__.startswith("Add two numbers.") and "a (number, required)" in add.__doc__
    assert add(a=2, b=3).structured == {"result": 5.0}
    assert str(inspect.signature(connected.tools.s.fail)) == "(*, message: str = 'it went wrong')"
    assert {"add", "echo", "ask_user"} <= set(dir(connected.tools.s)) and "s" in dir(connected.tools)
    from mcpomni_jupyter.errors import ArgumentError

    with pytest.raises(ArgumentError, match=r"add\(\) is missing required argument\(s\): b"):
        add(a=1)
    with pytest.raises(ArgumentError, match=r"add\(\): b: 'x' is not of type 'number'"):
        add(a=1, b="x")
    with pytest.raises(ArgumentError, match=r"unexpected argument\(s\): c"):
        add(a=1, b=2, c=3)
    assert asyncio.run(connected.tools.s.echo.acall(text="async")).text == "async"
    assert len(connected.tools()) == len(connected.list_tools())

    shell.user_ns["add_tool"] = add
    info = shell.object_inspect("add_tool")  # what `add_tool?` shows
    assert "Add two numbers." in (info["docstring"] or "") and "a: float" in str(
        info.get("definition") or info.get("init_definition") or ""
    )


def test_tool_identifiers(run):
    from mcpomni_jupyter.core.callables import identifier

    assert identifier("get-sum") == "get_sum" and identifier("1st") == "_1st" and identifier("class") == "class_"


def test_panels_do_not_pile_up_as_observers(run, connected):
    """Every %mcp connect shows a panel; old ones stop following once LIVE_PANELS are live, a closed one at once."""
    from mcpomni_jupyter.ui.panel import LIVE_PANELS

    before = connected.registry.observer_count
    panels = [run("%mcp connections").value for _ in range(LIVE_PANELS + 10)]
    assert connected.registry.observer_count - before <= LIVE_PANELS
    assert "stopped updating" in panels[0].message.value and panels[-1].message.value == ""
    live = connected.registry.observer_count
    panels[-1].close()
    assert connected.registry.observer_count == live - 1


def test_authorize_widget_repr_after_remove_and_other_review_defects(run):
    from mcpomni_jupyter.core.kernel import get_manager
    from mcpomni_jupyter.ui.authorize import AuthorizeWidget

    assert run("%mcp add o http://127.0.0.1:9/mcp --auth oauth").ok
    widget = AuthorizeWidget(get_manager(), "o")
    run("%mcp remove o")
    assert repr(widget) == "o: removed" and "removed" in widget.state.value
    assert "takes no arguments" in usage_error(run('%%mcp config x\n{"mcpServers": {}}'))
    help_prompt = run("%mcp help prompt").out
    assert "--timeout" in help_prompt and "--json" in help_prompt and "%%mcp prompt" in help_prompt
