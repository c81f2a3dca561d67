#!/usr/bin/env python
"""Benchmark mcpomni_jupyter against the raw MCP SDK, all in one run on this machine.

    .venv/bin/python bench/bench.py [--quick] [--json OUT]

1. ``%load_ext mcpomni_jupyter`` time in fresh subprocesses (and whether it imports ``mcp``);
2. per-call cost of a no-op tool over stdio: raw SDK, ``MCPManager.call``, ``%mcp call``;
3. connecting 1 vs 8 stdio servers at once (ours, and the raw SDK for reference);
4. peak RSS of a process holding one session: our manager vs the raw SDK.
See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import gc
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = [str(ROOT / "tests" / "servers" / "basic.py"), "stdio"]
DEVNULL = open(os.devnull, "w")  # the servers' stderr
median = statistics.median
now = time.perf_counter


def server_params():
    from mcp.client.stdio import StdioServerParameters

    return StdioServerParameters(command=sys.executable, args=SERVER)


# --------------------------------------------------------------------------- subprocess children


# run with ``python -c`` so that nothing but IPython is imported before %load_ext
LOAD_EXT_CHILD = """
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()  # not timed
before = set(sys.modules)
t0 = time.perf_counter()
shell.run_line_magic("load_ext", "mcpomni_jupyter")
seconds = time.perf_counter() - t0
new = set(sys.modules) - before
print(json.dumps({"seconds": seconds, "mcp_imported": "mcp" in sys.modules,
                  "asyncio_imported": "asyncio" in new, "new_modules": len(new)}))
"""


def child_memory(kind: str, calls: str) -> dict:
    calls = int(calls)
    if kind == "raw":
        from mcp import ClientSession
        from mcp.client.stdio import stdio_client

        async def run() -> int:
            async with stdio_client(server_params(), errlog=DEVNULL) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                for _ in range(calls):
                    await session.call_tool("noop", {})
                return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        peak = asyncio.run(run())
    else:
        from mcpomni_jupyter import MCPManager

        m = MCPManager()
        m.add("b", command=sys.executable, args=SERVER)
        m.connect()
        for _ in range(calls):
            m.call("b.noop")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        m.shutdown()
    return {"maxrss_kb": peak}


def run_child(*args: str, env: dict | None = None) -> dict:
    """Run ``python -c CODE`` (one arg) or ``bench.py --child ARGS``; returns its last line, as JSON."""
    command = ["-c", args[0]] if len(args) == 1 else [__file__, "--child", *args]
    proc = subprocess.run([sys.executable, *command], capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- 1. load_ext, 4. memory


def bench_load_ext(reps: int) -> dict:
    as_is = [run_child(LOAD_EXT_CHILD) for _ in range(reps)]
    # the same with a warm bytecode cache (kept outside the repo), as after a normal pip install
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        run_child(LOAD_EXT_CHILD, env=env)  # fills the cache, not counted
        warm = [run_child(LOAD_EXT_CHILD, env=env) for _ in range(reps)]
    summary = lambda runs: {  # noqa: E731
        "median_ms": median(r["seconds"] for r in runs) * 1e3,
        "mcp_imported": any(r["mcp_imported"] for r in runs),
        "asyncio_imported": any(r["asyncio_imported"] for r in runs),
        "new_modules": median(r["new_modules"] for r in runs),
        "runs_ms": [round(r["seconds"] * 1e3, 1) for r in runs],
    }
    return {"as_is": summary(as_is), "warm_pyc": summary(warm), "dont_write_bytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))}


def bench_memory(reps: int) -> dict:
    out = {kind: median(run_child("memory", kind, "100")["maxrss_kb"] for _ in range(reps)) / 1024 for kind in ("raw", "ours")}
    return {"raw_mb": out["raw"], "ours_mb": out["ours"], "ratio": out["ours"] / out["raw"]}


# --------------------------------------------------------------------------- 2. per-call overhead


async def timed(fn, n: int) -> tuple[list[float], float]:
    """n calls of fn (sync, or returning a coroutine); per-call seconds and process CPU per call."""
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
    """One trial: fresh server processes for the raw SDK and for us, then interleaved rounds."""
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    from mcpomni_jupyter import MCPManager

    async with stdio_client(server_params(), errlog=DEVNULL) as (read, write), ClientSession(read, write) as session:
        await session.initialize()  # (a) raw SDK, on this (main-thread) asyncio loop
        manager = MCPManager()  # (b) our Python API
        manager.add("b", command=sys.executable, args=SERVER)
        manager.connect()
        # (c) %mcp runs over the same manager and server process, so (b) and (c) differ only by the magic
        shell.magics_manager.registry["MCPMagics"].manager = manager
        ours = manager.connection("b").session
        variants = {
            "raw": lambda: session.call_tool("noop", {}),
            # diagnostic: the raw SDK call hopped to our loop thread and back, without the manager
            "hop": lambda: manager.loop.run(ours.call_tool("noop", {})),
            "api": lambda: manager.call("b.noop"),
            "magic": lambda: shell.run_line_magic("mcp", "call b.noop"),
        }
        try:
            assert not shell.run_line_magic("mcp", "call b.noop").is_error
            for fn in variants.values():
                await timed(fn, warmup)
            names = list(variants)
            for r in range(rounds):  # interleaved, rotating the order each round
                for name in names[r % len(names):] + names[: r % len(names)]:
                    gc.collect()
                    times, cpu = await timed(variants[name], n)
                    stats[name]["means"].append(statistics.fmean(times))
                    stats[name]["medians"].append(median(times))
                    stats[name]["cpu"].append(cpu)
        finally:
            manager.shutdown()


async def bench_calls(trials: int, rounds: int, n: int, warmup: int) -> dict:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mcpomni_jupyter")
    stats = {k: {"means": [], "medians": [], "cpu": []} for k in ("raw", "hop", "api", "magic")}
    trial_ratios = []  # %mcp call / raw per trial: the spread between server processes
    for _ in range(trials):
        await call_trial(shell, rounds, n, warmup, stats)
        trial_ratios.append(median(stats["magic"]["means"][-rounds:]) / median(stats["raw"]["means"][-rounds:]))
    shell.run_line_magic("unload_ext", "mcpomni_jupyter")
    out = {k: {"mean_us": median(s["means"]) * 1e6, "median_us": median(s["medians"]) * 1e6, "cpu_us": median(s["cpu"]) * 1e6,
               "round_means_us": [round(x * 1e6) for x in s["means"]]} for k, s in stats.items()}
    for v in out.values():
        v["ratio_mean"] = v["mean_us"] / out["raw"]["mean_us"]
        v["ratio_median"] = v["median_us"] / out["raw"]["median_us"]
    return {"trials": trials, "rounds": rounds, "calls_per_round": n, "magic_ratio_per_trial": trial_ratios, "variants": out}


# --------------------------------------------------------------------------- 3. concurrent connect


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped server processes
    return usage.ru_utime + usage.ru_stime


def connect_ours(n: int) -> float:
    from mcpomni_jupyter import MCPManager

    m = MCPManager()
    for i in range(n):
        m.add(f"s{i}", command=sys.executable, args=SERVER)
    t0 = now()
    m.connect()
    seconds = now() - t0
    states = [c.state.value for c in m.connections.values()]
    m.shutdown()
    assert states == ["connected"] * n, states
    return seconds


async def connect_raw(n: int) -> float:
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    ready, done = asyncio.Event(), []

    async def one() -> None:
        async with stdio_client(server_params(), errlog=DEVNULL) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            done.append(now())
            if len(done) == n:
                ready.set()
            await ready.wait()  # hold every server open until all are up

    t0 = now()
    await asyncio.gather(*(one() for _ in range(n)))
    return max(done) - t0


def bench_connect(reps: int, many: int = 8) -> dict:
    import mcp.client.stdio  # noqa: F401  (the SDK import is not part of a connect)

    runs: dict[str, list[float]] = {"ours_1": [], f"ours_{many}": [], "raw_1": [], f"raw_{many}": []}
    server_cpu: dict[str, list[float]] = {k: [] for k in runs}  # per server process, start to exit
    for _ in range(reps):
        for key in runs:
            who, n = key.split("_")
            cpu0 = children_cpu()
            runs[key].append(connect_ours(int(n)) if who == "ours" else asyncio.run(connect_raw(int(n))))
            server_cpu[key].append((children_cpu() - cpu0) / int(n))
    out = {k: median(v) for k, v in runs.items()}
    out["ratio"] = out[f"ours_{many}"] / out["ours_1"]
    out["raw_ratio"] = out[f"raw_{many}"] / out["raw_1"]
    out["server_cpu_s"] = median(server_cpu["ours_1"] + server_cpu["raw_1"])  # one server alone
    out["server_cpu_s_many"] = median(server_cpu[f"ours_{many}"] + server_cpu[f"raw_{many}"])  # each, when 8 start at once
    # the servers alone need this much wall time to start 8 on this machine's CPUs
    out["cpu_floor_s"] = many * out["server_cpu_s"] / (os.cpu_count() or 1)
    out["runs"] = runs
    return out


# --------------------------------------------------------------------------- report


def report(r: dict) -> str:
    le, c, cn, mem = r["load_ext"], r["calls"], r["connect"], r["memory"]
    calls = c["variants"]
    ok = lambda good: "pass" if good else "FAIL"  # noqa: E731
    yn = lambda b: "yes" if b else "no"  # noqa: E731
    env_note = "no .pyc (PYTHONDONTWRITEBYTECODE=1)" if le["dont_write_bytecode"] else "this environment"
    magic = calls["magic"]
    rows = [
        ("Metric", "Value", "Bar", "OK"),
        (f"`%load_ext`, {env_note}", f"{le['as_is']['median_ms']:.1f} ms (imports mcp: {yn(le['as_is']['mcp_imported'])}, asyncio: {yn(le['as_is']['asyncio_imported'])})",
         "<= 100 ms, no mcp", ok(le["as_is"]["median_ms"] <= 100 and not le["as_is"]["mcp_imported"])),
        ("`%load_ext`, warm .pyc cache", f"{le['warm_pyc']['median_ms']:.1f} ms (imports mcp: {yn(le['warm_pyc']['mcp_imported'])})",
         "<= 100 ms, no mcp", ok(le["warm_pyc"]["median_ms"] <= 100 and not le["warm_pyc"]["mcp_imported"])),
        ("`%mcp call` no-op / raw SDK", f"{magic['ratio_mean']:.3f}x mean, {magic['ratio_median']:.3f}x median", "<= 1.10", ok(magic["ratio_mean"] <= 1.10)),
        ("`MCPManager.call` / raw SDK", f"{calls['api']['ratio_mean']:.3f}x mean, {calls['api']['ratio_median']:.3f}x median", "", ""),
        ("connect 1 stdio server (ours)", f"{cn['ours_1']:.2f} s", "", ""),
        ("connect 8 at once (ours)", f"{cn['ours_8']:.2f} s = {cn['ratio']:.2f}x one", "<= 2x", ok(cn["ratio"] <= 2)),
        ("connect 1 / 8 at once (raw SDK)", f"{cn['raw_1']:.2f} s / {cn['raw_8']:.2f} s = {cn['raw_ratio']:.2f}x", "ref.", ""),
        ("CPU per server process (start..exit)", f"{cn['server_cpu_s']:.2f} s alone, {cn['server_cpu_s_many']:.2f} s in 8", "ref.", ""),
        (f"=> 8 servers' CPU / {os.cpu_count()} CPUs", f"{cn['cpu_floor_s']:.2f} s = {cn['cpu_floor_s'] / cn['ours_1']:.2f}x one connect", "ref.", ""),
        ("peak RSS, 1 session: ours / raw", f"{mem['ours_mb']:.1f} / {mem['raw_mb']:.1f} MB = {mem['ratio']:.2f}x", "", ""),
    ]
    labels = {"raw": "raw SDK (main-thread loop)", "hop": "raw SDK via our loop thread (diag.)", "api": "`MCPManager.call`", "magic": "`%mcp call`"}
    rows2 = [("Per call (no-op, stdio)", "mean us", "median us", "client CPU us", "ratio mean", "ratio median")] + [
        (labels[k], f"{v['mean_us']:.0f}", f"{v['median_us']:.0f}", f"{v['cpu_us']:.0f}", f"{v['ratio_mean']:.3f}", f"{v['ratio_median']:.3f}")
        for k, v in calls.items()
    ]
    table = lambda rs: "\n".join(["| " + " | ".join(rs[0]) + " |", "|" + "---|" * len(rs[0])] + ["| " + " | ".join(x) + " |" for x in rs[1:]])  # noqa: E731
    head = (f"## mcpomni_jupyter benchmark ({r['mode']}; Python {platform.python_version()}, {os.cpu_count()} CPUs; "
            f"per call: {c['trials']} trials x {c['rounds']} rounds x {c['calls_per_round']} calls; took {r['elapsed_s']:.0f} s)")
    return f"{head}\n\n{table(rows)}\n\n{table(rows2)}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (under a minute)")
    parser.add_argument("--json", metavar="OUT", help="also write the figures as JSON")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # a measurement in a fresh process; prints one JSON line
        print(json.dumps(child_memory(*args.child[1:])))
        return
    q = args.quick
    t0 = now()
    results: dict = {"mode": "quick" if q else "full"}
    # IPython's profile and history stay out of ~/.ipython; removed at exit, after the shell's own atexit
    os.environ["IPYTHONDIR"] = tempfile.mkdtemp(prefix="mcpj-bench-ipython-")
    atexit.register(shutil.rmtree, os.environ["IPYTHONDIR"], True)
    print("load_ext ...", file=sys.stderr)
    results["load_ext"] = bench_load_ext(3 if q else 7)
    print("memory ...", file=sys.stderr)
    results["memory"] = bench_memory(1 if q else 3)
    print("per-call ...", file=sys.stderr)
    results["calls"] = asyncio.run(bench_calls(trials=2 if q else 5, rounds=5 if q else 8, n=25 if q else 40, warmup=20 if q else 40))
    print("connect ...", file=sys.stderr)
    results["connect"] = bench_connect(1 if q else 3)
    results["elapsed_s"] = now() - t0
    text = report(results)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({**results, "table": text, "python": platform.python_version(), "cpus": os.cpu_count()}, indent=2))


if __name__ == "__main__":
    main()
