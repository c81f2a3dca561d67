"""The MCP conformance suite's client under test, built on mcpomni_jupyter's own manager and OAuth code.

    python tests/conformance/client.py SERVER_URL

The suite sets MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT (JSON: e.g.
pre-registered credentials, tool calls) and MCP_CONFORMANCE_PROTOCOL_VERSION.
Authorization goes through the product's callback server and token store; the
BROWSER command (tests/tools/follow_redirects.py) stands in for the person,
as the suite's authorization server approves at once.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from mcpomni_jupyter.core.manager import MCPManager  # noqa: E402

CIMD_URL = "https://conformance-test.local/client-metadata.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def placeholder(schema: dict) -> object:
    kind = schema.get("type", "string")
    return {"number": 1, "integer": 1, "boolean": True, "array": [], "object": {}}.get(kind, "test")


def main() -> int:
    url = sys.argv[-1]
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    os.environ.setdefault("BROWSER", f"{sys.executable} {HERE.parent / 'tools' / 'follow_redirects.py'} %s")

    server: dict = {"transport_type": "streamable_http", "url": url, "timeout": 20}
    if scenario.startswith("auth/"):
        auth: dict = {"method": "client_credentials" if scenario == "auth/client-credentials-basic" else "oauth"}
        if context.get("client_id"):
            auth["client_id"] = context["client_id"]
            if context.get("client_secret"):
                auth["client_secret"] = context["client_secret"]
        if scenario == "auth/basic-cimd":
            auth["client_metadata_url"] = CIMD_URL
        server["auth"] = auth

    manager = MCPManager(timeout=30)
    with tempfile.TemporaryDirectory() as tokens:
        manager.configure_auth(token_dir=tokens, callback_port=free_port(), open_browser=True, auth_timeout=30)
        try:
            manager.configure({"mcpServers": {"test": server}})
            status = manager.connect("test", wait=True)["test"]
            if status.state != "connected":
                print(f"connect failed: {status.error}", file=sys.stderr)
                return 1
            if scenario == "initialize":
                return 0
            calls = context.get("toolCalls") or context.get("tool_calls")
            if calls:
                for call in calls:
                    manager.call(f"test.{call['name']}", call.get("arguments") or {}, raise_on_error=False)
            else:
                for tool in manager.tools("test"):
                    props = (tool.input_schema or {}).get("properties", {}) or {}
                    args = {name: placeholder(schema) for name, schema in props.items()}
                    result = manager.call(f"test.{tool.name}", args, raise_on_error=False)
                    print(f"{tool.name}: {'error' if result.is_error else 'ok'} {result.text[:200]}")
            return 0
        finally:
            manager.shutdown()


if __name__ == "__main__":
    sys.exit(main())
