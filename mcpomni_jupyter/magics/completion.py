"""Tab completion of ``%mcp`` lines, driven by the command table's ``completes``."""

from __future__ import annotations

from typing import Any

from .router import ALIASES, commands


def _tool_or_prompt_names(manager: Any, kind: str) -> set[str]:
    """``server.name`` for every item, and the bare name where only one server has it."""
    counts: dict[str, int] = {}
    out = set()
    for c in manager.connections.values():
        for item in getattr(c, kind):
            counts[item.name] = counts.get(item.name, 0) + 1
            out.add(f"{c.name}.{item.name}")
    return out | {name for name, n in counts.items() if n == 1}


def _argument_names(manager: Any, kind: str, spec: str) -> list[str]:
    for c in manager.connections.values():
        for item in getattr(c, kind):
            if spec in (item.name, f"{c.name}.{item.name}"):
                if kind == "tools":
                    return [f"{p}=" for p in ((item.input_schema or {}).get("properties") or {})]
                return [f"{a.name}=" for a in (item.arguments or [])]
    return []


def _words(manager: Any, what: str, words: list[str]) -> list[str] | set[str]:
    if what == "servers":
        return manager.names
    if what in ("tools", "prompts"):
        return _tool_or_prompt_names(manager, what)
    if what == "args":
        kind = "tools" if words[0] in ("call",) else "prompts"
        return _argument_names(manager, kind, words[1]) if len(words) > 1 else []
    if what == "uris":
        return {str(r.uri) for c in manager.connections.values() for r in c.resources}
    if what == "commands":
        return list(commands())
    return what.split("|")  # literal words


def complete(manager: Any, line: str) -> list[str]:
    """Completions for the ``%mcp`` line typed so far."""
    words = line.split()
    if words and words[0].lstrip("%") == "mcp":
        words = words[1:]
    trailing = line.endswith(" ")
    if not words or (len(words) == 1 and not trailing):
        prefix = words[0] if words else ""
        return sorted(n for n in [*commands(), *ALIASES] if n.startswith(prefix))
    name = ALIASES.get(words[0], words[0])
    c = commands().get(name)
    if c is None or not c.completes:
        return []
    current = "" if trailing else words[-1]
    position = len(words) - (0 if trailing else 1)  # 1 is the first word after the command
    what = c.completes[min(position, len(c.completes)) - 1]
    words[0] = name
    return sorted(w for w in _words(manager, what, words) if w.startswith(current))
