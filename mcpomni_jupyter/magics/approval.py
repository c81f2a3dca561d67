"""``%mcp approval [--clear]``: the rules that decide what a model may run, and who answers ``ask``."""

from __future__ import annotations

from typing import Any

from mcpomni_jupyter.magics.command import Command, Context, Option, Parsed


def rules_text(policy: Any) -> str:
    """The approval policy in words: each rule, the default, who answers ``ask``, and how long it may take."""
    lines = ["approval of the calls a model makes (a deny rule holds for every call, a person's too):"]
    if policy.rules:
        width = min(40, max(len(pattern) for pattern in policy.rules))
        lines += [f"  {pattern:<{width}}  {decision}" for pattern, decision in policy.rules.items()]
    else:
        lines.append("  no rules")
    lines.append("  otherwise: tools annotated readOnlyHint are allowed, the others asked about")
    if policy.handler is not None:
        asked = "the handler set with mcp.set_approval_handler"
    elif policy.asker is not None:
        asked = "an Approve / Deny row in the running cell (a call made with top-level await)"
    else:
        asked = "nobody: the call is denied (set a handler with mcp.set_approval_handler)"
    lines.append(f"  ask is answered by {asked}, within {policy.timeout:g} s")
    lines.append('  change: %config MCPMagics.approval = {"SERVER.TOOL glob": "allow" | "ask" | "deny"}, or mcp.set_approval({...})')
    return "\n".join(lines)


def _approval(ctx: Context, args: Parsed, cell: str | None) -> Any:
    if args["clear"]:
        ctx.manager.set_approval()
        print("mcp: approval rules cleared (read-only tools allowed, others asked)")
        return None
    print(rules_text(ctx.manager.approval))
    return None


COMMANDS = [
    Command(
        "approval",
        "what a model may run: the approval rules (allow / ask / deny over SERVER.TOOL globs) and who answers ask",
        _approval,
        options=(Option("--clear", "remove every rule (until MCPMagics.approval or mcp.set_approval sets them again)", kind="flag"),),
        notes=('set the rules with %config MCPMagics.approval = {"fs.read_*": "allow", "fs.*": "ask", "*.delete*": "deny"}',),
    ),
]
