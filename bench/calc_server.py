"""A small calculator written with the SDK's ``MCPServer``, over stdio: what a user's first server looks like.

    python bench/calc_server.py

``bench/user_call.py`` runs one of these per variant (ours and the raw SDK each
get a process of their own) and calls ``noop``.
"""

from mcp.server import MCPServer

server = MCPServer("calc")


@server.tool()
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


@server.tool()
def mul(a: float, b: float) -> float:
    """Multiply two numbers."""
    return a * b


@server.tool()
def noop() -> str:
    """Do nothing, quickly (for benchmarks)."""
    return ""


if __name__ == "__main__":
    server.run("stdio")
