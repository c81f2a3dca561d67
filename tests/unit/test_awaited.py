"""Which cells run awaited while a server waits for the relay, and which commands wait (no kernel, no browser)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mcpomni_jupyter.auth.state import AuthState
from mcpomni_jupyter.core.session.state import State
from mcpomni_jupyter.magics import awaited


def connection(name: str, state: State, waiting_page: bool = False, via: str = "", oauth: bool = True) -> SimpleNamespace:
    auth = AuthState(via=via, waiting_page=waiting_page)
    return SimpleNamespace(name=name, state=state, auth=auth, uses_oauth=oauth)


MANAGER = SimpleNamespace(
    oauth=SimpleNamespace(relay=SimpleNamespace(expected=True, page="https://hub.example.org/"), via=lambda: "relay"),
    connections={
        "relayed": connection("relayed", State.AUTH_REQUIRED, waiting_page=True),
        "local": connection("local", State.AUTH_REQUIRED, via="loopback"),
        "plain": connection("plain", State.CONNECTED),
        # restarted through the relay once "auto" learned the page is remote: it asks there next
        "restarting": connection("restarting", State.CONNECTING, via="loopback"),
        "stdio": connection("stdio", State.CONNECTING, oauth=False),
    },
)


@pytest.fixture
def live(monkeypatch):
    monkeypatch.setattr(awaited, "_live_manager", lambda: MANAGER)


@pytest.mark.parametrize(
    ("line", "waits"),
    [
        ("call relayed.whoami", ["relayed"]),
        ("call whoami", ["relayed", "restarting"]),  # no server named: the call would wait on every one
        ("call restarting.whoami", ["restarting"]),
        ("call stdio.echo", []),
        ("call plain.echo text=hi", []),
        ("call local.whoami", []),  # the loopback callback gets through a blocked cell
        ("tools --server relayed", ["relayed"]),
        ("status", []),
        ("connect relayed", []),
        ("", []),
    ],
)
def test_which_commands_wait_for_the_relay(line, waits):
    assert [c.name for c in awaited.relay_waits(MANAGER, line)] == waits


def test_before_the_page_is_known_a_loopback_flow_may_yet_go_through_the_relay():
    unknown = SimpleNamespace(oauth=SimpleNamespace(relay=SimpleNamespace(expected=True, page=None)), connections=MANAGER.connections)
    assert [c.name for c in awaited.relay_waits(unknown, "call local.whoami")] == ["local"]
    unknown.oauth.relay.expected = False  # no front end: nothing will report a page
    assert awaited.relay_waits(unknown, "call local.whoami") == []


def test_a_cell_of_mcp_lines_that_needs_the_relay_runs_awaited(live):
    lines = ["# the call\n", "%mcp call relayed.whoami x={a}\n", "\n", "%mcp status\n"]
    out = awaited.transform(lines)
    assert out[0] == "# the call\n" and out[2] == "\n"
    assert out[1] == "await get_ipython().magics_manager.registry['MCPMagics'].mcp_awaited('call relayed.whoami x={a}')\n"
    assert out[3].endswith("mcp_awaited('status')\n")


@pytest.mark.parametrize(
    "lines",
    [
        ["%mcp call plain.echo\n"],  # nothing waits on the relay: as ever (blocking, interruptible)
        ["x = 1\n", "%mcp call relayed.whoami\n"],  # not only %mcp lines
        ["%%mcp call relayed.whoami\n", "{}\n"],  # a cell magic
        ["%mcp call relayed.whoami \\\n", "  x=1\n"],  # a continued line
        ["if True:\n", "    %mcp call relayed.whoami\n"],
        ["%mcpx call relayed.whoami\n"],
    ],
)
def test_other_cells_are_left_alone(live, lines):
    assert awaited.transform(lines) is lines


def test_without_a_manager_nothing_is_rewritten(monkeypatch):
    monkeypatch.setattr(awaited, "_live_manager", lambda: None)
    lines = ["%mcp call relayed.whoami\n"]
    assert awaited.transform(lines) is lines


def test_a_blocked_call_says_what_it_waits_for():
    assert "interrupt it, click Authorize" in awaited.waits_line(MANAGER.connections["relayed"])
    assert "%mcp auth local" in awaited.waits_line(MANAGER.connections["local"])
