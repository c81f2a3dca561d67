#!/usr/bin/env python
"""A fresh kernel's first tool result against a bare SDK script's (a measurement, not a test).

    .venv/bin/python bench/cold_start.py [--rounds 7] [--server calc|tiny] [--json OUT]

Each round starts two fresh processes, one after the other, the order
alternating: the notebook (``python -c``: an IPython ``InteractiveShell``,
then ``%load_ext mcpomni_jupyter``, ``%mcp add calc -- python SERVER``,
``%mcp call calc.add a=1 b=2``) and the bare script (``from mcp import Client,
StdioServerParameters`` and ``async with Client(...) as c: await c.call_tool("add", ...)``),
both against the same server program (``bench/calc_server.py``, an SDK
``MCPServer``; ``--server tiny``: ``bench/tiny_server.py``, no SDK).  Each
process reports the time from its first line of code (the notebook: from
``%load_ext``, the shell being the kernel's, already there) to the result; the
wall time of the whole process (interpreter start included) is reported too.
``--with-jsonschema``: the notebook also imports ``jsonschema`` before its
call, as it did before plain schemas were checked without it (the script's
``call_tool`` imports it to check the result): what starting the server
during the SDK's import gains alone.
The ratio is the notebook's / the script's, per round, then the median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SERVERS = {"calc": (ROOT / "bench" / "calc_server.py", "add", "a=1 b=2"), "tiny": (ROOT / "bench" / "tiny_server.py", "noop", "")}

NOTEBOOK = r"""
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
sys.path.insert(0, ROOT)
ip = InteractiveShell.instance()
start = time.perf_counter()
ip.run_line_magic("load_ext", "mcpomni_jupyter")
loaded = time.perf_counter()
sdk = "mcp" in sys.modules
ip.run_line_magic("mcp", "add calc -- " + PY + " " + SERVER)
if WITH_JSONSCHEMA:
    import jsonschema  # what a first call cost before plain schemas were checked without it
result = ip.run_line_magic("mcp", "call calc." + TOOL + " " + ARGS)
assert not result.is_error, result
print(json.dumps({"first_result_s": time.perf_counter() - start, "load_ext_s": loaded - start, "sdk_at_load": sdk}))
"""

SCRIPT = r"""
import time
start = time.perf_counter()
import asyncio, json
from mcp import Client
from mcp.client.stdio import StdioServerParameters

async def main():
    async with Client(StdioServerParameters(command=PY, args=[SERVER])) as client:
        return await client.call_tool(TOOL, ARGUMENTS)

result = asyncio.run(main())
assert not result.is_error, result
print(json.dumps({"first_result_s": time.perf_counter() - start}))
"""


def run(code: str) -> dict[str, float]:
    start = time.perf_counter()
    done = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"a round failed:\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["process_s"] = time.perf_counter() - start
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--server", choices=sorted(SERVERS), default="calc")
    parser.add_argument(
        "--with-jsonschema", action="store_true", help="the notebook imports jsonschema before its call (the overlap alone)"
    )
    parser.add_argument("--json")
    args = parser.parse_args()
    server, tool, words = SERVERS[args.server]
    arguments = dict(w.split("=") for w in words.split())
    notebook = NOTEBOOK.replace("ROOT", repr(str(ROOT))).replace("PY", repr(PY)).replace("SERVER", repr(str(server)))
    notebook = notebook.replace("TOOL", repr(tool)).replace("ARGS", repr(words)).replace("WITH_JSONSCHEMA", str(args.with_jsonschema))
    script = SCRIPT.replace("PY", repr(PY)).replace("SERVER", repr(str(server))).replace("TOOL", repr(tool))
    script = script.replace("ARGUMENTS", repr({k: float(v) for k, v in arguments.items()}))
    rounds = []
    for i in range(args.rounds):
        order = [("notebook", notebook), ("script", script)]
        measured = {name: run(code) for name, code in (order if i % 2 == 0 else order[::-1])}
        rounds.append(measured)
        nb, sc = measured["notebook"], measured["script"]
        print(
            f"round {i + 1}: notebook {nb['first_result_s']:.2f} s (process {nb['process_s']:.2f}), "
            f"script {sc['first_result_s']:.2f} s (process {sc['process_s']:.2f}), ratio {nb['first_result_s'] / sc['first_result_s']:.2f}",
            flush=True,
        )
    report = {
        "server": args.server,
        "notebook_s": statistics.median(r["notebook"]["first_result_s"] for r in rounds),
        "script_s": statistics.median(r["script"]["first_result_s"] for r in rounds),
        "ratio_median": statistics.median(r["notebook"]["first_result_s"] / r["script"]["first_result_s"] for r in rounds),
        "process_ratio_median": statistics.median(r["notebook"]["process_s"] / r["script"]["process_s"] for r in rounds),
        "load_ext_s": statistics.median(r["notebook"]["load_ext_s"] for r in rounds),
        "sdk_imported_by_load_ext": any(r["notebook"]["sdk_at_load"] for r in rounds),
        "rounds": rounds,
    }
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in report.items() if k != "rounds"}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
