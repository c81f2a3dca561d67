"""MCP Tasks without a server: what a server says about a task (checked, bounded), poll delays, when a call is a task."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from mcp_types import ServerCapabilities, Tool

from mcpomni_jupyter.config import parse_server
from mcpomni_jupyter.core.session.connection import Connection
from mcpomni_jupyter.core.session.session import Session
from mcpomni_jupyter.core.tasks import calls as taskcall
from mcpomni_jupyter.core.tasks import wire as tasks
from mcpomni_jupyter.core.tasks.run import ID_CHARS, MESSAGE_CHARS, SHOWN_ID_CHARS, TaskRun, checked_id, parse_task
from mcpomni_jupyter.errors import LookupFailed, ServerError

LEGACY, MODERN = "2025-11-25", "2026-07-28"


# ---------------------------------------------------------------------- task ids


@pytest.mark.parametrize("good", ["a", "786512e2-0c3f-4b1e-9d7a-1f2e3d4c5b6a", "x" * ID_CHARS, "tâche-ü", "a b"])
def test_checked_id_keeps_short_printable_strings(good):
    assert checked_id(good, "s") == good


@pytest.mark.parametrize(
    "bad",
    [
        "x" * (ID_CHARS + 1),
        "x" * 100_000,
        "",
        "a\x1b[2Jb",  # a terminal escape
        "a\nb",
        "a\rb",
        "a\x00b",
        "a\u202eb",  # right-to-left override
        "a\tb",
        None,
        42,
        4.2,
        True,
        ["a"],
        {"id": "a"},
        b"abc",
    ],
    ids=repr,
)
def test_checked_id_refuses_hostile_ids_in_one_short_line(bad):
    with pytest.raises(ServerError) as caught:
        checked_id(bad, "s")
    message = str(caught.value)
    assert "unusable task id" in message and "'s'" in message
    assert len(message) < 400 and "\n" not in message and "\x1b" not in message and "\x00" not in message


# ---------------------------------------------------------------------- task objects


def task(**extra):
    return {"taskId": "t-1", "status": "working", **extra}


def test_parse_task_reads_both_eras_spellings():
    legacy = parse_task(task(ttl=60_000, pollInterval=250, statusMessage="step 1", createdAt="2025-01-01T00:00:00Z"), "s")
    modern = parse_task(task(ttlMs=60_000, pollIntervalMs=250, statusMessage="step 1", lastUpdatedAt="2025-01-01T00:00:01Z"), "s")
    assert (legacy.ttl_ms, legacy.poll_ms, legacy.message, legacy.created_at) == (60_000, 250, "step 1", "2025-01-01T00:00:00Z")
    assert (modern.ttl_ms, modern.poll_ms, modern.updated_at) == (60_000, 250, "2025-01-01T00:00:01Z")
    done = parse_task({"taskId": "t-2", "status": "completed", "result": {"content": []}, "error": "nope", "inputRequests": [1]}, "s")
    assert done.result == {"content": []} and done.error is None and done.input_requests is None  # wrong types dropped


@pytest.mark.parametrize("status", ["working", "input_required", "completed", "failed", "cancelled"])
def test_parse_task_takes_every_known_status(status):
    assert parse_task(task(status=status), "s").status == status


@pytest.mark.parametrize(
    "raw", [None, [], "task", 3, task(status="done"), task(status=None), task(status="WORKING"), {"status": "working"}]
)
def test_parse_task_refuses_what_cannot_be_followed(raw):
    with pytest.raises(ServerError) as caught:
        parse_task(raw, "s")
    assert len(str(caught.value)) < 400


def test_parse_task_refuses_an_unknown_status_briefly():
    with pytest.raises(ServerError, match="unknown task status") as caught:
        parse_task(task(status="x" * 10_000), "s")
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize("value", [-1, True, False, "250", None, 10**12, float("nan"), [250], {"ms": 1}])
def test_numbers_a_server_sends_wrong_are_ignored(value):
    state = parse_task(task(pollInterval=value, ttl=value), "s")
    assert state.poll_ms is None and state.ttl_ms is None


def test_status_messages_are_bounded_and_on_one_printable_line():
    state = parse_task(task(statusMessage="m" * 100_000), "s")
    assert state.message is not None and len(state.message) <= MESSAGE_CHARS and "more characters" in state.message
    state = parse_task(task(statusMessage="step\x1b[2J 1\nof\r3\x00"), "s")
    assert state.message is not None and state.message.isprintable() and "step" in state.message and "of" in state.message
    assert parse_task(task(statusMessage=""), "s").message is None
    assert parse_task(task(statusMessage=["a"]), "s").message is None
    assert len(parse_task(task(createdAt="c" * 5000), "s").created_at or "") <= 64


def test_a_task_run_bounds_what_it_says():
    run = TaskRun("s", "tool")
    assert run.shown_id == "?" and run.status == "starting" and not run.done
    run.update(parse_task({"taskId": "y" * ID_CHARS, "status": "working", "statusMessage": "step 2 of 3"}, "s"))
    assert len(run.shown_id) == SHOWN_ID_CHARS and run.shown_id.endswith("…")
    assert run.line() == "working · step 2 of 3"
    run.finish("failed", "e" * 100_000)
    assert run.status == "failed" and len(run.message or "") <= MESSAGE_CHARS
    run.finish("cancelled", "later")  # terminal states never change
    run.update(parse_task({"taskId": "y" * ID_CHARS, "status": "working"}, "s"))
    assert run.status == "failed" and run.known.is_set() and run.ended is not None


def test_a_task_run_refuses_news_of_another_task():
    run = TaskRun("s", "tool")
    run.update(parse_task(task(), "s"))
    with pytest.raises(ServerError, match="not 't-1'"):
        run.update(parse_task({"taskId": "t-2", "status": "completed"}, "s"))
    assert run.status == "working"


def test_a_listener_that_fails_never_breaks_the_run():
    run = TaskRun("s", "tool")
    heard = []
    run.listeners += [lambda r: 1 / 0, lambda r: heard.append(r.status)]
    run.on_status = lambda *a: 1 / 0
    run.update(parse_task(task(), "s"))
    run.finish("completed", None)
    assert heard == ["working", "completed"]


# ---------------------------------------------------------------------- poll delays


@pytest.mark.parametrize(
    ("poll_ms", "first", "expected"),
    [
        (None, False, tasks.DEFAULT_POLL),
        (None, True, tasks.DEFAULT_POLL),
        (0, True, 0.0),  # the first poll may come at once when the server asks for 0
        (0, False, tasks.MIN_POLL),
        (1, False, tasks.MIN_POLL),
        (250, False, 0.25),
        (250, True, 0.25),
        (10**11, False, tasks.MAX_POLL),
        (10**11, True, tasks.MAX_POLL),
    ],
)
def test_poll_intervals_are_clamped(poll_ms, first, expected):
    run = TaskRun("s", "tool")
    run.update(parse_task(task(pollInterval=poll_ms), "s"))
    assert tasks._delay(run, first) == pytest.approx(expected)


# ---------------------------------------------------------------------- when a call goes out as a task


def connection(era: str, offers: bool) -> Connection:
    c = Connection(parse_server("t", {"command": "true"}))
    if era == LEGACY:
        caps = {"tasks": {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}} if offers else {"tools": {}}
    else:
        caps = {"extensions": {tasks.EXTENSION_ID: {}}} if offers else {"tools": {}}
    # what the handshake would have given: the negotiated era and the server's capabilities
    client = SimpleNamespace(
        protocol_version=era, server_info=None, instructions=None, server_capabilities=ServerCapabilities.model_validate(caps)
    )
    c.session = Session(c, client, [])
    return c


def tool(support: str | None) -> Tool:
    raw = {"name": "job", "inputSchema": {"type": "object"}}
    if support is not None:
        raw["execution"] = {"taskSupport": support}
    return Tool.model_validate(raw)


def expected(support: str | None, asked: bool, era: str, offers: bool) -> bool | str:
    """The matrix, written out: True / False, or the start of the error."""
    if not offers:
        return "does not offer" if asked else False
    if era == MODERN:
        return True  # the server alone decides; we follow whatever task it answers with
    if support in ("forbidden", None):
        return "cannot run as a task" if asked else False
    return support == "required" or asked


MATRIX = list(itertools.product(["required", "optional", "forbidden", None], [False, True], [LEGACY, MODERN], [True, False]))


@pytest.mark.parametrize(("support", "asked", "era", "offers"), MATRIX, ids=lambda v: str(v))
def test_as_task_matrix(support, asked, era, offers):
    want = expected(support, asked, era, offers)
    c, spec = connection(era, offers), tool(support)
    if isinstance(want, str):
        with pytest.raises(LookupFailed, match=want) as caught:
            tasks.as_task(c, spec, asked)
        assert "t.job" in str(caught.value) and "--task / --background" in str(caught.value)
    else:
        assert tasks.as_task(c, spec, asked) is want


def test_the_matrix_covers_every_outcome():
    outcomes = {str(expected(*row)) for row in MATRIX}
    assert outcomes == {"True", "False", "does not offer", "cannot run as a task"}


def test_what_a_server_offers():
    assert tasks.offers_tasks(connection(LEGACY, True)) and tasks.offers_tasks(connection(MODERN, True))
    assert not tasks.offers_tasks(connection(LEGACY, False)) and not tasks.offers_tasks(connection(MODERN, False))
    legacy_caps_on_modern = connection(MODERN, False)
    legacy_caps_on_modern.session.capabilities = connection(LEGACY, True).capabilities  # type: ignore[union-attr]
    assert not tasks.offers_tasks(legacy_caps_on_modern)  # each era's own declaration counts, not the other's
    unconnected = Connection(parse_server("t", {"command": "true"}))
    assert not tasks.offers_tasks(unconnected)
    assert taskcall.lists_tasks(connection(LEGACY, True))
    assert not taskcall.lists_tasks(connection(MODERN, True)) and not taskcall.lists_tasks(connection(LEGACY, False))


@pytest.mark.parametrize(
    ("support", "read"), [("required", "required"), ("optional", "optional"), ("forbidden", "forbidden"), (None, "forbidden")]
)
def test_task_support_of_a_tool(support, read):
    assert tasks.task_support(tool(support)) == read
    assert tasks.task_support(object()) == "forbidden"


def test_an_sdk_without_the_session_envelope_is_one_clear_error():
    """Task requests use the SDK session's private envelope; an SDK release without it says what to do, not AttributeError."""
    import asyncio

    from mcpomni_jupyter.errors import McpJupyterError

    class Bare:  # a session of some other SDK release
        pass

    with pytest.raises(McpJupyterError, match=r"tasks/get: .*no session envelope.*pip install 'mcp~=2.3'.*without --task"):
        asyncio.run(tasks.send(Bare(), "tasks/get", {"taskId": "t1"}))


# ---------------------------------------------------------------------- input requests (2026-07-28), what is shown


def test_answered_input_requests_stay_bounded():
    """A server sending new input request keys on every poll never grows what we remember past one answer's worth."""
    import asyncio

    from mcpomni_jupyter.core.tasks.inputs import MAX_REQUESTS, answer_requests

    c = connection(MODERN, True)  # no callbacks: every question is declined, and answered so
    run = TaskRun("t", "job")
    answered: set[str] = set()
    for poll in range(50):
        run.input_requests = {f"k{poll}-{i}": {"method": "elicitation/create", "params": {}} for i in range(40)}
        responses = asyncio.run(answer_requests(c, run, answered))
        assert len(answered) <= MAX_REQUESTS
    assert list(responses.values()) == [{"action": "decline"}] * MAX_REQUESTS  # declined, and answered so
    assert asyncio.run(answer_requests(c, run, answered)) == {}  # still outstanding: not asked again


def job_with(message: str):
    import concurrent.futures

    from mcpomni_jupyter.core.tasks.methods import TaskJob

    run = TaskRun("s", "tool")
    run.update(parse_task({"taskId": "t-1", "status": "working", "statusMessage": message}, "s"))
    return TaskJob(SimpleNamespace(ui_host=SimpleNamespace(task_view=None)), None, run, concurrent.futures.Future())  # type: ignore[arg-type]


def test_a_jobs_text_forms_are_redacted():
    from mcpomni_jupyter.redact import add_secret

    add_secret("hunter2-secret-value")
    job = job_with("using hunter2-secret-value and token=abcdef123456")
    bundle = job._repr_mimebundle_()
    for text in (repr(job), job.line(), bundle["text/plain"], bundle["text/html"]):
        assert "hunter2" not in text and "abcdef123456" not in text and "***" in text, text
