"""mcp.toolset() drives real pydantic-ai agent runs (FunctionModel / TestModel, no real model) against real servers.

Our test server over stdio (2026-07-28, and 2025-11-25 with --legacy) and over
streamable HTTP, our task server, and @modelcontextprotocol/server-everything
(stdio, and streamable HTTP forced onto 127.0.0.1).  The model's functions see
exactly what pydantic-ai sends a model: the tool definitions and the messages.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from conftest import PY, TOKEN, stdio_args, wait_until
from test_third_party import EVERYTHING, everything_http  # noqa: F401 - the server-everything fixture (HTTP, loopback)

from mcpomni_jupyter.core.agents.approval import DENIED_BY_PERSON

pytest.importorskip("pydantic_ai")
from pydantic_ai import Agent
from pydantic_ai.messages import BinaryImage, ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.test import TestModel

pytestmark = pytest.mark.timeout(180)
TASKS = str(Path(__file__).parent / "servers" / "tasks_server.py")
APPS = str(Path(__file__).parent / "servers" / "apps_server.py")


class Script:
    """A model that makes the tool calls of each step in turn, then answers "done"; it keeps what it was sent."""

    def __init__(self, *steps: list[tuple[str, dict]]) -> None:
        self.steps = list(steps)
        self.infos: list[AgentInfo] = []
        self.requests: list[ModelRequest] = []

    def __call__(self, messages: list, info: AgentInfo) -> ModelResponse:
        self.infos.append(info)
        self.requests.append(messages[-1])
        step = len(self.infos) - 1
        if step >= len(self.steps):
            return ModelResponse(parts=[TextPart("done")])
        return ModelResponse(parts=[ToolCallPart(name, args) for name, args in self.steps[step]])

    def returns(self, step: int) -> dict[str, ToolReturnPart]:
        """What the model was sent after the calls of ``step`` (0-based), by tool name."""
        return {p.tool_name: p for p in self.requests[step + 1].parts if isinstance(p, ToolReturnPart)}

    def tools(self, step: int) -> dict[str, dict]:
        return {t.name: t.parameters_json_schema for t in self.infos[step].function_tools}


def connected(manager, name: str, **config) -> str:
    manager.add(name, **config)
    manager.connect(name, wait=True)
    return manager.connection(name).protocol_version


@pytest.fixture
def demo(manager):
    assert connected(manager, "demo", command=sys.executable, args=stdio_args()) == "2026-07-28"
    return manager


def test_tools_called_with_the_models_arguments_results_and_errors_back(demo):
    asked = []
    demo.set_approval_handler(lambda server, tool, arguments: asked.append((server, tool, arguments)) or True)
    started, ended = [], []
    script = Script(
        [("demo_add", {"a": 2, "b": 3}), ("demo_stats", {"numbers": [1, 2, 3]})],
        [("demo_fail", {"message": "nope"})],
    )
    toolset = demo.toolset(on_start=lambda tool, arguments: started.append((tool.qualified, arguments)), on_call=ended.append)
    result = Agent(FunctionModel(script), toolsets=[toolset]).run_sync("go")
    assert result.output == "done"
    listed = demo.model_tools("demo")
    assert script.tools(0) == {t.name: t.input_schema for t in listed}  # every tool, its schema as the server sent it
    first = script.returns(0)
    assert first["demo_add"].content == 5.0
    assert first["demo_stats"].content == {"count": 3, "sum": 6, "mean": 2}  # structured content, as pydantic-ai's MCP toolset gives it
    assert asked == [("demo", "stats", {"numbers": [1, 2, 3]}), ("demo", "fail", {"message": "nope"})]  # add is read-only: not asked
    failed = script.returns(1)["demo_fail"]
    assert failed.outcome == "retried" and "Error executing tool fail" in failed.model_response_str()  # a retry prompt
    assert started == [("demo.add", {"a": 2, "b": 3}), ("demo.stats", {"numbers": [1, 2, 3]}), ("demo.fail", {"message": "nope"})]
    assert [o.status for o in toolset.calls] == [o.status for o in ended] and sorted(o.status for o in ended) == ["error", "ok", "ok"]
    assert all(o.call_id and o.call_id.startswith("pyd_ai_") for o in toolset.calls)


def test_a_denial_reaches_the_model_and_the_run_goes_on(demo):
    asked = []

    async def person(caller, request, timeout):
        asked.append(request.qualified)
        return "deny"

    demo.approval.asker = person
    demo.set_approval({"demo.crash": "deny"})
    script = Script(*[[("demo_noop", {})]] * 3, [("demo_crash", {})])
    toolset = demo.toolset(max_retries=1)

    async def main():
        return await Agent(FunctionModel(script), toolsets=[toolset]).run("go")

    assert asyncio.run(main()).output == "done"  # three denials of one tool in a row, and a budget of 1: no UnexpectedModelBehavior
    for step in range(3):
        denied = script.returns(step)["demo_noop"]
        assert denied.outcome == "failed" and denied.content == DENIED_BY_PERSON
    crash = script.returns(3)["demo_crash"]
    assert crash.outcome == "failed" and "denied by the approval policy (rule 'demo.crash')" in crash.content
    assert asked == ["demo.noop"] * 3  # a deny rule asks nobody
    assert [o.status for o in toolset.calls] == ["denied"] * 4
    assert demo.connection("demo").state.value == "connected"  # crash never went out


def test_errors_in_a_row_are_retry_prompts_then_failures_never_the_end_of_the_run(demo):
    demo.set_approval({"demo.*": "allow"})
    script = Script(*[[("demo_fail", {})]] * 4, [("demo_add", {"a": "x"})])
    result = Agent(FunctionModel(script), toolsets=[demo.toolset(max_retries=2)]).run_sync("go")
    assert result.output == "done"
    assert [script.returns(step)["demo_fail"].outcome for step in range(4)] == ["retried", "retried", "failed", "failed"]
    bad = script.returns(4)["demo_add"]  # bad arguments: the server's validation error, as a retry prompt
    assert bad.outcome == "retried" and "Field required" in bad.model_response_str()


def test_a_list_change_shows_in_the_next_step(demo):
    demo.set_approval({"demo.*": "allow"})
    tools = demo.connection("demo")

    def settled(outcome):  # the next step lists the tools again; wait (on the event) for the server's news to land
        if outcome.tool.tool == "add_tool":
            wait_until(lambda: "late" in [t.name for t in tools.tools])

    script = Script([("demo_add_tool", {})], [("demo_late", {})])
    result = Agent(FunctionModel(script), toolsets=[demo.toolset(on_call=settled)]).run_sync("go")
    assert result.output == "done"
    assert "demo_late" not in script.tools(0) and "demo_late" in script.tools(1)
    assert script.returns(1)["demo_late"].content == "late but here"


def test_test_model_fills_the_arguments_from_the_schema(demo):
    model = TestModel(call_tools=["demo_echo"])
    result = Agent(model, toolsets=[demo.toolset(tools="demo.echo")]).run_sync("go")
    assert [t.name for t in model.last_model_request_parameters.function_tools] == ["demo_echo"]
    assert "demo_echo" in result.output


def test_an_interrupt_cancels_the_call_and_is_recorded(demo):
    demo.set_approval({"demo.sleep": "allow"})
    toolset = demo.toolset()

    async def main():
        started = asyncio.Event()
        toolset.on_start = lambda tool, arguments: started.set()
        run = asyncio.ensure_future(Agent(FunctionModel(Script([("demo_sleep", {"seconds": 60})])), toolsets=[toolset]).run("go"))
        await started.wait()
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    asyncio.run(main())
    assert toolset.calls[-1].error == "cancelled" and toolset.calls[-1].tool.tool == "sleep"
    assert demo.call("demo.echo", text="still here").text == "still here"


def test_a_2025_11_25_server_over_stdio(manager):
    assert connected(manager, "old", command=sys.executable, args=stdio_args("--legacy")) == "2025-11-25"
    script = Script([("old_echo", {"text": "from an older server"})])
    assert Agent(FunctionModel(script), toolsets=[manager.toolset("old")]).run_sync("go").output == "done"
    assert script.returns(0)["old_echo"].content == "from an older server"


def test_streamable_http(manager, http_server):
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Team": "blue"}
    assert connected(manager, "web", url=http_server.url, headers=headers) == "2026-07-28"
    manager.set_approval({"web.stats": "allow"})
    script = Script([("web_stats", {"numbers": [4]}), ("web_echo", {"text": "over http"})])
    assert Agent(FunctionModel(script), toolsets=[manager.toolset(tools="web.*")]).run_sync("go").output == "done"
    got = script.returns(0)
    assert got["web_stats"].content == {"count": 1, "sum": 4, "mean": 4} and got["web_echo"].content == "over http"


@pytest.mark.parametrize("era", ["modern", "legacy"])
def test_task_tools(manager, era):
    extra = ["--legacy"] if era == "legacy" else []
    version = connected(manager, "t", command=PY, args=[TASKS, "stdio", *extra])
    assert version == ("2025-11-25" if era == "legacy" else "2026-07-28")
    manager.set_approval({"t.*": "allow"})
    script = Script([("t_research", {"topic": "cats", "seconds": 0.1}), ("t_fails", {})])
    assert Agent(FunctionModel(script), toolsets=[manager.toolset("t")]).run_sync("go").output == "done"
    got = script.returns(0)
    assert got["t_research"].content == "report on cats"
    assert got["t_fails"].outcome == "retried" and "exploded" in got["t_fails"].model_response_str()


def test_server_everything_over_stdio_and_http(manager, everything_http):  # noqa: F811 - the fixture
    assert connected(manager, "ev", command="node", args=[str(EVERYTHING), "stdio"]) == "2025-11-25"
    assert connected(manager, "evh", url=everything_http) == "2025-11-25"
    manager.set_approval({"ev*.*": "allow"})
    script = Script(
        [("ev_echo", {"message": "hello"}), ("ev_get-tiny-image", {}), ("evh_get-sum", {"a": 1, "b": 2})],
        [("evh_get-structured-content", {"location": "Chicago"})],
    )
    assert Agent(FunctionModel(script), toolsets=[manager.toolset()]).run_sync("go").output == "done"
    assert script.tools(0)["ev_echo"]["$schema"] == "http://json-schema.org/draft-07/schema#"  # kept as sent
    got = script.returns(0)
    assert got["ev_echo"].content == "Echo: hello"
    text, image = got["ev_get-tiny-image"].content
    assert "image" in text and isinstance(image, BinaryImage) and image.media_type == "image/png" and image.data.startswith(b"\x89PNG")
    assert "3" in str(got["evh_get-sum"].content)
    assert set(script.returns(1)["evh_get-structured-content"].content) >= {"temperature", "conditions"}


def test_app_only_tools_are_not_offered_to_the_model(manager):
    connected(manager, "apps", command=PY, args=[APPS, "stdio"])
    manager.set_approval({"apps.*": "allow"})
    script = Script([("apps_model_only", {})])
    assert Agent(FunctionModel(script), toolsets=[manager.toolset()]).run_sync("go").output == "done"
    offered = script.tools(0)
    assert {"apps_counter", "apps_model_only"} <= set(offered) and not {"apps_increment", "apps_later"} & set(offered)
    assert script.returns(0)["apps_model_only"].content == "the model's"
