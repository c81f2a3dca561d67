#!/usr/bin/env python
"""Where the time of a ``%mcp call`` goes, beyond the raw SDK's own call (see bench/README.md).

    .venv/bin/python bench/diagnose_call.py

1. the layers above the SDK, timed with an instant (fake) session, so no I/O;
2. one real no-op call over stdio, split at the thread hop: main thread -> loop thread -> main;
3. real calls: no hop at all (the SDK call awaited on the loop thread), the same with the options
   ``MCPManager._call`` passes (``read_timeout_seconds``, ``progress_callback``), through
   ``LoopThread.run``, and through a lighter hop (a prototype here, not in the package).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

SERVER = [str(Path(__file__).resolve().parent.parent / "tests" / "servers" / "basic.py"), "stdio"]
now = time.perf_counter
os.environ.setdefault("IPYTHONDIR", tempfile.mkdtemp(prefix="mcpj-diag-ipython-"))


def per_call_us(fn, n: int = 20000) -> float:
    for _ in range(n // 20):
        fn()
    t0 = now()
    for _ in range(n):
        fn()
    return (now() - t0) / n * 1e6


def light_run(loop: asyncio.AbstractEventLoop, coro, timeout: float | None = None):
    """Prototype hop: start the task from one threadsafe callback; release a plain lock from inside it."""
    done, box = threading.Lock(), {}
    done.acquire()

    async def wrapper() -> None:
        try:
            box["value"] = await coro
        except BaseException as exc:  # handed to the caller
            box["error"] = exc
        finally:
            done.release()

    loop.call_soon_threadsafe(loop.create_task, wrapper())
    if not done.acquire(timeout=-1 if timeout is None else timeout):
        raise TimeoutError
    if "error" in box:
        raise box["error"]
    return box["value"]


def main() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from mcpomni_jupyter import MCPManager
    from mcpomni_jupyter import results as display
    from mcpomni_jupyter.magics.magics import MCPMagics
    from mcpomni_jupyter.magics.parsing import tokenize

    m = MCPManager()
    m.add("b", command=sys.executable, args=SERVER)
    m.connect()
    conn, loop = m.connection("b"), m.loop.loop
    real = conn.session
    fake_result = SimpleNamespace(content=[], structured_content={"result": ""}, is_error=False)

    class InstantSession:
        async def call_tool(self, *args, **kwargs):
            return fake_result

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mcpomni_jupyter")
    # the magic over a manager whose call() answers at once (its connection, and log, are real)
    stub = SimpleNamespace(
        call=lambda *a, **k: display.CallResult(fake_result, server="b", tool="noop"),
        connection=m.connection,
        set_auth_options=lambda **k: None,
        timeout=60.0,
    )
    shell.register_magics(MCPMagics(shell=shell, manager=stub))
    magic_call = lambda: shell.run_line_magic("mcp", "call b.noop")  # noqa: E731

    def full_log() -> float:  # %mcp call scans the server's log after every call; it keeps up to 500 entries
        for i in range(600):
            conn.record("log", f"message {i}")
        us = per_call_us(magic_call, 5000)
        conn.log.clear()
        return us

    shell.register_magic_function(lambda line: None, "line", "nothing")

    async def empty() -> None:
        return None

    async def in_loop(coro_fn, n: int) -> float:
        for _ in range(n // 20):
            await coro_fn()
        t0 = now()
        for _ in range(n):
            await coro_fn()
        return (now() - t0) / n * 1e6

    print("## 1. layers, with no I/O (us per call)\n")
    conn.session = InstantSession()
    rows = {
        "IPython run_line_magic of a magic that does nothing": per_call_us(lambda: shell.run_line_magic("nothing", "call b.noop")),
        "%mcp call b.noop, manager.call stubbed (tokenize, options, dispatch)": per_call_us(magic_call),
        "  the same with a full server log (500 entries)": full_log(),
        "  of which tokenize('call b.noop')": per_call_us(lambda: tokenize("call b.noop")),
        "  of which display.CallResult(...)": per_call_us(lambda: display.CallResult(fake_result, server="b", tool="noop")),
        "MCPManager._call on the loop, instant session (_resolve, request, CallResult)": m.loop.run(
            in_loop(lambda: m._call("b.noop", {}, None, None), 20000)
        ),
        "MCPManager.call from the main thread, instant session (adds the hop)": per_call_us(lambda: m.call("b.noop"), 5000),
        "LoopThread.run(empty coroutine): the hop alone": per_call_us(lambda: m.loop.run(empty(), 60), 5000),
        "prototype light_run(empty coroutine)": per_call_us(lambda: light_run(loop, empty(), 60), 5000),
    }
    conn.session = real
    for label, us in rows.items():
        print(f"| {label} | {us:.1f} |")

    print("\n## 2. one real no-op call over stdio, split at the hop (median over 2000 calls, us)\n")
    marks: dict[str, float] = {}

    async def traced() -> None:
        marks["start"] = now()
        await real.call_tool("noop", {})
        marks["end"] = now()

    parts = []
    for i in range(2200):
        t0 = now()
        m.loop.run(traced(), 60)
        t1 = now()
        if i >= 200:
            parts.append((marks["start"] - t0, marks["end"] - marks["start"], t1 - marks["end"], t1 - t0))
    for label, column in zip(
        ("main -> task running on the loop", "the SDK call on the loop", "result -> main thread awake", "total"), zip(*parts)
    ):
        print(f"| {label} | {statistics.median(column) * 1e6:.0f} |")

    async def on_progress(*args) -> None:
        return None

    print("\n## 3. real no-op calls, 30 interleaved rounds of 50 (us: median of round means; ratio: median of per-round ratios)\n")
    plain = lambda: real.call_tool("noop", {})  # noqa: E731
    variants = {
        "no hop: awaited on the loop thread": lambda: m.loop.run(in_loop(plain, 50)),
        "no hop, + read_timeout_seconds and progress_callback": lambda: m.loop.run(
            in_loop(lambda: real.call_tool("noop", {}, read_timeout_seconds=60.0, progress_callback=on_progress), 50)
        ),
        "LoopThread.run (the package today)": lambda: per_call_us(lambda: m.loop.run(plain(), 60), 50),
        "prototype light_run": lambda: per_call_us(lambda: light_run(loop, plain(), 60), 50),
    }
    names = list(variants)
    results: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(30):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            results[name].append(variants[name]())
    base = results[names[0]]
    for label, values in results.items():
        ratio = statistics.median(v / b for v, b in zip(values, base))
        print(f"| {label} | {statistics.median(values):.0f} | {ratio:.3f} |")
    m.shutdown()


if __name__ == "__main__":
    main()
