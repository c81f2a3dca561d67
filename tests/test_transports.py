"""SSE and streamable HTTP with headers on every request, through the magics and the Python API."""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import PY, SERVER, TOKEN


@pytest.mark.parametrize("kind", ["sse", "streamable_http"])
def test_http_transports_with_bearer_and_custom_header(run, monkeypatch, kind, sse_server, http_server):
    server = sse_server if kind == "sse" else http_server
    monkeypatch.setenv("MCPJ_TEST_TOKEN", TOKEN)
    config = {
        "mcpServers": {
            "remote": {
                "transport_type": kind,
                "url": server.url,
                "headers": {"Authorization": "Bearer ${MCPJ_TEST_TOKEN}", "X-Team": "blue"},
                "timeout": 10,
                "sse_read_timeout": 60,
            }
        }
    }
    cell = run("%%mcp config\n" + json.dumps(config))
    assert cell.ok and not cell.err  # no lint warning: the secret is a ${VAR}
    status = run("%mcp connect").value
    assert status["remote"].state == "connected", status["remote"].error
    assert run('%mcp call remote.echo text="over http"').value.text == "over http"
    assert run("%mcp read test://item/9").value.text == "item 9"
    assert "review this python code" in run("%mcp prompt review code=x").value.text
    # every request carries the headers: many calls (POSTs) after the handshake succeed
    for i in range(5):
        assert run(f"%mcp call add a={i} b=1").value.structured == {"result": i + 1.0}
    run("%mcp call count n=2")
    assert {e.kind for e in run("%mcp log remote").value} >= {"progress", "log"}
    assert TOKEN not in repr(run("%mcp status").value)
    assert run("%mcp disconnect remote").value["remote"].state == "disconnected"


def test_add_line_form_for_http(run, http_server, sse_server):
    assert run(f"%mcp add h {http_server.url} -H 'Authorization: Bearer {TOKEN}' -H 'X-Team: blue'").ok
    assert run(f"%mcp add e {sse_server.url} --transport sse -H 'Authorization: Bearer {TOKEN}'").ok
    status = run("%mcp connect h e").value
    assert [status["h"].state, status["e"].state] == ["connected", "connected"]
    assert status["h"].transport == "streamable_http" and status["e"].transport == "sse"


def test_all_three_transports_at_once_and_async_api(manager, sse_server, http_server):
    manager.add_servers(
        {
            "mcpServers": {
                "io": {"command": PY, "args": [SERVER, "stdio"]},
                "sse": {"type": "sse", "url": sse_server.url, "headers": {"Authorization": f"Bearer {TOKEN}"}},
                "web": {"type": "http", "url": http_server.url, "headers": {"Authorization": f"Bearer {TOKEN}", "X-Team": "blue"}},
            }
        }
    )
    status = manager.connect()
    assert [r.state for r in status] == ["connected"] * 3

    async def together():
        return await asyncio.gather(*(manager.acall(f"{n}.echo", text=n) for n in ("io", "sse", "web")))

    # top-level await in a notebook runs on the kernel's loop; here, a loop of our own
    results = asyncio.run(together())
    assert [r.text for r in results] == ["io", "sse", "web"]
    assert len(manager.tools()) == 3 * len(manager.tools("io"))
    assert asyncio.run(manager.aread("test://greeting", server="web")).text == "hello from the test server"
