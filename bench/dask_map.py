"""map of 2,000 calls to a stdio tool that sleeps 20 ms: on a 2-worker LocalCluster against in-process, same run.

    PYTHONPATH=. python bench/dask_map.py [--rows 2000] [--rounds 3]

Both sides use tests/servers/basic.py's ``sleep`` tool (an asyncio sleep: I/O
bound) at concurrency 16 (per worker on the cluster).  Each side is warmed up
first (servers started, connections kept), then the rounds alternate; the
figure is the median throughput of each and their ratio (the bar: >= 1.6x).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = str(ROOT / "tests" / "servers" / "basic.py")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from mcpomni_jupyter.core.manager import MCPManager

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    mcp = MCPManager(timeout=60)
    mcp.add("s", command=sys.executable, args=[SERVER, "stdio"])
    rows = [{"seconds": 0.02}] * args.rows
    sides = {
        "in-process": lambda: mcp.map("s.sleep", rows, concurrency=16, progress=False),
        "cluster": lambda: mcp.map("s.sleep", rows, concurrency=16, cluster=client, progress=False),
    }
    for run in sides.values():  # warm up: servers started on both sides
        assert run().done == args.rows
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, run in sides.items():
            start = time.perf_counter()
            out = run()
            elapsed = time.perf_counter() - start
            assert out.done == args.rows, out.summary()
            rates[name].append(args.rows / elapsed)
    local, remote = statistics.median(rates["in-process"]), statistics.median(rates["cluster"])
    for name, values in rates.items():
        print(f"{name:>10}: {statistics.median(values):7.1f} calls/s  (rounds: {', '.join(f'{v:.0f}' for v in values)})")
    print(f"cluster / in-process: {remote / local:.2f}x  (bar: >= 1.6x)")
    mcp.shutdown()
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
