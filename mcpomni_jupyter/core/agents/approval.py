"""What a model may run: rules over ``SERVER.TOOL`` globs (``allow`` / ``ask`` / ``deny``), and the person who answers ``ask``.

One pre-call check of the request primitive (``Session.call_tool``), so it
holds for every tool call, whoever makes it:

- a ``deny`` rule that matches refuses the call for everyone (a person's
  ``%mcp call`` too);
- otherwise, for a call a *model* makes, the most specific matching rule
  decides (the one with the most characters that are not wildcards; a tie
  goes to ``ask``); with no rule, a tool the server annotates
  ``readOnlyHint: true`` is allowed and any other is asked about (the spec's
  default for an unannotated tool is "may be destructive");
- ``ask`` goes to the handler (``mcp.set_approval_handler(fn)``), else to the
  inline Approve / Deny row the UI shows under the running cell (only while
  the cell awaits: a blocked cell cannot take a click), else it is a denial
  that says what to do;
- calls a person, a ``map``, an MCP App or a background job make are never asked.

Every decision is a line in the server's log (``%mcp log``).  A denial raises
``ApprovalDenied``; the agent layer hands it to the model as the tool's error.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mcpomni_jupyter.errors import ApprovalDenied, ArgumentError
from mcpomni_jupyter.redact import redact

if TYPE_CHECKING:
    from mcpomni_jupyter.core.session.session import ToolCall

Decision = Literal["allow", "ask", "deny"]
DECISIONS: tuple[str, ...] = ("allow", "ask", "deny")
APPROVAL_TIMEOUT = 600.0  # how long an ask may wait for the person (or the handler); then it is a denial
MAX_RULES = 1_000
DENIED_BY_PERSON = "the person denied this call"

# the UI's row: asker(caller, request, timeout) -> "allow" | "always" | "deny", or None when nobody can be asked there
Asker = Callable[[Any, "ApprovalRequest", float], Awaitable["str | None"]]


@dataclass(frozen=True)
class ApprovalRequest:
    """What the person is asked about: the call as the model made it (show it escaped, redacted and bounded)."""

    server: str
    tool: str
    arguments: dict[str, Any]
    annotations: dict[str, Any] = field(default_factory=dict)  # the server's hints (readOnlyHint, destructiveHint, title, ...)
    origin: str = "model"

    @property
    def qualified(self) -> str:
        return f"{self.server}.{self.tool}"


@dataclass(frozen=True)
class Verdict:
    decision: str
    why: str  # the rule that decided, or the default that did


def _specificity(pattern: str) -> int:
    return sum(ch not in "*?[]" for ch in pattern)


def checked_rules(rules: Mapping[str, str] | None) -> dict[str, str]:
    """``rules`` checked: ``{GLOB: "allow" | "ask" | "deny"}`` over ``SERVER.TOOL``; raises ArgumentError (one line)."""
    if rules is None:
        return {}
    if not isinstance(rules, Mapping):
        raise ArgumentError('approval rules are a dict {"SERVER.TOOL glob": "allow" | "ask" | "deny"}, e.g. {"fs.read_*": "allow"}')
    if len(rules) > MAX_RULES:
        raise ArgumentError(f"at most {MAX_RULES} approval rules")
    out: dict[str, str] = {}
    for pattern, decision in rules.items():
        if not isinstance(pattern, str) or not pattern.strip():
            raise ArgumentError(f"an approval rule's key is a SERVER.TOOL glob such as 'fs.*', not {pattern!r}")
        if decision not in DECISIONS:
            raise ArgumentError(f"approval rule {pattern!r}: {decision!r} is not one of allow, ask, deny")
        out[pattern.strip()] = decision
    return out


def annotations_of(spec: Any) -> dict[str, Any]:
    annotations = getattr(spec, "annotations", None)
    if annotations is None:
        return {}
    try:
        return dict(annotations.model_dump(by_alias=True, exclude_none=True))
    except AttributeError:
        return {}


class ApprovalPolicy:
    """The rules, the handler and the UI's asker; ``check`` is installed as one of the manager's pre-call checks."""

    def __init__(self) -> None:
        self.rules: dict[str, str] = {}
        self.handler: Callable[..., Any] | None = None  # fn(server, tool, arguments) -> truthy to allow
        self.asker: Asker | None = None  # the UI's inline row
        self.timeout = APPROVAL_TIMEOUT

    def __repr__(self) -> str:
        shown = ", ".join(f"{p!r}: {d!r}" for p, d in self.rules.items()) or "no rules: read-only tools allowed, others asked"
        return f"<approval for model calls: {shown}>"

    def set_rules(self, rules: Mapping[str, str] | None, replace: bool = True) -> None:
        checked = checked_rules(rules)
        self.rules = checked if replace else {**self.rules, **checked}

    def verdict(self, server: str, tool: str, spec: Any, origin: str = "model") -> Verdict:
        """What the rules say of ``SERVER.TOOL`` for a call from ``origin``."""
        qualified = f"{server}.{tool}"
        matching = [(p, d) for p, d in self.rules.items() if fnmatch.fnmatchcase(qualified, p)]
        denying = [p for p, d in matching if d == "deny"]
        if denying:
            return Verdict("deny", f"rule {denying[0]!r}")
        if origin != "model":
            return Verdict("allow", f"a {origin}'s call is not asked")
        if matching:
            pattern, decision = max(matching, key=lambda m: (_specificity(m[0]), m[1] == "ask"))
            return Verdict(decision, f"rule {pattern!r}")
        if annotations_of(spec).get("readOnlyHint") is True:
            return Verdict("allow", "the tool is annotated read-only")
        return Verdict("ask", "the tool is not annotated read-only")

    async def check(self, call: ToolCall, record: Callable[..., Any]) -> None:
        """Let ``call`` go out, or raise ``ApprovalDenied``; each decision is a line in the server's log (``record``)."""
        if call.origin != "model" and not any(d == "deny" for d in self.rules.values()):
            return  # the common case, a person's call with no deny rule, costs nothing
        who = "a model's" if call.origin == "model" else f"a {call.origin}'s"
        verdict = self.verdict(call.server, call.tool, call.spec, call.origin)
        if verdict.decision == "deny":
            record("approval", f"{call.tool}: denied {who} call ({verdict.why})", "warning")
            raise ApprovalDenied(
                f"{call.server}.{call.tool} is denied by the approval policy ({verdict.why}); change it with mcp.set_approval"
            )
        if verdict.decision == "allow":
            if call.origin == "model":
                record("approval", f"{call.tool}: allowed {who} call ({verdict.why})")
            return
        request = ApprovalRequest(call.server, call.tool, dict(call.arguments), annotations_of(call.spec), call.origin)
        answer, by = await self._ask(request, call.caller)
        if answer == "always":
            self.rules[request.qualified] = "allow"
        if answer in ("allow", "always"):
            extra = "; always allowed from now on" if answer == "always" else ""
            record("approval", f"{call.tool}: {by} allowed {who} call ({verdict.why}){extra}")
            return
        reason = DENIED_BY_PERSON if by == "the person" else answer
        record("approval", f"{call.tool}: {who} call denied ({verdict.why}): {reason}", "warning")
        raise ApprovalDenied(reason)

    async def _ask(self, request: ApprovalRequest, caller: Any) -> tuple[str, str]:
        """("allow" | "always" | "deny" | a reason to deny, who answered)."""
        from mcpomni_jupyter.core.requests.elicitation import run_handler

        if self.handler is not None:
            try:
                answer = await asyncio.wait_for(
                    run_handler(self.handler, caller, request.server, request.tool, dict(request.arguments)), self.timeout
                )
            except TimeoutError:
                return f"the approval handler gave no answer within {self.timeout:g} s", "the handler"
            except Exception as exc:  # noqa: BLE001 - the notebook's handler may raise anything: a denial
                return redact(f"the approval handler failed: {type(exc).__name__}: {exc}")[:300], "the handler"
            return ("allow" if answer else "the approval handler denied this call"), "the handler"
        if self.asker is not None and caller is not None:
            try:
                answer = await self.asker(caller, request, self.timeout)
            except TimeoutError:
                return f"nobody answered the approval request within {self.timeout:g} s", "the timeout"
            if answer is not None:  # None: the row cannot be shown where the call runs (not the kernel's loop)
                return (answer if answer in ("allow", "always") else "deny"), "the person"
        return (
            f"{request.qualified} needs the person's approval, and nobody can give it here: run the agent with top-level "
            f"await (await agent.run(...)) to answer in the cell, allow it with mcp.set_approval({{{request.qualified!r}: 'allow'}}), "
            "or answer from code with mcp.set_approval_handler(fn)",
            "nobody",
        )
