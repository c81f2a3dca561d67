"""MCP Tasks' widgets in a real JupyterLab, driven by headless Chromium (Playwright).

Our task server (tests/servers/tasks_server.py, over stdio, in each protocol
era) is added with ``%mcp load mcp.json``.  A background job's live status
line says working while other cells run, then completed; a running job's
Cancel button, clicked in the page, cancels the task on the server (a later
cell asks the server, by id, with our handle forgotten); ``%mcp tasks t``
renders a Cancel per running task, and clicking one cancels that task (on
2025-11-25 also a task only the server lists, which we never followed).
"""

from __future__ import annotations

import json
import sys

import pytest
from conftest import HERE, free_port
from tools.lab import lab_page, run_cell, write_notebook

pytestmark = pytest.mark.browser

ROOT = HERE.parent
ARTIFACTS = ROOT / "test-artifacts"
TASKS = HERE / "servers" / "tasks_server.py"

SERVER_VIEW = '''\
def server_view(task_id):
    """What the server says of a task: our handle forgotten (as after a kernel restart), the task followed afresh."""
    mcp.jobs[:] = [j for j in mcp.jobs if j.task_id != task_id]
    found = mcp.task("t", task_id)
    return f"{found.status}: {found.message}"
'''


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_task_lines_and_panel_cancel_in_jupyterlab(tmp_path, era):
    from playwright.sync_api import expect

    cells = [
        "%load_ext mcpomni_jupyter",
        "%mcp load mcp.json\n%mcp connect t\nimport mcpomni_jupyter\nmcp = mcpomni_jupyter.get_manager()\n" + SERVER_VIEW,
        "job = %mcp call t.research topic=owls seconds=4 --background",
        "r = %mcp call t.instant x=3 --task\nprint('meanwhile', r.text, job.status)",
        "slow = %mcp call t.slow --background",
        "print('server:', server_view(slow.task_id))",
        "slow2 = %mcp call t.slow --background\nslow3 = %mcp call t.slow --background",
        "%mcp tasks t",
        "print('server:', server_view(slow3.task_id), '|', slow2.status)",
        "%mcp tasks t",
        "mcp.jobs.clear()  # forget every handle: only the server's listing is left\n%mcp tasks t",
        "print('server:', server_view(slow2.task_id))",
    ]
    write_notebook(tmp_path / "tasks.ipynb", cells)
    args = [str(TASKS), "stdio", *(["--legacy"] if era == "legacy" else [])]
    (tmp_path / "mcp.json").write_text(json.dumps({"mcpServers": {"t": {"command": sys.executable, "args": args}}}))
    ARTIFACTS.mkdir(exist_ok=True)
    with lab_page(tmp_path, free_port(), "tasks.ipynb") as page:
        run_cell(page, 0)
        assert "Error" not in run_cell(page, 1, timeout=90_000).inner_text()

        # a background job: its live line says working while another cell runs, then completed
        line = run_cell(page, 2)
        expect(line).to_contain_text("t.research task", timeout=20_000)
        expect(line).to_contain_text("working")
        cancel = line.get_by_role("button", name="Cancel")
        expect(cancel).to_be_visible()
        expect(run_cell(page, 3)).to_contain_text("meanwhile instant 3 working")
        expect(line).to_contain_text("completed", timeout=20_000)
        expect(line).not_to_contain_text("working")
        expect(cancel).to_be_hidden()  # nothing left to cancel

        # Cancel clicked in the page: the line says cancelled, and so does the server
        line = run_cell(page, 4)
        expect(line).to_contain_text("t.slow task", timeout=20_000)
        expect(line).to_contain_text("working")
        line.get_by_role("button", name="Cancel").click()
        expect(line).to_contain_text("cancelled", timeout=20_000)
        expect(line.get_by_role("button")).to_be_hidden()
        expect(run_cell(page, 5)).to_contain_text("server: cancelled: cancelled by the client", timeout=20_000)

        # %mcp tasks: a Cancel per running task (two slow ones); clicking one cancels that task only
        lines = run_cell(page, 6)
        expect(lines.get_by_role("button", name="Cancel")).to_have_count(2, timeout=20_000)
        panel = run_cell(page, 7)
        buttons = panel.get_by_role("button", name="Cancel")
        expect(buttons).to_have_count(2, timeout=20_000)
        expect(panel).to_contain_text("research completed")  # finished ones are listed too, without a button
        panel.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"jupyterlab-mcp-tasks-{era}.png"), full_page=False)
        rows = panel.locator(".widget-hbox")
        newest = rows.nth(0)  # newest first: slow3
        expect(newest).to_contain_text("slow")
        newest.get_by_role("button", name="Cancel").click()
        expect(newest.get_by_role("button")).to_have_text("Cancelling…")
        # slow3's live line (in cell 6) follows: cancelled; slow2's still runs
        expect(lines.get_by_role("button", name="Cancel")).to_have_count(1, timeout=20_000)
        expect(run_cell(page, 8)).to_contain_text("server: cancelled: cancelled by the client | working", timeout=20_000)
        expect(run_cell(page, 9).get_by_role("button", name="Cancel")).to_have_count(1, timeout=20_000)

        panel = run_cell(page, 10)
        if era == "legacy":  # tasks/list: slow2 is only the server's now; its Cancel follows it and cancels it
            expect(panel.get_by_role("button", name="Cancel")).to_have_count(1, timeout=20_000)
            panel.get_by_role("button", name="Cancel").click()
            expect(panel.get_by_role("button", name="Cancelling…")).to_be_visible()
            # the forgotten handle's follower still polls: slow2's live line learns it from the server
            expect(lines.get_by_role("button", name="Cancel")).to_have_count(0, timeout=20_000)
            out = run_cell(page, 11)
            for _ in range(20):  # the click's cancel runs on the loop thread; ask again until the server says so
                if "server: cancelled" in out.inner_text():
                    break
                page.wait_for_timeout(250)
                out = run_cell(page, 11)
            expect(out).to_contain_text("server: cancelled: cancelled by the client")
        else:  # the 2026-07-28 extension has no tasks/list: nothing is left to show, and the panel says why
            expect(panel).to_contain_text("cannot be listed")
            expect(panel.get_by_role("button")).to_have_count(0)
            slow2 = lines  # cancel slow2 from its own live line, so no task is left running
            slow2.get_by_role("button", name="Cancel").click()
            expect(slow2.get_by_role("button", name="Cancel")).to_have_count(0, timeout=20_000)
            expect(run_cell(page, 11)).to_contain_text("server: cancelled: cancelled by the client", timeout=20_000)
