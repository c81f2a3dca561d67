"""Error mapping: lower-level errors become ours, with a sentence saying what to do (no server)."""

from __future__ import annotations

import anyio
import httpx2
import pytest
from mcp import MCPError
from mcp_types import CONNECTION_CLOSED

from mcpomni_jupyter.config import parse_server
from mcpomni_jupyter.core.session.errormap import map_error, root_error
from mcpomni_jupyter.errors import AuthError, RequestTimeout, ServerConnectionError, ServerError

HTTP = parse_server("web", {"url": "http://127.0.0.1:9/mcp?key=k-secret-1", "headers": {"Authorization": "Bearer h-secret-22"}})
OAUTH = parse_server("o", {"url": "https://h/mcp", "auth": {"method": "oauth"}})
STDIO = parse_server("local", {"command": "/no/such/prog"})


def test_status_codes():
    assert "add a bearer header" in str(map_error(MCPError(-32600, "x"), HTTP, http_status=401))
    assert "%mcp auth o" in str(map_error(MCPError(-32600, "x"), OAUTH, http_status=401))
    error = map_error(MCPError(-32600, "x"), HTTP, http_status=404)
    assert isinstance(error, ServerConnectionError) and "404 Not Found" in str(error) and "k-secret-1" not in str(error)
    assert isinstance(map_error(MCPError(-32600, "x"), HTTP, http_status=403), AuthError)


def test_transport_errors():
    request = httpx2.Request("POST", "http://127.0.0.1:9/mcp?key=k-secret-1")
    error = map_error(httpx2.ConnectError("refused", request=request), HTTP)
    assert "cannot reach http://127.0.0.1:9/mcp?key=***" in str(error) and "is the server running?" in str(error)
    assert isinstance(map_error(httpx2.ReadTimeout("slow", request=request), HTTP), RequestTimeout)


def test_sdk_and_os_errors():
    assert "closed the connection (stderr: bye)" in str(map_error(MCPError(CONNECTION_CLOSED, "c"), STDIO, "bye"))
    server_error = map_error(MCPError(-32601, "Method not found"), STDIO)
    assert isinstance(server_error, ServerError) and server_error.code == -32601
    assert "command '/no/such/prog' not found" in str(map_error(FileNotFoundError(2, "x"), STDIO))
    assert "closed the connection" in str(map_error(anyio.EndOfStream(), STDIO))
    assert isinstance(map_error(TimeoutError(), STDIO), RequestTimeout)


def test_groups_are_unwrapped_to_the_most_telling_leaf():
    ours = RequestTimeout("ours")
    group = BaseExceptionGroup("g", [ValueError("v"), ExceptionGroup("inner", [ours])])
    assert root_error(group) is ours
    assert map_error(group, STDIO) is ours


@pytest.mark.parametrize("exc", [RuntimeError("Bearer h-secret-22 leaked"), ValueError("key=k-secret-1")])
def test_messages_are_redacted(exc):
    from mcpomni_jupyter.redact import add_secret

    for value in HTTP.secret_values():
        add_secret(value)
    text = str(map_error(exc, HTTP))
    assert "h-secret-22" not in text and "k-secret-1" not in text


def test_output_schema_refusals_are_server_errors():
    """The SDK refuses a result that breaks the tool's output schema with a RuntimeError; ours says what it is."""
    refused = RuntimeError("Invalid structured content returned by tool lookup: 5 is not of type 'string'")
    error = map_error(refused, STDIO)
    assert isinstance(error, ServerError) and "breaks the tool's output schema" in str(error) and "5 is not of type" in str(error)
    missing = map_error(RuntimeError("Tool lookup has an output schema but did not return structured content"), STDIO)
    assert isinstance(missing, ServerError) and "report it to the server's maintainers" in str(missing)
    other = map_error(RuntimeError("something else"), STDIO)  # any other RuntimeError keeps its generic mapping
    assert isinstance(other, ServerConnectionError) and "RuntimeError: something else" in str(other)


def test_a_required_client_capability_is_named_in_one_line():
    """-32021 (2026-07-28; spec #3116 corrected the tasks extension's -32003): what the server requires, bounded."""
    data = {"requiredCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}, "x" * 900: {}}}
    error = map_error(MCPError(-32021, "Missing required client capability", data), STDIO)
    assert isinstance(error, ServerError) and error.code == -32021
    text = str(error)
    assert "requires a client capability (extensions: io.modelcontextprotocol/tasks;" in text
    assert "\n" not in text and "x" * 300 not in text and "ask the server's maintainers" in text
    old = map_error(MCPError(-32003, "Missing required client capability"), STDIO)  # not the code any more: passed on as sent
    assert "requires a client capability" not in str(old) and old.code == -32003
    assert "requires a client capability; this client" in str(map_error(MCPError(-32021, "m", "not a dict"), STDIO))
