"""Tools as a model sees them: one name per tool, valid for every provider, unique across servers.

OpenAI, Anthropic, Gemini and the others all accept ``^[A-Za-z0-9_-]{1,64}$``
for a function name, so a tool ``add`` of server ``demo`` is offered as
``demo_add``; any other character becomes ``_``, and a name that is too long,
or that another tool's name already took, ends in ``_`` and 8 hex digits of a
hash of ``SERVER.TOOL`` (the same tool gets the same name in every run).  The
mapping back to ``SERVER.TOOL`` is ours: ``ModelTool.server`` / ``.tool``.
The schema is the tool's ``inputSchema`` exactly as the server sent it
(``$schema``, ``$defs`` and unknown keywords kept); its description, which
the server chose and the model reads, is bounded.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcpomni_jupyter.errors import ArgumentError

NAME_CHARS = 64  # what every provider accepts
DESCRIPTION_CHARS = 4_000  # of a tool's description, as given to a model
_BAD = re.compile(r"[^A-Za-z0-9_-]")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

ToolFilter = str | Sequence[str] | Callable[[str, Any], bool] | None


@dataclass(frozen=True)
class ModelTool:
    """One server's tool under the name a model calls it by."""

    name: str  # valid for every provider, unique among the tools offered together
    server: str
    tool: str  # the server's own name for it
    description: str
    input_schema: dict[str, Any]  # as the server sent it
    spec: Any = field(repr=False, compare=False)  # the listed tool (annotations, output schema, _meta)

    @property
    def qualified(self) -> str:
        """``SERVER.TOOL``, as ``%mcp call`` and the approval rules name it."""
        return f"{self.server}.{self.tool}"

    @property
    def read_only(self) -> bool:
        """Whether the server annotates the tool ``readOnlyHint: true`` (a hint, from the server)."""
        annotations = getattr(self.spec, "annotations", None)
        return bool(getattr(annotations, "read_only_hint", False))


def _suffix(server: str, tool: str) -> str:
    return hashlib.sha256(f"{server}.{tool}".encode()).hexdigest()[:8]


def model_name(server: str, tool: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """``SERVER_TOOL`` made valid for every provider, and not in ``taken``."""
    name = _BAD.sub("_", f"{server}_{tool}")
    if len(name) <= NAME_CHARS and name not in taken:
        return name
    return f"{name[: NAME_CHARS - 9]}_{_suffix(server, tool)}"


def description(spec: Any) -> str:
    """The tool's title and description, as a model reads them (bounded)."""
    title = getattr(spec, "title", None) or getattr(getattr(spec, "annotations", None), "title", None)
    text = str(getattr(spec, "description", None) or "").strip()
    if title and str(title) not in text:
        text = f"{title}. {text}".strip() if text else str(title)
    return text[:DESCRIPTION_CHARS]


def _schema(spec: Any) -> dict[str, Any]:
    schema = getattr(spec, "input_schema", None)
    return schema if isinstance(schema, dict) else {"type": "object", "properties": {}}


def wanted(tools: ToolFilter) -> Callable[[str, Any], bool]:
    """``tools`` as a predicate over (``SERVER.TOOL``, spec): globs (a string or a list), a function, or None for all."""
    if tools is None:
        return lambda qualified, spec: True
    if callable(tools):
        return tools
    patterns = [tools] if isinstance(tools, str) else list(tools)
    if not all(isinstance(p, str) and p for p in patterns):
        raise ArgumentError("tools= takes SERVER.TOOL globs (e.g. 'demo.*' or ['fs.read_*']), or a function (qualified, tool) -> bool")
    return lambda qualified, spec: any(fnmatch.fnmatchcase(qualified, p) for p in patterns)


def server_names(servers: str | Iterable[str] | None) -> list[str] | None:
    """``servers`` as a list of names (``"a,b"`` or a list), or None for every connected server."""
    if servers is None:
        return None
    if isinstance(servers, str):
        return [s.strip() for s in servers.split(",") if s.strip()]
    names = list(servers)
    if not all(isinstance(n, str) for n in names):
        raise ArgumentError("servers= takes server names: a list, or one string 'a,b'")
    return names


def model_tools(entries: Iterable[tuple[str, Any]], tools: ToolFilter = None) -> list[ModelTool]:
    """The ``(server, listed tool)`` entries ``tools`` selects, each under a unique provider-valid name.

    Names are given in (server, tool) order, so the same catalog always gives the same names.
    """
    keep = wanted(tools)
    chosen = sorted(((s, t) for s, t in entries if keep(f"{s}.{t.name}", t)), key=lambda e: (e[0], e[1].name))
    taken: set[str] = set()
    out = []
    for server, spec in chosen:
        name = model_name(server, spec.name, taken)
        taken.add(name)
        out.append(ModelTool(name, server, spec.name, description(spec), _schema(spec), spec))
    return out
