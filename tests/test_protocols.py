"""Every protocol revision, on every transport: the SDK's mcp.Client negotiates 2026-07-28, older servers fall back.

The test servers are real subprocesses: tests/servers/basic.py serves 2026-07-28
by default, the initialize handshake only with --legacy (2025-11-25), and an
older revision with --pin VERSION; server-everything from npm speaks 2025-11-25.
Each connection must work the same: listings, a call with progress, a resource,
a prompt, a question to the client (roots), list-changed re-listing.
"""

from __future__ import annotations

import logging
import time

import pytest
from conftest import PY, SERVER, HttpServer, wait_until

CASES = [
    ("stdio", (), "2026-07-28"),
    ("streamable-http", (), "2026-07-28"),
    ("sse", (), "2026-07-28"),
    ("stdio", ("--legacy",), "2025-11-25"),
    ("streamable-http", ("--legacy",), "2025-11-25"),
    ("stdio", ("--pin", "2025-06-18"), "2025-06-18"),
    ("streamable-http", ("--pin", "2025-06-18"), "2025-06-18"),
    ("streamable-http", ("--pin", "2025-03-26"), "2025-03-26"),
    ("sse", ("--pin", "2025-03-26"), "2025-03-26"),
    ("sse", ("--pin", "2024-11-05"), "2024-11-05"),
]


@pytest.fixture
def server_of(run):
    started: list[HttpServer] = []

    def add(transport: str, extra: tuple[str, ...]) -> None:
        if transport == "stdio":
            assert run(f"%mcp add s -- {PY} {SERVER} stdio {' '.join(extra)}").ok
            return
        started.append(HttpServer(transport, *extra))
        kind = "sse" if transport == "sse" else "streamable_http"
        assert run(f"%mcp add s {started[-1].url} --transport {kind}").ok

    yield add
    for server in started:
        server.stop()


@pytest.mark.parametrize(("transport", "extra", "version"), CASES, ids=[f"{t}-{v}" for t, _, v in CASES])
def test_every_revision_works_the_same(run, server_of, transport, extra, version, tmp_path):
    server_of(transport, extra)
    status = run("%mcp connect s").value
    assert status["s"].state == "connected", status["s"].error
    assert status["s"].protocol == version
    from mcpomni_jupyter.core.kernel import get_manager

    mcp = get_manager()
    assert mcp.connection("s").protocol_version == version
    assert "echo" in run("%mcp tools").value.names
    assert run('%mcp call s.echo text="both eras"').value.text == "both eras"
    assert run("%mcp call s.count n=2").value.text == "counted to 2"
    assert any(e.kind == "progress" for e in run("%mcp log s").value)
    assert run("%mcp read test://greeting").value.text == "hello from the test server"
    assert "review this sql code" in run('%mcp prompt s.review code="x" language=sql').value.text
    assert run("%mcp call s.roots").value.text == tmp_path.resolve().as_uri()  # a question to the client, both eras
    assert run("%mcp call s.add_tool").value.text == "added"  # list changed: notification (old) or listen stream (new)
    assert wait_until(lambda: "late" in [t.name for t in mcp.connection("s").tools], timeout=15)
    assert run("%mcp call s.late").value.text == "late but here"


def test_debug_shows_the_protocol_of_each_request(run, server_of, capsys):
    server_of("stdio", ())
    run("%mcp connect s")
    run("%mcp debug on")
    try:
        cell = run("%mcp call s.echo text=x")
    finally:
        run("%mcp debug off")
        logging.getLogger("mcpomni_jupyter").setLevel(logging.NOTSET)
    assert "s: tools/call (MCP 2026-07-28)" in cell.err


def test_a_list_without_a_lifetime_is_kept_current_by_the_listen_stream_not_fetched_again(run, shell):
    """No ttlMs (the client *may* fetch it every time): while the listen stream reports list changes, asking for the
    tools again costs no request (an agent asks at every step); a change still shows."""
    from conftest import HERE

    run(f"%mcp add c -- {PY} {HERE / 'servers' / 'hostile.py'} stdio")
    run("%mcp connect c")
    connection = run("from mcpomni_jupyter import get_manager; get_manager().connection('c')").value
    deadline = time.monotonic() + 20
    while not connection.listener.keeps_current("tools") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connection.listener.keeps_current("tools"), "the server did not honour the listen filter"

    def listings() -> int:
        return run("%mcp call c.listings").value.structured["result"]

    before = listings()
    for _ in range(5):
        assert run("%mcp tools c").ok
    assert listings() == before  # no lifetime given, but the stream reports changes: nothing asked again


def test_list_results_are_cached_by_their_hints_and_relisted_when_stale(run):
    """A 2026-07-28 server's tools/list is fresh for its ttl: %mcp tools asks again only once it is stale."""
    from conftest import HERE

    run(f"%mcp add c -- {PY} {HERE / 'servers' / 'hostile.py'} stdio --cache-ttl 1500")
    run("%mcp connect c")

    def listings() -> int:
        return run("%mcp call c.listings").value.structured["result"]

    before = listings()
    for _ in range(5):
        assert run("%mcp tools c").ok
    assert listings() == before  # fresh: served from the cache, no request
    time.sleep(1.7)
    assert run("%mcp tools c").ok
    assert listings() == before + 1  # stale: listed again
