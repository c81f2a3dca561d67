"""MCP Tasks' background jobs against our real task server (stdio, each era): whose cell a question goes to, a form
the kernel's thread would wait on, a cancel that comes too late, a task the server does not know, a timeout's
record, and input requests this notebook cannot answer."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from conftest import PY

from mcpomni_jupyter.errors import LookupFailed, McpJupyterError, RequestTimeout, TaskCancelled

TASKS = str(Path(__file__).parent / "servers" / "tasks_server.py")
ERAS = ["modern", "legacy"]


def add(manager, era: str) -> None:
    manager.add("t", command=PY, args=[TASKS, "stdio", *(["--legacy"] if era == "legacy" else [])])


def in_a_cell(fn):
    """``fn()`` inside a running loop, as ipykernel runs a cell: a job started there has that cell for its questions."""

    async def cell():
        return fn()

    return asyncio.run(cell())


def until(run, predicate, timeout: float = 20) -> bool:
    """Wait (on the run's own change events) until ``predicate(run)``."""
    event = threading.Event()

    def heard(r):
        if predicate(r):
            event.set()

    run.listeners.append(heard)
    try:
        return predicate(run) or event.wait(timeout)
    finally:
        run.listeners.remove(heard)


@pytest.mark.parametrize("era", ERAS)
def test_a_jobs_cell_is_asked_its_own_questions_only(manager, era):
    """While a job waits on (and after it got) its answer, another call's question never goes to the job's cell."""
    from mcp_types import ElicitResult

    add(manager, era)
    asked: list[str] = []
    job_asked, release = threading.Event(), threading.Event()

    async def form(caller, server, params, timeout):
        asked.append(params.message)
        if len(asked) == 1:  # the job's question stays open while another call runs
            job_asked.set()
            await asyncio.to_thread(release.wait, 30)
            return ElicitResult(action="accept", content={"colour": "red"})
        return ElicitResult(action="decline")

    manager.requests.form_handler = form
    job = in_a_cell(lambda: manager.start("t.ask", {"topic": "sea", "then": 60}))
    assert job_asked.wait(20)
    assert job.run.answering
    # a blocked cell's call to the same server meanwhile: its question cannot be answered in a form, so it is declined
    assert manager.call("t.who").text == "decline"
    release.set()
    assert until(job.run, lambda r: r.message == "thanks; continuing")  # answered; the task works on (input_required is over)
    assert not job.run.answering
    assert manager.call("t.who").text == "decline"
    assert asked == ["Which colour for sea?"]
    assert job.cancel() == "cancelled"


@pytest.mark.parametrize("era", ERAS)
def test_result_on_the_kernels_thread_does_not_wait_on_its_own_form(manager, era):
    """job.result() on the thread the job's form needs fails at once; the cell ends, the form is answered, ``await job`` has it."""
    from mcp_types import ElicitResult

    add(manager, era)

    async def form(caller, server, params, timeout):  # as the UI's form: shown and answered on the kernel's loop (the cell's)
        ours = asyncio.get_running_loop()
        answer = ours.create_future()
        caller.loop.call_soon_threadsafe(lambda: ours.call_soon_threadsafe(answer.set_result, "blue"))
        return ElicitResult(action="accept", content={"colour": await asyncio.wait_for(answer, timeout)})

    manager.requests.form_handler = form

    async def cells():
        job = manager.start("t.ask", {"topic": "sky"})
        with pytest.raises(McpJupyterError, match="waiting for your answer in the form") as caught:
            job.result(timeout=20)
        assert "\n" not in str(caught.value) and "await job" in str(caught.value)
        assert job.status == "input_required"  # the job keeps waiting for its answer
        return (await job).text  # the kernel's loop is free: the form shows and is answered

    assert asyncio.run(cells()) == "colour: blue"


@pytest.mark.parametrize("era", ERAS)
def test_cancelling_a_job_that_just_ended_returns_how_it_ended(manager, era):
    add(manager, era)
    job = manager.start("t.research", {"topic": "owls", "seconds": 0, "poll_ms": 3000})  # ends at once; our next poll is in 3 s
    assert job.status == "working"
    assert job.cancel() == "completed"  # the server refuses tasks/cancel: the task had ended
    assert job.result(timeout=20).text == "report on owls"


@pytest.mark.parametrize("era", ERAS)
def test_a_task_the_server_does_not_know_is_a_lookup_error(manager, era):
    add(manager, era)
    with pytest.raises(LookupFailed, match=r"server 't' has no task 'no-such-task'.*%mcp tasks t") as caught:
        manager.task("t", "no-such-task")
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200
    assert manager.jobs == []


@pytest.mark.parametrize("era", ERAS)
def test_a_timed_out_jobs_record_says_it_timed_out(manager, era):
    add(manager, era)
    job = manager.start("t.slow", {"seconds": 60}, timeout=0.5)
    with pytest.raises(RequestTimeout, match="did not finish within 0.5 s"):
        job.result(timeout=20)
    assert (job.status, job.message) == ("cancelled", "timed out after 0.5 s")
    assert "cancelled · timed out after 0.5 s" in repr(job)


def test_a_question_we_cannot_read_is_declined_to_the_server(manager):
    """2026-07-28: a malformed question in inputRequests is answered decline (the server is not left waiting)."""
    add(manager, "modern")
    job = manager.start("t.ask", {"topic": "sea", "kind": "malformed"})
    assert job.result(timeout=20).text == "no colour: decline"


@pytest.mark.parametrize(("kind", "why"), [("sampling", "sampling/createMessage declined"), ("unknown", "'colours/pick'")])
def test_a_request_we_cannot_answer_cancels_the_task(manager, kind, why):
    """2026-07-28: an input request with no declining answer (sampling without a handler, an unknown method) cancels the task."""
    add(manager, "modern")
    sent = threading.Event()
    manager.connection("t").listeners.append(lambda entry: sent.set() if "tasks/cancel sent" in entry.message else None)
    job = manager.start("t.ask", {"topic": "sea", "kind": kind})
    with pytest.raises(TaskCancelled, match=why) as caught:
        job.result(timeout=20)
    assert "\n" not in str(caught.value) and "tasks/cancel was sent" in str(caught.value)
    assert sent.wait(20)
    manager.jobs.clear()  # ask the server, our handle forgotten
    assert manager.task("t", job.task_id).status == "cancelled"
