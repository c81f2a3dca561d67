"""Tools as Python callables: ``mcp.tools.<server>.<tool>(**kwargs)``.

Each tool gets a real ``inspect.Signature`` and a docstring built from its
``input_schema`` and description, so ``?``, ``help()`` and tab completion
work; arguments are checked against the schema before the call.  Names are
made valid identifiers (``get-sum`` -> ``get_sum``).  ``tool(**kw)`` is
synchronous; ``await tool.acall(**kw)`` is the async form.
"""

from __future__ import annotations

import inspect
import keyword
import re
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.schemas import SchemaCheck, Skipped, skip_logger
from mcpomni_jupyter.errors import ArgumentError, LookupFailed, McpJupyterError

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager

_JSON_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list,
    "object": dict,
    "null": type(None),
}


def identifier(name: str) -> str:
    """A valid Python identifier for a server or tool name."""
    if name.isidentifier() and name.isascii() and not keyword.iskeyword(name):
        return name  # the common case, without a regex (a catalog has thousands)
    out = re.sub(r"\W", "_", name)
    if not out or out[0].isdigit():
        out = "_" + out
    return out + "_" if keyword.iskeyword(out) else out


def _annotation(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [_JSON_TYPES.get(k, Any) for k in kind]
        return kinds[0] if len(kinds) == 1 else Any
    return _JSON_TYPES.get(kind, Any) if kind else Any


def signature(schema: dict[str, Any]) -> inspect.Signature:
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    params = []
    for name in sorted(props, key=lambda n: n not in required):  # required first, then the rest
        if not name.isidentifier() or keyword.iskeyword(name):
            continue  # still accepted through **kwargs-style calls with a dict
        sub = props[name] if isinstance(props[name], dict) else {}
        default = inspect.Parameter.empty if name in required else sub.get("default", None)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=_annotation(sub)))
    return inspect.Signature(params)


def docstring(tool: Any) -> str:
    schema = tool.input_schema or {}
    lines = [(tool.description or tool.name).strip(), ""]
    props = schema.get("properties") or {}
    if props:
        required = set(schema.get("required") or [])
        lines.append("Arguments:")
        for name, sub in props.items():
            sub = sub if isinstance(sub, dict) else {}
            kind = sub.get("type", "any")
            note = "required" if name in required else f"optional, default {sub.get('default')!r}"
            lines.append(f"    {name} ({kind}, {note}): {sub.get('description', '')}".rstrip(": ").rstrip())
    return "\n".join(lines).strip()


def check_arguments(tool_name: str, schema: dict[str, Any], arguments: dict[str, Any], skipped: Skipped | None = None) -> None:
    """Raise ArgumentError, one line, for arguments the schema rejects."""
    argument_checker(tool_name, schema, skipped)(arguments)


def argument_checker(tool_name: str, schema: dict[str, Any], skipped: Skipped | None = None) -> Callable[[dict[str, Any]], None]:
    """``check(arguments)``, raising ArgumentError (one line) for arguments the schema rejects; built once per tool.

    A ``$ref`` to another document is never fetched: that part is not checked, and ``skipped`` is told (``core.schemas``).
    """
    props = schema.get("properties") or {}
    required = list(schema.get("required") or [])
    validator = SchemaCheck(schema, skipped)  # a schema we cannot apply here is skipped: the server checks the arguments itself

    def check(arguments: dict[str, Any]) -> None:
        missing = [n for n in required if n not in arguments]
        if missing:
            raise ArgumentError(f"{tool_name}() is missing required argument(s): {', '.join(missing)}")
        unknown = [n for n in arguments if n not in props]
        if props and unknown and schema.get("additionalProperties") is not True:
            raise ArgumentError(f"{tool_name}() got unexpected argument(s): {', '.join(unknown)}; it takes {', '.join(props)}")
        error = validator.first_error(arguments)
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path) or "arguments"
            raise ArgumentError(f"{tool_name}(): {where}: {error.message}")

    return check


class ToolCallable:
    """One tool of one server, callable with keyword arguments."""

    def __init__(self, manager: MCPManager, server: str, tool: Any) -> None:
        self._manager = manager
        self.server = server
        self.name = tool.name
        self.tool = tool
        self.__name__ = identifier(tool.name)
        self.__qualname__ = f"{identifier(server)}.{self.__name__}"
        self.__signature__ = signature(tool.input_schema or {})
        self.__doc__ = docstring(tool)

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if args:
            if len(args) == 1 and isinstance(args[0], dict):
                return {**args[0], **kwargs}
            raise ArgumentError(f"{self.__name__}() takes keyword arguments only (or one dict)")
        check_arguments(self.__name__, self.tool.input_schema or {}, kwargs, self._skipped())
        return kwargs

    def _skipped(self) -> Skipped:
        """Where a ``$ref`` the argument check does not follow is said: this server's ``%mcp log``."""
        return skip_logger(self._manager.connection(self.server), self.name, "that part of the arguments")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        arguments = self._arguments(args, kwargs)
        return self._manager.call(f"{self.server}.{self.name}", arguments)

    async def acall(self, *args: Any, **kwargs: Any) -> Any:
        """The async form, for top-level ``await``."""
        arguments = self._arguments(args, kwargs)
        return await self._manager.acall(f"{self.server}.{self.name}", arguments)

    def start(self, *args: Any, **kwargs: Any) -> Any:
        """Start this tool as an MCP task in the background; returns a ``TaskJob`` (see ``MCPManager.start``)."""
        arguments = self._arguments(args, kwargs)
        return self._manager.start(f"{self.server}.{self.name}", arguments)

    def map(self, rows: Any, **options: Any) -> Any:
        """Call this tool once per row (argument dicts, or a DataFrame's columns); see ``MCPManager.map``.

        Each row's arguments are checked against the tool's input schema first;
        a row that does not fit fails alone (a ``RowError``), without a call.
        """
        check = argument_checker(self.__name__, self.tool.input_schema or {}, self._skipped())
        return self._manager.map(f"{self.server}.{self.name}", rows, check=check, **options)

    async def amap(self, rows: Any, **options: Any) -> Any:
        """``map`` for top-level ``await``."""
        check = argument_checker(self.__name__, self.tool.input_schema or {}, self._skipped())
        return await self._manager.amap(f"{self.server}.{self.name}", rows, check=check, **options)

    def __repr__(self) -> str:
        return f"<MCP tool {self.server}.{self.name}{self.__signature__}>"


class _Listed:
    """One listing of one server's tools as attributes: the identifier map, ``dir()`` and the callables made so far.

    Built once per listing (the tools list's identity), not per attribute; a
    callable (its signature, its docstring) is made when its tool is first
    touched, then kept.
    """

    def __init__(self, tools: list[Any]) -> None:
        self.tools = tools
        self._by_identifier: dict[str, Any] | None = None
        self._dir: list[str] | None = None
        self.callables: dict[str, ToolCallable] = {}

    def by_identifier(self) -> dict[str, Any]:
        if self._by_identifier is None:
            table: dict[str, Any] = {}
            for tool in self.tools:
                table.setdefault(identifier(tool.name), tool)
            self._by_identifier = table
        return self._by_identifier

    def names(self) -> list[str]:
        if self._dir is None:
            self._dir = sorted(self.by_identifier())
        return self._dir


_listed: weakref.WeakKeyDictionary[Any, _Listed] = weakref.WeakKeyDictionary()  # a connection's catalog -> its current _Listed


def _listing(connection: Any) -> _Listed:
    catalog = connection.catalog
    listed = _listed.get(catalog)
    if listed is None or listed.tools is not catalog.tools:
        listed = _listed[catalog] = _Listed(catalog.tools)
    return listed


class ServerTools:
    """The tools of one server as attributes (``dir()`` lists them for tab completion); callables made on first touch."""

    def __init__(self, manager: MCPManager, server: str) -> None:
        self._manager = manager
        self._server = server

    def _listed(self) -> _Listed:
        connection = self._manager.connection(self._server)
        if not connection.tools and connection.state.value != "connected":
            self._manager.tools(self._server)  # connects on first use
        return _listing(connection)

    def _callable(self, listed: _Listed, key: str, tool: Any) -> ToolCallable:
        made = listed.callables.get(key)
        if made is None:
            made = listed.callables[key] = ToolCallable(self._manager, self._server, tool)
        return made

    def __getattr__(self, name: str) -> ToolCallable:
        if name.startswith("_"):
            raise AttributeError(name)
        listed = self._listed()
        tools = listed.by_identifier()
        if name not in tools:
            shown = listed.names()
            more = f" and {len(shown) - 50} more" if len(shown) > 50 else ""
            raise LookupFailed(f"server {self._server!r} has no tool {name!r}; it has: {', '.join(shown[:50]) or 'none'}{more}")
        return self._callable(listed, name, tools[name])

    def __getitem__(self, name: str) -> ToolCallable:
        connection = self._manager.connection(self._server)
        try:
            tool = connection.catalog.tool(name)  # an index by name, built once per listing
        except LookupFailed:
            return getattr(self, identifier(name))
        return self._callable(_listing(connection), "\0" + name, tool)  # by its MCP name: not an identifier's key

    def __dir__(self) -> list[str]:
        try:
            return list(_listing(self._manager.connection(self._server)).names())
        except McpJupyterError:
            return []

    def __repr__(self) -> str:
        names = self.__dir__()
        more = f" and {len(names) - 50} more" if len(names) > 50 else ""
        return f"<MCP tools of {self._server}: {', '.join(names[:50]) or 'none listed yet'}{more}>"


METHODS = ("anthropic", "langchain", "openai")  # ToolsNamespace's own: a server of that name is mcp.tools["NAME"]


class ToolsNamespace:
    """``manager.tools``: call it to list tools (``mcp.tools()``), reach ``mcp.tools.<server>.<tool>``, or hand
    the tools to a model: ``.openai()``, ``.anthropic()``, ``.langchain()`` (a server named like one of these
    is ``mcp.tools["openai"]``)."""

    def __init__(self, manager: MCPManager) -> None:
        self._manager = manager

    def __call__(self, server: str | None = None, *, everything: bool = False, search: str | None = None, limit: int = 20) -> Any:
        """The tools, as ``mcp.list_tools`` (``search="read file"``: the best ``limit`` for those words)."""
        return self._manager.list_tools(server, everything=everything, search=search, limit=limit)

    def openai(self, servers: Any = None, *, api: str = "chat", tools: Any = None) -> list[dict[str, Any]]:
        """The tools as OpenAI's ``tools=``: Chat Completions (``api="chat"``) or the Responses API (``"responses"``).

        ``servers``: names (a list or ``"a,b"``), every connected server when
        None; ``tools``: ``SERVER.TOOL`` globs or a function (qualified, tool)
        -> bool.  Run the model's calls with ``mcp.run_tool_calls(reply)``.
        """
        from mcpomni_jupyter.core.agents.openai_api import checked_api, openai_tools

        checked_api(api)
        return openai_tools(self._manager.model_tools(servers, tools=tools), api)

    def anthropic(self, servers: Any = None, *, tools: Any = None) -> list[dict[str, Any]]:
        """The tools as Anthropic's ``tools=`` (``name``, ``description``, ``input_schema``); see ``openai``."""
        from mcpomni_jupyter.core.agents.anthropic_api import anthropic_tools

        return anthropic_tools(self._manager.model_tools(servers, tools=tools))

    def langchain(self, servers: Any = None, *, tools: Any = None) -> list[Any]:
        """The tools as LangChain ``StructuredTool``s, sync and async (needs ``pip install 'mcpomni-jupyter[agents]'``)."""
        from mcpomni_jupyter.core.agents.extra import need
        from mcpomni_jupyter.core.agents.langchain_tools import langchain_tools

        need("langchain_core", "langchain-core", "mcp.tools.langchain()")  # before connecting to anything
        return langchain_tools(self._manager, self._manager.model_tools(servers, tools=tools))

    def _servers(self) -> dict[str, str]:
        return {identifier(name): name for name in self._manager.names}

    def _shadowed(self) -> list[str]:
        return [name for key, name in self._servers().items() if key in METHODS]

    def __getattr__(self, name: str) -> ServerTools:
        if name.startswith("_"):
            raise AttributeError(name)
        servers = self._servers()
        if name not in servers:
            shadowed = "".join(f"; server {n!r} is mcp.tools[{n!r}]" for n in self._shadowed())
            raise LookupFailed(f"unknown server {name!r}; configured: {', '.join(servers) or 'none'}{shadowed}")
        return ServerTools(self._manager, servers[name])

    def __getitem__(self, name: str) -> ServerTools:
        return ServerTools(self._manager, self._manager.connection(name).name)

    def __dir__(self) -> list[str]:
        return sorted(set(self._servers()) | set(METHODS))

    def __repr__(self) -> str:
        servers = [f"{name} (as mcp.tools[{name!r}])" if key in METHODS else key for key, name in sorted(self._servers().items())]
        return f"<MCP tools namespace: {', '.join(servers) or 'no servers'}; for models: .openai(), .anthropic(), .langchain()>"
