#!/usr/bin/env python
"""Tool search over a large catalog: how long ``search_tools`` takes over 5,000 synthetic tools (a measurement, not a test).

    .venv/bin/python bench/tool_search.py [--tools 5000] [--servers 30] [--rounds 50] [--json OUT]

The tools are the SDK's ``mcp.types.Tool`` objects, spread over ``--servers``
servers, with names in snake_case, camelCase and kebab-case, a title on some,
and descriptions of 10 to 80 words (a few of 20,000 characters, of which the
index reads the first 2,000).  Reported: the index build (median of 5 fresh
builds), the first search of a new catalog (build included), then each query
of a fixed set run ``--rounds`` times on the built index (median, p95, max),
the same through the listing path (``%mcp tools --search``'s ``_table``:
the app-only filter, the pairs, the cache lookup and the table; no server),
and the index's memory (``tracemalloc``).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcp.types import Tool

from mcpomni_jupyter.core.agents.search import ToolIndex, search_tools
from mcpomni_jupyter.core.listings import _table

VERBS = [
    "read",
    "write",
    "list",
    "get",
    "set",
    "create",
    "delete",
    "update",
    "search",
    "fetch",
    "send",
    "parse",
    "convert",
    "render",
    "upload",
    "download",
    "sync",
    "run",
    "query",
    "count",
]
NOUNS = [
    "file",
    "folder",
    "issue",
    "comment",
    "user",
    "repo",
    "branch",
    "message",
    "channel",
    "table",
    "row",
    "column",
    "chart",
    "image",
    "video",
    "page",
    "ticket",
    "invoice",
    "order",
    "email",
]
FILLER = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "with",
    "for",
    "from",
    "into",
    "this",
    "that",
    "returns",
    "result",
    "results",
    "value",
    "values",
    "optional",
    "required",
    "given",
    "when",
    "each",
    "all",
    "any",
    "by",
    "id",
    "name",
    "path",
    "url",
    "text",
    "json",
    "csv",
    "data",
    "record",
    "records",
    "item",
    "items",
    "server",
    "client",
    "cache",
    "token",
    "page",
]
QUERIES = ["read file", "fs.read", "createIssue", "delete", "send email message", "upload image", "s7.", "invoice", "json", "zzz nothing"]
now = time.perf_counter


def synthetic(n: int, servers: int, seed: int = 7) -> list[tuple[str, Any]]:
    rnd = random.Random(seed)
    entries = []
    for i in range(n):
        verb, noun = rnd.choice(VERBS), rnd.choice(NOUNS)
        style = i % 3
        name = f"{verb}_{noun}_{i}" if style == 0 else f"{verb}{noun.title()}{i}" if style == 1 else f"{verb}-{noun}-{i}"
        words = [rnd.choice(FILLER + VERBS + NOUNS) for _ in range(rnd.randint(10, 80))]
        description = " ".join(words) + (" " + "x" * 20_000 if i % 500 == 0 else "")
        title = f"{verb.title()} {noun}" if i % 4 == 0 else None
        server = "fs" if i % servers == 0 else f"s{i % servers}"
        entries.append((server, Tool(name=name, title=title, description=description, input_schema={"type": "object"})))
    return entries


def timings(fn: Any, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = now()
        fn()
        out.append((now() - start) * 1000)
    return out


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"median_ms": statistics.median(ordered), "p95_ms": ordered[int(0.95 * (len(ordered) - 1))], "max_ms": ordered[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=5000)
    parser.add_argument("--servers", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    entries = synthetic(args.tools, args.servers)
    report: dict[str, Any] = {"tools": args.tools, "servers": args.servers}

    report["build"] = summary(timings(lambda: ToolIndex(entries), 5))
    fresh = synthetic(args.tools, args.servers, seed=8)  # new tool objects: a catalog the cache has not seen
    start = now()
    search_tools(fresh, "read file")
    report["first_search_ms"] = (now() - start) * 1000

    tracemalloc.start()
    index = ToolIndex(entries)
    report["index_kib"] = tracemalloc.get_traced_memory()[0] / 1024
    tracemalloc.stop()

    connections = {s: SimpleNamespace(name=s) for s, _ in entries}
    pairs = [(connections[s], t) for s, t in entries]
    report["queries"] = {}
    for query in QUERIES:
        hits = index.search(query)
        direct = summary(timings(lambda q=query: search_tools(entries, q), args.rounds))
        listing = summary(timings(lambda q=query: _table("tools", pairs, False, q, 20), args.rounds))
        report["queries"][query] = {"hits": len(hits), "top": hits[0].name if hits else "", "search": direct, "listing": listing}
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


def print_report(report: dict[str, Any]) -> None:
    print(f"{report['tools']:,} tools on {report['servers']} servers (Python {sys.version.split()[0]})\n")
    b = report["build"]
    print(
        f"index build: median {b['median_ms']:.1f} ms (max {b['max_ms']:.1f}); first search of a new catalog {report['first_search_ms']:.1f} ms"
    )
    print(f"index memory: {report['index_kib']:,.0f} KiB\n")
    print("| query | hits | top | search_tools median / p95 / max (ms) | listing path median / p95 / max (ms) |")
    print("|---|---|---|---|---|")
    for query, r in report["queries"].items():
        s, lp = r["search"], r["listing"]
        print(
            f"| `{query}` | {r['hits']} | {r['top']} | {s['median_ms']:.2f} / {s['p95_ms']:.2f} / {s['max_ms']:.2f} "
            f"| {lp['median_ms']:.2f} / {lp['p95_ms']:.2f} / {lp['max_ms']:.2f} |"
        )


if __name__ == "__main__":
    main()
