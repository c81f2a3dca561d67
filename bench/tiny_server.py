"""A minimal MCP server over stdio, without the SDK: it starts in a few tens of milliseconds.

The connect benchmark uses it beside tests/servers/basic.py so that what is
measured is the client connecting servers concurrently, not Python importing
the MCP SDK in each server process (about 1.5-2 s of CPU apiece). With
``--delay SECONDS`` it sleeps that long before serving: a start that waits
rather than computes, so 8 of them need no more CPU than 1.
"""

import json
import sys
import time

if "--delay" in sys.argv:  # a start that waits (on a network, a database) rather than computes
    time.sleep(float(sys.argv[sys.argv.index("--delay") + 1]))


def answer(request: dict) -> dict | None:
    method, rid = request.get("method"), request.get("id")
    if rid is None:  # a notification
        return None
    if method == "initialize":
        result = {
            "protocolVersion": request["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "tiny", "version": "1"},
        }
    elif method == "tools/list":
        result = {"tools": [{"name": "noop", "description": "Do nothing.", "inputSchema": {"type": "object"}}]}
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": ""}], "isError": False}
    elif method == "ping":
        result = {}
    else:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"method not found: {method}"}}
    return {"jsonrpc": "2.0", "id": rid, "result": result}


for line in sys.stdin:
    if line.strip():
        reply = answer(json.loads(line))
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
