"""Fuzzing the config loader and the ``%mcp`` line parser: random and adversarial input gives a
``ConfigError`` / ``UsageError`` (or works), never another exception, and never a broken shell."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcpomni_jupyter.config import AUTH_KEYS, SERVER_KEYS, parse_config, parse_text
from mcpomni_jupyter.errors import ConfigError

KEYS = sorted(SERVER_KEYS | AUTH_KEYS | {"mcpServers", "servers", "inputs", "method", "oauth", "stdio", "http", "sse"})
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "${X}",
            "${X:-d}",
            "${env:X}",
            "${",
            "${}",
            "http://127.0.0.1/mcp",
            "stdio",
            "sse",
            "http",
            "streamable_http",
            "oauth",
            "none",
            "-1",
            "",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=10)), children, max_size=5),
    ),
    max_leaves=30,
)
server_entries = st.dictionaries(st.sampled_from(sorted(SERVER_KEYS)), json_values, max_size=6)
configs = st.one_of(
    json_values,
    st.dictionaries(st.text(max_size=12), server_entries, max_size=3),
    st.fixed_dictionaries({"mcpServers": st.dictionaries(st.text(max_size=12), st.one_of(server_entries, json_values), max_size=3)}),
)
ENV = {"X": "expanded-value"}


def _check(servers: list) -> None:
    for server in servers:
        assert server.transport in ("stdio", "sse", "streamable_http")
        assert math.isfinite(server.timeout) and server.timeout > 0
        assert math.isfinite(server.sse_read_timeout) and server.sse_read_timeout > 0
        assert isinstance(server.disabled, bool)
        assert all(isinstance(a, str) for a in server.args)
        repr(server)  # a repr never fails


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_config_loader_raises_only_config_errors(data):
    try:
        result = parse_config(data, environ=ENV)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    _check(result.servers)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), configs.map(lambda d: json.dumps(d, allow_nan=True))))
def test_config_text_raises_only_config_errors(text):
    try:
        _check(parse_text(text, environ=ENV).servers)
    except ConfigError:
        pass


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        '{"a":' * 50_000,
        '{"s": {"command": "x", "timeout": NaN}}',
        '{"s": {"url": "http://h/mcp", "timeout": Infinity}}',
        '{"s": {"url": "http://h/mcp", "timeout": 1e999}}',
        '{"s": {"command": "x", "disabled": "false"}}',
        '{"s": {"command": "x", "args": [{"a": 1}]}}',
        '{"s": {"url": "http://h/mcp", "auth": {"method": "oauth", "scopes": 3}}}',
        '{"s": {"url": "http://h/mcp", "auth": {"method": "oauth", "client_id": ["x"]}}}',
        '{"mcpServers": []}',
        "null",
        '"text"',
        '{"s": {"command": "${X',
        '{"s": {"url": "http://[::1/mcp"}}',
    ],
)
def test_adversarial_configs(text):
    with pytest.raises(ConfigError):
        parse_text(text, environ=ENV)


VOCAB = [
    "call",
    "connect",
    "disconnect",
    "tools",
    "resources",
    "templates",
    "prompts",
    "prompt",
    "read",
    "subscribe",
    "unsubscribe",
    "log",
    "help",
    "debug",
    "add",
    "remove",
    "refresh",
    "status",
    "auth",
    "logout",
    "load",
    "config",
    "--json",
    "--out",
    "--timeout",
    "--server",
    "--limit",
    "--transport",
    "-H",
    "--auth",
    "--env",
    "--cwd",
    "--wait",
    "--",
    "'",
    '"',
    "[",
    "]",
    "=",
    "k=v",
    "n=3",
    'x="a b"',
    "tags=[1,2]",
    "{word}",
    "$word",
    "s.echo",
    ".",
    "..",
    "a.b.c",
    "http://127.0.0.1:1/mcp",
    "-1",
    "0",
    "nan",
    "1e999",
    "'{\"a\": 1}'",
    "'{bad'",
    "\\",
    "\t",
    "é",
    "\x00",
]
lines = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=80), st.lists(st.sampled_from(VOCAB), max_size=8).map(" ".join)
)


@pytest.fixture(scope="module")
def fuzz_shell():
    """A real shell with the extension; registry emptied between examples (no server ever starts)."""
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    if "mcpomni_jupyter" not in ip.extension_manager.loaded:
        ip.run_line_magic("load_ext", "mcpomni_jupyter")
    ip.user_ns["word"] = "expanded"
    yield ip
    from mcpomni_jupyter.core import kernel as manager_module

    manager_module.reset_manager()


def _reset(ip) -> None:
    from mcpomni_jupyter.core.kernel import get_manager
    from mcpomni_jupyter.magics.debuglog import set_debug

    manager = get_manager()
    for name in manager.names:
        manager.remove(name)
    set_debug(False)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(line=lines, body=st.one_of(st.none(), st.text(max_size=60), configs.map(json.dumps)))
def test_magic_lines_raise_only_usage_errors(fuzz_shell, tmp_path_factory, line, body):
    import os

    from IPython.core.error import UsageError

    os.chdir(tmp_path_factory.getbasetemp())  # %mcp load finds nothing here
    try:
        if body is None:
            fuzz_shell.run_line_magic("mcp", line)
        else:
            fuzz_shell.run_cell_magic("mcp", line, body)
    except UsageError as exc:
        assert str(exc).strip()
    finally:
        _reset(fuzz_shell)
