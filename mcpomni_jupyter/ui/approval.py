"""The inline Approve / Deny row: the person decides whether a model's tool call (or a server's sampling request) goes out.

Shown by ``approve`` (the ``UiHost.approve`` port) while a call made under
top-level ``await`` waits: the row is created and displayed on the caller's
loop, in the calling cell's context, and only when that loop is the kernel's
own (the main thread of a kernel with a front end), where a click can
arrive.  Anywhere else ``approve`` answers ``None`` at once ("nobody can be
asked here"), and the policy tells the model (and the person) what to do.

Everything in the row came from a model or a server: the arguments (or the
sampling messages) are redacted, bounded and escaped, the tool's annotations
too.  After a click the buttons are disabled and the row says what was
decided; its text form (``text/plain``, the display updated in place, as the
progress bars do) keeps "approved" / "denied" in a saved notebook.
"""

from __future__ import annotations

import asyncio
import html
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from mcpomni_jupyter.redact import redact
from mcpomni_jupyter.results.content import Budget
from mcpomni_jupyter.text import duration, printable

if TYPE_CHECKING:
    from mcpomni_jupyter.core.agents.approval import ApprovalRequest
    from mcpomni_jupyter.core.requests.elicitation import Caller

ARGS_CHARS = 4_000  # of the arguments (or the messages) as shown
HINT_CHARS = 100  # of one annotation's value as shown
HINTS = ("title", "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
NO_HINTS = "none (so, by the spec's defaults: may be destructive, not idempotent, open world)"
BORDER = {None: "#bf8700", "allow": "#1a7f37", "always": "#1a7f37", "deny": "#cf222e", "timeout": "#cf222e", "cancelled": "#9a6700"}


def arguments_text(request: ApprovalRequest) -> str:
    """What the row shows of the request's content: the arguments as JSON, or a sampling request's messages."""
    args = request.arguments
    if request.origin != "sampling":
        text = json.dumps(args, indent=2, ensure_ascii=False, default=str) if args else "(no arguments)"
    else:
        lines = [f"system prompt: {args['systemPrompt']}"] if args.get("systemPrompt") else []
        lines += [f"{m.get('role', '?')}: {m.get('content', '')}" for m in args.get("messages", []) if isinstance(m, dict)]
        lines.append(f"max tokens: {args.get('maxTokens')}")
        text = "\n".join(lines)
    text = redact(text[: ARGS_CHARS * 16])  # cut first: redaction's cost stays bounded; only ARGS_CHARS are shown
    budget = Budget(ARGS_CHARS)
    shown = budget.take_text(text)
    note = budget.note(len(text), "the request carries all of it")
    return printable(shown, keep="\n") + (f"\n{note}" if note else "")


def annotations_text(annotations: dict[str, Any]) -> str:
    """The tool's hints as the server gave them (untrusted: bounded, made printable)."""
    given = [f"{key}: {json.dumps(annotations[key], ensure_ascii=False, default=str)[:HINT_CHARS]}" for key in HINTS if key in annotations]
    return printable(" · ".join(given)) if given else NO_HINTS


class ApprovalRow(w.VBox):
    """Server, tool, arguments and annotations, with Approve / Deny / Always allow; says what was decided."""

    def __init__(self, request: ApprovalRequest, answer: Callable[[str], None]) -> None:
        self.request = request
        self.sampling = request.origin == "sampling"
        self.decision: str | None = None
        self.detail = ""
        self.handle: Any = None
        self._answer = answer
        self.approve = w.Button(description="Approve", button_style="success")
        self.deny = w.Button(description="Deny", button_style="danger")
        always = "Always allow this server's sampling" if self.sampling else "Always allow this tool"
        self.always = w.Button(description=always, layout=w.Layout(width="auto"))
        for button, decision in ((self.approve, "allow"), (self.deny, "deny"), (self.always, "always")):
            button.on_click(lambda _, decision=decision: self.click(decision))
        self.status = w.HTML("<small>waiting for your answer</small>")
        shown = html.escape(arguments_text(request))
        body = w.HTML(f"<pre style='white-space:pre-wrap;margin:2px 0;max-height:16em;overflow:auto'>{shown}</pre>")
        super().__init__(
            [w.HTML(self._head_html()), body, w.HBox([self.approve, self.deny, self.always]), self.status],
            layout=w.Layout(border_left=f"3px solid {BORDER[None]}", padding="2px 8px", margin="4px 0"),
        )

    def _what(self) -> str:
        r = self.request
        return f"{r.server} asks a model to answer (sampling)" if self.sampling else f"a model asks to call {r.qualified}"

    def _head_html(self) -> str:
        r = self.request
        if self.sampling:
            head = f"<b>{html.escape(r.server)}</b> asks a model to answer it (sampling): approve sending these messages?"
        else:
            head = f"A model asks to call <b>{html.escape(r.server)}</b>.<code>{html.escape(r.tool)}</code>"
            head += f"<br><small>annotations: {html.escape(annotations_text(r.annotations))}</small>"
        return head

    def state(self) -> str:
        """What was decided, in words."""
        if self.decision is None:
            return "waiting for your answer"
        if self.decision in ("allow", "always"):
            later = "this server's sampling" if self.sampling else "this tool"
            return "approved" + (f"; {later} is always allowed from now on" if self.decision == "always" else "")
        if self.decision == "timeout":
            return f"denied: no answer within {self.detail}"
        return "cancelled" if self.decision == "cancelled" else "denied"

    def click(self, decision: str) -> None:
        """A button (on the kernel's thread): settle the row, then answer."""
        if self.decision is None:
            self.settle(decision)
            self._answer(decision)

    def settle(self, decision: str, detail: str = "") -> None:
        """Disable the buttons and say what was decided (on the kernel's thread); the saved notebook keeps the text."""
        if self.decision is not None:
            return
        self.decision, self.detail = decision, detail
        for button in (self.approve, self.deny, self.always):
            button.disabled = True
        colour = BORDER.get(decision, BORDER["deny"])
        self.layout.border_left = f"3px solid {colour}"
        self.status.value = f"<b style='color:{colour}'>{html.escape(self.state())}</b>"
        if self.handle is not None:
            self.handle.update(self)

    def __repr__(self) -> str:
        r = self.request
        lines = [f"mcp approval: {self._what()}"]
        if not self.sampling:
            lines.append(f"  annotations: {annotations_text(r.annotations)}")
        lines += ["  " + line for line in arguments_text(r).splitlines()]
        lines.append(f"  {self.state()}")
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = repr(self)
        data["text/html"] = f"<pre style='white-space:pre-wrap;margin:0'>{html.escape(repr(self))}</pre>"
        return data


def front_end() -> bool:
    """Whether a front end can show widgets: a kernel, not plain IPython."""
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def clickable() -> bool:
    """Whether a click can arrive here: the kernel's own loop (its main thread), with a front end."""
    return threading.current_thread() is threading.main_thread() and front_end()


async def approve(caller: Caller, request: ApprovalRequest, timeout: float) -> str | None:
    """Ask the person in the calling cell: "allow", "always" or "deny"; None when nobody can be asked there.

    Raises TimeoutError when nobody answers within ``timeout`` seconds (the row then says so).
    """
    ours = asyncio.get_running_loop()
    answer: asyncio.Future[str | None] = ours.create_future()
    rows: list[ApprovalRow] = []

    def settle(decision: str | None) -> None:
        if not answer.done():
            answer.set_result(decision)

    def reply(decision: str | None) -> None:
        ours.call_soon_threadsafe(settle, decision)

    def show() -> None:
        from IPython.display import display

        if not clickable():
            reply(None)
            return
        try:
            row = ApprovalRow(request, reply)
            row.handle = display(row, display_id=True)
            rows.append(row)
        except Exception:  # noqa: BLE001 - a row that cannot be shown: nobody can answer; never leave the call waiting
            reply(None)

    def close(decision: str, detail: str = "") -> None:
        def settle_row() -> None:
            for row in rows:
                row.settle(decision, detail)

        try:
            caller.loop.call_soon_threadsafe(caller.context.run, settle_row)
        except RuntimeError:  # the kernel's loop is closed: nothing left to update
            pass

    try:
        caller.loop.call_soon_threadsafe(caller.context.run, show)
    except RuntimeError:  # the caller's loop is closed
        return None
    try:
        return await asyncio.wait_for(answer, timeout)
    except TimeoutError:
        close("timeout", duration(timeout))
        raise
    except asyncio.CancelledError:
        close("cancelled")
        raise
