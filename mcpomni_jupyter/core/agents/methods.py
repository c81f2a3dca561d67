"""The agents part of the manager's Python API: the approval policy and the tools as models see them.

A base class of ``MCPManager`` (each method typed against it).  The approval
policy is one of the manager's pre-call checks, installed when the manager
is made (``install_approval``); the provider adapters (pydantic-ai,
OpenAI, Anthropic, LangChain) build on ``amodel_tools`` and
``core.agents.calls.call_for_model``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.agents.approval import ApprovalPolicy
from mcpomni_jupyter.core.agents.conversation import HISTORY_TOKENS, AskResult, Conversation
from mcpomni_jupyter.core.agents.naming import ModelTool, ToolFilter, model_tools, server_names
from mcpomni_jupyter.core.apps.app import for_model
from mcpomni_jupyter.errors import ArgumentError

if TYPE_CHECKING:
    from mcpomni_jupyter.core.agents.ask import AskView
    from mcpomni_jupyter.core.agents.toolset import ConnectionsToolset
    from mcpomni_jupyter.core.manager import MCPManager
    from mcpomni_jupyter.core.session.session import ToolCall


@dataclass
class AgentSettings:
    """What an ask uses unless told otherwise (``%config MCPMagics.model`` and friends)."""

    model: Any = None  # a pydantic-ai model string, or a Model
    base_url: str | None = None  # an OpenAI-compatible local server (Ollama, vLLM, llama.cpp)
    history_tokens: int = HISTORY_TOKENS
    tool_search_over: int = 40  # past this many tools, a model first gets a search tool


class AgentMethods:
    """Approval, model tools and asks; mixed into ``MCPManager`` (each method typed against it)."""

    approval: ApprovalPolicy
    agent_settings: AgentSettings
    conversation: Conversation

    def install_approval(self: MCPManager) -> None:
        """Make the approval policy and install it as a pre-call check (the manager's constructor calls this)."""
        self.approval = ApprovalPolicy()
        self.agent_settings = AgentSettings()
        self.conversation = Conversation()
        policy, registry = self.approval, self.registry

        async def approval_check(call: ToolCall) -> None:
            await policy.check(call, registry.get(call.server).record)

        self.call_checks.append(approval_check)

    def set_approval(self: MCPManager, rules: Mapping[str, str] | None = None, *, replace: bool = True) -> ApprovalPolicy:
        """What a model may run: ``{"SERVER.TOOL glob": "allow" | "ask" | "deny"}`` (``replace=False`` adds to the rules).

        A ``deny`` rule holds for every call, a person's too; ``allow`` and
        ``ask`` concern a model's calls (the most specific rule wins).  With no
        rule, a tool annotated ``readOnlyHint: true`` is allowed and any other
        asked about.  ``set_approval()`` clears the rules.
        """
        self.approval.set_rules(rules, replace)
        return self.approval

    def set_approval_handler(self: MCPManager, handler: Callable[..., Any] | None) -> None:
        """Answer ``ask`` from code: ``handler(server, tool, arguments)`` -> truthy to allow (may be async); None removes it."""
        if handler is not None and not callable(handler):
            raise ArgumentError(f"set_approval_handler() takes a function (server, tool, arguments) -> bool, not {type(handler).__name__}")
        self.approval.handler = handler

    async def arun_tool_calls(
        self: MCPManager, reply: Any, *, servers: str | Iterable[str] | None = None, tools: ToolFilter = None
    ) -> list[dict[str, Any]]:
        """Run the tool calls of a model's ``reply`` concurrently; the messages that answer them, in its API's format.

        ``reply``: an OpenAI ``ChatCompletion`` (or its message), a Responses
        ``Response`` or an Anthropic ``Message``, the SDK's object or its
        dict.  Every call is answered, results and errors alike (a denial, an
        unknown tool, bad arguments); a reply without calls gives ``[]``.
        The list is a ``ToolReplies``: ``.outcomes`` says what came of each call.
        Pass the ``servers`` / ``tools`` the tool list was made with.
        """
        from mcpomni_jupyter.core.agents.replies import run_tool_calls

        return await run_tool_calls(self, reply, servers, tools)

    def run_tool_calls(
        self: MCPManager, reply: Any, *, servers: str | Iterable[str] | None = None, tools: ToolFilter = None
    ) -> list[dict[str, Any]]:
        """``arun_tool_calls`` for a blocking cell: ``messages += mcp.run_tool_calls(reply)``."""
        from mcpomni_jupyter.core.agents.replies import parse_reply, run_tool_calls, sync_budget

        parse_reply(reply)  # a reply we do not know is the caller's mistake, raised here at once
        return self._run(run_tool_calls(self, reply, servers, tools), sync_budget(self), "the model's tool calls")

    async def amodel_tools(self: MCPManager, servers: str | Iterable[str] | None = None, *, tools: ToolFilter = None) -> list[ModelTool]:
        """The tools of ``servers`` (every connected one when None) as models see them: provider-valid unique names,
        schemas as sent, app-only tools left out; ``tools`` narrows them (``SERVER.TOOL`` globs, or a function)."""
        names = server_names(servers)
        if names is None:
            entries = await self.loop.arun(self._ops.listing("tools", None))
        else:
            entries = []
            for name in names:
                entries += await self.loop.arun(self._ops.listing("tools", name))
        return model_tools(((c.name, t) for c, t in entries if for_model(t)), tools)  # app-only tools (MCP Apps) are not for models

    def model_tools(self: MCPManager, servers: str | Iterable[str] | None = None, *, tools: ToolFilter = None) -> list[ModelTool]:
        """``amodel_tools`` for a blocking cell."""
        return self._run(self.amodel_tools(servers, tools=tools), self._budget(), "listing the tools")

    def toolset(
        self: MCPManager, servers: str | Iterable[str] | None = None, *, tools: ToolFilter = None, **options: Any
    ) -> ConnectionsToolset:
        """The connected servers' tools as a pydantic-ai toolset: ``Agent(model, toolsets=[mcp.toolset()])``.

        ``servers`` and ``tools`` narrow them as in ``model_tools``; ``options``:
        ``max_retries`` (retry prompts per tool in a row, 3), ``on_start(tool,
        arguments)`` and ``on_call(outcome)`` (told of each call), ``id``.
        Needs the ``agents`` extra (pydantic-ai).
        """
        from mcpomni_jupyter.core.agents.extra import need

        need("pydantic_ai", "pydantic-ai", "mcp.toolset()")
        from mcpomni_jupyter.core.agents.toolset import ConnectionsToolset

        return ConnectionsToolset(self, servers, tools=tools, **options)

    async def aask(
        self: MCPManager,
        text: str,
        *,
        model: Any = None,
        servers: str | Iterable[str] | None = None,
        tools: ToolFilter = None,
        new: bool = False,
        prompt: tuple[str, dict[str, Any]] | None = None,
        attach: Iterable[str] = (),
        view: AskView | None = None,
    ) -> AskResult:
        """A model answers ``text`` with the connected servers' tools; the conversation carries on (``new=True`` starts over).

        Awaited in a cell, a tool call that needs approval shows its Approve / Deny row there.
        """
        from mcpomni_jupyter.core.agents.ask import AskOptions, run_ask

        settings = self.agent_settings
        if new:
            self.conversation.clear()
        self.conversation.limit = settings.history_tokens
        options = AskOptions(
            model or settings.model, settings.base_url, server_names(servers), tools, prompt, list(attach), settings.tool_search_over
        )
        return await run_ask(self, self.conversation, text, options, view)

    def ask(self: MCPManager, text: str, *, tick: Callable[[], Any] | None = None, **options: Any) -> AskResult:
        """``aask`` for a blocking cell: runs on the loop thread (a tool call that needs approval is asked of the handler)."""
        return self.loop.run(self.aask(text, **options), None, "the ask", tick)

    def tool_search(self: MCPManager, servers: str | Iterable[str] | None = None, *, tools: ToolFilter = None) -> Any:
        """pydantic-ai's ``ToolSearch`` capability with the ranking ``%mcp tools --search`` uses, for your own ``Agent``:
        ``Agent(model, toolsets=[mcp.toolset()], capabilities=[mcp.tool_search()])`` shows the model a search tool, not every tool."""
        from mcpomni_jupyter.core.agents.discovery import tool_search

        return tool_search(self, server_names(servers), tools=tools)
