"""The one request path: every tool call, whoever makes it, goes through the session's primitive and its checks.

Real servers over stdio: our basic server, the task server (2025-11-25 and
2026-07-28) and the MCP Apps server.  A pre-call check (what the approval
policy of the agents will be) sees calls from the person (``mcp.call``, the
magic, a tool callable), from ``map`` rows, from a background job and from
an app, and refuses them the same way; errors name their server and tool.
"""

from __future__ import annotations

import sys

import pytest
from conftest import HERE, PY, SERVER, usage_error

from mcpomni_jupyter.config import parse_server
from mcpomni_jupyter.core.session.session import ToolCall
from mcpomni_jupyter.errors import ArgumentError, LookupFailed, RequestTimeout, ServerError, ToolCallError

TASKS = str(HERE / "servers" / "tasks_server.py")
APPS = [sys.executable, str(HERE / "servers" / "apps_server.py"), "stdio"]


class Recorder:
    """A pre-call check that records what it saw and refuses the tools named in ``refuse``."""

    def __init__(self, *refuse: str) -> None:
        self.seen: list[ToolCall] = []
        self.refuse = set(refuse)

    def __call__(self, call: ToolCall) -> None:
        self.seen.append(call)
        if call.tool in self.refuse:
            raise ArgumentError(f"{call.server}.{call.tool} is not allowed here")

    def origins(self) -> list[tuple[str, str, str]]:
        return [(c.server, c.tool, c.origin) for c in self.seen]


def test_every_origin_goes_through_the_checks(run):
    from mcpomni_jupyter.core.kernel import get_manager

    assert run(f"%mcp add s -- {PY} {SERVER} stdio").ok
    assert run(f"%mcp add t -- {PY} {TASKS} stdio --legacy").ok
    mcp = get_manager()
    mcp.add_server(parse_server("apps", {"command": APPS[0], "args": APPS[1:]}))
    mcp.connect("apps")  # an app talks to a server it was served by: connected
    recorder = Recorder()
    remove = mcp.add_call_check(recorder)

    assert mcp.call("s.echo", text="api").text == "api"
    assert run("%mcp call s.echo text=magic").value.text == "magic"
    assert mcp.tools.s.echo(text="callable").text == "callable"
    assert [r.text for r in mcp.map("s.echo", [{"text": "a"}, {"text": "b"}], progress=False)] == ["a", "b"]
    assert mcp.start("t.research", topic="owls", seconds=0.2).result(30).text == "report on owls"
    answer = mcp.ui.app_request("apps", "tools/call", {"name": "increment", "arguments": {"count": 1}}).result(30)
    assert answer["content"][0]["text"]

    assert recorder.origins() == [
        ("s", "echo", "person"),
        ("s", "echo", "person"),
        ("s", "echo", "person"),
        ("s", "echo", "map"),
        ("s", "echo", "map"),
        ("t", "research", "job"),
        ("apps", "increment", "app"),
    ]
    assert recorder.seen[0].arguments == {"text": "api"} and recorder.seen[0].spec.name == "echo"
    remove()
    mcp.call("s.noop")
    assert len(recorder.seen) == 7  # removed: no longer asked


def test_a_refusing_check_stops_the_call_before_it_goes_out(run):
    from mcpomni_jupyter.core.kernel import get_manager

    assert run(f"%mcp add s -- {PY} {SERVER} stdio").ok
    assert run("%mcp connect s").ok
    mcp = get_manager()
    mcp.add_call_check(Recorder("add"))

    with pytest.raises(ArgumentError, match=r"^s\.add is not allowed here$") as refused:
        mcp.call("s.add", a=1, b=2)
    assert refused.value.server == "s" and refused.value.tool == "add"
    assert "s.add is not allowed here" in usage_error(run("%mcp call s.add a=1 b=2"))
    out = mcp.map("s.add", [{"a": 1, "b": 2}, {"a": 3, "b": 4}], progress=False)
    assert out.failed == 2 and all("not allowed" in e.message for e in out.errors)
    assert mcp.call("s.echo", text="others still go").text == "others still go"


async def _async_refusal(call: ToolCall) -> None:
    if call.arguments.get("text") == "no":
        raise ArgumentError("refused by an async check")


def test_an_async_check_is_awaited(manager):
    manager.add("s", command=PY, args=[SERVER, "stdio"])
    manager.add_call_check(_async_refusal)
    assert manager.call("s.echo", text="yes").text == "yes"
    with pytest.raises(ArgumentError, match="refused by an async check"):
        manager.call("s.echo", text="no")


def test_errors_carry_their_server_and_tool(manager):
    manager.add("s", command=PY, args=[SERVER, "stdio"])
    with pytest.raises(ToolCallError) as failed:
        manager.call("s.fail", message="boom")
    assert (failed.value.server, failed.value.tool) == ("s", "fail") and failed.value.result.is_error

    with pytest.raises(RequestTimeout) as late:
        manager.call("s.sleep", seconds=5, timeout=0.5)
    assert (late.value.server, late.value.tool) == ("s", "sleep")
    assert "raise the limit with --timeout" in str(late.value)

    with pytest.raises(LookupFailed) as unknown:
        manager.call("s.nope")
    assert unknown.value.server == "s"

    with pytest.raises(ServerError) as bad_read:
        manager.read("file:///nowhere", server="s")
    assert bad_read.value.server == "s" and bad_read.value.code is not None


def test_a_map_rows_reraised_error_keeps_its_context(manager):
    manager.add("s", command=PY, args=[SERVER, "stdio"])
    manager.add("t", command=PY, args=[TASKS, "stdio", "--legacy"])
    with pytest.raises(ToolCallError, match=r"^row 0: tool s\.fail returned an error") as failed:
        manager.map("s.fail", [{"message": "boom"}], errors="raise", progress=False)
    assert (failed.value.server, failed.value.tool) == ("s", "fail") and failed.value.result.is_error

    with pytest.raises(RequestTimeout, match=r"^row 0: ") as late:
        manager.map("s.sleep", [{"seconds": 5}], errors="raise", timeout=0.5, progress=False)
    assert (late.value.server, late.value.tool) == ("s", "sleep")

    with pytest.raises(ServerError, match=r"^row 0: ") as task_failed:  # a failed task: a JSON-RPC error with its code
        manager.map("t.fails", [{}], errors="raise", progress=False)
    assert task_failed.value.code is not None and (task_failed.value.server, task_failed.value.tool) == ("t", "fails")
