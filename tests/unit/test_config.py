"""The config loader: every accepted format, ${VAR} expansion, .env, errors that name the server and key, lint."""

from __future__ import annotations

import json

import pytest

from mcpomni_jupyter.config import find_config, load_file, parse_config, parse_text
from mcpomni_jupyter.errors import ConfigError


def one(data):
    result = parse_config(data)
    assert len(result.servers) == 1
    return result.servers[0]


def test_mcpomni_format_all_transports():
    result = parse_config(
        {
            "AgentConfig": {"tool_call_timeout": 30},
            "LLM": {"provider": "openai"},
            "mcpServers": {
                "local": {"transport_type": "stdio", "command": "uvx", "args": ["mcp-server-fetch"], "env": {"A": "1"}, "cwd": "/tmp"},
                "events": {
                    "transport_type": "sse",
                    "url": "http://localhost:3000/sse",
                    "headers": {"X": "y"},
                    "timeout": 60,
                    "sse_read_timeout": 120,
                },
                "api": {"transport_type": "streamable_http", "url": "https://api.example.com/mcp", "auth": {"method": "oauth"}},
            },
        }
    )
    local, events, api = result.servers
    assert (local.transport, local.command, local.args, local.env, local.cwd) == ("stdio", "uvx", ("mcp-server-fetch",), {"A": "1"}, "/tmp")
    assert (events.transport, events.headers, events.timeout, events.sse_read_timeout) == ("sse", {"X": "y"}, 60.0, 120.0)
    assert (api.transport, api.auth.method) == ("streamable_http", "oauth")


def test_bare_name_map_as_in_the_auth_guide():
    server = one({"github": {"transport_type": "streamable_http", "auth": {"method": "oauth"}, "url": "http://localhost:8000/mcp"}})
    assert server.name == "github" and server.auth.method == "oauth"


def test_claude_mcp_json_types():
    result = parse_config(
        {
            "mcpServers": {
                "fs": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "."]},
                "remote": {"type": "http", "url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${TOKEN:-x}"}},
                "old": {"type": "sse", "url": "https://mcp.example.com/sse"},
                "implicit": {"url": "https://mcp.example.com/mcp"},
                "implicit_cmd": {"command": "server"},
            }
        }
    )
    assert [s.transport for s in result.servers] == ["stdio", "streamable_http", "sse", "streamable_http", "stdio"]


def test_vscode_servers_key():
    result = parse_config({"inputs": [], "servers": {"gh": {"type": "http", "url": "https://api.example.com/mcp/"}}})
    assert result.servers[0].name == "gh" and result.servers[0].transport == "streamable_http"


def test_var_expansion_everywhere(monkeypatch):
    monkeypatch.setenv("HOST", "example.org")
    monkeypatch.setenv("TOK", "abc")
    monkeypatch.delenv("MISSING_WITH_DEFAULT", raising=False)
    server = one(
        {
            "s": {
                "type": "http",
                "url": "https://${HOST}/mcp",
                "headers": {"Authorization": "Bearer ${env:TOK}", "X-Env": "${MISSING_WITH_DEFAULT:-fallback}"},
                "auth": {"method": "oauth", "client_secret": "${TOK}"},
            }
        }
    )
    assert server.url == "https://example.org/mcp"
    assert server.headers == {"Authorization": "Bearer abc", "X-Env": "fallback"}
    assert server.auth.client_secret == "abc"
    stdio = one({"s": {"command": "${HOST}-bin", "args": ["--x=${TOK}"], "env": {"K": "${TOK}"}}})
    assert (stdio.command, stdio.args, stdio.env) == ("example.org-bin", ("--x=abc",), {"K": "abc"})


def test_unset_variable_is_an_error_naming_it(monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(ConfigError, match=r"server 'api'.*NOT_SET_ANYWHERE is not set"):
        one({"api": {"url": "https://x/mcp", "headers": {"Authorization": "Bearer ${NOT_SET_ANYWHERE}"}}})


def test_dotenv_loaded_from_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FROM_DOTENV", raising=False)
    (tmp_path / ".env").write_text("FROM_DOTENV=hello\n")
    (tmp_path / "servers_config.json").write_text(json.dumps({"mcpServers": {"s": {"command": "run-${FROM_DOTENV}"}}}))
    assert find_config() == tmp_path / "servers_config.json"
    result = load_file()
    assert result.servers[0].command == "run-hello"
    monkeypatch.delenv("FROM_DOTENV", raising=False)


def test_mcp_json_found_when_no_servers_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".mcp.json").write_text(json.dumps({"mcpServers": {"c": {"type": "stdio", "command": "x"}}}))
    assert load_file().servers[0].name == "c"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"s": {"transport_type": "carrier-pigeon", "url": "http://x"}}, r"server 's': unknown transport 'carrier-pigeon'"),
        ({"s": {"command": "x", "headrs": {}}}, r"server 's': unknown key 'headrs'"),
        ({"s": {"url": "https://x/mcp", "headrs": {}}}, r"did you mean 'headers'"),
        ({"s": {"transport_type": "stdio"}}, r"server 's': a stdio server needs a 'command'"),
        ({"s": {"transport_type": "sse"}}, r"server 's': a sse server needs a 'url'"),
        ({"s": {}}, r"server 's': give a 'command'"),
        ({"s": {"url": "ftp://x"}}, r"not an http:// or https:// URL"),
        ({"s": {"url": "https://x", "auth": {"method": "magic"}}}, r"unknown auth method 'magic'"),
        (
            {"s": {"url": "https://x", "auth": {"method": "oauth", "scope": "a"}}},
            r"server 's'.auth: unknown key 'scope'.*did you mean 'scopes'",
        ),
        ({"s": {"url": "https://x", "timeout": -1}}, r"timeout must be a positive number"),
        ({"s": {"command": "x", "args": "not-a-list"}}, r"args must be a list"),
        ({"s": {"command": "x", "url": "https://x"}}, r"'url' is for HTTP servers"),
        ({"s": "nope"}, r"server 's' must be an object"),
        ({"bad name!": {"command": "x"}}, r"a server name may hold only"),
        ({"mcpServers": {"s": {"command": "x"}}, "extra": 1}, r"unknown top-level key 'extra'"),
        ([1, 2], r"a config must be a JSON object"),
    ],
)
def test_errors_name_the_server_and_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_malformed_json_is_one_line_with_position():
    with pytest.raises(ConfigError) as info:
        parse_text('{"mcpServers": {"s": {"command": "x",}}}')
    assert "invalid JSON at line 1 column" in str(info.value) and "\n" not in str(info.value)


def test_missing_file_and_no_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="no servers_config.json or .mcp.json"):
        load_file()
    with pytest.raises(ConfigError, match="does not exist"):
        load_file(str(tmp_path / "nope.json"))


def test_lint_literal_secret_and_plain_http(monkeypatch):
    monkeypatch.setenv("GOOD_TOKEN", "x" * 30)
    result = parse_config(
        {
            "literal": {"url": "https://api.example.com/mcp", "headers": {"Authorization": "Bearer sk-abcdefghijklmnopqrstuvwxyz123456"}},
            "fine": {"url": "https://api.example.com/mcp", "headers": {"Authorization": "Bearer ${GOOD_TOKEN}"}},
            "plain": {"url": "http://api.example.com/mcp", "headers": {"X-Api-Key": "${GOOD_TOKEN}"}},
            "loopback": {"url": "http://127.0.0.1:8000/mcp", "headers": {"X-Api-Key": "${GOOD_TOKEN}"}},
        }
    )
    assert len(result.warnings) == 2, result.warnings
    assert "server 'literal': header 'Authorization' holds a literal secret" in result.warnings[0]
    assert "${VAR}" in result.warnings[0]
    assert "server 'plain': credentials would be sent over plain http://" in result.warnings[1]


def test_lint_knows_a_media_type_or_a_product_from_a_secret(monkeypatch):
    """The guide's own GitHub example (``Accept: application/vnd.github.v3+json``) is not a literal secret."""
    monkeypatch.setenv("GITHUB_TOKEN", "x" * 30)
    harmless = {
        "Accept": "application/vnd.github.v3+json",
        "Content-Type": "application/json-patch+json",
        "X-Media": "application/vnd.api+json",
        "User-Agent": "MCPOmni-Connect/1.2.3",
        "X-Client": "python-httpx/0.27.0",
        "X-Agent": "Mozilla/5.0",
        "X-Built-By": "mcpomni-jupyter/1.0.0-beta.2",
        "Authorization": "Bearer ${GITHUB_TOKEN}",
        "X-Short": "abc123",
    }
    secrets = {
        "Authorization": "Bearer abc123def456ghi789jkl012",
        "X-Github": "ghp_" + "a1B2c3D4e5" * 4,
        "X-Openai": "sk-proj-" + "Zx9" * 10,
        "X-Hex": "0123456789abcdef" * 4,
        "X-Base64": "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQ/A==",
        "X-Slash": "AbCdEf0123456789GhIj/KlMn",
        "X-Digits-Then-Version": "abc123def456ghi789jkl/12",
        "X-Not-A-Type": "notatype/abcdefghijklmnopqrstuvwxyz",
        "X-Api-Key": "application/vnd.github.v3+json",  # named as a secret: its look does not matter
        "Cookie": "session=abcdef0123456789",
    }
    result = parse_config({"gh": {"url": "https://api.github.com/mcp", "headers": harmless}})
    assert result.warnings == []
    result = parse_config({"gh": {"url": "https://api.github.com/mcp", "headers": secrets}})
    flagged = [w.split("header ")[1].split(" holds")[0].strip("'") for w in result.warnings]
    assert flagged == list(secrets), result.warnings


def test_disabled_servers_are_kept_but_flagged():
    assert one({"s": {"command": "x", "disabled": True}}).disabled is True
