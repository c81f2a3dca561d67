"""A connection stopped only to start again (an authorization restarted through the relay, a session renewed)
shows as connecting throughout: a cell waiting on it goes on waiting instead of finding it "disconnected"."""

from __future__ import annotations

import asyncio

import pytest
from conftest import PY, SERVER

from mcpomni_jupyter.core.session.state import State


@pytest.fixture
def watched(manager):
    """A connected stdio server and every state its observers are told of from now on."""
    manager.add("s", command=PY, args=[SERVER, "stdio"])
    manager.connect("s")
    connection = manager.connection("s")
    seen: list[State] = []
    manager.observe(lambda c: seen.append(c.state) if c is connection else None)
    return connection, seen


def test_a_restart_never_shows_disconnected_and_a_waiter_from_before_waits_it_out(manager, watched):
    connection, seen = watched

    async def scenario() -> tuple[State, State]:
        connection.set_state(State.CONNECTING)  # as a flow that waits: whoever waits now waits for the end
        waiter = asyncio.ensure_future(connection.wait_final(60))
        await asyncio.sleep(0)
        await connection.restart()
        during = connection.state
        return during, await waiter

    during, final = manager._run(scenario(), 60, "restarting")
    assert during is State.CONNECTING
    assert final is State.CONNECTED  # the waiter saw the new session, not the stop in between
    assert State.DISCONNECTED not in seen, seen
    assert manager.call("s.echo", text="hi").text == "hi"
    # a plain stop still says disconnected
    manager.disconnect("s")
    assert connection.state is State.DISCONNECTED


def test_two_restarts_at_once_are_one(manager, watched):
    """The bridge and the Authorize row both report the page: two restarts; the second must not end the first's start."""
    connection, seen = watched
    first = connection.owner_task

    async def scenario() -> State:
        await asyncio.gather(connection.restart(), connection.restart())
        return await connection.wait_final(60)

    assert manager._run(scenario(), 60, "restarting twice") is State.CONNECTED
    assert State.DISCONNECTED not in seen, seen
    assert connection.owner_task is not first and not connection.owner_task.done()
    assert manager.call("s.echo", text="again").text == "again"
