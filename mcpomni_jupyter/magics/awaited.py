"""A cell of ``%mcp`` lines waits *awaited* for an authorization through the relay, so "Run All" gets through.

Through the OAuth relay, everything the kernel needs from the notebook page
comes over a widget's comm: the page's address (the relay's redirect URI) and
then the code.  A comm message is handled only while the kernel is idle or
the running cell awaits; a blocked cell holds it back.  So after the cell
that connects an OAuth server, a cell such as ``%mcp call relayed.echo`` would
block waiting for an authorization that cannot reach the kernel.

``transform`` rewrites a cell made only of ``%mcp`` lines (and blank lines and
comments), when one of them needs a server that waits for an authorization
through the relay as the cell is run, into awaited calls of
``MCPMagics.mcp_awaited``: it awaits (the kernel handles the page's report
and the code meanwhile), saying so in one line, then runs the command as
ever.  Any other cell is left alone (there a blocked call says what it waits
for, ``waits_line``): an awaited cell turns a kernel interrupt into a
cancellation, which a blocking command would not see.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

from IPython.core.error import UsageError

NEEDS_SERVER = frozenset({"call", "read", "prompt", "map", "tools", "resources", "templates", "prompts", "subscribe", "unsubscribe"})
_LINE = re.compile(r"^%mcp(?:[ \t]+(.*))?$")
RESTARTS = 2  # an authorization the page's report restarts through the relay is waited for again (this often)
_WAKE = 0.2  # seconds: the kernel's loop wakes this often while waiting, so an interrupt is seen


def transform(lines: list[str]) -> list[str]:
    """An input transformer: a cell of ``%mcp`` lines, one of which needs a server that waits for an authorization
    through the relay, becomes awaited ``mcp_awaited`` calls; any other cell is left alone (as it is run)."""
    manager = _live_manager()
    if manager is None:
        return lines
    out, waits = [], False
    for raw in lines:
        line = raw.rstrip("\n")
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not line[:1].isspace()):
            out.append(raw)
            continue
        match = _LINE.match(line)
        if match is None or line.endswith("\\"):
            return lines
        rest = (match.group(1) or "").rstrip()
        out.append(f"await get_ipython().magics_manager.registry['MCPMagics'].mcp_awaited({rest!r})\n")
        waits = waits or bool(relay_waits(manager, rest))
    return out if waits else lines


def _live_manager() -> Any:
    from IPython import get_ipython

    shell = get_ipython()
    magics = shell.magics_manager.registry.get("MCPMagics") if shell is not None else None
    return magics._live() if magics is not None else None


def install(shell: Any) -> None:
    """Add ``transform`` in a kernel (where comms exist) with ``%autoawait`` on; idempotent."""
    transformers = getattr(shell, "input_transformers_cleanup", None)
    if transformers is None or getattr(shell, "kernel", None) is None or not getattr(shell, "autoawait", False):
        return
    if transform not in transformers:
        transformers.append(transform)


def remove(shell: Any) -> None:
    transformers = getattr(shell, "input_transformers_cleanup", None)
    if transformers is not None and transform in transformers:
        transformers.remove(transform)


def servers_named(line: str, names: list[str]) -> list[str]:
    """The configured servers a ``%mcp`` line names (``NAME.TOOL``, ``--server NAME``, ``NAME``); all when none is named."""
    words = line.split()
    named = [n for n in names if any(w == n or w.startswith(n + ".") for w in words)]
    return named or names


def relay_waits(manager: Any, line: str) -> list[Any]:
    """The connections a command would wait on that wait for an authorization through the relay."""
    words = line.split()
    if not words or words[0] not in NEEDS_SERVER:
        return []
    from mcpomni_jupyter.core.session.state import State

    relay = manager.oauth.relay
    unknown = relay.expected and relay.page is None  # "auto" chose the loopback callback; the page may say otherwise
    connections = manager.connections
    named = servers_named(line, list(connections))
    return [
        c
        for name, c in connections.items()
        if name in named
        and (
            (c.state is State.AUTH_REQUIRED and (c.auth.waiting_page or c.auth.via == "relay" or unknown))
            # connecting again through the relay ("auto" learned the page is remote): it is about to ask there
            or (c.state is State.CONNECTING and c.uses_oauth and manager.oauth.via() == "relay")
        )
    ]


async def wait_for_relay(manager: Any, line: str) -> None:
    """Await (the kernel free for the page's report and the Authorize click) while a server the line needs waits."""
    waiting = relay_waits(manager, line)
    if not waiting:
        return
    names = ", ".join(repr(c.name) for c in waiting)
    print(f"mcp: waiting for {names} to be authorized through the Jupyter server: click Authorize above", file=sys.stderr)

    async def settled() -> None:  # on the loop thread; a flow the page's report restarts is waited for again
        from mcpomni_jupyter.core.session.state import State

        for _ in range(RESTARTS + 1):  # bounded: each round is bounded by the servers' own limits
            pending = [c for c in waiting if c.state in (State.CONNECTING, State.AUTH_REQUIRED)]
            if not pending:
                return
            await asyncio.gather(*(c.wait_final(c.config.timeout + c.auth.timeout) for c in pending))

    future = asyncio.ensure_future(manager.loop.arun(settled()))
    try:
        while not future.done():  # wake now and then: a kernel interrupt is handled when Python runs
            await asyncio.wait({future}, timeout=_WAKE)
        future.result()
    except (asyncio.CancelledError, KeyboardInterrupt):
        future.cancel()
        raise UsageError(f"interrupted while waiting for {names} to be authorized; the authorization goes on") from None


def waits_line(connection: Any) -> str:
    """What a blocked call says it waits for, once per server."""
    name = connection.name
    if connection.auth.waiting_page or connection.auth.via == "relay":
        return (
            f"mcp: this call waits for {name!r} to be authorized through the Jupyter server, which this blocked cell "
            f"holds up (the page and the code reach the kernel between cells): interrupt it, click Authorize, "
            f"and run it again (a cell of only %mcp lines waits without blocking)"
        )
    return f"mcp: this call waits for {name!r} to be authorized: click Authorize or open its link (%mcp auth {name})"
