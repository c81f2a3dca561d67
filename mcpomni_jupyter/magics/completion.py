"""Tab completion of ``%mcp`` lines, read from the command table: each command's ``Arg`` s and ``Option`` s.

After an option that takes a value: its choices, or what it ``completes``
to.  Otherwise: what the next positional argument completes to (servers,
tools, prompts, skills already listed, URIs, commands, a tool's or a prompt's ``name=`` words), and
the options not given yet when the word starts with ``-`` or no argument is
left to give.  An option with an ``offer`` is completed only where it applies
(``--task`` / ``--background``: a tool that can run as an MCP task), and then
beside the ``name=`` words.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Any

from IPython.core.error import UsageError

from mcpomni_jupyter.magics.command import Arg, Command, Option
from mcpomni_jupyter.magics.parsing import tokenize
from mcpomni_jupyter.magics.router import ALIASES, COMMANDS


class NameIndex:
    """The completion words of one kind (tools or prompts) over the connected servers, sorted once per catalog.

    ``server.name`` for every item and the bare name where only one server has
    it; ``prefixed(text)`` is a bisection, not a scan, so a Tab over thousands
    of tools costs what the matches cost.
    """

    def __init__(self, lists: tuple[tuple[str, list[Any]], ...]) -> None:
        self.lists = lists  # held: the identity of each list is the catalog's version
        self.items: dict[str, Any] = {}
        counts: dict[str, int] = {}
        for server, items in lists:
            for item in items:
                counts[item.name] = counts.get(item.name, 0) + 1
                self.items.setdefault(f"{server}.{item.name}", item)
        qualified = set(self.items)
        for _, items in lists:
            for item in items:
                self.items.setdefault(item.name, item)  # the first server's, as a bare name finds it
        self.words = sorted(qualified | {name for name, n in counts.items() if n == 1})

    def current(self, lists: tuple[tuple[str, list[Any]], ...]) -> bool:
        return len(lists) == len(self.lists) and all(a == b and x is y for (a, x), (b, y) in zip(lists, self.lists))

    def prefixed(self, prefix: str, limit: int | None = None) -> list[str]:
        """The words that start with ``prefix``, sorted (the first ``limit`` of them)."""
        start = bisect.bisect_left(self.words, prefix)
        end = bisect.bisect_left(self.words, prefix + _LAST, start)
        return self.words[start : end if limit is None else min(end, start + limit)]


COMPLETIONS = 500  # a Tab offers at most this many words (IPython shows no more: its MATCHES_LIMIT)
_LAST = chr(0x10FFFF)
_indexes: dict[str, NameIndex] = {}


def name_index(manager: Any, kind: str) -> NameIndex:
    """The index of ``kind`` ("tools" or "prompts"): rebuilt when a server is added or removed or re-lists, not per keystroke."""
    lists = tuple((c.name, getattr(c, kind)) for c in manager.connections.values())
    index = _indexes.get(kind)
    if index is None or not index.current(lists):
        index = _indexes[kind] = NameIndex(lists)
    return index


def _find(manager: Any, kind: str, spec: str) -> Any:
    """The tool or prompt ``spec`` (``name`` or ``server.name``) of a connected server, or None."""
    return name_index(manager, kind).items.get(spec)


def _skill_names(manager: Any) -> list[str]:
    """Server names, and ``server.name`` for the skills listed so far (completing never asks a server)."""
    from mcpomni_jupyter.core.skills.wire import held

    out = list(manager.names)
    for c in manager.connections.values():
        out.extend(f"{c.name}.{e.name}" for e in held(c) or ())
    return out


def _argument_names(manager: Any, kind: str, positionals: list[str]) -> list[str]:
    """The ``name=`` words of the tool's input schema or the prompt's arguments, less those given."""
    item = _find(manager, kind, positionals[0]) if positionals else None
    if item is None:
        return []
    if kind == "tools":
        names = list((item.input_schema or {}).get("properties") or {})
    else:
        names = [a.name for a in (item.arguments or [])]
    given = {word.partition("=")[0] for word in positionals[1:]}
    return [f"{name}=" for name in names if name not in given]


def _can_run_as_task(manager: Any, positionals: list[str]) -> bool:
    item = _find(manager, "tools", positionals[0]) if positionals else None
    return getattr(getattr(item, "execution", None), "task_support", None) in ("required", "optional")


OFFERS: dict[str, Callable[[Any, list[str]], bool]] = {"tasks": _can_run_as_task}


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


def _arg_words(manager: Any, arg: Arg, positionals: list[str], current: str) -> Iterable[str]:
    """What the positional argument ``arg`` completes to (at least those starting with ``current``)."""
    what = arg.completes
    if arg.choices:
        return arg.choices
    if what == "servers":
        return [name for name in manager.names if name not in positionals]
    if what in ("tools", "prompts"):
        return name_index(manager, what).prefixed(current, COMPLETIONS)
    if what in ("tool_args", "prompt_args"):
        return _argument_names(manager, what.partition("_")[0] + "s", positionals)
    if what == "skills":
        return _skill_names(manager)
    if what == "uris":
        return {str(r.uri) for c in manager.connections.values() for r in c.resources}
    if what == "commands":
        return [*COMMANDS, *ALIASES]
    return []


def _value_words(manager: Any, option: Option, namespace: dict[str, Any]) -> Iterable[str]:
    """What the value of ``option`` completes to (nothing: a value the person types, a number, a name)."""
    if option.choices:
        return option.choices
    if option.completes == "servers":
        return manager.names
    if option.completes == "rows":
        return _rows_variables(namespace)
    return []


def _scan(c: Command, words: list[str]) -> tuple[list[str], set[str]] | None:
    """The positional words and the options given so far (None: past ``--``, a command line of its own)."""
    positionals: list[str] = []
    given: set[str] = set()
    it = iter(words)
    for word in it:
        if word == "--" and c.tail is not None:
            return None
        name, eq, _ = word.partition("=")
        option = c.option(name) if word.startswith("-") else None
        if option is None:
            positionals.append(word)
            continue
        given.add(option.name)
        if option.kind != "flag" and not eq:
            next(it, None)  # its value
    return positionals, given


def _open_arg(c: Command, count: int) -> Arg | None:
    """The argument the next positional word gives, after ``count`` of them (None: all are given)."""
    for i, arg in enumerate(c.args):
        if arg.count in ("many", "some") or i == count:
            return arg
    return None


def _candidates(manager: Any, c: Command, done: list[str], current: str, namespace: dict[str, Any]) -> Iterable[str]:
    before = c.option(done[-1]) if done else None
    if before is not None and before.kind != "flag":
        return _value_words(manager, before, namespace)
    scanned = _scan(c, done)
    if scanned is None:
        return []
    positionals, given = scanned
    options = [
        o for o in c.options if (o.kind == "repeat" or o.name not in given) and (not o.offer or OFFERS[o.offer](manager, positionals))
    ]
    arg = _open_arg(c, len(positionals))
    if current.startswith("-") or arg is None:
        return [o.name for o in options]
    return [*_arg_words(manager, arg, positionals, current), *(o.name for o in options if o.offer)]


def complete(manager: Any, line: str, namespace: dict[str, Any] | None = None) -> list[str]:
    """Completions for the ``%mcp`` line typed so far (``namespace``: the notebook's, for ``--from VAR``)."""
    try:
        words = tokenize(line)
    except UsageError:
        return []  # inside an open quote
    if words and words[0].lstrip("%") == "mcp":
        words = words[1:]
    trailing = line[-1:].isspace()
    if not words or (len(words) == 1 and not trailing):
        prefix = words[0] if words else ""
        return sorted(n for n in [*COMMANDS, *ALIASES] if n.startswith(prefix))
    c = COMMANDS.get(ALIASES.get(words[0], words[0]))
    if c is None:
        return []
    current = "" if trailing else words[-1]
    done = words[1:] if trailing else words[1:-1]
    return sorted({w for w in _candidates(manager, c, done, current, namespace or {}) if w.startswith(current)})[:COMPLETIONS]
