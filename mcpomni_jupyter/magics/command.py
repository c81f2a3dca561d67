"""One ``%mcp`` command as a declarative table, and the one way a line is parsed against it.

A ``Command`` holds its name, aliases, summary, positional ``Arg`` s and
``Option`` s.  The same table drives parsing (``Command.parse``), the help
(``usage`` / ``help``), the one-line errors (unknown option, missing value,
an option given twice, a missing or extra argument: each says what to do) and
tab completion (``completion.py`` reads ``args`` and ``options``).  A handler
gets a ``Context`` (the manager, the user namespace, what the front end can
show, the settings) and the parsed values, never the magics instance.

The command modules (``servers``, ``calls``, ``listings``, ``tasks``) import
this module; ``router`` imports them; nothing imports ``router`` back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from IPython.core.error import UsageError

from mcpomni_jupyter.errors import did_you_mean
from mcpomni_jupyter.magics.parsing import unquote


@dataclass
class Context:
    """What a command handler may use."""

    manager: Any
    user_ns: dict[str, Any]
    widgets: bool = False  # the front end renders widgets (a kernel, not plain IPython)
    log_level: str = ""  # MCPMagics.log_level, restored by %mcp debug off
    last: dict[str, Any] = field(default_factory=dict)  # what the last command left (its progress bar)


Parsed = dict[str, Any]  # an Arg's or Option's key -> its value (defaults filled in)
Handler = Callable[[Context, Parsed, "str | None"], Any]
Convert = Callable[[str, str], Any]  # (the text given, where it was given: "--timeout") -> the value, or UsageError

OptionKind = Literal["flag", "value", "repeat"]  # --wait; --out VAR; -H 'K: V' given any number of times
ArgCount = Literal["one", "optional", "many", "some"]  # X; [X]; [X ...]; X [X ...]


@dataclass(frozen=True)
class Option:
    """An option of one command: how it is written, what it takes, its help line, what its value completes to."""

    name: str  # "--timeout"
    help: str
    kind: OptionKind = "value"
    metavar: str = ""  # "S" in "--timeout S"; choices show as a|b when empty
    short: str = ""  # "-H"
    choices: tuple[str, ...] = ()
    convert: Convert | None = None  # applied to the unquoted text
    completes: str = ""  # what the value completes to: "servers", "rows" (variables); choices complete by themselves
    required: str = ""  # for an option that must be given: what to say when it is not
    offer: str = ""  # "tasks": completed only for a tool that can run as an MCP task, beside its k= names

    @property
    def key(self) -> str:
        return self.name.lstrip("-")

    def synopsis(self) -> str:
        spelled = self.short or self.name
        if self.kind == "flag":
            text = spelled
        else:
            text = f"{spelled} {self.metavar or '|'.join(self.choices)}" + ("..." if self.kind == "repeat" else "")
        return text if self.required else f"[{text}]"

    def value(self, raw: str, command: str) -> Any:
        """The value of ``raw`` (unquoted) given to this option, checked."""
        if self.choices and raw not in self.choices:
            raise UsageError(f"%mcp {command}: invalid choice {raw!r}: {self.name} must be {_alternatives(self.choices)}")
        return self.convert(raw, self.name) if self.convert is not None else raw


@dataclass(frozen=True)
class Arg:
    """A positional argument: its name in the parsed values, how it is written, how many, what it completes to."""

    name: str  # the key in the parsed values
    metavar: str  # "[SERVER.]TOOL"
    help: str
    count: ArgCount = "one"
    completes: str = ""  # "servers", "tools", "prompts", "skills", "uris", "commands", "tool_args", "prompt_args"
    choices: tuple[str, ...] = ()
    raw: bool = False  # kept as written, quotes and all (k=v, whose values are JSON when they parse)
    missing: str = ""  # what to say when it is not given

    def synopsis(self) -> str:
        m = self.metavar
        return {"one": m, "optional": f"[{m}]", "many": f"[{m} ...]", "some": f"{m} [{m} ...]"}[self.count]

    def value(self, word: str, command: str) -> Any:
        value = word if self.raw else unquote(word)
        if self.choices and value not in self.choices:
            raise UsageError(f"%mcp {command}: invalid choice {value!r}: {self.metavar} must be {_alternatives(self.choices)}")
        return value


def _alternatives(choices: tuple[str, ...]) -> str:
    quoted = [repr(c) for c in choices]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


@dataclass
class Command:
    """One ``%mcp`` subcommand: the table that parses its line, writes its help and completes it."""

    name: str
    summary: str
    handler: Handler
    args: tuple[Arg, ...] = ()
    options: tuple[Option, ...] = ()
    aliases: tuple[str, ...] = ()
    cell: str = ""  # what a %%mcp cell body holds ("": the command takes none)
    cell_only: bool = False  # only %%mcp NAME (a line form only explains)
    tail: Arg | None = None  # what follows "--", taken word for word (add's COMMAND [ARG...])
    notes: tuple[str, ...] = ()  # more help lines
    _lookup: dict[str, Option] = field(init=False, repr=False, compare=False)
    _defaults: Parsed = field(init=False, repr=False, compare=False)
    _repeats: list[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._lookup = {}
        for option in self.options:
            for spelling in (option.name, option.short):
                if spelling:
                    assert spelling not in self._lookup, f"%mcp {self.name}: {spelling} twice in the table"
                    self._lookup[spelling] = option
        self._defaults = {o.key: (False if o.kind == "flag" else None) for o in self.options}
        self._defaults.update({a.name: None for a in self.args})
        if self.tail is not None:
            self._defaults[self.tail.name] = None  # a list once "--" is given
        self._repeats = [o.key for o in self.options if o.kind == "repeat"]

    def option(self, word: str) -> Option | None:
        """The option spelled ``word`` (``--out``, ``-H``), if this command has it."""
        return self._lookup.get(word)

    # ----------------------------------------------------------------- parsing

    def parse(self, tokens: list[str]) -> Parsed:
        """The values of a tokenized line (the words after the command name); a mistake is a one-line UsageError."""
        values = dict(self._defaults)
        words: list[str] = []
        i, n = 0, len(tokens)
        while i < n:
            token = tokens[i]
            i += 1
            if token == "--" and self.tail is not None:
                values[self.tail.name] = [unquote(t) for t in tokens[i:]]
                break
            if len(token) < 2 or token[0] != "-":
                words.append(token)
                continue
            name, eq, inline = token.partition("=")
            option = self._lookup.get(name)
            if option is None:
                raise self._unknown(token)
            if option.kind == "flag":
                if eq:
                    raise self.error(f"{option.name} takes no value (got {token!r})")
                value: Any = True
            else:
                if not eq:
                    if i == n or tokens[i] in self._lookup:
                        raise self.error(f"{option.name} needs a value, as in {option.synopsis().strip('[]')}")
                    inline, i = tokens[i], i + 1
                value = option.value(unquote(inline), self.name)
            self._store(values, option, value)
        for key in self._repeats:
            values[key] = values[key] or []
        for option in self.options:
            if option.required and values[option.key] is None:
                raise self.error(option.required)
        self._assign(values, words)
        return values

    def _store(self, values: Parsed, option: Option, value: Any) -> None:
        current = values[option.key]
        if option.kind == "repeat":
            values[option.key] = [*current, value] if current else [value]
            return
        if current is not None and current is not False:  # a flag's default is False, a value's None
            raise self.error(f"{option.name} given twice; give it once")
        values[option.key] = value

    def _assign(self, values: Parsed, words: list[str]) -> None:
        """Fill the positional arguments from ``words``, in order."""
        i = 0
        for arg in self.args:
            if arg.count in ("many", "some"):
                if arg.count == "some" and i == len(words):
                    raise self._missing(arg)
                values[arg.name] = [arg.value(w, self.name) for w in words[i:]]
                i = len(words)
            elif i < len(words):
                values[arg.name] = arg.value(words[i], self.name)
                i += 1
            elif arg.count == "one":
                raise self._missing(arg)
        if i < len(words):
            takes = " ".join(a.synopsis() for a in self.args) or "no arguments"
            raise self.error(f"{unquote(words[i])!r} is one argument too many: it takes {takes}")

    def error(self, message: str) -> UsageError:
        return UsageError(f"%mcp {self.name}: {message}; see %mcp help {self.name}")

    def _missing(self, arg: Arg) -> UsageError:
        line = " ".join([f"%mcp {self.name}", *(a.synopsis() for a in self.args)])
        return UsageError(f"{line}: {arg.missing or 'give ' + arg.metavar}; see %mcp help {self.name}")

    def _unknown(self, token: str) -> UsageError:
        name = token.partition("=")[0]
        if not self.options:
            return self.error(f"unknown option {name}: it takes no options")
        spelled = [o.name for o in self.options]
        return self.error(f"unknown option {name}{did_you_mean(name, spelled)}; options here: {', '.join(spelled)}")

    # ----------------------------------------------------------------- help

    def usage(self) -> list[str]:
        """The synopsis lines: the line form, and the cell form when there is one."""
        args = [a.synopsis() for a in self.args]
        options = [o.synopsis() for o in self.options if o.required] + [o.synopsis() for o in self.options if not o.required]
        lines = []
        if not self.cell_only:
            tail = [f"[-- {self.tail.metavar}]"] if self.tail is not None else []
            lines.append(" ".join([f"%mcp {self.name}", *args, *options, *tail]))
        if self.cell:
            cell_words = [*options, *args] if self.cell_only else [a.synopsis() for a in self.args if a.count == "one"]
            lines.append(" ".join([f"%%mcp {self.name}", *cell_words]) + f"   (cell body: {self.cell})")
        if self.aliases:
            lines[0] += f"   (alias: {', '.join(self.aliases)})"
        return lines

    def help(self) -> str:
        """``%mcp help NAME``: the synopsis, the summary, then every argument and option with its help line."""
        lines = [*self.usage(), "", self.summary]
        rows = [(a.metavar, a.help) for a in self.args]
        if self.tail is not None:
            rows.append((f"-- {self.tail.metavar}", self.tail.help))
        if rows:
            lines += ["", "arguments:", *_rows(rows)]
        if self.options:
            spelled = [(", ".join(filter(None, (o.short, o.name))) + _takes(o), o.help) for o in self.options]
            lines += ["", "options:", *_rows(spelled)]
        if self.notes:
            lines += ["", *self.notes]
        return "\n".join(lines)


def _takes(option: Option) -> str:
    if option.kind == "flag":
        return ""
    return f" {option.metavar or '|'.join(option.choices)}" + ("..." if option.kind == "repeat" else "")


def _rows(rows: list[tuple[str, str]]) -> list[str]:
    width = min(28, max(len(left) for left, _ in rows))
    pad = " " * (width + 4)
    return [f"  {left:<{width}}  {right}" if len(left) <= width else f"  {left}\n{pad}{right}" for left, right in rows]
