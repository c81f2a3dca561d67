#!/usr/bin/env python
"""What a user runs against what the SDK's user runs: ``%mcp call`` and ``%mcp map`` vs a plain ``mcp.Client``.

    .venv/bin/python bench/user_call.py [call|map|both] [--rounds 300] [--map-rounds 8] [--api] [--json OUT]
    .venv/bin/python bench/bench.py --only user-call      # the same, through the bench's entry point
    .venv/bin/python bench/bench.py --only user-map

Ours: an in-process IPython ``InteractiveShell`` with ``%load_ext mcpomni_jupyter``,
``%mcp add calcA -- python bench/calc_server.py``, and ``run_line_magic("mcp", "call calcA.noop")``.
The baseline: the SDK's ``mcp.Client(StdioServerParameters(...), mode="auto")`` entered on an
asyncio loop in a thread of its own, each ``call_tool("noop")`` submitted from the main thread with
``asyncio.run_coroutine_threadsafe(...).result()`` (a synchronous caller of an async client, as in a
kernel). Each variant has its own ``calc_server.py`` process (an SDK ``MCPServer``). Nothing of ours
is on the baseline's path: its client is not our connection's client.

call: rounds of a batch of 5 calls of each variant, the order alternating round by round.
map: rounds of 1,000 no-op calls at concurrency 16 — ``%mcp map calcA.noop --from rows --concurrency 16``
against ``asyncio.gather`` under an ``asyncio.Semaphore(16)`` on the baseline's client (submitted the same way).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CALC = str(Path(__file__).resolve().parent / "calc_server.py")
now = time.perf_counter
median = statistics.median


class RawClient:
    """The SDK's ``mcp.Client`` over stdio on a loop thread of its own; called from this thread."""

    def __init__(self, server: str = CALC) -> None:
        from mcp import Client
        from mcp.client.stdio import StdioServerParameters

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="sdk-loop")
        self.thread.start()
        self.client = Client(StdioServerParameters(command=sys.executable, args=[server]), mode="auto")
        self._close: asyncio.Event | None = None
        self._opened: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._owner = asyncio.run_coroutine_threadsafe(self._own(), self.loop)
        concurrent.futures.wait([self._opened, self._owner], 60, return_when=concurrent.futures.FIRST_COMPLETED)
        if self._owner.done():
            self._owner.result()  # it failed to connect: raise why
        self._opened.result(0)

    async def _own(self) -> None:  # the client's contexts are entered and left in one task
        self._close = asyncio.Event()
        async with self.client:
            self._opened.set_result(None)
            await self._close.wait()

    def call(self, tool: str = "noop") -> Any:
        return asyncio.run_coroutine_threadsafe(self.client.call_tool(tool), self.loop).result()

    def map(self, n: int, concurrency: int, tool: str = "noop") -> list[Any]:
        async def run() -> list[Any]:
            gate = asyncio.Semaphore(concurrency)

            async def one() -> Any:
                async with gate:
                    return await self.client.call_tool(tool)

            return await asyncio.gather(*(one() for _ in range(n)))

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result()

    def close(self) -> None:
        assert self._close is not None
        self.loop.call_soon_threadsafe(self._close.set)
        self._owner.result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def open_shell(server: str = CALC) -> Any:
    """An in-process IPython shell with the extension loaded and ``calcA`` connected."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mcpomni_jupyter")
    shell.run_line_magic("mcp", f"add calcA -- {sys.executable} {server}")
    shell.run_line_magic("mcp", "connect calcA")
    return shell


def _children() -> set[int]:
    """This process's child processes (Linux ``/proc``; empty elsewhere)."""
    found = set()
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(int(entry))
    return found


def _cpu_s(pids: set[int]) -> float:
    """CPU seconds used so far by every thread of ``pids`` (``/proc/PID/task/TID/schedstat``: nanoseconds)."""
    total = 0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    return total / 1e9


def _spawned(make: Any) -> tuple[Any, set[int]]:
    """``make()``, and the child processes it started (its server)."""
    before = _children()
    made = make()
    return made, _children() - before


def _spread(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=10) if len(values) >= 2 else [values[0]] * 9
    return {"median": median(values), "p10": q[0], "p90": q[-1], "min": min(values), "max": max(values)}


def _tenths(ours: list[float], raw: list[float], rounds: int, batch: int) -> list[float]:
    """ours / raw (medians of the calls) in ten consecutive tenths of the rounds."""
    size = max(1, rounds // 10) * batch
    return [median(ours[i : i + size]) / median(raw[i : i + size]) for i in range(0, len(ours) - size + 1, size)]


def bench_call(rounds: int = 300, batch: int = 5, warmup: int = 50, api: bool = False, fresh: int = 0) -> dict:
    """Interleaved batches of ``batch`` no-op calls: ``%mcp call calcA.noop`` vs the raw ``Client.call_tool``.

    With ``fresh`` = N, both sides get new server processes every N rounds (not timed; see ``bench_map``).
    """
    from mcpomni_jupyter import get_manager

    (shell, ours_pids), (raw, raw_pids) = _spawned(open_shell), _spawned(RawClient)
    server_used = {"magic": 0.0, "raw": 0.0}

    def renew() -> None:
        nonlocal raw, ours_pids, raw_pids
        server_used["magic"] += _cpu_s(ours_pids) - server0["magic"]
        server_used["raw"] += _cpu_s(raw_pids) - server0["raw"]
        raw.close()
        shell.run_line_magic("mcp", "disconnect calcA")
        ours_pids = _spawned(lambda: shell.run_line_magic("mcp", "connect calcA"))[1]
        raw, raw_pids = _spawned(RawClient)
        for fn in variants.values():
            for _ in range(warmup):
                fn()
        server0.update(magic=_cpu_s(ours_pids), raw=_cpu_s(raw_pids))

    variants = {"magic": lambda: shell.run_line_magic("mcp", "call calcA.noop"), "raw": lambda: raw.call()}
    if api:
        variants["api"] = lambda: get_manager().call("calcA.noop")  # same manager and server process as the magic
    times: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    ratios: list[float] = []
    try:
        assert not variants["magic"]().is_error and not raw.call().is_error
        for fn in variants.values():
            for _ in range(warmup):
                fn()
        names = list(variants)
        server0 = {"magic": _cpu_s(ours_pids), "raw": _cpu_s(raw_pids)}
        for r in range(rounds):
            if fresh and r and r % fresh == 0:
                renew()
            for name in names if r % 2 == 0 else names[::-1]:
                fn, own, c0 = variants[name], times[name], time.process_time()
                for _ in range(batch):
                    t0 = now()
                    fn()
                    own.append(now() - t0)
                cpu[name].append((time.process_time() - c0) / batch)
            ratios.append(median(times["magic"][-batch:]) / median(times["raw"][-batch:]))
        server_cpu = {k: server_used[k] + _cpu_s(pids) - server0[k] for k, pids in (("magic", ours_pids), ("raw", raw_pids))}
    finally:
        raw.close()
        shell.run_line_magic("unload_ext", "mcpomni_jupyter")
    out: dict[str, Any] = {"rounds": rounds, "batch": batch, "fresh": fresh}
    for name in variants:
        out[name] = {
            "median_us": median(times[name]) * 1e6,
            "mean_us": statistics.fmean(times[name]) * 1e6,
            "cpu_us": median(cpu[name]) * 1e6,
        }
    for name in ("magic", "raw"):  # the server's CPU per call (the API variant shares the magic's server)
        out[name]["server_cpu_us"] = server_cpu[name] / (len(times[name]) + (len(times["api"]) if api and name == "magic" else 0)) * 1e6
    out["ratio"] = median(times["magic"]) / median(times["raw"])
    # CPU per call, this process (both threads) plus the variant's server: what machine load inflates least
    out["cpu_ratio"] = (out["magic"]["cpu_us"] + out["magic"]["server_cpu_us"]) / (out["raw"]["cpu_us"] + out["raw"]["server_cpu_us"])
    out["ratio_per_round"] = _spread(ratios)
    out["ratio_per_tenth"] = [round(x, 3) for x in _tenths(times["magic"], times["raw"], rounds, batch)]
    if api:
        out["api_ratio"] = median(times["api"]) / median(times["raw"])
    return out


def bench_map(rounds: int = 8, n: int = 1000, concurrency: int = 16, api: bool = False, fresh: bool = False) -> dict:
    """``%mcp map calcA.noop --from rows --concurrency 16`` vs ``gather`` + ``Semaphore(16)`` on the raw client.

    With ``fresh``, both sides get new server processes before every round (not timed): a server process's
    speed differs from another's by 10-15 % on a small VM for the life of the process, so two long-lived
    processes bias every round the same way; new ones each round turn that bias into noise the median removes.
    """
    from mcpomni_jupyter import get_manager

    shell, raw = open_shell(), RawClient()
    shell.user_ns["bench_rows"] = [{} for _ in range(n)]

    def magic() -> None:
        result = shell.run_line_magic("mcp", f"map calcA.noop --from bench_rows --concurrency {concurrency}")
        assert result.done == n, result.summary()

    def sdk() -> None:
        assert not any(r.is_error for r in raw.map(n, concurrency))

    def ours_api() -> None:
        result = get_manager().map("calcA.noop", ({} for _ in range(n)), concurrency=concurrency)
        assert result.done == n, result.summary()

    def renew() -> None:
        nonlocal raw
        raw.close()
        shell.run_line_magic("mcp", "disconnect calcA")
        shell.run_line_magic("mcp", "connect calcA")
        raw = RawClient()

    variants = {"magic": magic, "raw": sdk, **({"api": ours_api} if api else {})}
    times: dict[str, list[float]] = {k: [] for k in variants}
    try:
        for fn in variants.values():
            fn()  # warm up
        names = list(variants)
        for r in range(rounds):
            if fresh and r:
                renew()
                for fn in variants.values():
                    fn()  # each new process warmed up as the first ones were
            for name in names if r % 2 == 0 else names[::-1]:
                t0 = now()
                variants[name]()
                times[name].append(now() - t0)
    finally:
        raw.close()
        shell.run_line_magic("unload_ext", "mcpomni_jupyter")
    per_round = [b / x for x, b in zip(times["magic"], times["raw"])]  # throughput ours / raw
    out: dict[str, Any] = {"rounds": rounds, "calls": n, "concurrency": concurrency, "fresh": fresh}
    for name in variants:
        out[name] = {"per_s": n / median(times[name]), "round_s": [round(x, 3) for x in times[name]]}
    out["ratio"] = median(per_round)
    out["ratio_per_round"] = [round(x, 3) for x in per_round]
    if api:
        out["api_ratio"] = median(b / x for x, b in zip(times["api"], times["raw"]))
    return out


def call_rows(c: dict) -> list[tuple[str, ...]]:
    spread = c["ratio_per_round"]
    tenths = c["ratio_per_tenth"]
    rows = [
        (
            "`%mcp call calcA.noop`, median per call",
            f"{c['magic']['median_us']:.0f} µs (CPU: client {c['magic']['cpu_us']:.0f} µs, server {c['magic']['server_cpu_us']:.0f} µs)",
            "",
            "",
        ),
        (
            "raw `mcp.Client.call_tool`, own loop thread",
            f"{c['raw']['median_us']:.0f} µs (CPU: client {c['raw']['cpu_us']:.0f} µs, server {c['raw']['server_cpu_us']:.0f} µs)",
            "",
            "",
        ),
        (
            f"ours / raw ({c['rounds']} rounds × {c['batch']})",
            f"{c['ratio']:.3f} (per round p10–p90 {spread['p10']:.2f}–{spread['p90']:.2f}; per tenth {min(tenths):.3f}–{max(tenths):.3f})",
            "<= 1.05",
            "pass" if c["ratio"] <= 1.05 else "FAIL",
        ),
    ]
    rows.append(("ours / raw, CPU per call (client process + its server)", f"{c['cpu_ratio']:.3f}", "", ""))
    if "api" in c:
        rows.append(("`MCPManager.call` (reference)", f"{c['api']['median_us']:.0f} µs, {c['api_ratio']:.3f}x raw", "", ""))
    return rows


def map_rows(m: dict) -> list[tuple[str, ...]]:
    rows = [
        (
            f"`%mcp map` of {m['calls']} no-ops, concurrency {m['concurrency']}",
            f"{m['magic']['per_s']:.0f} calls/s vs raw gather {m['raw']['per_s']:.0f}",
            "",
            "",
        ),
        (
            f"ours / raw, throughput ({m['rounds']} rounds{', new server processes each round' if m.get('fresh') else ''})",
            f"{m['ratio']:.3f} (per round {min(m['ratio_per_round']):.2f}–{max(m['ratio_per_round']):.2f})",
            ">= 0.95",
            "pass" if m["ratio"] >= 0.95 else "FAIL",
        ),
    ]
    if "api" in m:
        rows.append(("`MCPManager.map` (reference)", f"{m['api']['per_s']:.0f} calls/s, {m['api_ratio']:.3f}x raw", "", ""))
    return rows


def markdown(rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|" + "---|" * len(rows[0]))
    return "\n".join(lines)


def private_ipython_dir() -> None:
    """IPython's profile and history stay out of ~/.ipython (removed at exit)."""
    if "IPYTHONDIR" not in os.environ or "mcpj-bench" not in os.environ["IPYTHONDIR"]:
        os.environ["IPYTHONDIR"] = tempfile.mkdtemp(prefix="mcpj-bench-ipython-")
        import atexit

        atexit.register(shutil.rmtree, os.environ["IPYTHONDIR"], True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", nargs="?", choices=["call", "map", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=300, help="call: rounds of a batch each (default 300)")
    parser.add_argument("--batch", type=int, default=5, help="call: calls per variant per round (default 5)")
    parser.add_argument("--map-rounds", type=int, default=8, help="map: rounds of 1,000 calls each (default 8)")
    parser.add_argument(
        "--fresh", action="store_true", help="new server processes (both sides): map, every round; call, every --fresh-every rounds"
    )
    parser.add_argument("--fresh-every", type=int, default=30, help="call with --fresh: rounds per pair of server processes (default 30)")
    parser.add_argument("--api", action="store_true", help="also MCPManager.call / .map (same server process as the magic)")
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    private_ipython_dir()
    results: dict[str, Any] = {}
    rows: list[tuple[str, ...]] = [("Metric", "Value", "Bar", "OK")]
    if args.what in ("call", "both"):
        results["call"] = bench_call(args.rounds, args.batch, api=args.api, fresh=args.fresh_every if args.fresh else 0)
        rows += call_rows(results["call"])
    if args.what in ("map", "both"):
        results["map"] = bench_map(args.map_rounds, api=args.api, fresh=args.fresh)
        rows += map_rows(results["map"])
    print(markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
