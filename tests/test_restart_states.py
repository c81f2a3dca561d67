"""A connection stopped only to start again (an authorization restarted through the relay, a session renewed)
shows as connecting throughout: a cell waiting on it goes on waiting instead of finding it "disconnected"."""

from __future__ import annotations

import asyncio

from conftest import PY, SERVER

from mcpomni_jupyter.core.session.state import State


def test_a_restart_never_shows_disconnected_and_a_waiter_from_before_waits_it_out(manager):
    manager.add("s", command=PY, args=[SERVER, "stdio"])
    manager.connect("s")
    connection = manager.connection("s")
    seen: list[State] = []
    manager.observe(lambda c: seen.append(c.state) if c is connection else None)

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
