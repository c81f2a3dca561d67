#!/usr/bin/env python
"""A catalog of thousands of tools, measured in a real IPython shell (a measurement, not a test).

    .venv/bin/python bench/catalog.py [--small tiny|basic] [--servers 30] [--tools 5002] [--rounds 3] [--json OUT]

One ``tests/servers/many_tools.py`` (5,002 tools, listed 100 a page) and
``--servers`` small ones (``bench/tiny_server.py``, no SDK, by default; or
``tests/servers/basic.py``, which imports the SDK in each process).  Reported:

- connect: ``%mcp connect`` of all of them (every page followed), median of ``--rounds`` fresh managers;
- render: the bytes of ``%mcp tools`` as the notebook would hold them (``display_formatter.format``), and the time;
- completion: IPython's own ``Completer.completions`` on ``%mcp call ...`` lines: the first Tab after the
  catalog changed (our index built then), then warm Tabs (median, p95, max of 30); jedi is warmed first by
  Tabs before connecting, since its first load (~0.2-0.5 s) happens in any session on its first Tab;
- ``dir(mcp.tools.big)`` and the first attribute touch;
- the search index: ``%mcp tools --search`` the first time (the build) and again;
- memory per 1,000 tools: a fresh process connects the 5,002-tool server alone and then a 2-tool one;
  ``tracemalloc`` (Python allocations, every thread) and RSS, before and after each, the difference per 1,000 tools.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MANY = ROOT / "tests" / "servers" / "many_tools.py"
SMALL = {"tiny": [str(ROOT / "bench" / "tiny_server.py")], "basic": [str(ROOT / "tests" / "servers" / "basic.py"), "stdio"]}
PY = sys.executable


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def shell_with(servers: int, tools: int, small: str) -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    from mcpomni_jupyter.core.kernel import reset_manager

    ip = InteractiveShell.instance()
    reset_manager()
    if "mcpomni_jupyter" in ip.extension_manager.loaded:
        ip.run_line_magic("reload_ext", "mcpomni_jupyter")
    else:
        ip.run_line_magic("load_ext", "mcpomni_jupyter")
    ip.run_line_magic("mcp", f"add big -- {PY} {MANY} {tools}")
    for i in range(servers):
        ip.run_line_magic("mcp", f"add s{i} -- {PY} {' '.join(SMALL[small])}")
    return ip


def complete(ip: Any, line: str) -> float:
    from IPython.core.completer import provisionalcompleter

    start = time.perf_counter()
    with provisionalcompleter():
        list(ip.Completer.completions(line, len(line)))
    return time.perf_counter() - start


def warm_up(ip: Any) -> float:
    """Tabs before the catalog is listed: jedi's first load (~0.2-0.5 s in any session, ours or not) and a magic line's."""
    first = complete(ip, "import o")
    complete(ip, "x = 1; x.")
    complete(ip, "%mcp call s")
    return first


def completion(ip: Any, jedi_first: float) -> dict[str, Any]:
    lines = ["%mcp call big.tool_49", "%mcp call big.", "%mcp call tool_12", "%mcp call s3.no", "%mcp call big.tool_4321 "]
    first = complete(ip, lines[0])  # the catalog is new to the completer: the index is built now
    warm = [complete(ip, line) for _ in range(6) for line in lines]
    return {
        "jedi_first_ms": ms(jedi_first),
        "first_after_change_ms": ms(first),
        "warm_median_ms": ms(statistics.median(warm)),
        "warm_p95_ms": ms(sorted(warm)[int(len(warm) * 0.95)]),
        "warm_max_ms": ms(max(warm)),
    }


def catalog_round(args: argparse.Namespace, measure: bool) -> dict[str, Any]:
    ip = shell_with(args.servers, args.tools, args.small)
    jedi_first = warm_up(ip) if measure else 0.0
    start = time.perf_counter()
    ip.run_line_magic("mcp", "connect")
    out: dict[str, Any] = {"connect_s": round(time.perf_counter() - start, 3)}
    if measure:
        from mcpomni_jupyter import get_manager

        start = time.perf_counter()
        table = ip.run_line_magic("mcp", "tools")
        data, _ = ip.display_formatter.format(table)
        out["render"] = {
            "rows": len(table),
            "ms": ms(time.perf_counter() - start),
            **{f"{kind}_kib": round(len(text.encode()) / 1024, 1) for kind, text in data.items()},
        }
        out["completion"] = completion(ip, jedi_first)
        mcp = get_manager()
        start = time.perf_counter()
        names = dir(mcp.tools.big)
        first_dir = time.perf_counter() - start
        start = time.perf_counter()
        dir(mcp.tools.big)
        again = time.perf_counter() - start
        start = time.perf_counter()
        mcp.tools.big.tool_4321  # noqa: B018
        out["callables"] = {
            "names": len(names),
            "dir_first_ms": ms(first_dir),
            "dir_again_ms": ms(again),
            "touch_ms": ms(time.perf_counter() - start),
        }
        searches = []
        for _ in range(3):
            start = time.perf_counter()
            ip.run_line_magic("mcp", "tools --search 'read invoice'")
            searches.append(time.perf_counter() - start)
        out["search"] = {"first_ms (index build)": ms(searches[0]), "again_ms": ms(min(searches[1:]))}
    get_manager_shutdown()
    return out


def get_manager_shutdown() -> None:
    from mcpomni_jupyter import get_manager

    get_manager().shutdown()


MEMORY = r"""
import gc, json, sys, time, tracemalloc
sys.path.insert(0, ROOT)
import mcp  # the SDK's own memory is not the catalog's
from mcpomni_jupyter.core.manager import MCPManager
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
def now():
    gc.collect()
    return tracemalloc.get_traced_memory()[0], rss()
tracemalloc.start()
m = MCPManager(timeout=60)
m.add("tiny", command=PY, args=[TINY])
m.connect("tiny")  # the loop thread, a session: what any catalog pays
t0, r0 = now()
m.add("big", command=PY, args=[MANY, str(TOOLS)])
m.connect("big")
t1, r1 = now()
table = m.list_tools("big")
t2, r2 = now()
m.list_tools("big", search="read invoice")
t3, r3 = now()
print(json.dumps({"tools": len(m.connection("big").tools), "listed_bytes": t1 - t0, "listed_rss": r1 - r0,
                  "table_bytes": t2 - t1, "index_bytes": t3 - t2, "rss_after_all": r3 - r0}))
m.shutdown()
"""


def memory(tools: int) -> dict[str, Any]:
    code = MEMORY.replace("ROOT", repr(str(ROOT))).replace("PY", repr(PY)).replace("TINY", repr(SMALL["tiny"][0]))
    code = code.replace("MANY", repr(str(MANY))).replace("TOOLS", str(tools))
    found = json.loads(subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True, timeout=300).stdout.splitlines()[-1])
    per = 1000 / found["tools"]
    return {
        "tools": found["tools"],
        "listed_mb_per_1000 (tracemalloc)": round(found["listed_bytes"] * per / 1e6, 2),
        "listed_mb_per_1000 (rss)": round(found["listed_rss"] * per / 1e6, 2),
        "tool_table_mb_per_1000": round(found["table_bytes"] * per / 1e6, 2),
        "search_index_mb_per_1000": round(found["index_bytes"] * per / 1e6, 2),
        "rss_all_mb": round(found["rss_after_all"] / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", choices=sorted(SMALL), default="tiny")
    parser.add_argument("--servers", type=int, default=30)
    parser.add_argument("--tools", type=int, default=5_002)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    import mcp  # noqa: F401  (imported before any timing, as a kernel that has connected once has it)

    rounds = [catalog_round(args, measure=i == 0) for i in range(args.rounds)]
    report = {
        **rounds[0],
        "connect_s": statistics.median(r["connect_s"] for r in rounds),
        "connect_rounds_s": [r["connect_s"] for r in rounds],
    }
    report["small"], report["servers"] = args.small, args.servers + 1
    report["memory"] = memory(args.tools)
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
