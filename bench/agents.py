#!/usr/bin/env python
"""The agents' own cost: an agent loop over ``mcp.toolset()`` against the same loop over the SDK's client, and
``%%mcp ask``'s first streamed token against the model's own first byte.

    .venv/bin/python bench/agents.py [loop|first|both] [--calls 200] [--rounds 6] [--json OUT]

loop: a pydantic-ai ``Agent`` driven by a scripted ``FunctionModel`` that calls the no-op tool ``--calls``
times, one call per step, then answers.  Ours: ``toolsets=[mcp.toolset("calcA")]`` (the approval policy
installed, ``calcA.*`` allowed: every call goes through the request primitive and its pre-call checks).
The baseline: a minimal pydantic-ai ``FunctionToolset`` whose one tool calls the SDK's
``mcp.Client(...).call_tool("noop")``, that client on an asyncio loop in a thread of its own (the same
kind of thread hop as ours: the agent's loop -> the client's loop).  Each variant has its own
``calc_server.py`` process; the rounds alternate which runs first.

first: the scripted model server (tests/servers/scripted_llm.py) streams one short answer.  The model's
own first byte: the ``openai`` client's streamed chat completion, from the request to its first chunk
with text.  Ours: an in-process IPython shell runs a ``%%mcp ask`` cell (with the demo calc server
connected), from the cell's start to the first text reaching the cell's view.  The difference is what
the notebook adds before the first token: the catalog, the agent, pydantic-ai's request.  A third variant,
pydantic-ai alone (an ``Agent`` over the same model and server, no MCP), says how much of that is the agent
framework's own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from user_call import CALC, RawClient  # noqa: E402

now = time.perf_counter
median = statistics.median


def scripted(calls: int, tool: str) -> Any:
    """A FunctionModel calling ``tool`` ``calls`` times, one call per step, then answering."""
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
    from pydantic_ai.models.function import FunctionModel

    def respond(messages: list[Any], info: Any) -> ModelResponse:
        done = sum(1 for m in messages if m.kind == "request" and any(p.part_kind == "tool-return" for p in m.parts))
        if done >= calls:
            return ModelResponse(parts=[TextPart(content="done")])
        return ModelResponse(parts=[ToolCallPart(tool_name=tool, args={}, tool_call_id=f"c{done}")])

    return FunctionModel(respond)


def bench_loop(calls: int = 200, rounds: int = 6) -> dict[str, Any]:
    from pydantic_ai import Agent
    from pydantic_ai.toolsets import FunctionToolset
    from pydantic_ai.usage import UsageLimits

    from mcpomni_jupyter.core.manager import MCPManager

    manager = MCPManager()
    manager.add("calcA", command=sys.executable, args=[CALC])
    manager.connect("calcA", wait=True)
    manager.set_approval({"calcA.*": "allow"})
    raw = RawClient()

    async def noop() -> str:
        future = asyncio.run_coroutine_threadsafe(raw.client.call_tool("noop"), raw.loop)
        result = await asyncio.wrap_future(future)
        return result.content[0].text if result.content else ""

    baseline = FunctionToolset()
    baseline.add_function(noop, name="calcA_noop")
    ours_agent = Agent(scripted(calls, "calcA_noop"), toolsets=[manager.toolset("calcA")])
    raw_agent = Agent(scripted(calls, "calcA_noop"), toolsets=[baseline])
    times: dict[str, list[float]] = {"ours": [], "raw": []}

    def once(name: str, agent: Any) -> None:
        started = now()
        result = agent.run_sync("go", usage_limits=UsageLimits(request_limit=None))
        assert result.output == "done", result.output
        times[name].append(now() - started)

    once("ours", ours_agent), once("raw", raw_agent)  # warm up
    times = {"ours": [], "raw": []}
    for r in range(rounds):
        pair = [("ours", ours_agent), ("raw", raw_agent)]
        for name, agent in pair if r % 2 == 0 else reversed(pair):
            once(name, agent)
    manager.shutdown()
    raw.close()
    ours, base = median(times["ours"]), median(times["raw"])
    return {"calls": calls, "rounds": rounds, "ours_s": ours, "raw_s": base, "ratio": ours / base, "times": times}


def bench_first(rounds: int = 20) -> dict[str, Any]:
    import openai
    from IPython.core.interactiveshell import InteractiveShell
    from tools.scripted_llm import ScriptedLLM

    from mcpomni_jupyter.ui import ask as ask_view

    llm = ScriptedLLM()
    client = openai.OpenAI(base_url=llm.openai_base_url, api_key="bench")
    firsts: list[float] = []
    original = ask_view.AskCellView.text

    def text(self: Any, delta: str) -> None:
        if not firsts or firsts[-1] is None:
            firsts[-1:] = [now()]
        original(self, delta)

    ask_view.AskCellView.text = text  # type: ignore[method-assign]
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mcpomni_jupyter")
    shell.run_line_magic("mcp", f"add calcA -- {sys.executable} {CALC}")
    shell.run_line_magic("mcp", "connect calcA")
    shell.run_line_magic("config", f"MCPMagics.model_base_url = {llm.openai_base_url!r}")
    shell.run_line_magic("config", "MCPMagics.model = 'openai:scripted'")
    ours: list[float] = []
    raw: list[float] = []

    def run_ours() -> None:
        llm.set_script([{"text": "The first words of a short answer."}])
        firsts.append(None)  # type: ignore[arg-type]
        started = now()
        result = shell.run_cell("%%mcp ask --new\nSay something.", silent=True)
        assert result.success, result.error_in_exec
        ours.append(firsts[-1] - started)

    def run_raw() -> None:
        llm.set_script([{"text": "The first words of a short answer."}])
        started = now()
        stream = client.chat.completions.create(model="scripted", messages=[{"role": "user", "content": "Say something."}], stream=True)
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                raw.append(now() - started)
                break
        stream.close()

    from pydantic_ai import Agent
    from pydantic_ai.messages import PartStartEvent, TextPart
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    bare_agent = Agent(OpenAIChatModel("scripted", provider=OpenAIProvider(base_url=llm.openai_base_url, api_key="bench")))
    bare: list[float] = []

    async def bare_first() -> float:
        started = now()
        async with bare_agent.run_stream_events("Say something.") as events:
            async for event in events:
                if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
                    return now() - started
        return now() - started

    def run_bare() -> None:  # pydantic-ai alone, the same model and server: no MCP, no notebook
        llm.set_script([{"text": "The first words of a short answer."}])
        bare.append(asyncio.run(bare_first()))

    run_ours(), run_raw(), run_bare()  # warm up: imports, the first connection
    ours.clear(), raw.clear(), bare.clear()
    for r in range(rounds):
        for step in (run_ours, run_raw, run_bare) if r % 2 == 0 else (run_bare, run_raw, run_ours):
            step()
    shell.run_line_magic("unload_ext", "mcpomni_jupyter")
    ask_view.AskCellView.text = original  # type: ignore[method-assign]
    llm.stop()
    return {
        "rounds": rounds,
        "ours_ms": median(ours) * 1000,
        "raw_ms": median(raw) * 1000,
        "pydantic_ai_ms": median(bare) * 1000,
        "added_ms": (median(ours) - median(raw)) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", choices=["loop", "first", "both"], default="both")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    if args.what in ("loop", "both"):
        loop = out["loop"] = bench_loop(args.calls, args.rounds)
        bar = "OK" if loop["ratio"] <= 1.10 else "MISSED"
        print(
            f"agent loop, {args.calls} no-op calls: mcp.toolset() {loop['ours_s']:.3f} s, SDK client {loop['raw_s']:.3f} s, "
            f"ratio {loop['ratio']:.3f}x (bar <= 1.10x: {bar})"
        )
    if args.what in ("first", "both"):
        first = out["first"] = bench_first(max(args.rounds, 10))
        bar = "OK" if first["added_ms"] <= 50 else "MISSED"
        print(
            f"%%mcp ask first token {first['ours_ms']:.1f} ms, the model's own first byte {first['raw_ms']:.1f} ms, "
            f"added {first['added_ms']:.1f} ms (bar <= 50 ms: {bar}); pydantic-ai alone {first['pydantic_ai_ms']:.1f} ms"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
