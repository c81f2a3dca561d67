"""MCP Apps: the kernel's side against our Apps server (the SDK's ``mcp.server.apps``), no browser."""

from __future__ import annotations

import sys

import pytest
from conftest import HERE

from mcpomni_jupyter.config import parse_server
from mcpomni_jupyter.core.apps.app import APP_MIME
from mcpomni_jupyter.errors import LookupFailed, ServerError

APPS = [sys.executable, str(HERE / "servers" / "apps_server.py"), "stdio"]


def add_apps(manager, name: str = "apps") -> None:
    manager.add_server(parse_server(name, {"command": APPS[0], "args": APPS[1:]}))
    manager.connect(name)


@pytest.mark.parametrize("on", [True, False])
def test_the_extension_is_advertised_only_when_enabled(manager, on):
    manager.enable_apps(on)
    add_apps(manager)
    assert manager.call("apps.supports_apps", {}).value is on


def test_app_only_tools_are_hidden_from_the_listing_unless_asked(manager):
    manager.enable_apps()
    add_apps(manager)
    assert "increment" not in manager.list_tools("apps").names
    assert "increment" in manager.list_tools("apps", everything=True).names
    assert "counter" in manager.list_tools("apps").names


def test_a_calls_app_is_read_with_its_policy_and_asked_permissions(manager):
    manager.enable_apps()
    add_apps(manager)
    result = manager.call("apps.counter", {"start": 3})
    app = manager.app_for(result)
    assert app is not None and app.uri == "ui://counter/app.html" and app.server == "apps"
    assert "window.parent.postMessage" in app.html
    assert app.csp.startswith("default-src 'none'; ") and "connect-src 'none'" in app.csp and "object-src 'none'" in app.csp
    assert app.asked == ["camera", "clipboard-write"]
    assert app.tool["name"] == "counter" and app.tool["_meta"]["ui"]["resourceUri"] == app.uri
    assert manager.app_for(manager.call("apps.plain", {})) is None  # no app: the text result alone


def test_a_tools_app_is_read_once_until_the_lists_change(manager, monkeypatch):
    """The ui:// resource (up to 5 MB) is not read again at every call: kept until the server's lists are read again."""
    from mcpomni_jupyter.core.session.session import Session

    reads: list[str] = []
    original = Session.read_resource

    async def counting(self, uri, *, timeout):
        reads.append(uri)
        return await original(self, uri, timeout=timeout)

    monkeypatch.setattr(Session, "read_resource", counting)
    manager.enable_apps()
    add_apps(manager)
    first = manager.app_for(manager.call("apps.counter", {"start": 1}))
    again = manager.app_for(manager.call("apps.counter", {"start": 2}))
    assert first is again and reads == ["ui://counter/app.html"]
    manager.refresh("apps")  # listed again: the app may have changed
    assert manager.app_for(manager.call("apps.counter", {"start": 3})) is not first and len(reads) == 2


def test_an_apps_requests_go_to_its_server_within_visibility(manager):
    manager.enable_apps()
    add_apps(manager)
    done = manager.ui.app_request("apps", "tools/call", {"name": "increment", "arguments": {"count": 3}}).result(30)
    assert "4" in done["content"][0]["text"] and done["isError"] is False
    with pytest.raises(LookupFailed, match="not callable from an app"):
        manager.ui.app_request("apps", "tools/call", {"name": "model_only", "arguments": {}}).result(30)
    with pytest.raises(LookupFailed, match="has no tool"):
        manager.ui.app_request("apps", "tools/call", {"name": "nope"}).result(30)
    with pytest.raises(LookupFailed, match="may send tools/call and resources/read"):
        manager.ui.app_request("apps", "sampling/createMessage", {})
    read = manager.ui.app_request("apps", "resources/read", {"uri": "ui://counter/app.html"}).result(30)
    assert read["contents"][0]["mimeType"] == APP_MIME


def test_a_resource_that_is_not_an_app_is_one_clear_error(manager):
    manager.enable_apps()
    add_apps(manager)
    result = manager.call("apps.wrong_type", {})
    with pytest.raises(ServerError, match="is 'text/plain', not text/html;profile=mcp-app; the tool's text result is shown"):
        manager.app_for(result)
    assert result.text == "the text result of wrong_type"
    assert manager.call("apps.plain", {}).text == "plain text"  # the connection goes on


def test_in_plain_ipython_a_call_shows_text_and_no_app(run):
    run(f"%mcp add apps -- {' '.join(APPS)}")
    cell = run("%mcp call apps.counter start=2")
    assert cell.ok and "MCP App" not in cell.out


def test_what_an_app_leaves_on_its_view_is_bounded(manager):
    from mcpomni_jupyter.core.apps.app import dump
    from mcpomni_jupyter.ui.apps import AppView

    manager.enable_apps()
    add_apps(manager)
    result = manager.call("apps.counter", {"start": 1})
    view = AppView(manager, manager.app_for(result), {"start": 1}, dump(result.raw))
    view._received(view, {"type": "message", "params": {"role": "user", "content": {"type": "text", "text": "hi"}}}, [])
    view._received(view, {"type": "message", "params": {"text": "x" * (2 * 1024 * 1024)}}, [])
    view._received(view, {"type": "context", "params": {"text": "y" * (2 * 1024 * 1024)}}, [])
    assert len(view.messages) == 1 and view.model_context is None
    view._received(view, {"type": "context", "params": {"structuredContent": {"n": 1}}}, [])
    assert view.model_context == {"structuredContent": {"n": 1}}
    view.close()


def test_an_apps_requests_and_answers_are_bounded(manager, monkeypatch):
    """An app may keep at most MAX_IN_FLIGHT requests waiting, gets no answer above MAX_RESULT_BYTES, and writes a bounded log."""
    import time

    import mcpomni_jupyter.ui.apps as ui_apps
    from mcpomni_jupyter.core.apps.app import dump
    from mcpomni_jupyter.ui.apps import MAX_IN_FLIGHT, MAX_LINES, AppView

    manager.enable_apps()
    add_apps(manager)
    result = manager.call("apps.counter", {"start": 1})
    view = AppView(manager, manager.app_for(result), {"start": 1}, dump(result.raw))
    sent: list = []
    monkeypatch.setattr(view, "send", sent.append)
    for key in range(MAX_IN_FLIGHT + 1):  # each waits 1 s at the server: the last finds the window full
        view._received(
            view, {"type": "request", "key": key, "method": "tools/call", "params": {"name": "later", "arguments": {"seconds": 1}}}, []
        )
    assert [m["key"] for m in sent] == [MAX_IN_FLIGHT] and "already waiting for the server" in sent[0]["error"]["message"]
    deadline = time.monotonic() + 20
    while len(sent) < MAX_IN_FLIGHT + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(m["key"] for m in sent if "result" in m) == list(range(MAX_IN_FLIGHT))
    # an answer larger than the limit is not handed over; the window is free again
    monkeypatch.setattr(ui_apps, "MAX_RESULT_BYTES", 10_000)
    sent.clear()
    view._received(
        view,
        {"type": "request", "key": "big", "method": "tools/call", "params": {"name": "later", "arguments": {"seconds": 0, "size": 20_000}}},
        [],
    )
    while not sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sent and "larger than" in sent[0]["error"]["message"] and "result" not in sent[0]
    # log lines: at most MAX_LINES, the last one saying the rest are dropped
    log_before = len(manager.log("apps"))
    for i in range(MAX_LINES + 50):
        view._received(view, {"type": "log", "params": {"data": f"line {i}"}}, [])
    written = manager.log("apps")[log_before:]
    assert MAX_LINES - 20 <= len(written) <= MAX_LINES and "further lines are dropped" in str(written[-1])
    view.close()
