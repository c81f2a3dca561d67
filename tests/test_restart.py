"""A 2026-07-28 server over streamable HTTP restarting between calls, again and again: every call after a restart works.

The SDK's transport used to end when one POST failed on the wire (a refused
connect while the server was down, often the background re-list after the
listen stream dropped), so the first call after a restart failed; see
core/session/resend.py.  Each restart here shuts the server down (every
connection closed, the port free) and serves a new one, which remembers
nothing, on the same port; the server says when it is down and when it is up
again, so nothing waits on a guessed delay, and no restart pays for a new
process's imports.
"""

from __future__ import annotations

import select
import subprocess

import pytest
from conftest import PY, SERVER, free_port

from mcpomni_jupyter.errors import ServerConnectionError

RESTARTS = 20


class Restartable:
    """The test server on a fixed port, told on stdin to stop and start again (tests/servers/basic.py --restarts)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        args = [PY, SERVER, "streamable-http", str(self.port), "--restarts"]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._expect("up")

    def _expect(self, word: str) -> None:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline().strip() if ready else "(nothing within 30 s)"
        assert line == word, f"the test server said {line!r}, not {word!r}"

    def _tell(self, expect: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        self._expect(expect)

    def stop(self) -> None:
        """Every connection closed, nothing listening on the port."""
        self._tell("down")

    def start(self) -> None:
        """A new server (nothing remembered) listening on the same port."""
        self._tell("up")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def test_every_call_after_a_restart_works(manager):
    """Twenty restarts; every other time a call is made while nothing listens: it fails alone, in one line."""
    server = Restartable()
    try:
        manager.add("web", url=server.url)
        manager.connect("web")
        connection = manager.connection("web")
        assert connection.protocol_version == "2026-07-28"
        assert manager.call("echo", {"text": "first"}, server="web").text == "first"
        for i in range(RESTARTS):
            server.stop()
            if i % 2 == 0:
                with pytest.raises(ServerConnectionError, match="cannot reach .* is the server running") as caught:
                    manager.call("echo", {"text": "nobody"}, server="web")
                assert "\n" not in str(caught.value)
            server.start()
            assert manager.call("echo", {"text": f"call {i}"}, server="web").text == f"call {i}", f"restart {i}"
            assert connection.is_connected, connection.error
        assert not [e for e in connection.log.snapshot() if e.kind == "session"]  # stateless: nothing to renew
    finally:
        server.close()
