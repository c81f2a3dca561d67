"""A real kernel: the quickstart notebook under nbclient, a kernel interrupt, and no server left at kernel exit."""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
from conftest import PY, SERVER, children_of
from tools.kernels import Kernel, run_notebook

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parent.parent


def test_quickstart_notebook_runs_clean(tmp_path):
    nb = run_notebook(nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4), tmp_path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    text = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert "connected" in text and "word_count" in text
    # widgets read well where they do not render (nbconvert, GitHub, plain IPython): text forms, not reprs
    for widget_repr in ("HBox(", "VBox(", "FloatProgress(", "HTML(value"):
        assert widget_repr not in text, widget_repr
    assert "slow_count ━━━━━━━━━━ 100% 5/5" in text and " · done" in text  # the final line of the progress bar
    assert "demo.convert_units ━━━━━━━━━━ 100% 5/5 · 1 failed" in text and "map demo.convert_units: 5 rows, 4 done, 1 failed" in text
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in str(o.get("data", {}).get("text/html", ""))
    ]
    assert images, "the chart tool's image should render"


@pytest.fixture
def kernel():
    k = Kernel()
    yield k
    k.stop()


def test_interrupt_in_a_real_kernel_and_no_server_left_at_exit(kernel, tmp_path):
    marker = tmp_path / "cancelled.txt"
    setup = kernel.run(
        f"import os; os.environ['MCPJ_CANCEL_MARKER'] = {str(marker)!r}\n"
        "%load_ext mcpomni_jupyter\n"
        f"%mcp add a -- {PY} {SERVER} stdio\n"
        f"%mcp add b -- {PY} {SERVER} stdio\n"
        "%mcp connect"
    )
    assert setup["ename"] is None, setup
    assert setup["text"].count("connected") == 2
    servers = children_of(kernel.pid())
    assert len(servers) == 2, servers

    # Ctrl-C / kernel interrupt during a long call: the request is cancelled, the connection stays
    kernel.kc.execute("%mcp call a.sleep seconds=60")
    time.sleep(2.0)
    kernel.km.interrupt_kernel()
    deadline = time.monotonic() + 20
    while True:  # IPython shows a UsageError as one line on stderr, not as a traceback
        msg = kernel.kc.get_iopub_msg(timeout=20)
        assert msg["msg_type"] != "error", msg["content"]
        if msg["msg_type"] == "stream":
            assert msg["content"]["text"].startswith("UsageError: interrupted"), msg["content"]
            break
        assert time.monotonic() < deadline
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.read_text() == "cancelled\n"
    time.sleep(1)  # ipykernel aborts requests queued right behind a failed cell
    after = kernel.run("r = %mcp call a.echo text=still-here\nprint(r.text)")
    assert after["stdout"].strip() == "still-here", after
    assert sorted(children_of(kernel.pid())) == sorted(servers)

    # kernel exit closes every connection: no server subprocess left behind
    kernel.stop()
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in servers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in servers)


def test_interrupting_a_map_in_a_real_kernel_returns_what_finished(kernel, tmp_path):
    marker = tmp_path / "cancelled.txt"
    setup = kernel.run(
        f"import os; os.environ['MCPJ_CANCEL_MARKER'] = {str(marker)!r}\n"
        "%load_ext mcpomni_jupyter\n"
        f"%mcp add a -- {PY} {SERVER} stdio\n"
        "%mcp connect\n"
        "from mcpomni_jupyter import get_manager\n"
        "mcp = get_manager()\n"
        "pulled = 0\n"
        "def rows():\n"
        "    global pulled\n"
        "    for i in range(100_000):\n"
        "        pulled += 1\n"
        "        yield {'seconds': 0.01 if i < 6 else 60}\n"
    )
    assert setup["ename"] is None, setup
    msg_id = kernel.start("result = mcp.map('a.sleep', rows(), concurrency=4)\nprint(result.summary(), pulled)")
    time.sleep(3.0)  # six quick rows done, four 60-second calls running
    kernel.km.interrupt_kernel()
    out = kernel.collect(msg_id, timeout=30)
    assert out["ename"] is None, out  # not an error: the cell ends with what finished
    # the reader thread filled its window of 64 rows once (10 taken leave it above the half that wakes it again);
    # rows the calls took while it was filling count on top (how many depends on the threads' timing, at most the 10):
    # 6 done, 4 running (cancelled at the server), the rest not started; every row that left the generator is in the result
    summary = re.fullmatch(r"map a\.sleep: (\d+) rows, 6 done, (\d+) cancelled in [\d.]+ s; interrupted (\d+)", out["stdout"].strip())
    assert summary, out
    read, cancelled, pulled = (int(g) for g in summary.groups())
    assert 64 <= read <= 74 and cancelled == read - 6 and pulled == read, out  # nothing read is lost, none beyond the window
    final = out["updates"].splitlines()[-1]  # the progress bar's last line, as a notebook keeps it
    assert final.startswith(f"a.sleep {read} rows · {cancelled} cancelled · ") and final.endswith(" s · interrupted"), out
    deadline = time.monotonic() + 20
    while (not marker.exists() or marker.read_text().count("cancelled") < 4) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.read_text() == "cancelled\n" * 4  # each running call was cancelled at the server
    after = kernel.run("print(mcp.call('a.echo', text='still-here').text, result[0].text, result[-1].cancelled)")
    assert after["stdout"].split() == ["still-here", "slept", "0.01", "True"], after


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_load_ext_does_not_import_the_sdk(kernel):
    out = kernel.run("import sys\n%load_ext mcpomni_jupyter\nprint('mcp' in sys.modules, 'mcpomni_jupyter.magics' in sys.modules)")
    assert out["stdout"].split() == ["False", "True"], out
