"""``%mcp`` / ``%%mcp``: the magics class, its settings, and our errors as one-line UsageErrors.

A thin layer over the Python API: ``router`` finds the command, its table
(``command.py``) parses the line, and its handler in ``servers``, ``calls``,
``listings`` or ``tasks`` does it with the manager; errors of
ours (``errors.py``) and bad input become ``UsageError`` (one line, no
traceback) and the kernel goes on.  Settings are traitlets (``%config
MCPMagics.timeout = 30``) applied to the kernel's manager whenever it is made.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Enum, Float, Int, List, Unicode, observe, validate

from mcpomni_jupyter.defaults import AUTH_TIMEOUT, CALLBACK, CALLBACK_HOST, CALLBACK_PATH, CALLBACK_PORT, REQUEST_TIMEOUT, TOKEN_DIR
from mcpomni_jupyter.errors import McpJupyterError
from mcpomni_jupyter.magics.command import Context
from mcpomni_jupyter.magics.router import dispatch, help_text


@magics_class
class MCPMagics(Magics):
    """The ``%mcp`` line and cell magic; settings via ``%config MCPMagics.<name> = value``."""

    timeout = Float(REQUEST_TIMEOUT, help="Seconds a request (tool call, read, prompt) may take before it is cancelled.").tag(config=True)
    log_level = Unicode("", help="Log level asked of servers that declare logging ('' leaves the server's default).").tag(config=True)
    callback = Enum(
        ["auto", "loopback", "relay"],
        CALLBACK,
        help="Where OAuth redirects come back: 'loopback' (http://localhost:3000/callback, the kernel's machine), "
        "'relay' (the Jupyter server's page, wherever the kernel runs), or 'auto' (the relay unless the notebook page "
        "is served from a loopback address).",
    ).tag(config=True)
    callback_host = Unicode(CALLBACK_HOST, help="Host of the OAuth redirect URI: localhost, 127.0.0.1 or ::1 (loopback only).").tag(
        config=True
    )
    callback_port = Int(CALLBACK_PORT, help="Port of the OAuth callback server (a server's auth.callback_port wins).").tag(config=True)
    callback_path = Unicode(CALLBACK_PATH, help="Path of the OAuth redirect URI.").tag(config=True)
    token_dir = Unicode(TOKEN_DIR, help="Where OAuth tokens and client registrations are kept (files mode 0600).").tag(config=True)
    open_browser = Bool(True, help="Open the browser by itself when a server needs authorization.").tag(config=True)
    auth_timeout = Float(AUTH_TIMEOUT, help="Seconds an authorization may wait for a person before it is abandoned.").tag(config=True)

    apps = Bool(True, help="Render MCP Apps (a tool's ui:// app) under the cell; advertised to servers connected afterwards.").tag(
        config=True
    )
    app_permissions = List(
        Enum(["camera", "microphone", "geolocation", "clipboardWrite"]),
        default_value=[],
        help="What an MCP App may be granted of the permissions it asks for (none by default).",
    ).tag(config=True)

    model = AnyTrait(
        None, allow_none=True, help="The model %%mcp ask uses: any pydantic-ai model string ('openai:gpt-5.1', 'anthropic:...', ...)."
    ).tag(config=True)
    model_base_url = Unicode(
        "", help="An OpenAI-compatible server for the model (Ollama, vLLM, llama.cpp), e.g. http://localhost:11434/v1"
    ).tag(config=True)
    history_tokens = Int(50_000, help="How many tokens of the conversation %%mcp ask sends (the oldest turns are dropped).").tag(
        config=True
    )
    tool_search_over = Int(40, help="Past this many tools, a model first gets a search tool over them instead of all of them.").tag(
        config=True
    )
    approval = Dict(
        default_value={},
        help='What a model may run: {"SERVER.TOOL glob": "allow" | "ask" | "deny"} (the most specific rule wins; deny holds '
        "for every call). With no rule, tools annotated readOnlyHint are allowed and the others asked about.",
    ).tag(config=True)

    AUTH_TRAITS = ("callback", "callback_host", "callback_port", "callback_path", "token_dir", "open_browser", "auth_timeout")
    _manager: Any = None  # (a class default: %config applies settings before __init__ has run)

    def __init__(self, shell: Any = None, manager: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._manager = manager  # given (the benchmark), or the kernel's, made on first use: %load_ext stays light
        self.last: dict[str, Any] = {}  # what the last command left (its progress bar)
        if manager is not None:
            self.adopt(manager)

    @property
    def manager(self) -> Any:
        """The manager behind ``%mcp``: the kernel's, made (and given these settings) on first use."""
        if self._manager is None or self._manager.closed:
            from mcpomni_jupyter.core.kernel import get_manager

            self._manager = get_manager()  # the hook that load() registered adopts it
        return self._manager

    @property
    def last_progress(self) -> Any:
        return self.last.get("progress")

    def adopt(self, manager: Any) -> None:
        """Give ``manager`` these settings and the notebook's UI (the elicitation form)."""
        from mcpomni_jupyter.ui import install

        self._manager = manager
        manager.timeout = self.timeout
        manager.set_auth_options(**{name: getattr(self, name) for name in self.AUTH_TRAITS})
        if self.log_level:
            manager.set_log_level(self.log_level)
        manager.enable_apps(self.apps and self.shell is not None and _can_show_widgets(self.shell))
        manager.app_permissions = tuple(self.app_permissions)
        self._agent_settings(manager)
        if self.approval:
            manager.set_approval(self.approval, replace=False)  # added to the rules (an "always allow" is kept)
        install(manager)

    def _agent_settings(self, manager: Any) -> None:
        settings = manager.agent_settings
        settings.model = self.model or None
        settings.base_url = self.model_base_url or None
        settings.history_tokens = self.history_tokens
        settings.tool_search_over = self.tool_search_over

    def _live(self) -> Any:
        """The manager if one exists already (a settings change must not create one)."""
        manager = self._manager
        return None if manager is None or manager.closed else manager

    @observe("timeout")
    def _timeout_changed(self, change: Any) -> None:
        if not 0 < change["new"] < float("inf"):
            raise UsageError("MCPMagics.timeout must be a positive number of seconds")
        if self._live() is not None:
            self._live().timeout = change["new"]

    @observe(*AUTH_TRAITS)
    def _auth_changed(self, change: Any) -> None:
        if change["name"] == "callback_port" and not 0 < change["new"] < 65536:
            raise UsageError("MCPMagics.callback_port must be a port number between 1 and 65535")
        if self._live() is not None:
            self._live().set_auth_options(**{change["name"]: change["new"]})

    @observe("apps", "app_permissions")
    def _apps_changed(self, change: Any) -> None:
        if self._live() is not None:
            self.adopt(self._live())

    @observe("model", "model_base_url", "history_tokens", "tool_search_over")
    def _agents_changed(self, change: Any) -> None:
        if change["name"] in ("history_tokens", "tool_search_over") and change["new"] < 1:
            raise UsageError(f"MCPMagics.{change['name']} must be a positive number")
        if self._live() is not None:
            self._agent_settings(self._live())

    def context(self) -> Context:
        """What a command handler gets."""
        assert self.shell is not None
        return Context(self.manager, self.shell.user_ns, _can_show_widgets(self.shell), self.log_level, self.last)

    async def mcp_awaited(self, line: str) -> Any:
        """A ``%mcp`` line of a cell ``awaited.transform`` rewrote: wait (awaited) for the relay, then run it."""
        from mcpomni_jupyter.magics.awaited import wait_for_relay

        manager = self._live()
        if manager is not None:
            await wait_for_relay(manager, line)
        assert self.shell is not None
        return self.shell.run_line_magic("mcp", line)

    async def ask_cell(self, line: str, cell: str) -> Any:
        """An awaited ``%%mcp ask`` cell (the input transformer writes the call): the kernel stays free for the Approve row."""
        from mcpomni_jupyter.magics.agents import ask_cell

        ctx = self.context()
        if ctx.widgets:
            _bridge(ctx.manager)
        return await ask_cell(ctx, line, cell)

    @validate("approval")
    def _approval_valid(self, proposal: Any) -> Any:
        from mcpomni_jupyter.core.agents.approval import checked_rules

        try:
            return checked_rules(proposal["value"])
        except McpJupyterError as exc:
            raise UsageError(f"MCPMagics.approval: {exc}") from None

    @observe("approval")
    def _approval_changed(self, change: Any) -> None:
        if self._live() is not None:
            self._live().set_approval(change["new"])

    @observe("log_level")
    def _log_level_changed(self, change: Any) -> None:
        if self._live() is not None:
            self._live().set_log_level(change["new"] or None)

    @no_var_expand  # expanded below only when the line has something to expand (saves ~60 µs a call)
    @line_cell_magic
    def mcp(self, line: str, cell: str | None = None) -> Any:
        assert self.shell is not None  # a magic runs in a shell
        if "{" in line or "$" in line:
            line = self.shell.var_expand(line, depth=2)
        try:
            ctx = self.context()
            if ctx.widgets:
                _bridge(ctx.manager)
            return dispatch(ctx, line, cell)
        except McpJupyterError as exc:
            from mcpomni_jupyter.redact import redact

            raise UsageError(redact(str(exc))) from None
        except KeyboardInterrupt:
            raise UsageError("interrupted: the request was cancelled (the server was told); the connection stays open") from None


def _bridge(manager: Any) -> None:
    """The OAuth relay's end in this notebook, made early: the page reports its address when the cell ends."""
    from mcpomni_jupyter.ui.bridge import ensure_bridge

    ensure_bridge(manager)


def _can_show_widgets(shell: Any) -> bool:
    """Widgets render only in a kernel with a front end, not in plain IPython."""
    return getattr(shell, "kernel", None) is not None


MCPMagics.mcp.__doc__ = help_text()
