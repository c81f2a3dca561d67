"""The %mcp magics in a real InteractiveShell, against real stdio test servers."""

from __future__ import annotations

import json
import os

from conftest import PY, SERVER, usage_error, wait_until

from mcpomni_jupyter.results import (
    CallResult,
    LogList,
    PromptList,
    PromptResult,
    ReadResult,
    ResourceList,
    StatusTable,
    TemplateList,
    ToolList,
)


def add_stdio(run, name="s", *extra):
    cell = run(f"%mcp add {name} -- {PY} {SERVER} stdio {' '.join(extra)}")
    assert cell.ok, cell.error
    return cell


def test_load_ext_is_light_and_registers(shell):
    assert "mcp" in shell.magics_manager.magics["line"]
    assert "mcp" in shell.magics_manager.magics["cell"]
    assert "%mcp load" in shell.magics_manager.magics["line"]["mcp"].__doc__


def test_add_connect_tools_call(run):
    add_stdio(run)
    status = run("%mcp connect").value
    from mcpomni_jupyter.ui.panel import StatusPanel

    assert isinstance(status, StatusPanel) and isinstance(status.table, StatusTable)
    assert status["s"].state == "connected" and status["s"].tools >= 5
    assert "connected" in status._repr_html_()

    tools = run("%mcp tools").value
    assert isinstance(tools, ToolList) and "echo" in tools.names
    assert "<table" in tools._repr_html_() and "text: string" in repr(tools)

    result = run('%mcp call echo text="hello world"').value
    assert isinstance(result, CallResult)
    assert result.text == "hello world" and not result.is_error
    assert run("%mcp call s.add a=2 b=3").value.structured == {"result": 5.0}
    assert run("%mcp call stats numbers=[1, 2, 3]").value.structured == {"count": 3, "sum": 6.0, "mean": 2.0}
    assert run('%mcp call echo text="3"').value.text == "3"


def test_kv_values_parse_as_json_else_string(run):
    from mcpomni_jupyter.magics.parsing import parse_kv, tokenize

    assert parse_kv(tokenize('n=3 flag=true tags=["a","b"] s=hello q="3" sp="a b" obj={"k": [1, 2]}')) == {
        "n": 3,
        "flag": True,
        "tags": ["a", "b"],
        "s": "hello",
        "q": "3",
        "sp": "a b",
        "obj": {"k": [1, 2]},
    }


def test_call_forms_json_cell_out_and_var_expansion(run, shell):
    add_stdio(run)
    run("%mcp connect")
    assert run("%mcp call s.stats --json '{\"numbers\": [4, 6]}'").value.structured["mean"] == 5.0
    cell = run('%%mcp call s.stats\n{"numbers": [10, 20, 30]}')
    assert cell.value.structured["sum"] == 60.0
    shell.user_ns["word"] = "expanded"
    run("%mcp call echo text={word} --out r")
    assert shell.user_ns["r"].text == "expanded"
    assert run("%mcp call echo --timeout 5 text=ok").value.text == "ok"


def test_tool_error_result_is_returned_not_raised(run):
    add_stdio(run)
    run("%mcp connect")
    cell = run('%mcp call fail message="broken on purpose"')
    assert cell.ok and cell.value.is_error
    assert "returned an error" in cell.value._repr_html_()


def test_resources_templates_read_prompts(run):
    add_stdio(run)
    run("%mcp connect")
    resources = run("%mcp resources").value
    assert isinstance(resources, ResourceList) and resources[0].uri == "test://greeting"
    templates = run("%mcp templates s").value
    assert isinstance(templates, TemplateList) and templates[0].uri_template == "test://item/{item_id}"
    read = run("%mcp read test://greeting").value
    assert isinstance(read, ReadResult) and read.text == "hello from the test server"
    assert run("%mcp read test://item/42 --server s").value.text == "item 42"
    prompts = run("%mcp prompts").value
    assert isinstance(prompts, PromptList) and prompts[0].arguments == "code, language?"
    prompt = run('%mcp prompt s.review code="x = 1" language=sql').value
    assert isinstance(prompt, PromptResult) and "review this sql code" in prompt.text
    assert prompt.to_messages()[0]["role"] == "user"


def test_subscribe_unsubscribe_and_log(run):
    add_stdio(run)
    add_stdio(run, "old", "--legacy")
    run("%mcp connect")
    # 2026-07-28: one %mcp subscribe puts the URI in the subscriptions/listen filter; updates reach the log
    assert "subscribed to test://greeting on s" in run("%mcp subscribe test://greeting --server s").out
    assert run("%mcp call s.touch uri=test://greeting").ok
    assert wait_until(lambda: any(e.kind == "updated" and e.server == "s" for e in run("%mcp log s").value), timeout=15)
    assert "unsubscribed" in run("%mcp unsubscribe test://greeting --server s").out
    # an older server that does not declare resource subscriptions: a clear one-line error, kernel fine
    message = usage_error(run("%mcp subscribe test://greeting --server old"))
    assert "server 'old' does not offer resource subscriptions" in message
    run("%mcp call s.count n=2")
    log = run("%mcp log s").value
    assert isinstance(log, LogList)
    kinds = {e.kind for e in log}
    assert "progress" in kinds and "log" in kinds
    assert len(run("%mcp log --limit 1").value) == 1
    statuses = {r.name: r.protocol for r in run("%mcp status").value}
    assert statuses == {"s": "2026-07-28", "old": "2025-11-25"}


def test_status_refresh_disconnect_remove(run):
    add_stdio(run, "a")
    add_stdio(run, "b")
    run("%mcp connect a b")
    assert run("%mcp status").value["b"].state == "connected"
    assert run("%mcp refresh a").value["a"].state == "connected"
    assert run("%mcp disconnect a").value["a"].state == "disconnected"
    assert run("%mcp connections").value["b"].state == "connected"
    assert run("%mcp call b.echo text=still").value.text == "still"
    run("%mcp remove a")
    assert run("%mcp").value.to_records()[0]["name"] == "b"
    # a disconnected server reconnects when used
    run("%mcp disconnect b")
    assert run("%mcp call b.echo text=back").value.text == "back"


def test_config_cell_and_load(run, tmp_path):
    config = {
        "mcpServers": {
            "c": {
                "transport_type": "stdio",
                "command": PY,
                "args": [SERVER, "stdio"],
                "env": {"MCPJ_WHO": "${WHO:-nobody}"},
                "cwd": str(tmp_path),
            }
        }
    }
    cell = run("%%mcp config\n" + json.dumps(config))
    assert cell.ok and cell.value["c"].state == "disconnected"
    run("%mcp connect c")
    assert run("%mcp call c.whoami").value.text == f"nobody@{tmp_path}"

    (tmp_path / ".env").write_text("WHO=dotenv\n")
    (tmp_path / "servers_config.json").write_text(json.dumps(config))
    os.environ.pop("WHO", None)
    assert run("%mcp load").ok
    run("%mcp connect c")
    assert run("%mcp call c.whoami").value.text == f"dotenv@{tmp_path}"
    os.environ.pop("WHO", None)


def test_debug_on_off(run):
    add_stdio(run)
    run("%mcp connect")
    assert "debug logging on" in run("%mcp debug on").out
    cell = run("%mcp call echo text=dbg")
    assert cell.ok
    assert "debug logging off" in run("%mcp debug off").out


def test_help(run):
    assert "%mcp call" in run("%mcp help").out
    assert "--timeout" in run("%mcp help call").out


def test_completion(run, shell):
    add_stdio(run)
    run("%mcp connect")
    complete = lambda line: shell.complete(None, line, len(line))[1]  # noqa: E731
    assert {"connect", "connections"} <= set(complete("%mcp con"))
    assert complete("%mcp connect ") == ["s"]
    assert "s.echo" in complete("%mcp call s.e")
    assert "echo" in complete("%mcp call ec")
    assert complete("%mcp call s.add ") == ["a=", "b="]
    assert complete("%mcp read te") == ["test://greeting"]


def test_completion_of_task_flags(run, shell):
    from pathlib import Path

    tasks_server = Path(SERVER).parent / "tasks_server.py"
    for era in ("", " --legacy"):
        run("%mcp remove t")
        assert run(f"%mcp add t -- {PY} {tasks_server} stdio{era}").ok
        assert run("%mcp connect t").value["t"].state == "connected"
        complete = lambda line: shell.complete(None, line, len(line))[1]  # noqa: E731
        assert complete("%mcp call t.research ") == ["--background", "--task", "poll_ms=", "seconds=", "topic="]  # required
        other = ["--json", "--out", "--server", "--timeout"]  # the rest of call's options, offered once a word starts with -
        assert complete("%mcp call t.instant --") == sorted(["--background", "--task", *other])  # optional
        assert complete("%mcp call t.research topic=owls --task ") == ["--background", "poll_ms=", "seconds="]  # given ones are not offered
        assert complete("%mcp call t.research --background --t") == ["--task", "--timeout"]
        assert complete("%mcp call t.plain ") == ["text="]  # no task support: no task flags
        assert complete("%mcp call t.plain --") == other


def test_config_traitlets(run, shell):
    from mcpomni_jupyter.core.kernel import get_manager

    run("%config MCPMagics.timeout = 12.5")
    try:
        assert get_manager().timeout == 12.5
    finally:
        run("%config MCPMagics.timeout = 60.0")
