"""A tool's JSON Schema as the server sent it (SEP-2106), and the end of a listen stream (spec #3171).

The server is tests/servers/hostile.py over stdio (2026-07-28): its ``remote_ref``
tool is listed with an input and an output schema that keep ``$schema``,
``$defs`` and a vendor keyword, and ``$ref`` another document (a network URI).
That reference is never fetched and never fails a call: the part behind it is not
checked, and ``%mcp log`` says so; the rest of each schema is still checked.
"""

from __future__ import annotations

import pytest
from conftest import HERE, PY, wait_until

HOSTILE = HERE / "servers" / "hostile.py"
REMOTE = "http://127.0.0.1:9/profile.json"  # hostile.py's REMOTE: nothing listens there, and nothing may ask


@pytest.fixture
def mcp(run):
    assert run(f"%mcp add c -- {PY} {HOSTILE} stdio").ok
    status = run("%mcp connect c").value
    assert status["c"].state == "connected", status["c"].error
    return run("from mcpomni_jupyter import get_manager; get_manager()").value


def schema_notes(mcp) -> list[str]:
    return [e.message for e in mcp.connection("c").log if e.kind == "schema"]


def test_schemas_are_kept_as_sent(mcp):
    tool = mcp.connection("c").catalog.tool("remote_ref")
    sent, out = tool.input_schema, tool.output_schema
    assert sent["$schema"] == out["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert sent["$defs"] == out["$defs"] == {"id": {"type": "string", "pattern": "^[a-z0-9-]+$"}}
    assert sent["x-vendor-keyword"] == {"kept": True}  # a keyword nobody knows
    assert sent["properties"]["profile"] == out["properties"]["profile"] == {"$ref": REMOTE}
    listed = next(t for t in mcp.tools("c") if t.name == "remote_ref")
    assert listed.input_schema == sent  # as %mcp tools shows it, and as a model is given it


def test_a_network_ref_is_never_fetched_and_never_fails_a_call(mcp, run):
    result = mcp.tools.c.remote_ref(id="a-1", profile={"any": "thing"})  # the arguments checked here, then the result
    assert result.structured == {"id": "a-1", "profile": {"any": "thing"}}
    notes = schema_notes(mcp)
    assert any(REMOTE in n and "arguments is not checked" in n for n in notes), notes
    assert any(REMOTE in n and "result is not checked" in n for n in notes), notes
    assert any("c.remote_ref: $ref" in e.message for e in run("%mcp log c").value)  # shown by %mcp log


def test_the_rest_of_a_schema_with_a_network_ref_is_still_checked(mcp, run):
    from mcpomni_jupyter.errors import ArgumentError

    with pytest.raises(ArgumentError, match="does not match"):
        mcp.tools.c.remote_ref(id="Not Valid", profile={"any": "thing"})  # the local $defs pattern, with the remote part there
    cell = run("%mcp call c.remote_ref id=a-1 break_id=true")  # a result that breaks the local part of the output schema
    assert cell.error is not None and "does not match" in str(cell.error) and "output schema" in str(cell.error), cell.error


@pytest.mark.parametrize("transport", ["stdio", "streamable-http"])
def test_a_listen_stream_the_server_ends_is_a_clean_end(run, transport):
    """The listen request's result ends the stream cleanly: no reconnect, and the lists are no longer taken as current."""
    from conftest import free_port, wait_port

    proc = None
    if transport == "stdio":
        assert run(f"%mcp add e -- {PY} {HOSTILE} stdio").ok
    else:
        import subprocess

        port = free_port()
        proc = subprocess.Popen([PY, str(HOSTILE), "streamable-http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, proc)
        assert run(f"%mcp add e http://127.0.0.1:{port}/mcp").ok
    try:
        assert run("%mcp connect e").value["e"].state == "connected"
        mcp = run("from mcpomni_jupyter import get_manager; get_manager()").value
        listener = mcp.connection("e").listener
        assert wait_until(lambda: listener.keeps_current("tools")), "the server did not honour the listen filter"
        assert run("%mcp call e.end_listen").value.text == "ended"
        assert wait_until(lambda: not listener.active), "the listener is still running after the server ended the stream"
        assert not listener.keeps_current("tools")
        lines = [(e.message, e.level) for e in mcp.connection("e").log if e.kind == "listen"]
        assert any("clean end" in m for m, _ in lines), lines
        assert not any("dropped" in m for m, _ in lines), lines  # not taken for a drop, not re-opened
        before = mcp.call("e.listings").structured["result"]
        assert run("%mcp tools e").ok
        assert mcp.call("e.listings").structured["result"] == before + 1  # no longer current: asked again
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
