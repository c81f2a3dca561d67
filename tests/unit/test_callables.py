"""Tools as callables: signatures from the input schema, arguments checked before the call (no server)."""

from __future__ import annotations

import http.server
import threading
from types import SimpleNamespace

import pytest

from mcpomni_jupyter.core.callables import check_arguments, docstring, identifier, signature
from mcpomni_jupyter.errors import ArgumentError

SCHEMA = {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "string", "default": "x"}}, "required": ["a"]}


def test_signature_docstring_and_identifiers():
    assert str(signature(SCHEMA)) == "(*, a: float, b: str = 'x')"
    assert "a (number, required)" in docstring(SimpleNamespace(name="t", description="Do it.", input_schema=SCHEMA))
    assert identifier("get-sum") == "get_sum" and identifier("class") == "class_" and identifier("1x") == "_1x"


def test_arguments_are_checked():
    check_arguments("t", SCHEMA, {"a": 1})
    with pytest.raises(ArgumentError, match="missing required argument"):
        check_arguments("t", SCHEMA, {})
    with pytest.raises(ArgumentError, match="'x' is not of type 'number'"):
        check_arguments("t", SCHEMA, {"a": "x"})


def test_a_schema_never_makes_the_kernel_fetch_a_remote_ref():
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/evil.json"
        check_arguments("t", {"type": "object", "properties": {"a": {"$ref": url}}}, {"a": 1})
    finally:
        server.shutdown()
    assert hits == []
