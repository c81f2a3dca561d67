"""The MCP conformance suite's client under test, built on mcpomni_jupyter's own manager and OAuth code.

    python tests/conformance/client.py SERVER_URL

The suite sets MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT (JSON: e.g.
pre-registered credentials, a private key, an identity provider's ID token,
tool calls) and MCP_CONFORMANCE_PROTOCOL_VERSION.  Each scenario becomes the
server config a user would write ("auth" as in the README, secrets as
${VAR}); authorization goes through the product's callback server and token
store; the BROWSER command (tests/tools/follow_redirects.py) stands in for the
person, as the suite's authorization server approves at once.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

import httpx2  # noqa: E402

from mcpomni_jupyter.core.manager import MCPManager  # noqa: E402

CIMD_URL = "https://conformance-test.local/client-metadata.json"
METHOD_NOT_FOUND = -32601


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def placeholder(schema: dict) -> object:
    kind = schema.get("type", "string")
    return {"number": 1, "integer": 1, "boolean": True, "array": [], "object": {}}.get(kind, "test")


def authorization_server(url: str) -> str:
    """The MCP server's authorization server, from its protected-resource metadata: what an administrator
    looks up once to configure enterprise-managed authorization (whose authorization server is configuration)."""
    parsed = httpx2.URL(url)
    origin = f"{parsed.scheme}://{parsed.netloc.decode()}"
    for path in (f"/.well-known/oauth-protected-resource{parsed.path}", "/.well-known/oauth-protected-resource"):
        response = httpx2.get(origin + path, timeout=10)
        if response.status_code == 200:
            return response.json()["authorization_servers"][0]
    raise SystemExit(f"no protected-resource metadata at {origin}")


def auth_config(scenario: str, context: dict, url: str, scratch: Path) -> dict:
    """The "auth" entry a user would write for this scenario (secrets as ${VAR}, their values in the environment)."""
    if scenario == "auth/client-credentials-jwt":
        os.environ["CONFORMANCE_PRIVATE_KEY"] = context["private_key_pem"]
        auth = {"method": "client_credentials", "client_id": context["client_id"], "private_key": "${CONFORMANCE_PRIVATE_KEY}"}
        if context.get("signing_algorithm"):
            auth["signing_algorithm"] = context["signing_algorithm"]
        return auth
    if scenario == "auth/wif-jwt-bearer":
        # the workload's token as the platform hands it over: a file kept fresh outside the client (the valid one)
        token = scratch / "workload-token"
        token.write_text(context["valid_jwt"])
        return {"method": "jwt_bearer", "client_id": context["client_id"], "assertion_file": str(token)}
    if scenario in ("auth/cross-app-access-complete-flow", "auth/enterprise-managed-authorization"):
        os.environ["CONFORMANCE_CLIENT_SECRET"] = context["client_secret"]
        os.environ["CONFORMANCE_ID_TOKEN"] = context["idp_id_token"]
        return {
            # the new scenario's name is the SEP's: its alias
            "method": "identity_assertion" if scenario == "auth/cross-app-access-complete-flow" else "enterprise_managed",
            "client_id": context["client_id"],
            "client_secret": "${CONFORMANCE_CLIENT_SECRET}",
            "issuer": authorization_server(url),
            "id_token": "${CONFORMANCE_ID_TOKEN}",
            "idp_token_endpoint": context["idp_token_endpoint"],
            "idp_client_id": context["idp_client_id"],
        }
    auth: dict = {"method": "client_credentials" if scenario == "auth/client-credentials-basic" else "oauth"}
    if context.get("client_id"):
        auth["client_id"] = context["client_id"]
        if context.get("client_secret"):
            os.environ["CONFORMANCE_CLIENT_SECRET"] = context["client_secret"]
            auth["client_secret"] = "${CONFORMANCE_CLIENT_SECRET}"
    if scenario == "auth/basic-cimd":
        auth["client_metadata_url"] = CIMD_URL
    return auth


def skills(manager: MCPManager, scenario: str) -> None:
    """Where the server offers skills: list them, then (as a person would, one at a time) load each listed one.

    The no-prefetch scenario checks that listing reads no skill file, so there the client only lists.
    """
    from mcpomni_jupyter.core.skills.wire import offers_skills
    from mcpomni_jupyter.errors import SkillRefused

    if not offers_skills(manager.connection("test")):
        return
    listed = manager.skills("test")
    print(listed)
    if scenario == "sep-2640-client-no-prefetch":
        return
    for skill in listed:
        try:
            print(f"loaded {manager.skill(skill.uri, server='test').name}")
        except SkillRefused as exc:
            print(f"refused: {exc}")


def call_with_placeholders(manager: MCPManager, tool: Any) -> None:
    """Call ``tool`` with a placeholder for each argument; a server that serves no ``tools/call`` is noted, not fatal
    (json-schema-ref-no-deref's server answers only ``tools/list``: the scenario checks the listing)."""
    from mcpomni_jupyter.errors import ServerError

    props = (tool.input_schema or {}).get("properties", {}) or {}
    args = {name: placeholder(schema) for name, schema in props.items()}
    try:
        result = manager.call(f"test.{tool.name}", args, raise_on_error=False)
    except ServerError as exc:
        if exc.code != METHOD_NOT_FOUND:
            raise
        print(f"{tool.name}: the server serves no tools/call ({exc})")
        return
    print(f"{tool.name}: {'error' if result.is_error else 'ok'} {result.text[:200]}")


def echo_schema(manager: MCPManager) -> None:
    """json-schema-2020-12-preservation: send the focal tool's inputSchema, as listed, back through the echo tool."""
    tools = {tool.name: tool for tool in manager.tools("test")}
    schema = tools["json_schema_2020_12_tool"].input_schema
    print(f"echoing {sorted(schema)}")
    manager.call("test.json_schema_echo", {"schema": schema})


def main() -> int:
    url = sys.argv[-1]
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    os.environ.setdefault("BROWSER", f"{sys.executable} {HERE.parent / 'tools' / 'follow_redirects.py'} %s")

    manager = MCPManager(timeout=30)
    # the suite's person: accept every question, typing nothing; the schema's defaults fill the answer (SEP-1034)
    manager.set_elicitation_handler(lambda message, schema, defaults: {})
    with tempfile.TemporaryDirectory() as scratch:
        server: dict = {"transport_type": "streamable_http", "url": url, "timeout": 20}
        if scenario.startswith("auth/"):
            server["auth"] = auth_config(scenario, context, url, Path(scratch))
        tokens = str(Path(scratch) / "tokens")
        manager.set_auth_options(token_dir=tokens, callback_port=free_port(), open_browser=True, auth_timeout=30)
        try:
            manager.add_servers({"mcpServers": {"test": server}})
            status = manager.connect("test", wait=True)["test"]
            if status.state != "connected":
                print(f"connect failed: {status.error}", file=sys.stderr)
                return 1
            if scenario == "initialize":
                return 0
            skills(manager, scenario)
            calls = context.get("toolCalls") or context.get("tool_calls")
            if calls:
                for call in calls:
                    manager.call(f"test.{call['name']}", call.get("arguments") or {}, raise_on_error=False)
            elif scenario == "json-schema-2020-12-preservation":
                echo_schema(manager)
            else:
                for tool in manager.tools("test"):
                    call_with_placeholders(manager, tool)
            return 0
        finally:
            manager.shutdown()


if __name__ == "__main__":
    sys.exit(main())
