"""The connected servers' tools as LangChain ``StructuredTool``s (langchain-core, the ``agents`` extra).

Each tool's ``args_schema`` is the server's input schema, a JSON Schema dict
as sent (langchain-core takes a dict: the server checks the arguments); its
sync ``func`` and async ``coroutine`` both go through ``call_for_model`` (the
approval policy, one request path).  A result is the tool's text (with images
as LangChain's standard ``image`` blocks when there are any) and, as the
artifact, the ``CallResult`` (``response_format="content_and_artifact"``).
A tool's error result, a denial or bad arguments raise ``ToolException`` with
``handle_tool_error=True``: the agent reads the reason as the tool's content
(a ``ToolMessage`` with ``status="error"``), and nothing is raised into the
notebook.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.agents.calls import ToolOutcome, call_for_model
from mcpomni_jupyter.core.agents.extra import need
from mcpomni_jupyter.core.agents.naming import ModelTool
from mcpomni_jupyter.core.agents.openai_api import described, outcome_text, parameters
from mcpomni_jupyter.core.agents.replies import sync_budget

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager


def _content(outcome: ToolOutcome, tool_exception: type[Exception]) -> tuple[Any, Any]:
    """(content, artifact) for LangChain, or ``ToolException`` with what the agent should read."""
    if not outcome.ok:
        raise tool_exception(outcome_text(outcome))
    images = [p for p in outcome.parts if p["type"] == "image"]
    text = outcome_text(outcome, image_notes=False)
    if not images:
        return text, outcome.result
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    blocks += [{"type": "image", "base64": p["data"], "mime_type": p["mime_type"]} for p in images]
    return blocks, outcome.result


def structured_tool(manager: MCPManager, tool: ModelTool) -> Any:
    """One ``StructuredTool`` calling ``tool`` (sync ``invoke`` and async ``ainvoke``)."""
    lc_tools = need("langchain_core.tools", "langchain-core", "mcp.tools.langchain()")
    failure = lc_tools.ToolException

    def func(**arguments: Any) -> tuple[Any, Any]:
        outcome = manager._run(call_for_model(manager, tool, arguments), sync_budget(manager), f"the call to {tool.qualified!r}")
        return _content(outcome, failure)

    async def coroutine(**arguments: Any) -> tuple[Any, Any]:
        return _content(await call_for_model(manager, tool, arguments), failure)

    return lc_tools.StructuredTool.from_function(
        func=func,
        coroutine=coroutine,
        name=tool.name,
        description=described(tool),
        args_schema=parameters(tool),
        handle_tool_error=True,
        response_format="content_and_artifact",
    )


def langchain_tools(manager: MCPManager, tools: Iterable[ModelTool]) -> list[Any]:
    """``tools`` as LangChain ``StructuredTool``s; ``MissingExtra`` (one line) without langchain-core."""
    need("langchain_core", "langchain-core", "mcp.tools.langchain()")  # the package itself: a submodule imported before hides its absence
    return [structured_tool(manager, t) for t in tools]
