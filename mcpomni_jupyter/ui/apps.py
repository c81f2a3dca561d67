"""MCP Apps rendered under the cell: the host widget (anywidget; its ESM ``apps.js`` ships in the package).

``AppView`` carries one tool call's app to the page: the HTML of its
``ui://`` resource, the Content-Security-Policy the kernel built from the
resource's ``_meta.ui.csp``, the permissions granted (those the resource asks
for *and* ``MCPMagics.app_permissions`` allows), the tool's definition, the
call's arguments and result.  The page side runs it in an iframe sandboxed
with ``allow-scripts`` only and speaks the extension's host protocol; the
app's ``tools/call`` and ``resources/read`` come here and go to the app's own
server in the background (the kernel is free meanwhile), with the same
timeout, error mapping and redaction as a magic's call.  Its log lines go to
``%mcp log``; its ``ui/message`` texts and model context are kept on the
view (``.messages``, ``.model_context``).  An app that navigates its own
frame away from its document (which no policy in the document can forbid)
is removed by the page at once, with one line under the cell and in the log.  Where no front end renders
widgets, the text form says what the app is, and the tool's text result
shows as usual.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import anywidget
import traitlets

from mcpomni_jupyter._version import __version__
from mcpomni_jupyter.core.apps.app import PERMISSIONS, App
from mcpomni_jupyter.errors import McpJupyterError
from mcpomni_jupyter.redact import redact

_HERE = pathlib.Path(__file__).parent
MAX_RESULT_BYTES = 5 * 1024 * 1024  # a result larger than this is not handed to an app
MAX_REQUEST_BYTES = 1024 * 1024  # an app's request (its arguments) larger than this is refused
MAX_KEPT = 100  # messages an app may leave on its view
MAX_IN_FLIGHT = 8  # an app's requests waiting for its server; more are refused until answers come
MAX_LINES = 200  # log lines an app may write into its server's log (the log keeps 500)


class AppView(anywidget.AnyWidget):
    """One MCP App, live under the cell that called its tool."""

    _esm = _HERE / "apps.js"
    uri = traitlets.Unicode().tag(sync=True)
    html = traitlets.Unicode().tag(sync=True)
    csp = traitlets.Unicode().tag(sync=True)
    allow = traitlets.Unicode().tag(sync=True)  # the iframe's allow attribute: the granted permissions
    granted = traitlets.Dict().tag(sync=True)  # the same, as hostCapabilities.sandbox.permissions
    prefers_border = traitlets.Bool(None, allow_none=True).tag(sync=True)
    tool_info = traitlets.Dict().tag(sync=True)
    tool_input = traitlets.Dict().tag(sync=True)
    tool_result = traitlets.Dict().tag(sync=True)
    host_version = traitlets.Unicode(__version__).tag(sync=True)

    def __init__(self, manager: Any, app: App, arguments: dict[str, Any], result: dict[str, Any], allowed: tuple[str, ...] = ()) -> None:
        features = [feature for feature in app.asked if feature in {PERMISSIONS.get(name, name) for name in allowed}]
        super().__init__(
            uri=app.uri,
            html=app.html,
            csp=app.csp,
            allow="; ".join(features),
            granted={key: {} for key, feature in PERMISSIONS.items() if feature in features},
            prefers_border=app.prefers_border,
            tool_info=app.tool,
            tool_input=arguments,
            tool_result=result,
        )
        self._manager, self.server = manager, app.server
        self.messages: list[Any] = []  # what the app sent with ui/message
        self.model_context: Any = None  # the app's last ui/update-model-context
        self.left = False  # the app navigated its frame away from its document: the page removed it
        self.initialized_ms: int | None = None  # from render to the app's "initialized", as the page measured it
        self._in_flight = 0  # requests sent to the server and not yet answered (changed on the loop thread too)
        self._lines = 0  # log lines written for this app
        self.on_msg(self._received)

    def _received(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "request":
            self._request(content.get("key"), content.get("method"), content.get("params"))
        elif kind == "initialized" and isinstance(content.get("ms"), int):
            self.initialized_ms = content["ms"]
        elif kind == "log":
            self._record(f"app {self.uri}: {str(content.get('params'))[:2000]}")
        elif kind == "message" and len(self.messages) < MAX_KEPT and _small(content.get("params")):
            self.messages.append(content.get("params"))
            self._record(f"app {self.uri} says: {str(content.get('params'))[:2000]}")
        elif kind == "context" and _small(content.get("params")):
            self.model_context = content.get("params")
        elif kind == "left":
            self.left = True
            self._record(f"app {self.uri} left its frame (it navigated to another page) and was removed")

    def _record(self, text: str) -> None:
        self._lines += 1
        if self._lines > MAX_LINES:
            return
        if self._lines == MAX_LINES:
            text = f"app {self.uri}: {MAX_LINES} lines written; its further lines are dropped"
        try:
            self._manager.connection(self.server).record("app", redact(text))
        except McpJupyterError:
            pass

    def _request(self, key: Any, method: Any, params: Any) -> None:
        def answer(result: Any = None, error: str | None = None, code: int = -32000) -> None:
            body = {"type": "response", "key": key}
            self.send(
                {**body, "error": {"code": code, "message": redact(error)[:2000]}} if error is not None else {**body, "result": result}
            )

        if len(json.dumps(params, default=str)) > MAX_REQUEST_BYTES:
            answer(error=f"the request is larger than {MAX_REQUEST_BYTES // 1024} KB")
            return
        if self._in_flight >= MAX_IN_FLIGHT:
            answer(error=f"{MAX_IN_FLIGHT} requests are already waiting for the server; send more once they are answered")
            return
        self._record(f"app {self.uri}: {method} {str(params)[:300]}")
        try:
            future = self._manager.ui.app_request(self.server, str(method), params)
        except McpJupyterError as exc:
            answer(error=str(exc), code=-32601 if "may send" in str(exc) else -32000)
            return
        self._in_flight += 1

        def done(future: Any) -> None:
            self._in_flight -= 1
            try:
                result = future.result()
                if len(json.dumps(result, default=str)) > MAX_RESULT_BYTES:
                    answer(error=f"the server's answer is larger than {MAX_RESULT_BYTES // 1024 // 1024} MB; not handed to the app")
                else:
                    answer(result)
            except McpJupyterError as exc:
                answer(error=str(exc))
            except Exception as exc:  # noqa: BLE001 - the app must hear back; the kernel goes on
                answer(error=f"{type(exc).__name__}: {exc}")

        future.add_done_callback(done)

    def __repr__(self) -> str:
        return f"[MCP App {self.uri} of {self.server}.{self.tool_info.get('name', '?')}: shown in JupyterLab or Notebook 7]"


def _small(value: Any) -> bool:
    """Whether an app's message or context is small enough to keep (an app is untrusted: what it leaves is bounded)."""
    return len(json.dumps(value, default=str)) <= MAX_REQUEST_BYTES


def app_view(manager: Any, result: Any, arguments: dict[str, Any], allowed: tuple[str, ...] = ()) -> AppView | None:
    """The app of a tool call's ``result``, ready to display; None when the tool has none or its result is too big."""
    from mcpomni_jupyter.core.apps.app import dump

    app = manager.app_for(result)
    if app is None:
        return None
    payload = dump(result.raw)
    if len(json.dumps(payload)) > MAX_RESULT_BYTES:
        return None
    return AppView(manager, app, arguments, payload, allowed)
