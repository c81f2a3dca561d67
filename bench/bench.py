#!/usr/bin/env python
"""Benchmark mcpomni_jupyter against the raw MCP SDK, all in one run on this machine.

    .venv/bin/python bench/bench.py [--quick] [--json OUT]

1. ``%load_ext mcpomni_jupyter`` in fresh subprocesses (and whether it imports ``mcp``);
2. the per-call cost of a no-op tool over stdio: raw SDK, ``MCPManager.call``, ``%mcp call``;
3. connecting 1 vs 8 stdio servers at once (ours, and the raw SDK for reference);
4. peak RSS of a process holding one session: our manager vs the raw SDK;
5. ``map`` of 1,000 no-op calls at concurrency 16 over stdio and streamable HTTP vs the raw SDK's gather.
See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import gc
import importlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import user_call  # bench/user_call.py: %mcp call / %mcp map against a plain mcp.Client of the user's own

SERVER = [str(Path(__file__).resolve().parent.parent / "tests" / "servers" / "basic.py"), "stdio"]
TINY = [str(Path(__file__).resolve().parent / "tiny_server.py")]  # no SDK import: starts in ~30 ms
WAITING = [*TINY, "--delay", "0.5"]  # the same, its start waiting 0.5 s: not CPU-bound
DEVNULL = open(os.devnull, "w")  # the servers' stderr
median = statistics.median
now = time.perf_counter

# run as ``python -c`` so that nothing but IPython is imported before %load_ext
LOAD_EXT_CHILD = """
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()  # not timed
before = set(sys.modules)
t0 = time.perf_counter()
shell.run_line_magic("load_ext", "mcpomni_jupyter")
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "mcp": "mcp" in sys.modules, "asyncio": "asyncio" in set(sys.modules) - before}))
"""


@asynccontextmanager
async def raw_session(server: list[str] = SERVER):
    """The raw SDK: its ``mcp.Client`` (which negotiates 2026-07-28) over ``stdio_client``, on the running loop."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=server)
    async with Client(stdio_client(params, errlog=DEVNULL)) as client:
        yield client


class RawOnThread:
    """The raw SDK's session on an asyncio loop in a thread of its own, called from this thread.

    The like-for-like baseline of a synchronous API in a kernel: the kernel's own
    loop is busy running the cell, so a sync call must hop to another loop's
    thread and wait for the answer (``run_coroutine_threadsafe(...).result()``).
    """

    def __init__(self, server: list[str] = SERVER) -> None:
        import concurrent.futures
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="raw-sdk-loop")
        self.thread.start()
        self._opened: concurrent.futures.Future = concurrent.futures.Future()
        self._close = asyncio.Event()
        self._owner = asyncio.run_coroutine_threadsafe(self._own(server), self.loop)
        self.session = self._opened.result(60)

    async def _own(self, server: list[str]) -> None:
        self._close = asyncio.Event()
        async with raw_session(server) as session:
            self._opened.set_result(session)
            await self._close.wait()

    def call(self, name: str) -> object:
        return asyncio.run_coroutine_threadsafe(self.session.call_tool(name, {}), self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._close.set)
        self._owner.result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def run_child(argv: list[str], env: dict | None = None) -> dict:
    """``python ARGV`` in a fresh process; its last line of output, as JSON."""
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode:
        raise RuntimeError(f"child {argv[:2]} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- 1. load_ext, 4. memory


def bench_load_ext(reps: int) -> dict:
    def summary(runs: list[dict]) -> dict:
        return {
            "median_ms": median(r["seconds"] for r in runs) * 1e3,
            "runs_ms": [round(r["seconds"] * 1e3, 1) for r in runs],
            "mcp_imported": any(r["mcp"] for r in runs),
            "asyncio_imported": any(r["asyncio"] for r in runs),
        }

    as_is = [run_child(["-c", LOAD_EXT_CHILD]) for _ in range(reps)]
    # again with a warm bytecode cache (outside the repo), as after a normal install
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPYCACHEPREFIX": cache}
        run_child(["-c", LOAD_EXT_CHILD], env=env)  # fills the cache, not counted
        warm = [run_child(["-c", LOAD_EXT_CHILD], env=env) for _ in range(reps)]
    return {"as_is": summary(as_is), "warm_pyc": summary(warm), "dont_write_bytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))}


def child_memory(kind: str, calls: int = 100) -> dict:
    """Peak RSS of this process with one session open and ``calls`` no-op calls made."""
    if kind == "raw":

        async def run() -> None:
            async with raw_session() as session:
                for _ in range(calls):
                    await session.call_tool("noop", {})
                peak.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

        peak: list[int] = []
        asyncio.run(run())
        return {"maxrss_kb": peak[0]}
    from mcpomni_jupyter import MCPManager

    m = MCPManager()
    m.add("b", command=sys.executable, args=SERVER)
    m.connect()
    for _ in range(calls):
        m.call("b.noop")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    m.shutdown()
    return {"maxrss_kb": peak_kb}


def bench_memory(reps: int) -> dict:
    mb = {k: median(run_child([__file__, "--memory-child", k])["maxrss_kb"] for _ in range(reps)) / 1024 for k in ("raw", "ours")}
    return {"raw_mb": mb["raw"], "ours_mb": mb["ours"], "ratio": mb["ours"] / mb["raw"]}


# --------------------------------------------------------------------------- 2. per-call overhead


async def timed(fn, n: int) -> tuple[list[float], float]:
    """n calls of fn (sync, or returning a coroutine): per-call seconds, and process CPU seconds per call."""
    times = []
    cpu0 = time.process_time()
    for _ in range(n):
        t0 = now()
        result = fn()
        if asyncio.iscoroutine(result):
            await result
        times.append(now() - t0)
    return times, (time.process_time() - cpu0) / n


async def call_trial(shell, rounds: int, n: int, warmup: int, stats: dict) -> None:
    """Fresh server processes for the raw SDK and for us, then interleaved rounds of every variant."""
    from mcpomni_jupyter import MCPManager
    from mcpomni_jupyter.magics.magics import MCPMagics

    async with raw_session() as session:  # (a) the raw SDK, on this (main-thread) asyncio loop
        hopped = RawOnThread()  # (a') the raw SDK on a loop thread of its own, called through the thread hop
        manager = MCPManager()  # (b) our Python API, whose requests hop to its loop thread
        manager.add("b", command=sys.executable, args=SERVER)
        manager.connect()
        # (c) %mcp over the same manager and server process: (b) and (c) differ by the magic only
        shell.register_magics(MCPMagics(shell=shell, manager=manager))
        ours = manager.connection("b").client
        variants = {
            "raw": lambda: session.call_tool("noop", {}),
            "rawhop": lambda: hopped.call("noop"),
            "hop": lambda: manager.loop.run(ours.call_tool("noop", {})),  # the SDK's Client.call_tool on our client, same hop
            "api": lambda: manager.call("b.noop"),
            "magic": lambda: shell.run_line_magic("mcp", "call b.noop"),
        }
        try:
            assert not shell.run_line_magic("mcp", "call b.noop").is_error
            for fn in variants.values():
                await timed(fn, warmup)
            names = list(variants)
            for r in range(rounds):  # interleaved, the order rotating each round
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    gc.collect()
                    times, cpu = await timed(variants[name], n)
                    stats[name]["means"].append(statistics.fmean(times))
                    stats[name]["medians"].append(median(times))
                    stats[name]["cpu"].append(cpu)
        finally:
            manager.shutdown()
            hopped.close()


async def bench_calls(trials: int, rounds: int, n: int, warmup: int) -> dict:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mcpomni_jupyter")
    stats = {k: {"means": [], "medians": [], "cpu": []} for k in ("raw", "rawhop", "hop", "api", "magic")}
    per_trial = []  # %mcp call / raw SDK in each trial: shows the spread between server processes
    for _ in range(trials):
        await call_trial(shell, rounds, n, warmup, stats)
        per_trial.append(median(m / r for m, r in zip(stats["magic"]["means"][-rounds:], stats["hop"]["means"][-rounds:])))
    shell.run_line_magic("unload_ext", "mcpomni_jupyter")
    raw, hop, rawhop = stats["raw"], stats["hop"], stats["rawhop"]

    def paired(xs: list[float], base: list[float]) -> float:  # each round against the baseline's same round
        return median(x / b for x, b in zip(xs, base))

    out = {
        k: {
            "mean_us": median(s["means"]) * 1e6,
            "median_us": median(s["medians"]) * 1e6,
            "cpu_us": median(s["cpu"]) * 1e6,
            "ratio_mean": paired(s["means"], raw["means"]),
            "ratio_median": paired(s["medians"], raw["medians"]),
            "hop_ratio_mean": paired(s["means"], hop["means"]),
            "hop_ratio_median": paired(s["medians"], hop["medians"]),
            "rawhop_ratio_mean": paired(s["means"], rawhop["means"]),
            "rawhop_ratio_median": paired(s["medians"], rawhop["medians"]),
            "round_means_us": [round(x * 1e6) for x in s["means"]],
        }
        for k, s in stats.items()
    }
    return {"trials": trials, "rounds": rounds, "calls_per_round": n, "magic_ratio_per_trial": per_trial, "variants": out}


# --------------------------------------------------------------------------- 2c. every revision, stdio and HTTP

BASIC = SERVER[0]


class HttpServer:
    """tests/servers/basic.py over streamable HTTP on a free loopback port (``--legacy``: a 2025-11-25 server)."""

    def __init__(self, *extra: str) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen([sys.executable, BASIC, "streamable-http", str(self.port), *extra], stdout=DEVNULL, stderr=DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}/mcp"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


KINDS = {  # kind -> (transport, extra server arguments)
    "stdio, 2026-07-28": ("stdio", ()),
    "stdio, 2025-11-25": ("stdio", ("--legacy",)),
    "streamable HTTP, 2026-07-28": ("http", ()),
    "streamable HTTP, 2025-11-25": ("http", ("--legacy",)),
}


async def protocol_trial(shell, kind: str, rounds: int, n: int, warmup: int, stats: dict) -> None:
    """One server of ``kind``; the SDK's own call through our hop (Client, or ClientSession for 2025) vs the API and %mcp."""
    from mcpomni_jupyter import MCPManager
    from mcpomni_jupyter.magics.magics import MCPMagics

    transport, extra = KINDS[kind]
    http = HttpServer(*extra) if transport == "http" else None
    manager = MCPManager()
    if http is not None:
        manager.add("b", http.url)
    else:
        manager.add("b", command=sys.executable, args=[BASIC, "stdio", *extra])
    manager.connect()
    shell.register_magics(MCPMagics(shell=shell, manager=manager))
    connection = manager.connection("b")
    sdk = connection.client if connection.is_modern else connection.client.session  # Client.call_tool / ClientSession.call_tool
    variants = {
        "sdk": lambda: manager.loop.run(sdk.call_tool("noop", {})),
        "api": lambda: manager.call("b.noop"),
        "magic": lambda: shell.run_line_magic("mcp", "call b.noop"),
    }
    try:
        stats["version"] = connection.protocol_version
        for fn in variants.values():
            await timed(fn, warmup)
        names = list(variants)
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                gc.collect()
                times, _ = await timed(variants[name], n)
                stats[name].append(statistics.fmean(times))
    finally:
        manager.shutdown()
        if http is not None:
            http.stop()


async def bench_protocols(trials: int, rounds: int, n: int, warmup: int) -> dict:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mcpomni_jupyter")
    out = {}
    for kind in KINDS:
        stats: dict = {"sdk": [], "api": [], "magic": []}
        for _ in range(trials):
            await protocol_trial(shell, kind, rounds, n, warmup, stats)
        paired = lambda xs, base=stats["sdk"]: median(x / b for x, b in zip(xs, base))  # noqa: E731
        out[kind] = {
            "version": stats["version"],
            "sdk_us": median(stats["sdk"]) * 1e6,
            "api_us": median(stats["api"]) * 1e6,
            "magic_us": median(stats["magic"]) * 1e6,
            "api_ratio": paired(stats["api"]),
            "magic_ratio": paired(stats["magic"]),
        }
    shell.run_line_magic("unload_ext", "mcpomni_jupyter")
    return out


def bench_http_connect(reps: int) -> dict:
    """Connecting over streamable HTTP to a 2026-07-28 server: ours against the SDK's Client.

    The bar is the SDK's ``Client(url)`` as a user writes it, which builds an
    httpx client (and so a TLS context, ~20 ms of CPU) per connection. Like for
    like: the SDK's Client on an httpx client that reuses one TLS context, as
    ours does, connecting and listing what ours lists.
    """
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from mcpomni_jupyter import MCPManager

    http = HttpServer()
    tls = httpx2.create_ssl_context()

    async def sdk(listing: bool, reuse_tls: bool) -> float:
        t0 = now()
        if reuse_tls:
            target: object = streamable_http_client(http.url, http_client=httpx2.AsyncClient(verify=tls))
        else:
            target = http.url
        async with Client(target) as client:
            if listing:  # what our connect does after the handshake: the four lists, concurrently
                await asyncio.gather(client.list_tools(), client.list_resources(), client.list_resource_templates(), client.list_prompts())
            seconds = now() - t0
        return seconds

    def ours() -> float:
        t0 = now()
        manager.connect("h")
        seconds = now() - t0
        manager.disconnect("h")
        return seconds

    manager = MCPManager()
    manager.add("h", http.url)
    variants = {
        "ours": ours,
        "sdk_alone": lambda: asyncio.run(sdk(False, False)),
        "sdk_tls_alone": lambda: asyncio.run(sdk(False, True)),
        "sdk_tls_listing": lambda: asyncio.run(sdk(True, True)),
    }
    runs: dict[str, list[float]] = {k: [] for k in variants}
    try:
        for fn in variants.values():  # warm: imports, the loop thread, our TLS context
            fn()
        for _ in range(reps):  # interleaved
            for name, fn in variants.items():
                runs[name].append(fn())
    finally:
        manager.shutdown()
        http.stop()
    out = {k: median(v) for k, v in runs.items()}
    out.update(
        ratio_alone=out["ours"] / out["sdk_alone"],
        ratio_like=out["ours"] / out["sdk_tls_listing"],
        ratio_tls_alone=out["ours"] / out["sdk_tls_alone"],
    )
    return out


# --------------------------------------------------------------------------- 2b. a 20 MB result


def bench_large(reps: int, megabytes: float = 20.0) -> dict:
    """``%mcp call`` of a 20 MB text result against the raw SDK through a thread hop; what a notebook stores."""
    from IPython.core.interactiveshell import InteractiveShell

    from mcpomni_jupyter import MCPManager
    from mcpomni_jupyter.magics.magics import MCPMagics

    shell = InteractiveShell.instance()
    hopped = RawOnThread()
    manager = MCPManager()
    manager.add("b", command=sys.executable, args=SERVER)
    manager.connect()
    shell.register_magics(MCPMagics(shell=shell, manager=manager))
    line = f"call b.big megabytes={megabytes:g}"
    try:
        runs: dict[str, list[float]] = {"raw": [], "magic": [], "magic_and_render": []}
        for _ in range(reps):
            t0 = now()
            raw = asyncio.run_coroutine_threadsafe(hopped.session.call_tool("big", {"megabytes": megabytes}), hopped.loop).result()
            runs["raw"].append(now() - t0)
            t0 = now()
            result = shell.run_line_magic("mcp", line)
            runs["magic"].append(now() - t0)
            t0 = now()
            result = shell.run_line_magic("mcp", line)
            bundle, _ = shell.display_formatter.format(result)  # what the cell's output would be
            runs["magic_and_render"].append(now() - t0)
        size = len(raw.content[0].text)
        stored = sum(len(str(value)) for value in bundle.values())
    finally:
        manager.shutdown()
        hopped.close()
    out = {k: median(v) for k, v in runs.items()}
    out.update(result_chars=size, stored_chars=stored, ratio=out["magic"] / out["raw"], render_ratio=out["magic_and_render"] / out["raw"])
    return out


# --------------------------------------------------------------------------- 3. concurrent connect


def connect_ours(n: int, server: list[str] = SERVER) -> float:
    from mcpomni_jupyter import MCPManager

    m = MCPManager()
    for i in range(n):
        m.add(f"s{i}", command=sys.executable, args=server)
    t0 = now()
    m.connect()
    seconds = now() - t0
    states = [c.state.value for c in m.connections.values()]
    m.shutdown()
    assert states == ["connected"] * n, states
    return seconds


async def connect_raw(n: int, server: list[str] = SERVER) -> float:
    ready, done = asyncio.Event(), []

    async def one() -> None:
        async with raw_session(server):
            done.append(now())
            if len(done) == n:
                ready.set()
            await ready.wait()  # hold every server open until all are up

    t0 = now()
    await asyncio.gather(*(one() for _ in range(n)))
    return max(done) - t0


def bench_connect(reps: int) -> dict:
    importlib.import_module("mcp.client.stdio")  # the SDK's import is not part of a connect

    runs: dict[str, list[float]] = {"ours_1": [], "ours_8": [], "raw_1": [], "raw_8": []}
    server_cpu: dict[str, list[float]] = {k: [] for k in runs}  # per server process, start to exit
    for _ in range(reps):
        for key in runs:
            who, n = key.split("_")[0], int(key.split("_")[1])
            before = resource.getrusage(resource.RUSAGE_CHILDREN)  # the reaped server processes
            runs[key].append(connect_ours(n) if who == "ours" else asyncio.run(connect_raw(n)))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            server_cpu[key].append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / n)
    out: dict = {k: median(v) for k, v in runs.items()}
    out.update(ratio=out["ours_8"] / out["ours_1"], raw_ratio=out["raw_8"] / out["raw_1"], runs=runs)
    out["server_cpu_s"] = median(server_cpu["ours_1"] + server_cpu["raw_1"])
    out["cpu_floor_s"] = 8 * out["server_cpu_s"] / (os.cpu_count() or 1)  # the least 8 servers need on these CPUs
    # the same with a server that starts in ~30 ms: the client's concurrency, not the servers' start-up CPU
    tiny: dict[str, list[float]] = {"ours_1": [], "ours_8": [], "raw_1": [], "raw_8": []}
    for _ in range(reps * 2):
        for key in tiny:
            who, n = key.split("_")[0], int(key.split("_")[1])
            tiny[key].append(connect_ours(n, TINY) if who == "ours" else asyncio.run(connect_raw(n, TINY)))
    out["tiny"] = {k: median(v) for k, v in tiny.items()}
    out["tiny"].update(ratio=out["tiny"]["ours_8"] / out["tiny"]["ours_1"], raw_ratio=out["tiny"]["raw_8"] / out["tiny"]["raw_1"])
    # a start that waits 0.5 s instead of computing: 8 need no more CPU than 1, so 8 / 1 is the client's concurrency
    waiting: dict[str, list[float]] = {"ours_1": [], "ours_8": [], "raw_1": [], "raw_8": []}
    for _ in range(reps):
        for key in waiting:
            who, n = key.split("_")[0], int(key.split("_")[1])
            waiting[key].append(connect_ours(n, WAITING) if who == "ours" else asyncio.run(connect_raw(n, WAITING)))
    out["waiting"] = {k: median(v) for k, v in waiting.items()}
    out["waiting"].update(
        ratio=out["waiting"]["ours_8"] / out["waiting"]["ours_1"], raw_ratio=out["waiting"]["raw_8"] / out["waiting"]["raw_1"]
    )
    return out


# --------------------------------------------------------------------------- report


# --------------------------------------------------------------------------- 6. map: a tool over 1,000 rows

MAP_KINDS = ("stdio", "streamable HTTP")


def bench_map(rounds: int, n: int = 1000, concurrency: int = 16) -> dict:
    """``MCPManager.map`` (and ``%mcp map``) of ``n`` no-op calls, ``concurrency`` at a time, against the raw SDK.

    The baseline is the SDK's own ``Client.call_tool`` on our connection's client (same session, same server
    process), ``n`` of them under ``asyncio.gather`` and a semaphore of ``concurrency``, run on our loop thread
    through the same ``LoopThread.run`` hop.  Rounds interleave and rotate; the ratio is ours / raw in calls per
    second, per round, then the median.
    """
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    out: dict = {"calls": n, "concurrency": concurrency, "rounds": rounds}
    for kind in MAP_KINDS:
        out[kind] = map_trial(shell, kind, rounds, n, concurrency)
    return out


def map_trial(shell, kind: str, rounds: int, n: int, concurrency: int) -> dict:
    from mcpomni_jupyter import MCPManager
    from mcpomni_jupyter.magics.magics import MCPMagics

    http = HttpServer() if kind != "stdio" else None
    manager = MCPManager()
    if http is not None:
        manager.add("b", http.url)
    else:
        manager.add("b", command=sys.executable, args=SERVER)
    manager.connect()
    shell.register_magics(MCPMagics(shell=shell, manager=manager))  # with its UI: the map's progress view, ticked
    shell.user_ns["bench_rows"] = [{}] * n
    sdk = manager.connection("b").client

    async def raw_gather() -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> object:
            async with gate:
                return await sdk.call_tool("noop", {})

        results = await asyncio.gather(*(one() for _ in range(n)))
        assert not any(r.is_error for r in results)

    def ours() -> None:
        result = manager.map("b.noop", ({} for _ in range(n)), concurrency=concurrency)
        assert result.done == n, result.summary()

    def magic() -> None:
        result = shell.run_line_magic("mcp", f"map b.noop --from bench_rows --concurrency {concurrency}")
        assert result.done == n, result.summary()

    variants = {"sdk": lambda: manager.loop.run(raw_gather()), "map": ours, "magic": magic}
    times: dict[str, list[float]] = {k: [] for k in variants}
    try:
        for fn in variants.values():  # warm up
            fn()
        names = list(variants)
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                gc.collect()
                t0 = now()
                variants[name]()
                times[name].append(now() - t0)
    finally:
        manager.shutdown()
        if http is not None:
            http.stop()

    def paired(xs: list[float]) -> float:  # throughput ours / raw, round by round
        return median(b / x for x, b in zip(xs, times["sdk"]))

    return {
        "sdk_per_s": n / median(times["sdk"]),
        "map_per_s": n / median(times["map"]),
        "magic_per_s": n / median(times["magic"]),
        "map_ratio": paired(times["map"]),
        "magic_ratio": paired(times["magic"]),
        "map_ratio_per_round": [round(b / x, 3) for x, b in zip(times["map"], times["sdk"])],
    }


def map_rows(m: dict) -> list[tuple[str, ...]]:
    ok = lambda good: "pass" if good else "FAIL"  # noqa: E731
    return [
        (
            f"`mcp.map` of {m['calls']} no-op calls at concurrency {m['concurrency']}, {kind} / the SDK's `call_tool` under "
            "`asyncio.gather` + a semaphore through the same hop (calls per second)",
            f"{m[kind]['map_ratio']:.2f}x ({m[kind]['map_per_s']:.0f} / {m[kind]['sdk_per_s']:.0f} per s); "
            f"`%mcp map` {m[kind]['magic_ratio']:.2f}x",
            ">= 0.9",
            ok(m[kind]["map_ratio"] >= 0.9),
        )
        for kind in MAP_KINDS
    ]


TASKS_SERVER = [str(Path(__file__).resolve().parent.parent / "tests" / "servers" / "tasks_server.py"), "stdio"]


def bench_tasks(rounds: int, block: int = 10, cold_calls: int = 600, warmup: int = 100) -> dict:
    """MCP Tasks: a task that completes at once, round trip through ``mcp.call(..., task=True)``, against the raw SDK.

    Both talk to the test task server (``--legacy``: 2025-11-25 tasks, the era with ``tasks/result``; and the
    2026-07-28 extension), each over its own stdio process and its own loop thread reached through
    ``LoopThread.run``.  The raw side sends the same ``tools/call`` (task-augmented) + ``tasks/get`` (+
    ``tasks/result``) through the session's envelope and dispatcher, and ends with the value ours returns: the
    result as a ``CallToolResult``, checked against the tool's output schema (``validate_tool_result``), as the
    SDK's ``call_tool`` checks every tool result.  A second raw variant, with a process and a loop thread of its
    own too, stops at the result's dict (nothing checked), for reference.

    Steady state (the bar): ``rounds`` rounds of ``block`` calls of each variant in turn, the order rotating; the
    ratio is the median block time of ours / that of raw.  Cold: ours and raw alternate call by call
    (``cold_calls`` each), so every call finds its caches taken by the other; reported beside it.
    """
    return {era: _tasks_era(era, rounds, block, cold_calls, warmup) for era in ("2025-11-25", "2026-07-28")}


class _RawTasks:
    """A raw SDK session to the task server on a loop thread of its own; ``round()`` is one task round trip."""

    def __init__(self, legacy: bool, validated: bool) -> None:
        from mcp import StdioServerParameters

        from mcpomni_jupyter.core.loop import LoopThread

        self.legacy, self.validated = legacy, validated
        self.params = StdioServerParameters(command=sys.executable, args=[*TASKS_SERVER, *(["--legacy"] if legacy else [])])
        self.loop = LoopThread("bench-raw-tasks")
        self.stop = asyncio.Event()
        self.session: Any = None
        self.loop.run(self._open(), 30)

    async def _open(self) -> None:
        from mcp import Client
        from mcp.client.extension import advertise

        ready = asyncio.Event()

        async def own() -> None:
            async with Client(self.params, mode="auto", extensions=[advertise("io.modelcontextprotocol/tasks")]) as client:
                await client.list_tools()  # the output schemas, as ours has them from its listing
                self.session = client.session
                ready.set()
                await self.stop.wait()

        self._owner = asyncio.get_running_loop().create_task(own())
        await ready.wait()

    async def _round(self) -> str:
        from mcp_types import CallToolResult

        from mcpomni_jupyter.core.tasks.wire import send

        call = {"name": "instant", "arguments": {"x": 1}, **({"task": {}} if self.legacy else {})}
        created = await send(self.session, "tools/call", call)
        task_id = created["task"]["taskId"] if self.legacy else created["taskId"]
        while True:
            got = await send(self.session, "tasks/get", {"taskId": task_id})
            if got["status"] == "completed":
                break
        result = await send(self.session, "tasks/result", {"taskId": task_id}) if self.legacy else got["result"]
        if not self.validated:
            return result["content"][0]["text"]
        typed = CallToolResult.model_validate(result, by_name=False)
        await self.session.validate_tool_result("instant", typed)
        return typed.content[0].text

    def round(self) -> str:
        return self.loop.run(self._round(), 30)

    def close(self) -> None:
        self.loop.loop.call_soon_threadsafe(self.stop.set)
        time.sleep(0.5)
        self.loop.stop()


def _tasks_era(era: str, rounds: int, block: int, cold_calls: int, warmup: int) -> dict:
    from mcpomni_jupyter import MCPManager

    legacy = era == "2025-11-25"
    raws = {"raw": _RawTasks(legacy, validated=True), "raw_dict": _RawTasks(legacy, validated=False)}
    manager = MCPManager()
    manager.add("t", command=sys.executable, args=[*TASKS_SERVER, *(["--legacy"] if legacy else [])])
    manager.connect()
    variants = {
        "ours": lambda: manager.call("t.instant", {"x": 1}, task=True).text,
        "raw": raws["raw"].round,
        "raw_dict": raws["raw_dict"].round,
    }
    blocks: dict[str, list[float]] = {k: [] for k in variants}
    cold: dict[str, list[float]] = {"ours": [], "raw": []}
    try:
        assert {fn() for fn in variants.values()} == {"instant 1"}
        for fn in variants.values():
            for _ in range(warmup):
                fn()
        names = list(variants)
        gc.collect()
        for r in range(rounds):
            for name in names[r % 3 :] + names[: r % 3]:
                fn = variants[name]
                t0 = now()
                for _ in range(block):
                    fn()
                blocks[name].append((now() - t0) / block)
        for i in range(cold_calls):
            for name in ("ours", "raw") if i % 2 else ("raw", "ours"):
                t0 = now()
                variants[name]()
                cold[name].append(now() - t0)
    finally:
        manager.shutdown()
        for raw in raws.values():
            raw.close()
    return {
        "calls": rounds * block,
        "raw_ms": median(blocks["raw"]) * 1e3,
        "raw_dict_ms": median(blocks["raw_dict"]) * 1e3,
        "ours_ms": median(blocks["ours"]) * 1e3,
        "ratio": median(blocks["ours"]) / median(blocks["raw"]),
        "ratio_dict": median(blocks["ours"]) / median(blocks["raw_dict"]),
        "ratio_per_tenth": [round(median(blocks["ours"][t::10]) / median(blocks["raw"][t::10]), 3) for t in range(10)],
        "cold_ratio": median(cold["ours"]) / median(cold["raw"]),
        "cold_ms": (median(cold["ours"]) * 1e3, median(cold["raw"]) * 1e3),
    }


def tasks_rows(t: dict) -> list[tuple[str, ...]]:
    ok = lambda good: "pass" if good else "FAIL"  # noqa: E731
    return [
        (
            f"MCP Tasks round trip ({era}), ours / raw SDK returning the same checked `CallToolResult`",
            f"{v['ratio']:.3f}x ({v['ours_ms']:.2f} ms / {v['raw_ms']:.2f} ms; over tenths {min(v['ratio_per_tenth']):.3f}-"
            f"{max(v['ratio_per_tenth']):.3f}x); cold, alternating every call: {v['cold_ratio']:.3f}x; against raw dicts, "
            f"nothing checked: {v['ratio_dict']:.3f}x",
            "<= 1.10x",
            ok(v["ratio"] <= 1.10),
        )
        for era, v in t.items()
    ]


def markdown(rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows[1:]])


def protocol_rows(pr: dict) -> list[tuple[str, ...]]:
    """The per-revision call rows (issue 9's bars)."""
    ok = lambda good: "pass" if good else "FAIL"  # noqa: E731
    return [
        (
            f"`%mcp call` no-op, {kind} (negotiated {x['version']}) / the SDK's {'Client' if '2026' in kind else 'ClientSession'}"
            ".call_tool through the same hop",
            f"{x['magic_ratio']:.3f}x ({x['magic_us']:.0f} / {x['sdk_us']:.0f} us); MCPManager.call {x['api_ratio']:.3f}x",
            "<= 1.10",
            ok(x["magic_ratio"] <= 1.10),
        )
        for kind, x in pr.items()
    ]


def report(r: dict) -> str:
    le, c, cn, mem, v, lg = r["load_ext"], r["calls"], r["connect"], r["memory"], r["calls"]["variants"], r["large"]
    pr, hc = r["protocols"], r["http_connect"]
    ok = lambda good: "pass" if good else "FAIL"  # noqa: E731
    yn = lambda flag: "yes" if flag else "no"  # noqa: E731

    def load_row(label: str, s: dict) -> tuple[str, ...]:
        value = f"{s['median_ms']:.1f} ms (imports mcp: {yn(s['mcp_imported'])}, asyncio: {yn(s['asyncio_imported'])})"
        return label, value, "<= 100 ms, no mcp", ok(s["median_ms"] <= 100 and not s["mcp_imported"])

    ratios = lambda k: f"{v[k]['hop_ratio_mean']:.3f}x (means), {v[k]['hop_ratio_median']:.3f}x (medians)"  # noqa: E731
    trials, cpus = c["magic_ratio_per_trial"], os.cpu_count()
    summary = [
        ("Metric", "Value", "Bar", "OK"),
        load_row("`%load_ext`, " + ("no .pyc (PYTHONDONTWRITEBYTECODE=1)" if le["dont_write_bytecode"] else "as run"), le["as_is"]),
        load_row("`%load_ext`, warm .pyc cache", le["warm_pyc"]),
        (
            "`%mcp call` no-op / the raw SDK's `call_tool` through the same hop",
            f"{ratios('magic')} (per trial {min(trials):.2f}..{max(trials):.2f}x)",
            "<= 1.10",
            ok(v["magic"]["hop_ratio_mean"] <= 1.10),
        ),
        ("`MCPManager.call` / the same", ratios("api"), "", ""),
        (
            "`%mcp call` / raw SDK on a loop thread of its own (another server process)",
            f"{v['magic']['rawhop_ratio_mean']:.3f}x (means), {v['magic']['rawhop_ratio_median']:.3f}x (medians)",
            "ref.",
            "",
        ),
        ("raw SDK through a thread hop / raw SDK on the main loop", f"{v['rawhop']['ratio_mean']:.3f}x", "ref.", ""),
        ("connect 1 stdio server (ours)", f"{cn['ours_1']:.2f} s", "", ""),
        ("connect 8 at once (ours)", f"{cn['ours_8']:.2f} s = {cn['ratio']:.2f}x one", "ref. (CPU-bound)", ""),
        ("connect 1 / 8 at once (raw SDK)", f"{cn['raw_1']:.2f} s / {cn['raw_8']:.2f} s = {cn['raw_ratio']:.2f}x", "ref.", ""),
        (
            "connect 8 at once / 1, light stdio server (ours)",
            f"{cn['tiny']['ours_8'] * 1000:.0f} ms / {cn['tiny']['ours_1'] * 1000:.0f} ms = {cn['tiny']['ratio']:.2f}x",
            "ref. (CPU-bound)",
            "",
        ),
        (
            "connect 8 at once / 1, light stdio server (raw SDK)",
            f"{cn['tiny']['raw_8'] * 1000:.0f} ms / {cn['tiny']['raw_1'] * 1000:.0f} ms = {cn['tiny']['raw_ratio']:.2f}x",
            "ref.",
            "",
        ),
        (
            "connect 8 at once / 1, a server whose start waits 0.5 s (ours)",
            f"{cn['waiting']['ours_8'] * 1000:.0f} ms / {cn['waiting']['ours_1'] * 1000:.0f} ms = {cn['waiting']['ratio']:.2f}x",
            "<= 2x",
            ok(cn["waiting"]["ratio"] <= 2),
        ),
        (
            "the same (raw SDK)",
            f"{cn['waiting']['raw_8'] * 1000:.0f} ms / {cn['waiting']['raw_1'] * 1000:.0f} ms = {cn['waiting']['raw_ratio']:.2f}x",
            "ref.",
            "",
        ),
        (
            f"CPU of 8 server processes / {cpus} CPUs",
            f"{cn['cpu_floor_s']:.2f} s ({cn['server_cpu_s']:.2f} s each) = {cn['cpu_floor_s'] / cn['ours_1']:.2f}x one connect",
            "ref.",
            "",
        ),
        *protocol_rows(pr),
        (
            "connect over streamable HTTP, 2026-07-28: ours (handshake and lists) / the SDK's `Client(url)` connecting alone",
            f"{hc['ours'] * 1000:.1f} / {hc['sdk_alone'] * 1000:.1f} ms = {hc['ratio_alone']:.2f}x",
            "<= 1.0",
            ok(hc["ratio_alone"] <= 1.0),
        ),
        (
            "the same / the SDK's Client on an httpx client reusing one TLS context, connecting and listing the same (like for like)",
            f"{hc['ratio_like']:.2f}x ({hc['sdk_tls_listing'] * 1000:.1f} ms); alone {hc['ratio_tls_alone']:.2f}x "
            f"({hc['sdk_tls_alone'] * 1000:.1f} ms)",
            "ref.",
            "",
        ),
        *map_rows(r["map"]),
        *tasks_rows(r["tasks"]),
        ("peak RSS, 1 session: ours / raw SDK", f"{mem['ours_mb']:.1f} / {mem['raw_mb']:.1f} MB = {mem['ratio']:.2f}x", "", ""),
        (
            "`%mcp call` of a 20 MB result / raw SDK through a thread hop",
            f"{lg['magic'] * 1000:.0f} / {lg['raw'] * 1000:.0f} ms = {lg['ratio']:.2f}x; with rendering {lg['render_ratio']:.2f}x",
            "report",
            "",
        ),
        (
            "what the notebook stores for that result",
            f"{lg['stored_chars'] / 1000:.1f} KB of {lg['result_chars'] / 1e6:.1f} MB",
            "a preview",
            "",
        ),
    ]
    labels = {
        "raw": "raw SDK, main-thread loop",
        "rawhop": "raw SDK, own loop thread",
        "hop": "raw `call_tool` on our session via the hop (baseline)",
        "api": "`MCPManager.call`",
        "magic": "`%mcp call`",
    }
    per_call = [
        ("Per call (no-op, stdio)", "mean us", "median us", "client CPU us", "/ raw, means", "/ baseline, means", "/ baseline, medians")
    ] + [
        (
            labels[k],
            f"{x['mean_us']:.0f}",
            f"{x['median_us']:.0f}",
            f"{x['cpu_us']:.0f}",
            f"{x['ratio_mean']:.3f}",
            f"{x['hop_ratio_mean']:.3f}",
            f"{x['hop_ratio_median']:.3f}",
        )
        for k, x in v.items()
    ]
    head = (
        f"## mcpomni_jupyter benchmark ({r['mode']}; Python {platform.python_version()}, {cpus} CPUs; per call: "
        f"{c['trials']} trials x {c['rounds']} rounds x {c['calls_per_round']} calls; took {r['elapsed_s']:.0f} s)"
    )
    return f"{head}\n\n{markdown(summary)}\n\n{markdown(per_call)}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (under a minute)")
    parser.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    parser.add_argument("--memory-child", choices=["raw", "ours"], help=argparse.SUPPRESS)
    parser.add_argument(
        "--only",
        choices=["map", "tasks", "protocols", "user-call", "user-map"],
        help="run one measurement and print its rows (user-call / user-map: bench/user_call.py, what a user runs)",
    )
    args = parser.parse_args()
    if args.memory_child:  # a measurement in a fresh process
        print(json.dumps(child_memory(args.memory_child)))
        return
    q, t0 = args.quick, now()
    # IPython's profile and history stay out of ~/.ipython; removed at exit, after the shell's own atexit
    os.environ["IPYTHONDIR"] = tempfile.mkdtemp(prefix="mcpj-bench-ipython-")
    atexit.register(shutil.rmtree, os.environ["IPYTHONDIR"], True)
    results: dict = {"mode": "quick" if q else "full", "python": platform.python_version(), "cpus": os.cpu_count()}
    steps = [
        ("load_ext", lambda: bench_load_ext(3 if q else 7)),
        ("memory", lambda: bench_memory(1 if q else 3)),
        ("calls", lambda: asyncio.run(bench_calls(trials=3 if q else 10, rounds=4 if q else 6, n=20 if q else 30, warmup=20 if q else 30))),
        ("protocols", lambda: asyncio.run(bench_protocols(trials=1 if q else 4, rounds=4 if q else 6, n=20 if q else 30, warmup=20))),
        ("http_connect", lambda: bench_http_connect(5 if q else 20)),
        ("large", lambda: bench_large(1 if q else 3)),
        ("connect", lambda: bench_connect(1 if q else 3)),
        ("map", lambda: bench_map(3 if q else 6)),
        ("tasks", lambda: bench_tasks(40 if q else 150)),
        ("user-call", lambda: user_call.bench_call(100 if q else 300, fresh=30)),  # only with --only (bench/user_call.py)
        ("user-map", lambda: user_call.bench_map(4 if q else 12, fresh=True)),
    ]
    steps = [step for step in steps if step[0] == args.only] if args.only else [s for s in steps if not s[0].startswith("user-")]
    for name, step in steps:
        print(f"{name} ...", file=sys.stderr, flush=True)
        results[name] = step()
    results["elapsed_s"] = now() - t0
    only_rows = {
        "map": lambda: map_rows(results["map"]),
        "tasks": lambda: tasks_rows(results["tasks"]),
        "protocols": lambda: protocol_rows(results["protocols"]),
        "user-call": lambda: user_call.call_rows(results["user-call"]),
        "user-map": lambda: user_call.map_rows(results["user-map"]),
    }
    text = report(results) if not args.only else markdown([("Metric", "Value", "Bar", "OK"), *only_rows[args.only]()]) + "\n"
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({**results, "table": text}, indent=2))


if __name__ == "__main__":
    main()
