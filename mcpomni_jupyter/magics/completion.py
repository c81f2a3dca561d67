"""Tab completion of ``%mcp`` lines, driven by the command table's ``completes``."""

from __future__ import annotations

from typing import Any

from mcpomni_jupyter.magics.router import ALIASES, commands


def _tool_or_prompt_names(manager: Any, kind: str) -> set[str]:
    """``server.name`` for every item, and the bare name where only one server has it."""
    counts: dict[str, int] = {}
    out = set()
    for c in manager.connections.values():
        for item in getattr(c, kind):
            counts[item.name] = counts.get(item.name, 0) + 1
            out.add(f"{c.name}.{item.name}")
    return out | {name for name, n in counts.items() if n == 1}


TASK_FLAGS = ("--task", "--background")


def _argument_names(manager: Any, kind: str, spec: str) -> list[str]:
    """A tool's ``name=`` words (and ``--task`` / ``--background`` when it can run as a task), or a prompt's."""
    for c in manager.connections.values():
        for item in getattr(c, kind):
            if spec in (item.name, f"{c.name}.{item.name}"):
                if kind == "tools":
                    names = [f"{p}=" for p in ((item.input_schema or {}).get("properties") or {})]
                    support = getattr(getattr(item, "execution", None), "task_support", None)
                    return names + list(TASK_FLAGS) if support in ("required", "optional") else names
                return [f"{a.name}=" for a in (item.arguments or [])]
    return []


def _words(manager: Any, what: str, words: list[str], c: Any = None) -> list[str] | set[str]:
    if what == "servers":
        return manager.names
    if what in ("tools", "prompts"):
        return _tool_or_prompt_names(manager, what)
    if what == "args":
        kind = "tools" if words[0] in ("call",) else "prompts"
        return [w for w in _argument_names(manager, kind, words[1]) if w not in words[2:]] if len(words) > 1 else []
    if what == "uris":
        return {str(r.uri) for c in manager.connections.values() for r in c.resources}
    if what == "commands":
        return list(commands())
    if what == "options":
        return [o for o in c.options if o not in words] if c is not None else []
    return what.split("|")  # literal words


OPTION_VALUES = {"--errors": ["collect", "raise"]}


def _rows_variables(namespace: dict[str, Any]) -> list[str]:
    """The notebook's variables that can be rows for ``--from``: lists, tuples, DataFrames, iterators."""
    out = []
    for name, value in namespace.items():
        if name.startswith("_") or not name.isidentifier():
            continue
        kind = type(value)
        if isinstance(value, (list, tuple)) or kind.__name__ == "DataFrame" or hasattr(value, "__next__"):
            out.append(name)
    return out


def _option_words(c: Any, words: list[str], trailing: bool, namespace: dict[str, Any] | None) -> list[str] | None:
    """Completions after an option of ``c`` (None: not after one)."""
    before = words[-1] if trailing else (words[-2] if len(words) > 1 else "")
    if before == "--from":
        return _rows_variables(namespace or {})
    if before in OPTION_VALUES:
        return OPTION_VALUES[before]
    if before in c.options:
        return []  # a value the person types (a number, a name)
    return None


def complete(manager: Any, line: str, namespace: dict[str, Any] | None = None) -> list[str]:
    """Completions for the ``%mcp`` line typed so far (``namespace``: the notebook's, for ``--from VAR``)."""
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
    if c.options and position > 1:
        values = _option_words(c, words, trailing, namespace)
        if values is not None:
            return sorted(w for w in values if w.startswith(current))
    return sorted(w for w in _words(manager, what, words, c) if w.startswith(current))
