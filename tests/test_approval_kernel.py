"""A real kernel (nbclient): a model's call awaited in a cell shows the Approve / Deny row in that cell's output;
nobody clicks, so it times out as a denial and the saved notebook says so; off the kernel's loop no row is shown."""

from __future__ import annotations

import json

import pytest
from conftest import PY, SERVER
from tools.kernels import run_notebook

pytestmark = [pytest.mark.kernel, pytest.mark.timeout(180)]

WIDGET = "application/vnd.jupyter.widget-view+json"


def test_the_row_lands_in_the_calling_cell_and_no_answer_is_a_denial(tmp_path):
    config = {"mcpServers": {"demo": {"command": PY, "args": [SERVER, "stdio"]}}}
    cells = [
        "%load_ext mcpomni_jupyter\nfrom mcpomni_jupyter import get_manager\nmcp = get_manager()",
        "%%mcp config\n" + json.dumps(config),
        "%mcp connect demo",
        "from mcpomni_jupyter.core.agents.calls import call_for_model\n"
        "mcp.approval.timeout = 2\n"
        "fail = next(t for t in mcp.model_tools('demo') if t.qualified == 'demo.fail')\n"
        "out = await call_for_model(mcp, fail, {'message': '<img src=x onerror=alert(1)>'})\n"
        "print(out.status, '|', out.error)",
        "import asyncio, threading\n"  # an agent run on a thread of its own: no row there, a denial that says what to do
        "box = {}\n"
        "t = threading.Thread(target=lambda: box.update(out=asyncio.run(call_for_model(mcp, fail, {}))))\n"
        "t.start(); t.join(60)\n"
        "print(box['out'].status, '|', box['out'].error)",
    ]
    nb = run_notebook(cells, tmp_path)

    asked, elsewhere = nb.cells[3].outputs, nb.cells[4].outputs
    [row] = [o for o in asked if o.output_type == "display_data"]
    assert WIDGET in row.data  # the widget itself, for a front end that renders it
    text, page = row.data["text/plain"], row.data["text/html"]
    assert text.startswith("mcp approval: a model asks to call demo.fail")
    assert text.endswith("denied: no answer within 2.0 s")  # the display was updated in place: the saved notebook says so
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    printed = "".join(o.get("text", "") for o in asked if o.output_type == "stream")
    assert printed == "denied | nobody answered the approval request within 2 s\n"

    assert not [o for o in elsewhere if o.output_type == "display_data"]
    printed = "".join(o.get("text", "") for o in elsewhere if o.output_type == "stream")
    assert printed.startswith("denied | demo.fail needs the person's approval, and nobody can give it here")
