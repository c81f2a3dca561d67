"""The %mcp command table: every command's options parse, errors are one line, completion and help come from the table.

Table-driven: the expected sets are derived from ``router.COMMANDS``, and a
few known ones are written out so that a table that loses an option fails.
A real ``MCPManager`` with no servers stands behind completion and dispatch.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from mcpomni_jupyter.magics.command import Command, Context
from mcpomni_jupyter.magics.completion import complete
from mcpomni_jupyter.magics.parsing import tokenize
from mcpomni_jupyter.magics.router import ALIASES, COMMANDS, dispatch, help_text

# a valid value for every option of the table, written as typed, and what it parses to
SAMPLES = {
    "--json": ("'{\"a\": 1}'", {"a": 1}),
    "--server": ("s", "s"),
    "--out": ("r", "r"),
    "--timeout": ("2.5", 2.5),
    "--from": ("rows", "rows"),
    "--concurrency": ("4", 4),
    "--columns": ("a,b", ["a", "b"]),
    "--limit": ("3", 3),
    "--page": ("2", 2),
    "--header": ("'K: V'", "K: V"),
    "--env": ("K=V", "K=V"),
    "--cwd": ("/tmp", "/tmp"),
    "--search": ("'read file'", "read file"),
    "--model": ("openai:gpt-x", "openai:gpt-x"),
    "--servers": ("a,b", ["a", "b"]),
    "--prompt": ("demo.review", "demo.review"),
    "--attach": ("test://greeting", "test://greeting"),
    "--save": ("h.json", "h.json"),
    "--load": ("h.json", "h.json"),
}
TABLE = sorted(COMMANDS.values(), key=lambda c: c.name)
OPTIONS = [(c, o) for c in TABLE for o in c.options]
ids = [f"{c.name} {o.name}" for c, o in OPTIONS]


@pytest.fixture(scope="module")
def manager():
    from mcpomni_jupyter.core.manager import MCPManager

    m = MCPManager()
    yield m
    m.shutdown()


def sample(option) -> tuple[str, object]:
    if option.kind == "flag":
        return "", True
    if option.choices:
        return option.choices[-1], option.choices[-1]
    return SAMPLES[option.name]


def base(c: Command, without: object = None) -> str:
    """The least a line of ``c`` needs: a word per required argument, and its required options (but ``without``)."""
    words = ["w" if not a.choices else a.choices[0] for a in c.args if a.count in ("one", "some")]
    words += [f"{o.name} {sample(o)[0]}" for o in c.options if o.required and o is not without]
    return " ".join(words)


def required_options(c: Command) -> str:
    return " ".join(f"{o.name} {sample(o)[0]}" for o in c.options if o.required)


def parse(c: Command, line: str) -> dict:
    return c.parse(tokenize(line))


def one_line_error(c: Command, line: str) -> str:
    with pytest.raises(UsageError) as caught:
        parse(c, line)
    message = str(caught.value)
    assert "\n" not in message and message.strip(), message
    return message


def test_the_table_has_the_documented_commands_and_options():
    names = {c.name: {o.name for o in c.options} for c in TABLE}
    assert set(names) >= {"load", "config", "add", "remove", "connect", "disconnect", "connections", "refresh", "auth", "logout"}
    assert set(names) >= {"call", "map", "read", "prompt", "subscribe", "unsubscribe", "tools", "resources", "templates"}
    assert set(names) >= {"prompts", "log", "debug", "tasks", "help", "ask", "history", "approval", "skills"}
    assert names["call"] == {"--json", "--server", "--out", "--timeout", "--task", "--background"}
    assert names["map"] == {"--from", "--concurrency", "--errors", "--columns", "--out", "--timeout", "--server"}
    assert names["add"] == {"--transport", "--header", "--auth", "--env", "--cwd", "--timeout"}
    assert names["connect"] == {"--wait"} and names["tools"] == {"--all", "--search", "--limit", "--page"} and names["log"] == {"--limit"}
    assert ALIASES == {"status": "connections", "ls": "tools"}
    assert {o.name for c, o in OPTIONS if o.kind not in ("flag",) and not o.choices} <= set(SAMPLES)


@pytest.mark.parametrize(("c", "option"), OPTIONS, ids=ids)
def test_every_option_parses(c, option):
    raw, expected = sample(option)
    want = [expected] if option.kind == "repeat" else expected
    line = base(c, without=option)
    assert parse(c, f"{line} {option.name} {raw}".strip())[option.key] == want
    if option.kind != "flag":
        assert parse(c, f"{line} {option.name}={raw}")[option.key] == want
    if option.short:
        assert parse(c, f"{line} {option.short} {raw}")[option.key] == want
    defaults = parse(c, base(c))
    if not option.required:
        assert defaults[option.key] == {"flag": False, "value": None, "repeat": []}[option.kind]


def test_a_line_parses_into_its_arguments():
    call = parse(COMMANDS["call"], 's.t n=3 text="two words" --out r --timeout=5 --task')
    assert call["tool"] == "s.t" and call["arguments"] == ["n=3", 'text="two words"']
    assert (call["out"], call["timeout"], call["task"], call["background"]) == ("r", 5.0, True, False)
    add = parse(COMMANDS["add"], "n -H 'A: b' --header 'C: d' --env X=1 -- python -m srv --legacy 'two words'")
    assert add["header"] == ["A: b", "C: d"] and add["env"] == ["X=1"]
    assert add["command"] == ["python", "-m", "srv", "--legacy", "two words"]  # after --: word for word, options too
    assert parse(COMMANDS["add"], "n http://h/mcp")["command"] is None
    assert parse(COMMANDS["connect"], "a b --wait") == {"names": ["a", "b"], "wait": True}
    assert parse(COMMANDS["auth"], "s 'http://x/cb?code=1'")["pasted_url"] == "http://x/cb?code=1"


@pytest.mark.parametrize("c", TABLE, ids=[c.name for c in TABLE])
def test_an_unknown_option_names_the_valid_ones(c):
    message = one_line_error(c, f"{base(c)} --bogus 1")
    assert "unknown option --bogus" in message and f"see %mcp help {c.name}" in message
    if c.options:
        assert all(o.name in message for o in c.options), message
    else:
        assert "takes no options" in message


@pytest.mark.parametrize(("c", "option"), [(c, o) for c, o in OPTIONS if o.kind != "flag"], ids=lambda x: getattr(x, "name", ""))
def test_a_missing_value_and_a_value_given_twice(c, option):
    line = base(c, without=option)
    assert f"{option.name} needs a value" in one_line_error(c, f"{line} {option.name}")
    assert f"{option.name} needs a value" in one_line_error(c, f"{line} {option.name} --{c.options[0].key}")
    raw = sample(option)[0]
    twice = f"{line} {option.name} {raw} {option.name} {raw}"
    if option.kind == "repeat":
        assert len(parse(c, twice)[option.key]) == 2
    else:
        assert f"{option.name} given twice; give it once" in one_line_error(c, twice)


@pytest.mark.parametrize(("c", "option"), [(c, o) for c, o in OPTIONS if o.kind == "flag"], ids=lambda x: getattr(x, "name", ""))
def test_a_flag_given_twice_or_with_a_value(c, option):
    assert "given twice" in one_line_error(c, f"{base(c)} {option.name} {option.name}")
    assert "takes no value" in one_line_error(c, f"{base(c)} {option.name}=yes")


@pytest.mark.parametrize("c", TABLE, ids=[c.name for c in TABLE])
def test_wrong_number_of_arguments(c):
    required = [a for a in c.args if a.count in ("one", "some")]
    if required:
        message = one_line_error(c, required_options(c))
        assert message.startswith(f"%mcp {c.name} {required[0].synopsis()}") and f"see %mcp help {c.name}" in message
    if not any(a.count in ("many", "some") for a in c.args):
        every = " ".join(a.choices[0] if a.choices else "w" for a in c.args)
        message = one_line_error(c, f"{every} extra {required_options(c)}")
        assert "'extra' is one argument too many" in message
        assert ("takes no arguments" in message) == (not c.args)


def test_known_argument_errors_say_what_to_do():
    assert "name one tool" in one_line_error(COMMANDS["map"], "--from rows")
    assert "give the variable that holds the rows" in one_line_error(COMMANDS["map"], "s.t")
    assert "%mcp auth NAME" in one_line_error(COMMANDS["auth"], "")
    assert "did you mean '--timeout'" in one_line_error(COMMANDS["call"], "s.t --timout 3")
    assert "errors must be 'collect' or 'raise'" in one_line_error(COMMANDS["map"], "s.t --from r --errors ignore")
    assert "invalid choice 'pigeon'" in one_line_error(COMMANDS["add"], "n u --transport pigeon")
    assert "--timeout takes seconds" in one_line_error(COMMANDS["call"], "s.t --timeout soon")
    assert "give the name of a Python variable" in one_line_error(COMMANDS["call"], "s.t --out 'a b'")
    assert "on|off must be 'on' or 'off'" in one_line_error(COMMANDS["debug"], "maybe")


@pytest.mark.parametrize("c", TABLE, ids=[c.name for c in TABLE])
def test_completion_offers_exactly_the_tables_options(manager, c):
    given = {o.name for o in c.options if o.required}
    # with no server, no tool can run as a task: the options offered only then are left out
    expected = sorted(o.name for o in c.options if o.name not in given and not o.offer)
    assert complete(manager, f"%mcp {c.name} {base(c)} --".replace("  ", " ")) == expected
    for option in c.options:
        if option.kind == "repeat":
            assert option.name in complete(manager, f"%mcp {c.name} {base(c)} {option.name} {sample(option)[0]} --")
        elif option.name not in given:
            assert option.name not in complete(manager, f"%mcp {c.name} {base(c)} {option.name} {sample(option)[0]} --")
        if option.choices:
            assert complete(manager, f"%mcp {c.name} {base(c)} {option.name} ") == sorted(option.choices)


def test_completion_knows_these(manager):
    assert complete(manager, "%mcp call s.t --") == ["--json", "--out", "--server", "--timeout"]
    assert complete(manager, "%mcp map s.t --from rows ") == ["--columns", "--concurrency", "--errors", "--out", "--server", "--timeout"]
    assert complete(manager, "%mcp map s.t --err") == ["--errors"]
    assert complete(manager, "%mcp map s.t --errors ") == ["collect", "raise"]
    assert complete(manager, "%mcp map s.t --from ", {"rows": [{}], "frame": iter([]), "n": 3, "_hidden": []}) == ["frame", "rows"]
    assert complete(manager, "%mcp connect --") == ["--wait"]
    assert complete(manager, "%mcp tools --") == ["--all", "--limit", "--page", "--search"]
    assert {"--header", "--env", "--transport"} <= set(complete(manager, "%mcp add n -"))
    assert complete(manager, "%mcp add n -- ") == []
    assert complete(manager, "%mcp add n -- python --") == []  # the server's own command line
    assert complete(manager, "%mcp add n --transport s") == ["sse", "stdio", "streamable_http"]
    assert complete(manager, "%mcp debug ") == ["off", "on"]
    assert complete(manager, "%mcp help ca") == ["call"]
    assert set(complete(manager, "%mcp help ")) == {*COMMANDS, *ALIASES}
    assert complete(manager, "%mcp sta") == ["status"]
    assert complete(manager, "%mcp ls --a") == ["--all"]  # an alias completes as its command
    assert complete(manager, '%mcp call s.t text="open ') == []  # inside a quote: nothing to offer


@pytest.mark.parametrize("c", TABLE, ids=[c.name for c in TABLE])
def test_help_lists_every_argument_and_option(manager, capsys, c):
    dispatch(Context(manager, {}), f"help {c.name}", None)
    text = capsys.readouterr().out
    assert text.startswith(c.usage()[0]) and c.summary in text
    for option in c.options:
        assert option.name in text and option.help in text and option.synopsis() in c.usage()[0]
        assert not option.short or f"{option.short}, {option.name}" in text
    for arg in c.args:
        assert arg.metavar in text and arg.help in text
    assert c.usage()[0] in help_text()


def test_help_of_known_commands(manager, capsys):
    for alias, name in ALIASES.items():
        dispatch(Context(manager, {}), f"help {alias}", None)
        assert capsys.readouterr().out.startswith(f"%mcp {name}")
    dispatch(Context(manager, {}), "help map", None)
    text = capsys.readouterr().out
    assert "%mcp map [SERVER.]TOOL --from VAR [--concurrency N] [--errors collect|raise]" in text
    dispatch(Context(manager, {}), "help call", None)
    assert "[--timeout S] [--task] [--background]" in capsys.readouterr().out
    dispatch(Context(manager, {}), "help add", None)
    assert "-H, --header 'K: V'..." in capsys.readouterr().out
    assert "%%mcp call [SERVER.]TOOL   (cell body: the JSON object of arguments)" in help_text()
    assert "%%mcp config   (cell body:" in help_text() and "  %mcp config" not in help_text()
    with pytest.raises(UsageError, match="unknown %mcp command 'cal' \\(did you mean 'call'\\?\\)"):
        dispatch(Context(manager, {}), "help cal", None)


def test_no_magics_module_imports_the_router_back():
    """``router`` imports the command modules; a command module importing ``router`` would be a cycle."""
    package = Path(__file__).resolve().parents[2] / "mcpomni_jupyter" / "magics"
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                imported |= {n.rsplit(".", 1)[-1] for n in names if n.startswith("mcpomni_jupyter.magics.")}
        graph[path.stem] = imported
    assert "router" not in set().union(*(graph[m] for m in ("calls", "servers", "listings", "tasks", "apps", "command")))

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    assert [m for m in graph if reaches(m, m, set())] == []
