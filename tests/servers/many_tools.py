"""A stdio MCP server with thousands of tools, listed in pages: JSON-RPC by hand, standard library only.

``python many_tools.py [N] [--page-size K]``: ``N`` tools (default 5,002),
``tool_0`` ... ``tool_{N-1}``, listed ``K`` at a time (default 100) with
``nextCursor``.  Each has a description of a few words drawn from a small
vocabulary (so a search has something to rank), a title on every fifth, and
one integer argument ``x``.  ``tools/call`` of any of them answers
``NAME x=X`` as text.  It starts in a few tens of milliseconds (no SDK), so a
catalog test measures the client, not the server's imports.
"""

import json
import sys

VERBS = ("read", "write", "list", "delete", "create", "update", "search", "fetch", "convert", "count")
NOUNS = ("file", "issue", "record", "image", "table", "message", "invoice", "ticket", "report", "user", "order")


def tool(i: int) -> dict:
    verb, noun, other = VERBS[i % len(VERBS)], NOUNS[(i // len(VERBS)) % len(NOUNS)], NOUNS[i % 7]
    out = {
        "name": f"tool_{i}",
        "description": f"Tool number {i}: {verb} a {noun} and its {other}s.",
        "inputSchema": {"type": "object", "properties": {"x": {"type": "integer", "description": "any number"}}},
    }
    if i % 5 == 0:
        out["title"] = f"{verb.capitalize()} {noun} {i}"
    return out


def main() -> None:
    args = sys.argv[1:]
    size = 100
    if "--page-size" in args:
        at = args.index("--page-size")
        size = int(args[at + 1])
        del args[at : at + 2]
    count = int(args[0]) if args else 5_002
    tools = [tool(i) for i in range(count)]
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        reply = answer(request, tools, size)
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


def answer(request: dict, tools: list, size: int) -> dict | None:
    method, rid, params = request.get("method"), request.get("id"), request.get("params") or {}
    if rid is None:  # a notification
        return None
    if method == "initialize":
        result = {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "many-tools", "version": "1"},
        }
    elif method == "tools/list":
        start = int(params.get("cursor") or 0)
        result = {"tools": tools[start : start + size]}
        if start + size < len(tools):
            result["nextCursor"] = str(start + size)
    elif method == "tools/call":
        name, arguments = params.get("name"), params.get("arguments") or {}
        if not any(t["name"] == name for t in tools):
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": f"unknown tool: {name}"}}
        result = {"content": [{"type": "text", "text": f"{name} x={arguments.get('x')}"}], "isError": False}
    elif method == "ping":
        result = {}
    else:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"method not found: {method}"}}
    return {"jsonrpc": "2.0", "id": rid, "result": result}


if __name__ == "__main__":
    main()
