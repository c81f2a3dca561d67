"""Elicitation from code and from people: ``mcp.set_elicitation_handler`` (blocking calls included), SEP-1034
defaults, answers checked against the schema, precedence over the form, and URL mode shown as a link that is
never opened by us.  Real parts: the test server (tests/servers/basic.py) over stdio, in both eras."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import webbrowser
from html.parser import HTMLParser

import pytest
from conftest import PY, SERVER

ERAS = {"modern": [], "legacy": ["--legacy"]}
EXPECTED = {"name": "John Doe", "age": 30, "score": 95.5, "status": "active", "verified": True, "tags": ["b"]}  # ask_defaults's


@pytest.fixture(params=list(ERAS))
def era(request):
    return request.param


def connect(run, era: str, name: str = "q"):
    """A stdio test server with the extra question tools, connected in ``era``; the kernel's manager."""
    config = {"mcpServers": {name: {"command": PY, "args": [SERVER, "stdio", *ERAS[era]], "env": {"MCPJ_MORE_QUESTIONS": "1"}}}}
    assert run("%%mcp config\n" + json.dumps(config)).ok
    status = run(f"%mcp connect {name}").value[name]
    assert status.state == "connected"
    from mcpomni_jupyter.core.kernel import get_manager

    mcp = get_manager()
    assert mcp.connection(name).protocol_version == ("2026-07-28" if era == "modern" else "2025-11-25")
    return mcp


def requests_logged(mcp, name: str = "q") -> list[tuple[str, str]]:
    return [(e.level, e.message) for e in mcp.log(name) if e.kind == "request"]


@pytest.fixture
def shown(monkeypatch):
    """What was displayed, and on which thread."""
    seen: list[tuple[object, str]] = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: seen.append((obj, threading.current_thread().name)))
    return seen


@pytest.fixture
def no_browser(monkeypatch, tmp_path):
    """Fails loudly if anything asks ``webbrowser`` (or the BROWSER command) to open a page."""
    calls: list[tuple[str, tuple]] = []
    for name in ("open", "open_new", "open_new_tab", "get"):
        monkeypatch.setattr(webbrowser, name, lambda *args, _name=name, **kw: calls.append((_name, args)))
    marker = tmp_path / "browser-opened"
    monkeypatch.setenv("BROWSER", f"{sys.executable} -c \"open(r'{marker}', 'a').write('opened')\" %s")
    yield calls
    assert calls == [] and not marker.exists(), "a page was opened without the person's click"


# ---------------------------------------------------------------------- the notebook's handler


def test_handler_answers_inside_a_blocking_call(run, era):
    mcp = connect(run, era)
    seen = []

    def answer(message, schema, defaults, server):
        seen.append((message, sorted(schema["properties"]), defaults, server, threading.current_thread().name))
        return {"name": mcp.call("q.echo", text="Ada").text}  # a plain function runs on a thread: it may call the manager

    mcp.set_elicitation_handler(answer)
    cell = run("%mcp call q.ask_user")  # a blocking magic: no top-level await needed
    assert cell.ok and cell.value.text == "accepted: Ada x2"  # count left out: its default (2) was filled in
    assert seen == [("Who are you?", ["count", "name"], {"count": 2}, "q", "mcpomni-elicitation")]
    assert ("info", "elicitation 'Who are you?': the notebook's handler answered accept") in requests_logged(mcp)

    async def coroutine_handler(message, schema, defaults):  # no server parameter: not given one
        await asyncio.sleep(0)
        return {"name": "Grace", "count": 5}

    mcp.set_elicitation_handler(coroutine_handler)
    assert mcp.call("q.ask_user").text == "accepted: Grace x5"  # the Python API's blocking call too
    mcp.set_elicitation_handler(lambda *args: "cancel")
    assert mcp.call("q.ask_user").text == "cancel"
    mcp.set_elicitation_handler(lambda *args: None)
    assert run("%mcp call q.ask_user").value.text == "decline"

    mcp.set_elicitation_handler(None)  # back to the hint
    cell = run("%mcp call q.ask_user")
    assert cell.value.text == "decline" and "or answer from code with mcp.set_elicitation_handler(fn)" in cell.err
    with pytest.raises(TypeError, match="takes a function or None"):
        mcp.set_elicitation_handler("yes")


def test_defaults_are_given_to_the_handler_and_filled_in(run, era):
    mcp = connect(run, era)
    given = []
    mcp.set_elicitation_handler(lambda message, schema, defaults: given.append(dict(defaults)) or {"age": 41})
    answer = json.loads(run("%mcp call q.ask_defaults").value.text)
    expected = EXPECTED
    assert given == [expected]  # no default for nickname: not among them
    assert answer == {"action": "accept", "content": {**expected, "age": 41}}  # what the handler left out got its default

    from mcp_types import ElicitResult

    mcp.set_elicitation_handler(lambda *args: ElicitResult(action="accept"))  # accept, no content: every default
    assert json.loads(mcp.call("q.ask_defaults").text)["content"] == expected
    mcp.set_elicitation_handler(lambda *args: "accept")
    assert json.loads(mcp.call("q.ask_defaults").text)["content"] == expected


def test_an_answer_that_does_not_fit_is_declined_with_a_log_line(run, era):
    mcp = connect(run, era)
    cases = [
        ({"name": 3}, "name: 3 is not of type 'string'"),
        ({"count": 1}, "missing required field(s) name"),
        ({"name": "Ada", "nmae": "x"}, "unexpected field(s) nmae; the question asks for name, count"),
        ({"name": "Ada", "count": 1.5}, "count: 1.5 is not of type 'integer'"),
    ]
    for answer, problem in cases:
        mcp.set_elicitation_handler(lambda *args, answer=answer: answer)
        cell = run("%mcp call q.ask_user")
        assert cell.ok and cell.value.text == "decline", answer
        line = f"declined the server's question 'Who are you?': the notebook's handler's answer does not fit its schema: {problem}"
        assert ("warning", line) in requests_logged(mcp)
        assert line in cell.err  # and said under the cell
    mcp.set_elicitation_handler(lambda *args: {"nickname": "xy"})
    assert json.loads(run("%mcp call q.ask_defaults").value.text)["action"] == "decline"  # minLength 3
    assert any("nickname: 'xy' is too short" in m for _, m in requests_logged(mcp))

    mcp.set_elicitation_handler(lambda *args: 42)
    assert run("%mcp call q.ask_user").value.text == "decline"
    assert any("it returned 42; return a dict of values, None to decline" in m for _, m in requests_logged(mcp))

    def broken(*args):
        raise ValueError("no idea")

    mcp.set_elicitation_handler(broken)
    assert run("%mcp call q.ask_user").value.text == "decline"
    failed = "declined the server's question: the notebook's elicitation handler failed: ValueError: no idea"
    assert ("error", failed) in requests_logged(mcp)


def test_the_handler_wins_over_the_form_and_the_ui_never_replaces_it(run, shell, shown):
    from mcpomni_jupyter.ui.forms import ElicitationForm, ask

    mcp = connect(run, "modern")
    mine = lambda message, schema, defaults: {"name": "code"}  # noqa: E731
    mcp.set_elicitation_handler(mine)
    assert asyncio.run(mcp.acall("q.ask_user")).text == "accepted: code x2"  # top-level await: still the handler
    assert shown == []  # no form

    run("%reload_ext mcpomni_jupyter")  # the UI is installed again on the same manager ...
    assert mcp.requests.elicitation_handler is mine and mcp.requests.form_handler is ask  # ... and both are kept
    mcp.set_elicitation_handler(None)  # removing the handler keeps the form
    assert mcp.requests.form_handler is ask

    async def cell():  # now the form answers, pre-filled with the defaults (SEP-1034)
        task = asyncio.ensure_future(mcp.acall("q.ask_defaults"))
        while not shown:
            await asyncio.sleep(0.05)
        form = shown[0][0]
        assert isinstance(form, ElicitationForm)
        values = {name: widget.value for name, widget in form.fields.items()}
        assert values == {**EXPECTED, "tags": ("b",), "nickname": ""}
        form.fields["nickname"].value = "xy"
        form.accept.click()
        assert "nickname: &#x27;xy&#x27; is too short" in form.status.value and not form.accept.disabled  # checked before sending
        form.fields["nickname"].value = ""  # optional and empty: left out
        form.fields["tags"].value = ("a", "c")
        form.accept.click()
        return await task

    answer = json.loads(asyncio.run(asyncio.wait_for(cell(), 60)).text)
    assert answer["action"] == "accept"
    assert answer["content"] == {**EXPECTED, "tags": ["a", "c"]}


# ---------------------------------------------------------------------- URL mode


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.anchors.append(dict(attrs))

    def handle_data(self, data):
        self.text.append(data)


def parsed(html: str) -> _Anchors:
    parser = _Anchors()
    parser.feed(html)
    parser.close()
    return parser


def test_a_page_to_open_is_shown_as_a_link_in_the_blocking_cell_and_never_opened(run, era, shown, no_browser, monkeypatch):
    from mcpomni_jupyter.core.session.connection import Connection
    from mcpomni_jupyter.ui.links import LinkNotice

    messages = []
    original = Connection._on_message

    async def spy(self, message):
        messages.append(message)
        await original(self, message)

    monkeypatch.setattr(Connection, "_on_message", spy)
    mcp = connect(run, era)
    url = 'https://example.com/login?next=%2Fhome&a=1&q="><script>alert(1)</script>'
    cell = run(f"%mcp call q.open_link --json '{json.dumps({'url': url})}'")
    assert cell.ok and cell.value.text == "link: accept", cell.err
    assert len(shown) == 1
    notice, thread = shown[0]
    assert isinstance(notice, LinkNotice) and thread == "MainThread"  # shown by the blocking call's tick, in its cell
    page = parsed(notice._repr_html_())
    assert "script" not in page.tags  # the URL's markup is escaped
    assert [a["href"] for a in page.anchors] == [url, url]  # the Open button and the link, to exactly that URL
    assert all(a["target"] == "_blank" and "noopener" in (a["rel"] or "") for a in page.anchors)
    text = "".join(page.text)
    assert "Open" in text and "asks you to open a page on example.com" in text and "Sign in to <b>Example</b> to continue." in text
    assert "Nothing was opened" in text and url in repr(notice)
    ident = " (elicitation login-1)" if era == "legacy" else ""
    assert (
        "info",
        f"showed a link to example.com for the person to open{ident}: 'Sign in to <b>Example</b> to continue.'; answered accept",
    ) in requests_logged(mcp)
    if era == "legacy":  # the SDK hands notifications/elicitation/complete to the connection's message handler
        assert any(getattr(getattr(m, "params", None), "elicitation_id", None) == "login-1" for m in messages)


def test_a_page_to_open_under_top_level_await_and_from_the_python_api(run, shown, no_browser):
    mcp = connect(run, "modern")
    assert asyncio.run(mcp.acall("q.open_link")).text == "link: accept"
    assert len(shown) == 1 and shown[0][1] == "MainThread"  # displayed on the cell's own loop
    assert mcp.call("q.open_link").text == "link: accept"  # a blocking call with no tick: shown all the same
    assert len(shown) == 2 and shown[1][1] == "mcpomni-loop"  # plain output (no widget) from the loop thread
    mcp.set_elicitation_handler(lambda *args: "decline")  # code never answers a page to open: still the person's
    assert mcp.call("q.open_link").text == "link: accept" and len(shown) == 3


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/login",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,<script>alert(1)</script>",
        "https://trusted.example@evil.example/",
        "ftp://example.com/x",
        "https://example.com/\nx",
        "//example.com/no-scheme",
    ],
)
def test_a_page_that_is_not_https_is_declined(url):
    from mcpomni_jupyter.core.requests.handlers import checked_link

    link, problem = checked_link("s", "m", url)
    assert link is None and problem


def test_declined_links_in_a_real_call(run, shown, no_browser):
    mcp = connect(run, "legacy")
    for url, problem in [
        ("http://example.com/login", "it is plain http to 'example.com'; only https, or http to this machine (localhost), is allowed"),
        ("javascript:alert(1)", "only https URLs are allowed, and this one is 'javascript'"),
        ("https://trusted.example@evil.example/", "its URL carries a user name or password before the host"),
    ]:
        cell = run(f"%mcp call q.open_link url={json.dumps(url)}")
        assert cell.value.text == "link: decline", url
        assert any(level == "warning" and problem in message for level, message in requests_logged(mcp)), problem
        assert "declined the server's request to open a page" in cell.err
    assert shown == []
    for url in ("http://127.0.0.1:8888/lab", "http://localhost/x", "http://[::1]:9/y", "https://bücher.example/"):
        assert run(f"%mcp call q.open_link url={json.dumps(url)}").value.text == "link: accept", url
    assert len(shown) == 4 and "xn--bcher-kva.example (bücher.example)" in shown[-1][0]._repr_html_()


def test_without_a_notebook_display_a_page_to_open_is_declined(manager, no_browser):
    manager.add("q", command=PY, args=[SERVER, "stdio"], env={"MCPJ_MORE_QUESTIONS": "1"})
    assert manager.connect("q")["q"].state == "connected"
    assert manager.call("q.open_link").text == "link: decline"
    assert any("there is no notebook display to show the link on" in m for _, m in requests_logged(manager))


# ---------------------------------------------------------------------- the schema, unit by unit


def test_a_question_schema_never_follows_a_ref(tmp_path):
    import http.server

    from mcpomni_jupyter.core.requests.handlers import check_answer, question_schema, schema_defaults

    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        requested = {
            "type": "object",
            "properties": {
                "a": {"$ref": f"http://127.0.0.1:{server.server_port}/a.json", "type": "string"},
                "b": {"type": "integer", "default": "abc"},  # a default that does not fit: not offered, not filled
                "c": {"type": "string", "enum": ["x", "y"], "default": "y", "allOf": [{"$ref": "#/nowhere"}]},
            },
            "required": ["a", "ghost"],
        }
        schema = question_schema(requested)
        assert schema["required"] == ["a"] and "$ref" not in json.dumps(schema) and "allOf" not in json.dumps(schema)
        assert schema_defaults(schema) == {"c": "y"}
        assert check_answer(schema, {"a": "fine"}) is None
        assert check_answer(schema, {"a": 1}) == "a: 1 is not of type 'string'"
        assert check_answer(schema, ["a"]) == "the answer must be a dict of field values, not list"
        broken = question_schema({"properties": {"p": {"type": "strnig"}}})
        assert check_answer(broken, {"p": "x"}) == "the server's schema cannot be checked (UnknownType)"
        assert hits == []
    finally:
        server.shutdown()


def test_a_servers_regular_expression_is_never_run():
    """A pattern and a default that would backtrack for ever: the pattern is left to the server."""
    import time

    from mcpomni_jupyter.core.requests.handlers import check_answer, question_schema, schema_defaults

    evil = {"type": "string", "pattern": "^(a+)+$", "default": "a" * 64 + "!"}
    schema = question_schema({"properties": {"p": evil}})
    started = time.monotonic()
    assert schema_defaults(schema) == {"p": "a" * 64 + "!"} and check_answer(schema, {"p": "a" * 64 + "!"}) is None
    assert time.monotonic() - started < 2


@pytest.mark.kernel
def test_in_a_real_kernel_the_link_lands_in_the_calling_cell(tmp_path):
    """ipykernel: the blocking magic's tick and the Python API's loop-thread fallback both show the link in their own cell."""
    from tools.kernels import run_notebook

    config = {"mcpServers": {"q": {"command": PY, "args": [SERVER, "stdio"], "env": {"MCPJ_MORE_QUESTIONS": "1"}}}}
    cells = [
        "%load_ext mcpomni_jupyter\nfrom mcpomni_jupyter import get_manager\nmcp = get_manager()",
        "%%mcp config\n" + json.dumps(config),
        "%mcp connect q",
        "%mcp call q.open_link",
        "print('between')",
        "mcp.call('q.open_link').text",
    ]
    nb = run_notebook(cells, tmp_path)

    def html_of(cell) -> str:
        return "".join(str(o.get("data", {}).get("text/html", "")) for o in cell.get("outputs", []))

    for index in (3, 5):
        assert "asks you to open a page on <b>example.com</b>" in html_of(nb.cells[index]), nb.cells[index].outputs
    assert "asks you to open" not in html_of(nb.cells[4])
    assert "link: accept" in str(nb.cells[5].outputs[-1]["data"]["text/plain"])
