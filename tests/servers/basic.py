"""The project's test MCP server, run as a real subprocess over any transport.

    python basic.py stdio
    python basic.py sse PORT [--token T]
    python basic.py streamable-http PORT [--token T]

``--token`` makes the HTTP transports answer 401 unless the request carries
``Authorization: Bearer T``; ``--header K=V`` likewise requires a custom header.
``--crash-at-start`` exits before speaking MCP; ``--name`` changes the
server's name (and prefixes nothing: several servers share tool names on
purpose, for the ambiguity tests).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import warnings

from mcp.server import MCPServer
from mcp.server.mcpserver import Context


def build(name: str) -> MCPServer:
    server = MCPServer(name, instructions="A server for mcpomni_jupyter's tests.")

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool()
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    @server.tool()
    def noop() -> str:
        """Do nothing, quickly (for benchmarks)."""
        return ""

    @server.tool()
    async def sleep(seconds: float, ctx: Context) -> str:
        """Sleep, then say so; records a cancellation in the log file if cancelled."""
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            marker = os.environ.get("MCPJ_CANCEL_MARKER")
            if marker:
                with open(marker, "a") as fh:
                    fh.write("cancelled\n")
            raise
        return f"slept {seconds}"

    @server.tool()
    def big(megabytes: float = 20.0) -> str:
        """A text result of that many megabytes (for the large-result benchmark)."""
        line = ("0123456789" * 10) + "\n"
        return line * int(megabytes * 1_000_000 / len(line))

    @server.tool()
    def fail(message: str = "it went wrong") -> str:
        """Raise an error, which the server turns into an error result."""
        raise ValueError(message)

    @server.tool()
    def crash() -> str:
        """Exit the server process at once."""
        print("crashing on purpose", file=sys.stderr, flush=True)
        os._exit(3)

    @server.tool()
    def whoami() -> str:
        """The environment variable MCPJ_WHO, to check env and cwd reach a stdio server."""
        return f"{os.environ.get('MCPJ_WHO', '')}@{os.getcwd()}"

    @server.tool()
    def stats(numbers: list[float]) -> dict[str, float]:
        """Structured output: count, sum and mean."""
        return {"count": len(numbers), "sum": sum(numbers), "mean": sum(numbers) / len(numbers) if numbers else 0}

    @server.tool()
    async def count(n: int, ctx: Context) -> str:
        """Report progress n times, then finish."""
        for i in range(n):
            await ctx.report_progress(i + 1, n, f"step {i + 1}")
            await ctx.info(f"counted {i + 1}")
        return f"counted to {n}"

    @server.tool()
    async def roots(ctx: Context) -> str:
        """The client's roots (file URIs), one a line."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = await ctx.session.list_roots()
        return "\n".join(str(root.uri) for root in result.roots)

    @server.tool()
    async def ask_llm(question: str, ctx: Context) -> str:
        """Ask the client's model (sampling) and return its answer, or the refusal."""
        from mcp import MCPError
        from mcp_types import SamplingMessage, TextContent

        try:
            result = await ctx.session.create_message(
                messages=[SamplingMessage(role="user", content=TextContent(type="text", text=question))],
                max_tokens=50,
                related_request_id=ctx.request_id,
            )
        except MCPError as exc:
            return f"declined: {exc.error.message}"
        return f"model {result.model} said: {result.content.text}"

    @server.tool()
    async def ask_user(ctx: Context) -> str:
        """Ask the person for a name and a count (elicitation)."""
        from pydantic import BaseModel

        class Answer(BaseModel):
            name: str
            count: int = 2

        result = await ctx.elicit("Who are you?", schema=Answer)
        if result.action == "accept":
            return f"accepted: {result.data.name} x{result.data.count}"
        return result.action

    @server.tool()
    async def add_tool(ctx: Context) -> str:
        """Add a tool named 'late' and tell the client its tool list changed."""

        def late() -> str:
            return "late but here"

        server.add_tool(late)
        with warnings.catch_warnings():  # the 2025-11-25 notification, which this client speaks
            warnings.simplefilter("ignore")
            await ctx.session.send_tool_list_changed()
        return "added"

    @server.resource("test://greeting", mime_type="text/plain")
    def greeting() -> str:
        """A fixed greeting."""
        return "hello from the test server"

    @server.resource("test://item/{item_id}")
    def item(item_id: str) -> str:
        """One item by id."""
        return f"item {item_id}"

    @server.prompt()
    def review(code: str, language: str = "python") -> str:
        """Ask for a code review."""
        return f"Please review this {language} code:\n{code}"

    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "sse", "streamable-http"])
    parser.add_argument("port", nargs="?", type=int, default=0)
    parser.add_argument("--token")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--name", default="basic")
    parser.add_argument("--crash-at-start", action="store_true")
    args = parser.parse_args()
    if args.crash_at_start:
        print("fatal: cannot start (on purpose)", file=sys.stderr, flush=True)
        sys.exit(2)

    server = build(args.name)
    if args.transport == "stdio":
        server.run("stdio")
        return

    import uvicorn
    from starlette.responses import JSONResponse

    if args.transport == "sse":
        app = server.sse_app(host="127.0.0.1")
    else:
        app = server.streamable_http_app(host="127.0.0.1")

    required = {}
    if args.token:
        required["authorization"] = f"Bearer {args.token}"
    for item in args.header:
        key, _, value = item.partition("=")
        required[key.lower()] = value

    async def guarded(scope, receive, send):
        if scope["type"] == "http" and required:
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            for key, value in required.items():
                if headers.get(key) != value:
                    response = JSONResponse({"error": "unauthorized"}, status_code=401)
                    await response(scope, receive, send)
                    return
        await app(scope, receive, send)

    uvicorn.run(guarded, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
