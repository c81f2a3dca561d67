"""``%%mcp ask`` (a chat cell: a model answers with the connected servers' tools) and ``%mcp history``.

An ask cell runs *awaited*: ``install_ask_transformer`` rewrites a cell that
starts with ``%%mcp ask`` into ``await ask_cell(...)`` before IPython runs it,
so the kernel stays free while the model works and an Approve / Deny row in
the cell takes its click.  Where top-level await is off, the same command
runs as a plain magic (blocking; a call that needs approval then goes to the
handler or is denied with a line that says what to do).
"""

from __future__ import annotations

import asyncio
from typing import Any

from IPython.core.error import UsageError

from mcpomni_jupyter.errors import McpJupyterError
from mcpomni_jupyter.magics.command import Arg, Command, Context, Option, Parsed
from mcpomni_jupyter.magics.parsing import parse_kv, tokenize, variable

ASK_PREFIX = "%%mcp ask"
WAKE_INTERVAL = 0.2  # seconds: how soon an interrupt is seen while the model is silent
INTERRUPTED = "interrupted: the ask stopped; what was said so far is kept in the conversation (%mcp history)"


def _servers(raw: str, where: str) -> list[str]:
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if not names:
        raise UsageError(f"{where} takes server names: a,b")
    return names


def _options(ctx: Context, args: Parsed, cell: str | None) -> tuple[str, dict[str, Any]]:
    text = (cell or "").strip()
    prompt = None
    if args["prompt"] is not None:
        prompt = (args["prompt"], parse_kv(args["arguments"] or []))
    elif args["arguments"]:
        raise UsageError("%%mcp ask: k=v arguments go with --prompt SERVER.PROMPT; the question is the cell body")
    if not text and prompt is None:
        raise UsageError("%%mcp ask: write the question in the cell body (or open with --prompt SERVER.PROMPT)")
    options = {"model": args["model"], "servers": args["servers"], "new": args["new"], "prompt": prompt, "attach": args["attach"] or []}
    return text, options


def _store(ctx: Context, args: Parsed, result: Any) -> Any:
    if args["out"] is not None:
        ctx.user_ns[args["out"]] = result
    return result


def _ask(ctx: Context, args: Parsed, cell: str | None) -> Any:
    """The blocking form (top-level await off): the ask runs on the loop thread, shown on this one."""
    from mcpomni_jupyter.ui.ask import AskCellView

    text, options = _options(ctx, args, cell)
    view = AskCellView(live=ctx.widgets)
    try:
        return _store(ctx, args, ctx.manager.ask(text, view=view, tick=view.tick, **options))
    except KeyboardInterrupt:
        raise UsageError(INTERRUPTED) from None
    finally:
        view.tick()


async def ask_cell(ctx: Context, line: str, cell: str) -> Any:
    """The awaited form of ``%%mcp ask`` (``MCPMagics.ask_cell``, which the transformer's code calls)."""
    from mcpomni_jupyter.ui.ask import AskCellView

    awake = asyncio.ensure_future(_keep_awake())
    try:
        args = ASK.parse(tokenize(line)[1:])
        text, options = _options(ctx, args, cell)
        view = AskCellView(live=ctx.widgets)
        return _store(ctx, args, await ctx.manager.aask(text, view=view, **options))
    except McpJupyterError as exc:
        from mcpomni_jupyter.redact import redact

        raise UsageError(redact(str(exc))) from None
    except (asyncio.CancelledError, KeyboardInterrupt):  # the kernel's interrupt: one line, not a traceback
        raise UsageError(INTERRUPTED) from None
    finally:
        awake.cancel()


async def _keep_awake() -> None:
    """Wake the kernel's loop a few times a second while an ask waits on a silent model.

    A kernel interrupt (SIGINT) may land on another thread; the handler that
    cancels the cell then runs only once the main thread runs Python again,
    which an idle event loop, asleep in ``select``, may never do.
    """
    while True:
        await asyncio.sleep(WAKE_INTERVAL)


def transform(lines: list[str]) -> list[str]:
    """An input transformer: a ``%%mcp ask`` cell becomes ``await ask_cell(...)`` (other cells are left alone)."""
    if not lines or not lines[0].startswith(ASK_PREFIX) or lines[0][len(ASK_PREFIX) : len(ASK_PREFIX) + 1] not in ("", " ", "\n", "\t"):
        return lines
    line = lines[0][len("%%mcp ") :].rstrip("\n")
    cell = "".join(lines[1:])
    call = f"await get_ipython().magics_manager.registry['MCPMagics'].ask_cell({line!r}, {cell!r})"
    return [call + "\n"]


def install_ask_transformer(shell: Any) -> None:
    """Run ``%%mcp ask`` cells awaited, where the shell can (``%autoawait`` on); idempotent."""
    transformers = getattr(shell, "input_transformers_cleanup", None)
    if transformers is None or not getattr(shell, "autoawait", False) or transform in transformers:
        return
    transformers.insert(0, transform)


def remove_ask_transformer(shell: Any) -> None:
    transformers = getattr(shell, "input_transformers_cleanup", None)
    if transformers is not None and transform in transformers:
        transformers.remove(transform)


def _history(ctx: Context, args: Parsed, cell: str | None) -> Any:
    conversation = ctx.manager.conversation
    if args["clear"]:
        conversation.clear()
        print("mcp: the conversation is cleared; the next %%mcp ask starts anew")
        return None
    if args["save"] is not None:
        path = conversation.save(args["save"])
        print(f"mcp: saved {len(conversation)} message(s) to {path} (secrets masked)")
        return None
    if args["load"] is not None:
        count = conversation.load(args["load"])
        print(f"mcp: loaded {count} message(s); the next %%mcp ask carries on from them")
        return None
    return conversation


def _path(raw: str, where: str) -> str:
    if not raw.strip():
        raise UsageError(f"{where} takes a file path")
    return raw


ASK = Command(
    "ask",
    "a model answers the cell with the connected servers' tools (streamed; approvals in the cell); returns .output, .tool_calls, .usage",
    _ask,
    args=(Arg("arguments", "k=v", "the --prompt's arguments", count="many", completes="prompt_args", raw=True),),
    options=(
        Option("--model", "a pydantic-ai model string (else MCPMagics.model)", metavar="MODEL"),
        Option("--servers", "only these servers' tools (else every connected one)", metavar="a,b", convert=_servers, completes="servers"),
        Option("--new", "start a new conversation", kind="flag"),
        Option("--out", "also store the result in this notebook variable", metavar="VAR", convert=variable),
        Option("--prompt", "a server's prompt opens the turn (its k=v arguments follow)", metavar="SERVER.PROMPT", completes="prompts"),
        Option("--attach", "a resource's text goes with the question", kind="repeat", metavar="URI", completes="uris"),
    ),
    cell="the question",
    cell_only=True,
)
COMMANDS = [
    ASK,
    Command(
        "history",
        "the conversation %%mcp ask carries on; --clear, --save PATH or --load PATH (JSON, secrets masked)",
        _history,
        options=(
            Option("--clear", "forget the conversation", kind="flag"),
            Option("--save", "write it to a JSON file", metavar="PATH", convert=_path),
            Option("--load", "carry on from a saved one", metavar="PATH", convert=_path),
        ),
    ),
]
