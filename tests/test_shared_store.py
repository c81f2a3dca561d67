"""Two real kernels sharing one token directory against an authorization server that rotates refresh tokens.

The first kernel authorizes through real headless Chromium (as in
test_auth.py); the second reuses the stored tokens.  Then, over several
expiries, each kernel refreshes after the other has rotated the refresh token,
and both at once: every call succeeds, nobody is sent to the browser again,
and the authorization server never sees an old refresh token.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import free_port
from test_auth import BROWSER, OAuthServer
from tools.kernels import Kernel

pytestmark = [pytest.mark.kernel, pytest.mark.browser]

TTL = 6  # seconds an access token lives; a kernel refreshes it 2 s early


@pytest.fixture
def kernels():
    started: list[Kernel] = []

    def start(name: str) -> Kernel:
        started.append(Kernel(name))
        return started[-1]

    yield start
    for kernel in started:
        kernel.stop()


@pytest.fixture
def rotating_server():
    server = OAuthServer("--ttl", str(TTL), "--rotate")
    yield server
    server.stop()


CALL = "r = %mcp call o.whoami\nprint(r.text)"


def setup(kernel: Kernel, browser: str, log: Path, tokens: Path, port: int, url: str) -> None:
    out = kernel.run(
        f"import os\nos.environ['BROWSER'] = {browser!r}\nos.environ['MCPJ_BROWSER_LOG'] = {str(log)!r}\n"
        "%load_ext mcpomni_jupyter\n"
        f"%config MCPMagics.token_dir = {str(tokens)!r}\n"
        f"%config MCPMagics.callback_port = {port}\n"
        f"%mcp add o {url} --auth oauth"
    )
    assert out["error"] is None, out


def test_two_kernels_share_rotating_refresh_tokens(tmp_path: Path, kernels, rotating_server: OAuthServer) -> None:
    server = rotating_server
    tokens, log = tmp_path / "tokens", tmp_path / "browser.log"
    a, b = kernels("A"), kernels("B")

    def explain() -> str:
        logs = [k.run("_log = %mcp log o\nprint(_log)")["stdout"] for k in (a, b)]
        return "\n".join([*a.transcript, *b.transcript, f"grants: {server.grants()}", *logs])

    def call(kernel: Kernel) -> None:
        out = kernel.run(CALL)
        assert out["stdout"].strip() == "hello, authorized user", explain()

    # A authorizes through the (headless) browser; B connects with what A stored, no browser.
    # One callback port, as kernels of one Jupyter server have by default: the stored registration is for it
    port = free_port()
    setup(a, BROWSER, log, tokens, port, server.url)
    setup(b, "false %s", log, tokens, port, server.url)
    assert "connected" in a.run("%config MCPMagics.open_browser = True\n%mcp connect --wait")["text"], explain()
    call(a)
    for kernel in (a, b):
        kernel.run("%config MCPMagics.open_browser = False")  # from now on, a fallback to the browser fails
    assert "connected" in b.run("%mcp connect --wait")["text"], explain()
    call(b)
    assert server.grants().count("authorization_code") == 1, explain()

    # the tokens expire; A refreshes (rotating the refresh token B holds); B adopts what A stored
    time.sleep(TTL + 0.5)
    call(a)
    call(b)

    # they expire again; A refreshes, and after that expired too, B refreshes with the newer refresh token
    time.sleep(TTL + 0.5)
    call(a)
    time.sleep(TTL + 0.5)
    call(b)

    # both at once: one refreshes, the other waits for the store's lock and adopts the result
    time.sleep(TTL + 0.5)
    pending = [(kernel, kernel.start(CALL)) for kernel in (a, b)]
    for kernel, msg_id in pending:
        out = kernel.collect(msg_id)
        assert out["stdout"].strip() == "hello, authorized user", explain()

    grants = server.grants()
    assert grants.count("authorization_code") == 1 and grants.count("authorize") == 1, explain()
    assert "refresh_refused" not in grants, explain()
    assert grants.count("refresh_token") >= 4, explain()
    assert log.read_text().count("<!-- opened -->") == 1, explain()
    assert sorted(p.suffix for p in tokens.iterdir()) == [".json", ".lock"]
