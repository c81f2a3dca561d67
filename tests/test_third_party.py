"""A third-party server from npm (@modelcontextprotocol/server-everything): stdio and streamable HTTP.

The server listens on every interface by default; tests/node/force-loopback.cjs
is preloaded so it binds 127.0.0.1 only.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from conftest import free_port, wait_port

NODE_DIR = Path(__file__).parent / "node"
EVERYTHING = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"


@pytest.fixture(scope="module")
def everything_http():
    assert EVERYTHING.exists(), "run ./run-tests (it installs tests/node with npm)"
    port = free_port()
    proc = subprocess.Popen(
        ["node", "--require", str(NODE_DIR / "force-loopback.cjs"), str(EVERYTHING), "streamableHttp"],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, proc)
    try:
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout
        local = {line.split()[3] for line in listening.splitlines() if line.strip()}
        assert local == {f"127.0.0.1:{port}"}, listening
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


def test_everything_over_stdio_and_http(run, everything_http):
    assert run(f"%mcp add ev -- node {EVERYTHING} stdio").ok
    assert run(f"%mcp add evh {everything_http}").ok
    status = run("%mcp connect").value
    assert [status["ev"].state, status["evh"].state] == ["connected", "connected"], (status["ev"].error, status["evh"].error)
    assert status["ev"].protocol == status["evh"].protocol == "2025-11-25"  # a 2025-era server: the client fell back
    assert run("%mcp call ev.echo message=hello").value.text == "Echo: hello"
    assert "3" in run("%mcp call evh.get-sum a=1 b=2").value.text
    image = run("%mcp call ev.get-tiny-image").value
    assert any(b.type == "image" for b in image.content) and "data:image/png;base64," in image._repr_html_()
    structured = run('%mcp call evh.get-structured-content location="New York"').value
    assert structured.structured is not None
    uri = run("%mcp resources ev").value[0].uri
    assert run(f"%mcp read {uri} --server ev").value.text
    assert run("%mcp prompts evh").value


def test_subscription_updates_arrive_in_the_log(run):
    assert run(f"%mcp add ev -- node {EVERYTHING} stdio").ok
    run("%mcp connect ev")
    uri = run("%mcp resources ev").value[0].uri
    cell = run(f"%mcp subscribe {uri} --server ev")
    assert cell.ok and f"subscribed to {uri} on ev" in cell.out
    assert run("%mcp call ev.toggle-subscriber-updates").ok
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        updates = [e for e in run("%mcp log ev").value if e.kind == "updated"]
        if updates:
            break
        time.sleep(0.5)
    assert updates and updates[0].data == uri
    assert run(f"%mcp unsubscribe {uri} --server ev").ok


def test_blobs_from_a_third_party_server_show_what_they_are(run, tmp_path):
    import base64
    import gzip

    assert run(f"%mcp add ev -- node {EVERYTHING} stdio").ok
    text_blob = run("%mcp read demo://resource/dynamic/blob/2 --server ev").value
    assert text_blob.contents[0].mime_type == "text/plain" and getattr(text_blob.contents[0], "blob", None)
    assert repr(text_blob).startswith("Resource 2: This is a base64 blob")  # decoded, not "[text/plain demo://...]"
    assert "Resource 2: This is a base64 blob" in text_blob._repr_html_() and text_blob.text.startswith("Resource 2:")

    payload = "a line of text\n" * 200
    data = "data:text/plain;base64," + base64.b64encode(payload.encode()).decode()
    cell = run(f"%mcp call ev.gzip-file-as-resource name=lines.txt.gz data={data} outputType=resource")
    gz = cell.value
    assert gz.content[0].resource.mime_type == "application/gzip", gz.content
    assert "[blob application/gzip, " in repr(gz) and "save it with .save(PATH)" in repr(gz)
    assert "save it with .save(PATH)" in gz._repr_html_()
    saved = gz.save(tmp_path / "lines.txt.gz")
    assert gzip.decompress(saved.read_bytes()).decode() == payload
