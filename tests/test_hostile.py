"""A hostile server (tests/servers/hostile.py) can do no harm: every rendering is inert, memory stays bounded,
floods are coalesced, junk and silence are handled, and nothing it echoes back reveals a secret."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import HERE, PY, SERVER, HttpServer, children_of, free_port, usage_error, wait_port

HOSTILE = str(HERE / "servers" / "hostile.py")
SECRET = "hostile-secret-4d1f0c9e7b"
OUR_TAGS = {"pre", "div", "em", "small", "code", "img", "audio", "br", "b", "span", "table", "thead", "tbody", "tr", "th", "td", "i"}


class _Inspector(HTMLParser):
    """Parses HTML the way a browser would and records anything that could run script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.images = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in OUR_TAGS:
            self.problems.append(f"element <{tag}> that we never write")
        for name, value in attrs:
            value = "".join((value or "").split()).lower()
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction", "xlink:href") and value.startswith(("javascript:", "vbscript:")):
                self.problems.append(f"<{tag} {name}={value}>")
            if name == "src":
                self.images += 1
                if not value.startswith(("data:image/png;base64,", "data:audio/")):
                    self.problems.append(f"<{tag} src={value[:60]}>")
            if name == "style" and ("url(" in value or "expression(" in value):
                self.problems.append(f"<{tag} style={value[:60]}>")


def assert_inert(html: str, where: str) -> int:
    """No element from server data, no on* attribute, no javascript: URL; returns how many src= it saw."""
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    assert not inspector.problems, f"{where}: {inspector.problems[:5]}"
    return inspector.images


@pytest.fixture(scope="module")
def hostile_http():
    server = HttpServer("streamable-http", script=HOSTILE)
    yield server
    server.stop()


@pytest.fixture
def hostile(run, monkeypatch, hostile_http):
    """The hostile server over stdio (h) and streamable HTTP (w), both given a secret through ${VAR}."""
    monkeypatch.setenv("HOSTILE_TOKEN", SECRET)
    config = {
        "mcpServers": {
            "h": {"command": PY, "args": [HOSTILE, "stdio", "--junk-stdout"], "env": {"HOSTILE_TOKEN": "${HOSTILE_TOKEN}"}},
            "w": {"type": "http", "url": hostile_http.url, "headers": {"Authorization": "Bearer ${HOSTILE_TOKEN}"}},
        }
    }
    assert run("%%mcp config\n" + json.dumps(config)).ok
    status = run("%mcp connect h w").value
    assert status["h"].state == "connected" and status["w"].state == "connected", status.to_records()
    from mcpomni_jupyter.core.kernel import get_manager

    return get_manager()


def everything_rendered(run, server: str) -> list[tuple[str, str]]:
    """Every HTML this package builds from what ``server`` sent."""
    from mcpomni_jupyter.ui.panel import StatusPanel

    shown = []
    for line in (
        "%mcp tools",
        "%mcp resources",
        "%mcp templates",
        "%mcp prompts",
        "%mcp status",
        f"%mcp log {server}",
        f"%mcp call {server}.inject",
        f"%mcp call {server}.structured",
        f"%mcp call {server}.leak",
        f"%mcp call {server}.noisy",
        f"%mcp read hostile://doc --server {server}",
        f"%mcp read hostile://item/zz --server {server}",
    ):
        cell = run(line)
        assert cell.ok, (line, cell.error)
        shown.append((line, cell.value._repr_html_()))
    from mcpomni_jupyter.core.kernel import get_manager

    mcp = get_manager()  # names with spaces and quotes cannot be typed on a %mcp line: the Python API
    tool = next(t for t in mcp.list_tools(server) if "onerror" in t.name)
    shown.append(("a tool named with markup", mcp.call(f"{server}.{tool.name}")._repr_html_()))
    prompt = mcp.prompts(server)[0]
    shown.append(("prompt", mcp.prompt(f"{server}.{prompt.name}")._repr_html_()))
    panel = run("%mcp connections").value
    assert isinstance(panel, StatusPanel)
    shown.append(("status panel", "".join(cell.value for row in panel.rows.values() for cell in row.cells)))
    return shown


@pytest.mark.parametrize("server", ["h", "w"])
def test_every_rendering_is_inert(run, hostile, server):
    seen_images = 0
    for where, html in everything_rendered(run, server):
        seen_images += assert_inert(html, where)
        assert SECRET not in html, where
    assert seen_images >= 1  # the one valid PNG still renders
    inject = run(f"%mcp call {server}.inject").value
    html = inject._repr_html_()
    assert "not shown, its data or mime type is not valid" in html
    assert "&lt;script&gt;alert(&#x27;text&#x27;)&lt;/script&gt;" in html  # shown as text, not run
    assert "<code>javascript:alert(1)</code>" in html and "href" not in html


def test_progress_and_elicitation_widgets_are_inert(hostile, monkeypatch):
    from mcpomni_jupyter.ui.forms import ElicitationForm
    from mcpomni_jupyter.ui.progress import CallProgress

    progress = CallProgress("h.noisy", show=False)
    hostile.call("h.noisy", progress=progress.on_progress, tick=progress.tick)
    progress.finish("success")
    assert "progress" in progress.message
    assert_inert(progress.text.value + progress.title.value, "progress bar")

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))

    async def cell():  # a question whose schema defaults do not fit their types: a form all the same
        task = asyncio.ensure_future(hostile.acall("h.bad_default"))
        while not shown:
            await asyncio.sleep(0.05)
        form = shown[0]
        assert isinstance(form, ElicitationForm)
        assert_inert(form.children[0].value + form.status.value, "elicitation form")
        form.fields["count"].value = "7"
        form.fields["ratio"].value = "0.5"
        form.accept.click()
        return await task

    result = asyncio.run(asyncio.wait_for(cell(), 60))
    assert result.text.startswith("accept: ") and "'count': 7" in result.text and "'ratio': 0.5" in result.text


def test_secrets_never_shown(run, hostile, capsys):
    """The server echoes the bearer token (HTTP) or its env secret (stdio) and a JWT in its error."""
    from mcpomni_jupyter import ToolCallError

    run("%mcp debug on")
    try:
        outputs = []
        for server in ("h", "w"):
            cell = run(f"%mcp call {server}.leak")
            assert cell.ok and cell.value.is_error
            assert SECRET in cell.value.text  # the value keeps what the server said ...
            outputs += [repr(cell.value), cell.value._repr_html_(), cell.out, cell.err]  # ... no rendering shows it
            with pytest.raises(ToolCallError) as info:
                hostile.call(f"{server}.leak")
            outputs.append(str(info.value))
        outputs += [repr(run("%mcp log").value), run("%mcp status").value._repr_html_()]
    finally:
        run("%mcp debug off")
    shown = "\n".join(outputs) + capsys.readouterr().err
    assert SECRET not in shown
    assert "eyJhbGciOiJIUzI1NiJ9" not in shown


def test_secrets_in_urls_args_env_and_reprs(run, shell, monkeypatch, hostile_http):
    monkeypatch.setenv("MAPS_KEY", "maps-key-0b7c2e5a11")
    monkeypatch.setenv("GH_PAT", "ghp_patvalue0123456789")
    from mcpomni_jupyter.core.kernel import get_manager

    mcp = get_manager()
    config = mcp.add("u", f"{hostile_http.url}?key=${{MAPS_KEY}}", headers={"X-Api": "plain-header-value-123"})
    stdio = mcp.add(
        "a",
        command=PY,
        args=[HOSTILE, "stdio", "--token", "${GH_PAT}", "--password=hunter2hunter2"],
        env={"GITHUB_PAT": "literal-pat-abcdef", "DATABASE_URL": "postgres://user:pw-secret-99@db/x", "MODE": "ok"},
    )
    loaded = mcp.add_servers(
        {
            "mcpServers": {
                "c": {
                    "url": "https://admin:s3cr3t-pass@example.com/mcp",
                    "auth": {"method": "oauth", "client_id": "cid", "client_secret": "client-secret-xyz"},
                }
            }
        }
    )
    shown = "\n".join([repr(config), repr(stdio), repr(loaded), repr(mcp.status()), mcp.status()._repr_html_()])
    for secret in (
        "maps-key-0b7c2e5a11",
        "ghp_patvalue0123456789",
        "hunter2hunter2",
        "plain-header-value-123",
        "literal-pat-abcdef",
        "pw-secret-99",
        "s3cr3t-pass",
        "client-secret-xyz",
    ):
        assert secret not in shown, secret
    assert "key=***" in shown and "--token ***" in shown and "MODE" in shown
    # connecting with the key in the URL: debug logging of every request shows no key
    cell_on = run("%mcp debug on")
    cell = run("%mcp connect u")
    run("%mcp debug off")
    assert cell.value["u"].state == "connected"
    assert "maps-key-0b7c2e5a11" not in cell.out + cell.err + cell_on.err
    assert "mcp-debug" in cell.err  # debug logging did run


def test_flood_of_list_changed_is_coalesced(run, hostile):
    c = hostile.connection("h")
    before = run("%mcp call h.listings").value.structured["result"]
    changes = []
    unobserve = hostile.observe(lambda conn: changes.append(conn.name) if conn.name == "h" else None)
    assert run("%mcp call h.flood n=2000").value.text == "sent 2000"
    time.sleep(1.0)
    deadline = time.monotonic() + 20
    while any(not t.done() for t in [c.catalog._relisting[k] for k in c.catalog._relisting]) and time.monotonic() < deadline:
        time.sleep(0.05)
    unobserve()
    listings = run("%mcp call h.listings").value.structured["result"] - before
    assert 1 <= listings <= 10, listings  # one in flight plus one pending, debounced: not 2,000
    assert len(changes) <= 12, len(changes)
    assert sum(1 for e in c.log.snapshot() if e.kind == "tools") <= 10
    assert run("%mcp call h.listings").ok and c.state.value == "connected"


def test_log_and_stderr_are_bounded(run, hostile):
    from mcpomni_jupyter.core.session.serverlog import MAX_BYTES, MAX_ENTRIES, MESSAGE_CHARS

    c = hostile.connection("h")
    run("%mcp call h.noisy")  # a 1 MB log message
    big = [e for e in c.log.snapshot() if e.kind == "log" and e.message.startswith("LLLL")]
    assert big and len(big[0].message) <= MESSAGE_CHARS and big[0].data is None
    assert run("%mcp call h.stderr_flood megabytes=5").value.text == "flooded"
    assert run("%mcp call h.stderr_flood megabytes=3 line=false").value.text == "flooded"
    time.sleep(0.5)
    entries = c.log.snapshot()
    assert len(entries) <= MAX_ENTRIES and sum(e.size for e in entries) <= MAX_BYTES
    assert all(len(e.message) <= MESSAGE_CHARS for e in entries)
    # stderr is a pipe, not a file that grows: the server process's fd 2
    cmdline = lambda pid: Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")  # noqa: E731
    servers = [pid for pid in children_of(os.getpid()) if f"{HOSTILE} stdio" in cmdline(pid)]
    assert servers and all(os.readlink(f"/proc/{pid}/fd/2").startswith("pipe:") for pid in servers)
    assert run("%mcp call h.inject").ok


def test_concurrent_reads_while_the_loop_thread_writes(run, hostile):
    errors: list[BaseException] = []
    reads: list[int] = []
    stop = threading.Event()

    from mcpomni_jupyter.ui.panel import StatusPanel

    panel = StatusPanel(hostile)  # widgets are made on the main thread; the reader updates them

    def reader():
        while not stop.is_set():
            try:
                reads.append(1)
                hostile.log("h")
                hostile.log()
                for row in panel.rows.values():
                    row.update()
            except BaseException as exc:
                errors.append(exc)
                return

    def adder():
        for i in range(200):
            try:
                hostile.add(f"tmp{i}", command=PY, args=[SERVER, "stdio"])
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader), threading.Thread(target=adder)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show at once
    for t in threads:
        t.start()
    try:
        for _ in range(3):
            assert hostile.call("h.logflood", n=1500).text == "logged 1500"
            hostile.list_tools()  # reads the registry on the loop thread while servers are added
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
    assert len(reads) > 100, len(reads)


def test_huge_result_renders_as_a_preview(run, shell, hostile):
    cell = run("r = %mcp call h.huge megabytes=20")
    assert cell.ok
    r = shell.user_ns["r"]
    assert len(r.text) > 19_000_000  # the value keeps everything
    bundle, _ = shell.display_formatter.format(r)
    stored = sum(len(v) for v in bundle.values())
    assert stored < 100_000, stored  # what a notebook would save
    assert "preview only" in bundle["text/html"] and "not shown" in bundle["text/plain"]
    assert_inert(bundle["text/html"], "huge result")


def test_junk_on_stdout_is_logged_and_the_connection_survives(run, hostile):
    assert run("%mcp call h.junk").value.text == "junk written"
    lines = [e.message for e in hostile.connection("h").log.snapshot() if e.kind == "stdout"]
    assert any("Starting hostile server" in m for m in lines) and any("this is not JSON-RPC" in m for m in lines)
    assert run("%mcp call h.structured").ok and hostile.connection("h").state.value == "connected"


def test_server_that_never_answers_initialize(run):
    port = free_port()
    proc = subprocess.Popen([PY, HOSTILE, "silent-http", str(port)])
    try:
        wait_port(port, proc)
        config = {
            "mcpServers": {
                "mute": {"command": PY, "args": [HOSTILE, "silent-stdio"], "timeout": 2},
                "muteweb": {"url": f"http://127.0.0.1:{port}/mcp", "timeout": 2},
            }
        }
        run("%%mcp config\n" + json.dumps(config))
        started = time.monotonic()
        status = run("%mcp connect mute muteweb").value
        assert time.monotonic() - started < 15
        assert status["mute"].state == "failed" and "did not answer server/discover or initialize within 2 s" in status["mute"].error
        assert status["muteweb"].state == "failed" and "within 2 s" in status["muteweb"].error
    finally:
        proc.kill()


def test_debug_on_with_servers_that_do_not_declare_logging(run):
    """%mcp debug on before connecting: logging/setLevel goes only where declared, and never fails a connection."""
    config = {
        "mcpServers": {
            "plain": {"command": PY, "args": [SERVER, "stdio"]},
            "refuses": {"command": PY, "args": [HOSTILE, "stdio", "--setlevel", "fail", "--legacy"]},
            # its timeout bounds the hanging logging/setLevel; it must also cover a loaded machine starting the server
            "hangs": {"command": PY, "args": [HOSTILE, "stdio", "--setlevel", "hang", "--legacy"], "timeout": 8},
            # 2026-07-28: the level travels on each request, so logging/setLevel is never sent
            "modern": {"command": PY, "args": [HOSTILE, "stdio", "--setlevel", "fail"]},
        }
    }
    run("%%mcp config\n" + json.dumps(config))
    run("%mcp debug on")
    try:
        status = run("%mcp connect").value
    finally:
        run("%mcp debug off")
    for name in ("plain", "refuses", "hangs", "modern"):
        assert status[name].state == "connected", (name, status[name].error)
    log = run("%mcp log").value
    warnings = [e for e in log if e.kind == "error"]
    assert not [e for e in warnings if e.server in ("plain", "modern")]  # never asked: undeclared, or 2026-07-28
    assert any(e.server == "refuses" and "logging/setLevel" in e.message for e in warnings)
    assert any(e.server == "hangs" and "logging/setLevel" in e.message for e in warnings)
    assert run("%mcp call plain.echo text=ok").value.text == "ok"


def test_dotenv_feeds_expansion_only(run, tmp_path, monkeypatch):
    other = tmp_path / "elsewhere"
    other.mkdir()
    (tmp_path / ".env").write_text("BROWSER=/tmp/evil-browser %s\nHTTPS_PROXY=http://attacker:8080\nMCPJ_FROM_ENV=cwd-value\n")
    (other / ".env").write_text("LD_PRELOAD=/tmp/evil.so\nNODE_OPTIONS=--require /tmp/evil.js\nMCPJ_BESIDE=beside-value\n")
    (other / "servers.json").write_text(
        json.dumps({"mcpServers": {"e": {"command": "echo", "args": ["${MCPJ_FROM_ENV}", "${MCPJ_BESIDE}"]}}})
    )
    for name in ("BROWSER", "HTTPS_PROXY", "LD_PRELOAD", "NODE_OPTIONS", "MCPJ_FROM_ENV", "MCPJ_BESIDE"):
        monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)
    assert run(f"%mcp load {other / 'servers.json'}").ok
    assert dict(os.environ) == before  # nothing from .env reached the kernel's environment
    from mcpomni_jupyter.core.kernel import get_manager

    assert get_manager().connection("e").config.args == ("cwd-value", "beside-value")


def test_stop_never_swallows_a_cancellation():
    """stop() reports DISCONNECTED only when the owner task has ended, and a cancelled stop() propagates."""
    from mcpomni_jupyter.config import parse_server
    from mcpomni_jupyter.core.session.connection import Connection, State

    async def scenario():
        c = Connection(parse_server("x", {"command": "true"}))
        c._stop = asyncio.Event()

        release = asyncio.Event()

        async def stubborn_owner():  # an owner task whose teardown outlasts every grace period
            while True:
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    if release.is_set():
                        raise

        c._task = asyncio.ensure_future(stubborn_owner())
        c.state = State.CONNECTED
        stopper = asyncio.ensure_future(c.stop(timeout=0.1))
        await asyncio.sleep(0.3)  # stop() is now in its grace wait after cancelling the owner
        stopper.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopper
        assert c.state is not State.DISCONNECTED  # the owner task still lives
        import mcpomni_jupyter.core.session.connection as connection_module

        original = connection_module.STOP_GRACE
        connection_module.STOP_GRACE = 0.2
        try:
            await c.stop(timeout=0.1)
        finally:
            connection_module.STOP_GRACE = original
        assert c.state is State.FAILED and "did not stop" in c.error
        release.set()
        c._task.cancel()
        await asyncio.wait({c._task}, timeout=5)

    asyncio.run(asyncio.wait_for(scenario(), 30))


def _restart(server, *extra: str, while_down=None) -> None:
    """Restart the test server on its port; ``while_down()`` runs while nothing listens there."""
    server.proc.terminate()
    server.proc.wait(10)
    if while_down is not None:
        while_down()
    server.proc = subprocess.Popen(
        [PY, SERVER, "streamable-http", str(server.port), *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_port(server.port, server.proc)


def test_expired_session_is_renewed_once_then_backed_off(run):
    """A 2025-era streamable-HTTP server forgets our session when it restarts (404): renewed, then backed off."""

    server = HttpServer("streamable-http", "--legacy")
    try:
        run(f"%mcp add web {server.url}")
        run("%mcp connect web")
        assert run("%mcp call web.echo text=one").value.text == "one"
        for i in range(3):  # the server restarts (and forgets every session) three times: recovered each time
            _restart(server, "--legacy")
            cell = run(f"%mcp call web.echo text=again{i}")
            assert cell.ok, cell.error
            assert cell.value.text == f"again{i}"
        from mcpomni_jupyter.core.kernel import get_manager

        renewed = [e for e in get_manager().connection("web").log.snapshot() if e.kind == "session"]
        assert len(renewed) == 3 and "HTTP 404" in renewed[0].message
        _restart(server, "--legacy")
        assert "keeps losing its session" in usage_error(run("%mcp call web.echo text=four"))
    finally:
        server.stop()


def test_a_2026_server_restarting_needs_no_session(run):
    """2026-07-28 is stateless: a server restart between two calls is invisible.

    A request made while the server is down (here a call; in a notebook, as often
    as not, the background re-list when the listen stream drops) fails alone, with
    one line: it used to end the whole transport, and the first call after the
    restart failed.
    """

    server = HttpServer("streamable-http")
    try:
        run(f"%mcp add web {server.url}")
        assert run("%mcp connect web").value["web"].protocol == "2026-07-28"
        cell = run("%mcp call web.echo text=one")
        assert cell.ok, cell.error
        assert cell.value.text == "one"
        down = []
        _restart(server, while_down=lambda: down.append(run("%mcp call web.echo text=nobody")))
        assert "cannot reach" in usage_error(down[0]), down[0].error
        cell = run("%mcp call web.echo text=two")
        assert cell.ok, cell.error
        assert cell.value.text == "two"
        from mcpomni_jupyter.core.kernel import get_manager

        assert not [e for e in get_manager().connection("web").log.snapshot() if e.kind == "session"]
    finally:
        server.stop()


def test_per_request_log_level_on_2026_servers(run):
    """2026-07-28 servers get the log level on each request: a quieter level keeps info messages away, debug brings them."""
    run(f"%mcp add m -- {PY} {HOSTILE} stdio")
    run("%config MCPMagics.log_level = 'error'")
    try:
        assert run("%mcp connect m").value["m"].protocol == "2026-07-28"
        run("%mcp call m.noisy")
        assert not [e for e in run("%mcp log m").value if e.kind == "log"]
        run("%mcp debug on")
        run("%mcp call m.noisy")
        run("%mcp debug off")
        assert [e for e in run("%mcp log m").value if e.kind == "log"]
    finally:
        run("%config MCPMagics.log_level = ''")


def test_hostile_text_in_the_panel_never_becomes_markup():
    """Widget cells built from a failed server's error keep markup as text."""
    from mcpomni_jupyter.core.manager import MCPManager
    from mcpomni_jupyter.ui.authorize import AuthorizeWidget
    from mcpomni_jupyter.ui.panel import StatusPanel

    m = MCPManager(timeout=10)
    try:
        m.add("bad", command="/no/such/<img src=x onerror=alert(1)>")
        m.connect("bad")
        panel = StatusPanel(m)
        html = "".join(cell.value for row in panel.rows.values() for cell in row.cells) + panel._repr_html_()
        assert "onerror" in html  # the text is there ...
        assert_inert(html, "panel")  # ... as text
        widget = AuthorizeWidget(m, "bad")
        assert_inert(widget.state.value + widget.title.value, "authorize row")
    finally:
        m.shutdown()


def test_debug_logging_redacts_tracebacks(capsys):
    """%mcp debug output masks secrets in messages, arguments and tracebacks alike."""
    import logging

    from mcpomni_jupyter.magics.debuglog import set_debug
    from mcpomni_jupyter.redact import add_secret

    add_secret("traceback-secret-5e6f7a")
    set_debug(True)
    try:
        try:
            raise RuntimeError("failed with Authorization: Bearer traceback-secret-5e6f7a and token=abc123xyz")
        except RuntimeError:
            logging.getLogger("mcp.client").exception("request to %s failed", "http://h/mcp?key=query-secret-value")
    finally:
        set_debug(False)
    err = capsys.readouterr().err
    assert "mcp-debug" in err and "Traceback" in err and "RuntimeError" in err
    for secret in ("traceback-secret-5e6f7a", "abc123xyz", "query-secret-value"):
        assert secret not in err, secret
