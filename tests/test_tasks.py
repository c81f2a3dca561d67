"""MCP Tasks on real servers: our task server (both wire eras, stdio and streamable HTTP) and server-everything."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest
from conftest import PY, free_port, usage_error, wait_port
from test_third_party import everything_http  # noqa: F401 - the server-everything fixture (streamable HTTP, forced onto loopback)

HERE = Path(__file__).parent
TASKS = str(HERE / "servers" / "tasks_server.py")
NODE_DIR = HERE / "node"
EVERYTHING = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
ERAS = {"modern": "2026-07-28", "legacy": "2025-11-25"}


def _http(*args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([*args, str(port)] if args[0] == PY else list(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}/mcp"


@pytest.fixture(scope="module")
def task_servers():
    """Our task server over streamable HTTP, in each era."""
    procs, urls = [], {}
    for era in ERAS:
        port = free_port()
        extra = ["--legacy"] if era == "legacy" else []
        proc = subprocess.Popen([PY, TASKS, "streamable-http", str(port), *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, proc)
        procs.append(proc)
        urls[era] = f"http://127.0.0.1:{port}/mcp"
    yield urls
    for proc in procs:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(params=[("stdio", "modern"), ("stdio", "legacy"), ("http", "modern"), ("http", "legacy")], ids="-".join)
def tasks_server(request, run, task_servers):
    transport, era = request.param
    if transport == "stdio":
        added = run(f"%mcp add t -- {PY} {TASKS} stdio" + (" --legacy" if era == "legacy" else ""))
    else:
        added = run(f"%mcp add t {task_servers[era]}")
    assert added.ok, added.error
    status = run("%mcp connect t").value
    assert status["t"].state == "connected", status["t"].error
    assert status["t"].protocol == ERAS[era]
    return era


def test_blocking_calls_of_task_tools(run, tasks_server):
    r = run("%mcp call t.research topic=cats seconds=0.3")
    assert r.ok and r.value.text == "report on cats" and not r.value.is_error
    assert run("%mcp call t.instant x=3 --task").value.text == "instant 3"
    assert run("%mcp call t.instant x=4").value.text == "instant 4"  # optional, not asked: a plain call
    assert run("%mcp call t.plain text=hi").value.text == "plain hi"
    failed = usage_error(run("%mcp call t.fails"))
    assert "t.fails (task " in failed and "failed: the backend <b>exploded</b>" in failed
    timed_out = usage_error(run("%mcp call t.slow seconds=60 --timeout 0.5"))
    assert "did not finish within 0.5 s; tasks/cancel was sent" in timed_out
    hostile = usage_error(run("%mcp call t.odd_id kind=long"))
    assert "unusable task id" in hostile and len(hostile) < 600
    assert "unusable task id" in usage_error(run("%mcp call t.odd_id kind=control"))
    if tasks_server == "legacy":  # 2025-11-25: a forbidden tool is never sent as a task
        assert "taskSupport is forbidden" in usage_error(run("%mcp call t.plain --task"))
    # the connection keeps working after all of that
    assert run("%mcp call t.instant x=5 --task").value.text == "instant 5"


def test_background_jobs_cancel_and_listing(run, tasks_server):
    start = time.monotonic()
    job = run("%mcp call t.research topic=dogs seconds=1.5 --background --out job").value
    assert time.monotonic() - start < 1.4  # returned at once, before the task ended
    assert job.status in ("working", "input_required") and job.task_id
    assert run("%mcp call t.instant x=1 --task").value.text == "instant 1"  # other calls run meanwhile
    assert run("job").value is job  # --out VAR keeps the job
    assert job.result(timeout=20).text == "report on dogs"
    assert job.status == "completed"

    slow = run("%mcp call t.slow --background").value
    assert slow.status == "working"
    assert slow.cancel() == "cancelled"
    from mcpomni_jupyter import TaskCancelled

    with pytest.raises(TaskCancelled):
        slow.result(timeout=10)
    # the server says so too: a task found by id (as after a kernel restart) is followed afresh
    mcp = run("import mcpomni_jupyter; mcp = mcpomni_jupyter.get_manager(); mcp").value
    mcp.jobs.clear()  # forget our handles, as a restarted kernel has
    again = mcp.task("t", slow.task_id)
    assert again.status == "cancelled"
    done = mcp.task("t", job.task_id)
    assert done.result(timeout=10).text == "report on dogs"

    table = run("%mcp tasks t").value
    text = repr(table)
    assert job.task_id in text and slow.task_id in text
    rows = {row.task: row for row in table}
    assert rows[slow.task_id].status == "cancelled" and rows[job.task_id].status == "completed"
    if tasks_server == "legacy":  # tasks/list: the server's own tasks, ours or not (the timed-out ones of other tests too)
        assert len(table) >= 2 and all(row.server == "t" for row in table)
    else:  # the 2026-07-28 extension has no tasks/list: ours only, and a note saying so
        assert "cannot be listed" in table._repr_html_()
    with pytest.raises(Exception, match="task id"):
        mcp.task("t", "")


def test_a_task_that_needs_input(run, tasks_server):
    # no handler and a blocked cell: the question is declined, the task still ends
    r = run("%mcp call t.ask topic=sky")
    assert r.ok and r.value.text == "no colour: decline"
    run("import mcpomni_jupyter; mcpomni_jupyter.get_manager().set_elicitation_handler(lambda m, s, d: {'colour': 'blue'})")
    assert run("%mcp call t.ask topic=sky").value.text == "colour: blue"
    job = run("%mcp call t.ask topic=sea --background").value
    assert job.result(timeout=20).text == "colour: blue"


def test_map_of_task_tools(run, tasks_server):
    """A map's rows of a tool whose taskSupport is "required" go out as tasks (2025-11-25) or follow the server's task (2026-07-28)."""
    run("rows = [{'topic': 'owls', 'seconds': 0.1}, {'topic': 'cats', 'seconds': 0.2}, {'topic': 'bats', 'seconds': 0.1}]")
    out = run("%mcp map t.research --from rows --concurrency 2").value
    assert [r.text for r in out] == ["report on owls", "report on cats", "report on bats"]
    assert out.done == 3 and out.failed == 0
    import mcpomni_jupyter

    mcp = mcpomni_jupyter.get_manager()
    assert mcp.map("t.instant", [{"x": 1}, {"x": 2}]).values == ["instant 1", "instant 2"]  # optional: plain rows
    failed = mcp.map("t.fails", [{}, {}])  # a failed task is a failed row, kept with the server's reason
    assert failed.failed == 2 and "the backend <b>exploded</b>" in failed.errors[0].message
    slow = mcp.map("t.slow", [{"seconds": 60}], timeout=0.5)  # a row's timeout cancels its task
    assert slow.failed == 1 and "within 0.5 s" in slow.errors[0].message
    assert mcp.map("t.plain", [{"text": "a"}]).values == ["plain a"]


def test_results_that_break_the_output_schema_are_refused(run, tasks_server):
    """Every way a task tool's result can arrive is checked against its output schema, as the SDK checks a plain call's."""
    # schema: answered at once (2026-07-28: a complete answer; 2025-11-25: a direct answer to a task-augmented call);
    # task_schema: the task's result
    # and without --task: on 2025-11-25 the SDK's own call_tool refuses it, and the error says the same
    for call in ("kind=schema --task", "kind=task_schema --task", "kind=schema"):
        message = usage_error(run(f"%mcp call t.odd_answer {call}"))
        assert "breaks the tool's output schema" in message and "report it to the server's maintainers" in message, message
    assert run("%mcp call t.instant x=2 --task").value.text == "instant 2"  # the connection is fine


@pytest.fixture(params=["stdio", "http"])
def modern_tasks(request, run, task_servers):
    """Our task server in the 2026-07-28 era, where every tools/call goes out raw and a task answer is followed."""
    target = f"-- {PY} {TASKS} stdio" if request.param == "stdio" else task_servers["modern"]
    assert run(f"%mcp add t {target}").ok
    assert run("%mcp connect t").value["t"].protocol == "2026-07-28"


def test_the_2026_call_path_hands_the_sdk_what_only_it_drives(run, modern_tasks):
    # a question asked the 2026-07-28 way (an input_required answer to tools/call): the SDK asks the handler and resends
    run("import mcpomni_jupyter; mcpomni_jupyter.get_manager().set_elicitation_handler(lambda m, s, d: {'name': 'Ada'})")
    assert run("%mcp call t.who").value.text == "hello Ada"
    # HEADER_MISMATCH (our listing of the tool is stale): the SDK re-lists and resends
    key = uuid.uuid4().hex
    assert run(f"%mcp call t.stale key={key}").value.text == f"fresh {key}"
    # an answer of no known kind: one line, and the connection keeps working
    message = usage_error(run("%mcp call t.odd_answer kind=type"))
    assert "unknown resultType 'banana'" in message and "report it to the server's maintainers" in message, message
    assert run("%mcp call t.plain text=x").value.text == "plain x"


def test_task_html_is_escaped(run, tasks_server):
    from mcpomni_jupyter.core.tasks.methods import TaskList, TaskRow

    table = TaskList([TaskRow("t", "<img src=x onerror=alert(1)>", "x", "working", "<script>bad()</script>", "")])
    page = table._repr_html_()
    assert "<img" not in page and "<script>" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_server_everything_research_query(run, everything_http, transport):  # noqa: F811 - the fixture imported above
    target = f"-- node {EVERYTHING} stdio" if transport == "stdio" else everything_http
    assert run(f"%mcp add ev {target}").ok
    assert run("%mcp connect ev").value["ev"].state == "connected"
    r = run("%mcp call ev.simulate-research-query topic=cats")
    assert r.ok, r.error
    assert "# Research Report: cats" in r.value.text
    # ambiguous: the task asks (input_required, through tasks/result); the notebook's handler answers
    run("import mcpomni_jupyter; mcpomni_jupyter.get_manager().set_elicitation_handler(lambda m, s, d: {'interpretation': 'historical'})")
    job = run("%mcp call ev.simulate-research-query topic=cats ambiguous=true --background").value
    result = job.result(timeout=60)
    assert "**Clarification**: historical" in result.text
    assert job.status == "completed"
    assert job.task_id in repr(run("%mcp tasks ev").value)


def test_background_job_and_interrupt_in_a_real_kernel():
    from tools.kernels import Kernel

    kernel = Kernel("tasks")
    try:
        setup = kernel.run(
            "%load_ext mcpomni_jupyter\n"
            f"%mcp add t -- {PY} {TASKS} stdio --legacy\n"
            "%mcp connect t\n"
            "import mcpomni_jupyter; mcp = mcpomni_jupyter.get_manager()"
        )
        assert setup["ename"] is None, setup
        started = kernel.run("job = %mcp call t.research topic=owls seconds=3 --background\nprint(job.status)")
        assert started["ename"] is None and started["stdout"].strip() == "working", started
        # other cells run while the job goes on
        other = kernel.run("print(mcp.call('t.instant', x=7, task=True).text, job.done())")
        assert other["stdout"].strip() == "instant 7 False", other
        waited = kernel.run("r = await job\nprint(r.text, job.status)", timeout=30)
        assert waited["stdout"].strip() == "report on owls completed", waited

        # an interrupt of a blocking task call sends tasks/cancel; the server's task ends cancelled
        kernel.kc.execute("%mcp call t.slow seconds=60")
        time.sleep(2.0)
        kernel.km.interrupt_kernel()
        deadline = time.monotonic() + 20
        while True:
            msg = kernel.kc.get_iopub_msg(timeout=20)
            if msg["msg_type"] == "stream" and "interrupted" in msg["content"]["text"]:
                break
            assert time.monotonic() < deadline
        time.sleep(1)  # ipykernel aborts requests queued right behind a failed cell
        listed = kernel.run("print([(r.status, r.message) for r in mcp.tasks('t') if r.job is None and r.status != 'completed'])")
        assert listed["stdout"].strip() == "[('cancelled', 'cancelled by the client')]", listed
        assert kernel.run("print(mcp.call('t.plain', text='alive').text)")["stdout"].strip() == "plain alive"
    finally:
        kernel.stop()


@pytest.mark.parametrize("era", ["modern", "legacy"])
def test_an_async_status_callback_is_run(manager, era):
    """A blocking task call's status goes to an async ``progress`` callback too (awaited on the loop, not dropped)."""
    import asyncio
    import warnings

    manager.add("t", command=PY, args=[TASKS, "stdio", *(["--legacy"] if era == "legacy" else [])])
    seen: list = []

    async def progress(value, total, message):
        await asyncio.sleep(0)
        seen.append(message)

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "coroutine ... was never awaited" fails the test
        assert manager.call("t.research", {"topic": "owls", "seconds": 0.3}, progress=progress).text == "report on owls"
    time.sleep(0.2)
    assert any(m and "step" in m for m in seen), seen


def test_interrupting_await_job_leaves_the_job_running(manager):
    """Like an interrupt of ``job.result()``: the wait ends, the job goes on (``job.cancel()`` is how to stop it)."""
    import asyncio

    manager.add("t", command=PY, args=[TASKS, "stdio"])
    job = manager.start("t.research", {"topic": "bats", "seconds": 1.0})

    async def interrupted_wait():
        waiting = asyncio.ensure_future(_await(job))
        await asyncio.sleep(0.2)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    async def _await(j):
        return await j

    asyncio.run(interrupted_wait())
    assert job.status in ("working", "starting")
    assert job.result(timeout=20).text == "report on bats"


def test_cancelling_a_job_whose_question_waits_ends_it_at_once(manager):
    """2025-11-25: tasks/result is held open by a question nobody answers; job.cancel() ends the job, not waits on it."""
    import asyncio

    from mcpomni_jupyter import TaskCancelled

    manager.add("t", command=PY, args=[TASKS, "stdio", "--legacy"])

    async def slow_answer(message, schema, defaults):
        await asyncio.sleep(30)
        return {"colour": "red"}

    manager.set_elicitation_handler(slow_answer)
    job = manager.start("t.ask", {"topic": "sky"})
    deadline = time.monotonic() + 10
    while job.status != "input_required" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status == "input_required"
    time.sleep(0.3)  # the question is now with the (slow) handler
    assert job.cancel() == "cancelled"
    with pytest.raises(TaskCancelled):
        job.result(timeout=5)
