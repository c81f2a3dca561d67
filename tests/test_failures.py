"""Bad input and failing servers: each a clear one-line error, while the kernel and other connections keep working."""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest
from conftest import PY, SERVER, TOKEN, free_port, usage_error


@pytest.fixture
def healthy(run):
    """A connected server whose survival every failure test checks."""
    assert run(f"%mcp add ok -- {PY} {SERVER} stdio").ok
    assert run("%mcp connect ok").value["ok"].state == "connected"

    def check():
        assert run("%mcp call ok.echo text=alive").value.text == "alive"

    return check


@pytest.mark.parametrize(
    "body, message",
    [
        ('{"mcpServers": {"x": {"command": "a",}}}', "invalid JSON at line 1 column"),
        (
            '{"mcpServers": {"x": {"transport_type": "telepathy", "url": "http://127.0.0.1:1/mcp"}}}',
            "server 'x': unknown transport 'telepathy'",
        ),
        ('{"mcpServers": {"x": {"command": "a", "argz": []}}}', "server 'x': unknown key 'argz' (did you mean 'args'?)"),
        ('{"mcpServers": {"x": {"transport_type": "stdio"}}}', "server 'x': a stdio server needs a 'command'"),
        ('{"mcpServers": {"x": {"transport_type": "sse"}}}', "server 'x': a sse server needs a 'url'"),
        (
            '{"mcpServers": {"x": {"url": "http://127.0.0.1:1/mcp", "headers": {"A": "${MCPJ_SURELY_UNSET}"}}}}',
            "MCPJ_SURELY_UNSET is not set",
        ),
    ],
)
def test_bad_config_cells(run, healthy, body, message):
    assert message in usage_error(run("%%mcp config\n" + body))
    healthy()


def test_bad_commands_and_arguments(run, healthy):
    assert "unknown %mcp command 'conect' (did you mean 'connect'?)" in usage_error(run("%mcp conect"))
    assert "unknown server 'nosuch'" in usage_error(run("%mcp tools nosuch"))
    assert "unknown server 'nosuch'" in usage_error(run("%mcp connect nosuch"))
    assert "unknown tool 'ecko' (did you mean 'echo'?)" in usage_error(run("%mcp call ecko text=x"))
    assert "server 'ok' has no tool 'nope'" in usage_error(run("%mcp call ok.nope"))
    assert "bad argument 'text'" in usage_error(run("%mcp call ok.echo text"))
    assert "--json is not valid JSON" in usage_error(run("%mcp call ok.echo --json '{nope'"))
    assert "the cell body must be a JSON object" in usage_error(run("%%mcp call ok.echo\n[1, 2]"))
    assert "unbalanced" in usage_error(run('%mcp call ok.echo text="open'))
    assert "--timeout takes seconds" in usage_error(run("%mcp call ok.echo --timeout soon text=x"))
    assert "unknown option --frobnicate" in usage_error(run("%mcp call ok.echo --frobnicate 1"))
    assert "%mcp add NAME URL" in usage_error(run("%mcp add lonely"))
    assert "bad header" in usage_error(run("%mcp add h http://127.0.0.1:1/mcp -H nocolon"))
    assert "invalid choice" in usage_error(run("%mcp add h http://127.0.0.1:1/mcp --transport pigeon"))
    assert "no server offers" not in usage_error(run("%mcp read"))
    healthy()


def test_ambiguous_tool_lists_the_candidates(run, healthy):
    assert run(f"%mcp add twin -- {PY} {SERVER} stdio").ok
    run("%mcp connect twin")
    message = usage_error(run("%mcp call echo text=x"))
    assert "tool 'echo' is offered by several servers; name one: ok.echo, twin.echo" in message
    assert run("%mcp call twin.echo text=x").value.text == "x"
    healthy()


def test_server_that_exits_at_start(run, healthy):
    assert run(f"%mcp add dead -- {PY} {SERVER} stdio --crash-at-start").ok
    cell = run("%mcp connect dead")
    assert cell.ok and cell.value["dead"].state == "failed"
    assert "fatal: cannot start (on purpose)" in cell.value["dead"].error
    assert "mcp: server 'dead' closed the connection" in cell.err
    message = usage_error(run("%mcp call dead.echo text=x"))
    assert "server 'dead' is not connected (failed:" in message and "%mcp connect dead" in message
    healthy()


def test_command_not_found(run, healthy):
    assert run("%mcp add ghost -- /no/such/binary-mcpj").ok
    status = run("%mcp connect ghost").value
    assert "command '/no/such/binary-mcpj' not found" in status["ghost"].error
    healthy()


def test_server_that_crashes_mid_session(run, healthy):
    assert run(f"%mcp add fragile -- {PY} {SERVER} stdio").ok
    run("%mcp connect fragile")
    message = usage_error(run("%mcp call fragile.crash"))
    assert "server 'fragile' closed the connection (stderr: crashing on purpose)" in message
    assert run("%mcp status").value["fragile"].state == "failed"
    healthy()
    # and it can be brought back
    assert run("%mcp connect fragile").value["fragile"].state == "connected"
    assert run("%mcp call fragile.echo text=again").value.text == "again"


def test_http_server_not_listening(run, healthy):
    port = free_port()
    run(f"%mcp add nohttp http://127.0.0.1:{port}/mcp")
    run(f"%mcp add nosse http://127.0.0.1:{port}/sse --transport sse")
    status = run("%mcp connect nohttp nosse").value
    for name in ("nohttp", "nosse"):
        assert status[name].state == "failed"
        assert f"cannot reach http://127.0.0.1:{port}" in status[name].error and "is the server running?" in status[name].error
    healthy()


def test_wrong_bearer_token_is_a_401_with_advice(run, healthy, sse_server, http_server):
    run(f"%mcp add badsse {sse_server.url} --transport sse -H 'Authorization: Bearer wrong-token-xyz1'")
    run(f"%mcp add badhttp {http_server.url} -H 'Authorization: Bearer wrong-token-xyz1'")
    run(f"%mcp add nohdr {http_server.url}")
    cell = run("%mcp connect badsse badhttp nohdr")
    for name in ("badsse", "badhttp", "nohdr"):
        error = cell.value[name].error
        assert f"server {name!r} answered 401 Unauthorized" in error and "auth.method" in error
    assert "wrong-token-xyz1" not in cell.out + cell.err + repr(cell.value) + cell.value._repr_html_()
    healthy()


def test_tool_call_timeout_cancels_the_request_and_keeps_the_connection(run, healthy, tmp_path, monkeypatch):
    marker = tmp_path / "cancelled.txt"
    monkeypatch.setenv("MCPJ_CANCEL_MARKER", str(marker))
    assert run(f"%mcp add slow -- {PY} {SERVER} stdio").ok
    run("%mcp connect slow")
    started = time.monotonic()
    message = usage_error(run("%mcp call slow.sleep seconds=30 --timeout 1"))
    assert time.monotonic() - started < 10
    assert "slow.sleep got no answer within 1 s" in message and "--timeout" in message
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.read_text() == "cancelled\n"  # the server was told
    assert run("%mcp call slow.echo text=usable").value.text == "usable"
    healthy()


def test_interrupt_cancels_the_request_not_the_connection(run, healthy, tmp_path, monkeypatch):
    marker = tmp_path / "cancelled.txt"
    monkeypatch.setenv("MCPJ_CANCEL_MARKER", str(marker))
    assert run(f"%mcp add slow -- {PY} {SERVER} stdio").ok
    run("%mcp connect slow")
    main = threading.main_thread().ident
    timer = threading.Timer(1.5, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    try:
        message = usage_error(run("%mcp call slow.sleep seconds=30"))
    finally:
        timer.cancel()
    assert "interrupted" in message and "connection stays open" in message
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.read_text() == "cancelled\n"
    assert run("%mcp call slow.echo text=after").value.text == "after"
    assert run("%mcp status").value["slow"].state == "connected"
    healthy()


def test_no_server_connected_and_empty_registry(run):
    assert "no servers configured" in usage_error(run("%mcp connect"))
    assert "no server is connected" in usage_error(run("%mcp call echo text=x"))
    assert "no server is connected" in usage_error(run("%mcp tools"))


def test_python_api_raises_on_tool_error(manager):
    from mcpomni_jupyter import ToolCallError

    manager.add("s", command=PY, args=[SERVER, "stdio"])
    manager.connect()
    with pytest.raises(ToolCallError, match="tool s.fail returned an error") as info:
        manager.call("fail")
    assert info.value.result.is_error
    assert manager.call("s.echo", text="fine").text == "fine"


def test_literal_secret_warning_shown_and_secret_not_echoed(run, http_server):
    config = {
        "mcpServers": {"lit": {"type": "http", "url": http_server.url, "headers": {"Authorization": f"Bearer {TOKEN}", "X-Team": "blue"}}}
    }
    cell = run("%%mcp config\n" + json.dumps(config))
    assert "warning: server 'lit': header 'Authorization' holds a literal secret" in cell.err
    status = run("%mcp connect lit").value
    assert status["lit"].state == "connected"
    shown = repr(status) + status._repr_html_() + run("%mcp log").out
    assert TOKEN not in shown
