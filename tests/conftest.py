"""Shared fixtures: real test MCP servers as subprocesses on 127.0.0.1, and a real IPython shell."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tools import processes
from tools.scripted_llm import ScriptedLLM

HERE = Path(__file__).parent
ROOT = HERE.parent
SERVER = str(HERE / "servers" / "basic.py")
PY = sys.executable
TOKEN = "test-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"test server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"test server did not listen on {port}")


def wait_until(predicate: Callable[[], object], timeout: float = 20) -> bool:
    """Whether ``predicate()`` came true within ``timeout`` seconds (asked every 50 ms, and once more at the end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


class HttpServer:
    """A test server (``script``, tests/servers/basic.py unless named) over HTTP on a free port of 127.0.0.1."""

    def __init__(self, transport: str, *extra: str, script: str = SERVER) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [PY, script, transport, str(self.port), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, self.proc)
        path = "/sse" if transport == "sse" else "/mcp"
        self.url = f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        processes.stop(self.proc)


@pytest.fixture(scope="session")
def sse_server():
    server = HttpServer("sse", "--token", TOKEN)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def http_server():
    server = HttpServer("streamable-http", "--token", TOKEN, "--header", "X-Team=blue")
    yield server
    server.stop()


def stdio_args(*extra: str) -> list[str]:
    return [SERVER, "stdio", *extra]


@pytest.fixture(scope="session")
def scripted_llm_server():
    """The scripted model server (tests/servers/scripted_llm.py) for the whole session; tests use ``scripted_llm``."""
    server = ScriptedLLM()
    yield server
    server.stop()


@pytest.fixture
def scripted_llm(scripted_llm_server):
    """The scripted model server with an empty script and an empty record: call ``set_script([...])`` first.

    ``.openai_base_url`` (``http://127.0.0.1:PORT/v1``), ``.anthropic_base_url`` (``http://127.0.0.1:PORT``),
    ``.set_script(turns)``, ``.requests()``, ``.bodies(path)``, ``.status()``: see tests/tools/scripted_llm.py.
    """
    scripted_llm_server.set_script([])
    return scripted_llm_server


@pytest.fixture
def oauth_server():
    """``start(*extra, port=None)`` starts the test authorization server (tests/servers/oauth_server.py, through
    ``OAuthServer`` of test_auth.py) with these arguments; every one started stops after the test."""
    from test_auth import oauth_servers  # a test module: imported when used, as it imports this one

    with oauth_servers() as start:
        yield start


@pytest.fixture
def shown(monkeypatch):
    """What was displayed (the approval rows), with a front end that can show widgets."""
    seen: list[object] = []
    monkeypatch.setattr("mcpomni_jupyter.ui.approval.front_end", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: seen.append(obj))
    return seen


@pytest.fixture
def manager():
    from mcpomni_jupyter.core.manager import MCPManager

    m = MCPManager(timeout=30)
    yield m
    m.shutdown()


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """A real InteractiveShell with the extension loaded and a fresh manager."""
    from IPython.core.interactiveshell import InteractiveShell

    from mcpomni_jupyter.core import kernel as manager_module

    monkeypatch.chdir(tmp_path)
    ip = InteractiveShell.instance()
    from traitlets.config import Config

    # each test starts from the defaults, with its own token directory and no browser
    ip.config.MCPMagics = Config({"token_dir": str(tmp_path / "tokens"), "open_browser": False, "timeout": 60.0})
    manager_module.reset_manager()
    if "mcpomni_jupyter" in ip.extension_manager.loaded:
        ip.run_line_magic("reload_ext", "mcpomni_jupyter")
    else:
        ip.run_line_magic("load_ext", "mcpomni_jupyter")
    yield ip
    manager_module.reset_manager()


class Cell:
    """Run a cell; keep its result, and the one-line error IPython showed."""

    def __init__(self, ip, source: str, capsys) -> None:
        capsys.readouterr()
        self.result = ip.run_cell(source)
        out = capsys.readouterr()
        self.out, self.err = out.out, out.err
        self.value = self.result.result
        self.error = self.result.error_in_exec

    @property
    def ok(self) -> bool:
        return self.result.success


@pytest.fixture
def run(shell, capsys):
    def runner(source: str) -> Cell:
        return Cell(shell, source, capsys)

    return runner


def usage_error(cell: Cell) -> str:
    """The message of the UsageError a cell raised, checking it is one line."""
    from IPython.core.error import UsageError

    assert isinstance(cell.error, UsageError), f"expected a UsageError, got {cell.error!r}"
    message = str(cell.error)
    assert "\n" not in message, message
    assert "Traceback" not in cell.out + cell.err
    return message


def children_of(pid: int) -> list[int]:
    """Live child process ids of ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return out
