"""``%mcp`` / ``%%mcp``: the magics class, its settings, and turning our errors into one-line UsageErrors.

A thin layer: ``commands.py`` holds one small function per subcommand over
``MCPManager``; errors of ours (``errors.py``) and bad input become
``UsageError`` (one line, no traceback) and the kernel goes on.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Bool, Float, Int, Unicode, observe

from .commands import ALIASES, COMMANDS, help_text, unknown_command
from .errors import McpJupyterError
from .parsing import tokenize
from .redact import redact


# --------------------------------------------------------------------------- the magics class


@magics_class
class MCPMagics(Magics):
    """The ``%mcp`` line and cell magic; settings via ``%config MCPMagics.<name> = value``."""

    timeout = Float(60.0, help="Seconds a request (tool call, read, prompt) may take before it is cancelled.").tag(config=True)
    log_level = Unicode("", help="Log level asked of servers that support logging ('' leaves the server's default).").tag(config=True)
    callback_host = Unicode("localhost", help="Host of the OAuth redirect URI (the callback server binds loopback).").tag(config=True)
    callback_port = Int(3000, help="Port of the OAuth callback server (a server's auth.callback_port wins).").tag(config=True)
    callback_path = Unicode("/callback", help="Path of the OAuth redirect URI.").tag(config=True)
    token_dir = Unicode("~/.mcpomni_jupyter/tokens", help="Where OAuth tokens and client registrations are kept (files mode 0600).").tag(config=True)
    open_browser = Bool(True, help="Open the browser by itself when a server needs authorization.").tag(config=True)
    auth_timeout = Float(600.0, help="Seconds an authorization may wait for a person before it is abandoned.").tag(config=True)

    _AUTH_TRAITS = ("callback_host", "callback_port", "callback_path", "token_dir", "open_browser", "auth_timeout")

    def __init__(self, shell: Any = None, manager: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._manager = manager  # created on first use: %load_ext stays light
        self.last_progress: Any = None

    @property
    def manager(self) -> Any:
        """The kernel's manager, created (and given these settings) on first use."""
        if self._manager is None or getattr(self._manager, "_closed", False):
            from .manager import get_manager

            self._manager = get_manager()
        manager = self._manager
        if getattr(manager, "_configured_by", None) is not self:
            manager._configured_by = self
            manager.timeout = self.timeout
            manager.configure_auth(**{name: getattr(self, name) for name in self._AUTH_TRAITS})
            if self.log_level:
                manager.set_log_level(self.log_level)
        return manager

    def _live_manager(self) -> Any:
        """The manager if one exists already (settings changes must not create one)."""
        return self.__dict__.get("_manager")

    @observe("timeout")
    def _timeout_changed(self, change: Any) -> None:
        if change["new"] <= 0:
            raise UsageError("MCPMagics.timeout must be a positive number of seconds")
        if self._live_manager() is not None:
            self._live_manager().timeout = change["new"]

    @observe(*_AUTH_TRAITS)
    def _auth_changed(self, change: Any) -> None:
        if change["name"] == "callback_port" and not 0 < change["new"] < 65536:
            raise UsageError("MCPMagics.callback_port must be a port number between 1 and 65535")
        if self._live_manager() is not None:
            self._live_manager().configure_auth(**{change["name"]: change["new"]})

    @observe("log_level")
    def _log_level_changed(self, change: Any) -> None:
        if self._live_manager() is not None:
            self._live_manager().set_log_level(change["new"] or None)

    @no_var_expand  # expanded below only when the line has something to expand (saves ~60 µs a call)
    @line_cell_magic
    def mcp(self, line: str, cell: str | None = None) -> Any:
        if "{" in line or "$" in line:
            line = self.shell.var_expand(line, depth=2)
        tokens = tokenize(line)
        if not tokens:
            if cell is not None:
                raise UsageError("%%mcp needs a command: %%mcp config, or %%mcp call TOOL")
            return self.manager.status()
        name = ALIASES.get(tokens[0], tokens[0])
        if name not in COMMANDS:
            raise UsageError(unknown_command(name))
        if cell is not None and name not in ("config", "call", "prompt"):
            raise UsageError(f"%%mcp {name} takes no cell body; use the line form %mcp {name}")
        try:
            return COMMANDS[name].run(self, tokens[1:], cell)
        except McpJupyterError as exc:
            raise UsageError(redact(str(exc))) from None
        except KeyboardInterrupt:
            raise UsageError("interrupted: the request was cancelled (the server was told); the connection stays open") from None


MCPMagics.mcp.__doc__ = help_text()


def load(ipython: Any) -> None:
    magics = MCPMagics(shell=ipython)
    ipython.register_magics(magics)
    if getattr(ipython, "_mcpomni_completer", False):
        return  # a reload: the hook finds the new magics through the registry

    def completer(_self: Any, event: Any) -> list[str]:
        current = ipython.magics_manager.registry.get("MCPMagics")
        if current is None:
            return []
        from .completion import complete

        return complete(current.manager, getattr(event, "text_until_cursor", None) or event.line)

    ipython.set_hook("complete_command", completer, str_key="%mcp")
    ipython.set_hook("complete_command", completer, str_key="%%mcp")
    ipython._mcpomni_completer = True


def unload(ipython: Any) -> None:
    from . import manager as manager_module

    if manager_module._default is not None:
        manager_module._default.shutdown()
        manager_module._default = None
