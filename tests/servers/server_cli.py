"""The command line of the test servers built on the SDK's ``MCPServer``.

python SERVER.py stdio
python SERVER.py streamable-http PORT
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from mcp.server import MCPServer


def serve(build: Callable[[], MCPServer]) -> None:
    """Build the server and run it over the transport the command line names (HTTP on 127.0.0.1)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "streamable-http"])
    parser.add_argument("port", nargs="?", type=int, default=0)
    args = parser.parse_args()
    server = build()
    if args.transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    uvicorn.run(server.streamable_http_app(host="127.0.0.1"), host="127.0.0.1", port=args.port, log_level="warning")
