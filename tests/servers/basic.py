"""The project's test MCP server, run as a real subprocess over any transport.

    python basic.py stdio
    python basic.py sse PORT [--token T]
    python basic.py streamable-http PORT [--token T]

``--token`` makes the HTTP transports answer 401 unless the request carries
``Authorization: Bearer T``; ``--header K=V`` likewise requires a custom header.
``--crash-at-start`` exits before speaking MCP; ``--name`` changes the
server's name (and prefixes nothing: several servers share tool names on
purpose, for the ambiguity tests).  ``--restarts`` (HTTP) stops the server at
a line on stdin and serves a new one on the same port at the next.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import warnings
from typing import Any, TypedDict

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp_types import (
    CreateMessageRequest,
    CreateMessageRequestParams,
    ElicitRequest,
    ElicitRequestFormParams,
    InputRequiredResult,
    ListRootsRequest,
    ModelHint,
    ModelPreferences,
    SamplingMessage,
    TextContent,
    ToolAnnotations,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

PREFERENCES = ModelPreferences(hints=[ModelHint(name="claude-sonnet")], intelligence_priority=0.8)  # ask_llm's


class Pid(TypedDict):
    """Which process served a row (the ``pid`` tool's structured result)."""

    pid: int
    ppid: int
    n: int


def build(name: str) -> MCPServer:
    server = MCPServer(name, instructions="A server for mcpomni_jupyter's tests.")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
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
    def pid(n: int = 0) -> Pid:
        """This server's process id, its parent's, and n unchanged: which process served a row."""
        return Pid(pid=os.getpid(), ppid=os.getppid(), n=n)

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
    async def roots(ctx: Context) -> Any:
        """The client's roots (file URIs), one a line."""
        result = await ask_client(ctx, "roots", ListRootsRequest(), lambda: ctx.session.list_roots())
        if isinstance(result, InputRequiredResult):
            return result
        return "\n".join(str(root.uri) for root in result.roots)

    @server.tool()
    async def ask_llm(question: str, ctx: Context, system: str | None = None) -> Any:
        """Ask the client's model (sampling) and return its answer, or the refusal; ``system`` is sent as the system prompt."""
        from mcp import MCPError

        params = CreateMessageRequestParams(
            messages=[SamplingMessage(role="user", content=TextContent(type="text", text=question))],
            max_tokens=50,
            system_prompt=system,
            model_preferences=PREFERENCES,
        )
        try:
            result = await ask_client(
                ctx,
                "llm",
                CreateMessageRequest(params=params),
                lambda: ctx.session.create_message(
                    messages=params.messages,
                    max_tokens=50,
                    system_prompt=system,
                    model_preferences=PREFERENCES,
                    related_request_id=ctx.request_id,
                ),
            )
        except MCPError as exc:
            return f"declined: {exc.error.message}"
        if isinstance(result, InputRequiredResult):
            return result
        return f"model {result.model} said: {result.content.text}"

    @server.tool()
    async def ask_user(ctx: Context) -> Any:
        """Ask the person for a name and a count (elicitation)."""
        schema = {
            "type": "object",
            "properties": {"name": {"type": "string"}, "count": {"type": "integer", "default": 2}},
            "required": ["name"],
        }
        result = await ask_form(ctx, "who", "Who are you?", schema)
        if isinstance(result, InputRequiredResult):
            return result
        if result.action == "accept":
            return f"accepted: {result.content['name']} x{result.content.get('count', 2)}"
        return result.action

    @server.tool()
    async def add_tool(ctx: Context) -> str:
        """Add a tool named 'late' and tell the client its tool list changed."""

        def late() -> str:
            return "late but here"

        server.add_tool(late)
        await announce(ctx.notify_tools_changed(), ctx.session.send_tool_list_changed)
        return "added"

    @server.tool()
    async def touch(uri: str, ctx: Context) -> str:
        """Tell subscribers that the resource at uri was updated."""
        await announce(ctx.notify_resource_updated(uri), lambda: ctx.session.send_resource_updated(uri))
        return f"touched {uri}"

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

    if os.environ.get("MCPJ_MORE_QUESTIONS"):  # off by default, so the tool count other tests expect stays
        add_more_questions(server)
    if os.environ.get("MCPJ_AGENT_TOOLS"):  # likewise: the agents' tests (tests/servers/agent_tools.py)
        from agent_tools import add_agent_tools

        add_agent_tools(server)
    return server


def add_more_questions(server: MCPServer) -> None:
    """Tools for the elicitation tests (tests/test_elicitation.py): defaults (SEP-1034) and URL mode, in both eras."""
    import json

    from mcp_types import ElicitRequestURLParams

    @server.tool()
    async def ask_defaults(ctx: Context) -> Any:
        """Ask a question whose every field has a default (as the conformance suite's SEP-1034 scenario); return the answer as JSON."""
        schema = {
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "John Doe"},
                "age": {"type": "integer", "default": 30},
                "score": {"type": "number", "default": 95.5},
                "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
                "verified": {"type": "boolean", "default": True},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}, "default": ["b"]},
                "nickname": {"type": "string", "minLength": 3},
            },
            "required": [],
        }
        result = await ask_form(ctx, "settings", "Your settings?", schema)
        if isinstance(result, InputRequiredResult):
            return result
        return json.dumps({"action": result.action, "content": result.content}, sort_keys=True)

    @server.tool()
    async def open_link(ctx: Context, url: str = "https://example.com/login?next=%2Fhome&a=1") -> Any:
        """Ask the person to open a page (URL-mode elicitation); say what the client answered (older eras: then report it complete)."""
        message = "Sign in to <b>Example</b> to continue."
        modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        params = ElicitRequestURLParams(message=message, url=url, elicitation_id=None if modern else "login-1")
        result = await ask_client(
            ctx,
            "link",
            ElicitRequest(params=params),
            lambda: ctx.session.elicit_url(message=message, url=url, elicitation_id="login-1", related_request_id=ctx.request_id),
        )
        if isinstance(result, InputRequiredResult):
            return result
        if not modern and result.action == "accept":
            await ctx.session.send_elicit_complete("login-1", related_request_id=ctx.request_id)
        return f"link: {result.action}"


async def ask_client(ctx: Context, key: str, request: Any, legacy: Any) -> Any:
    """Ask the client something, in the era the connection speaks.

    2026-07-28: the first round returns an ``InputRequiredResult`` naming the
    request; the client answers and retries the call, and the answer is then in
    ``ctx.input_responses``.  Older revisions: a server-to-client request.
    """
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        answer = (ctx.input_responses or {}).get(key)
        return answer if answer is not None else InputRequiredResult(input_requests={key: request})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return await legacy()


async def ask_form(ctx: Context, key: str, message: str, schema: dict[str, Any]) -> Any:
    """A form question (``ask_client``): the ``ElicitResult``, or on 2026-07-28 the ``InputRequiredResult`` to return."""
    params = ElicitRequestFormParams(message=message, requested_schema=schema)
    return await ask_client(
        ctx,
        key,
        ElicitRequest(params=params),
        lambda: ctx.session.elicit_form(message=message, requested_schema=schema, related_request_id=ctx.request_id),
    )


async def announce(modern: object, legacy: object) -> None:
    """Tell the client, whichever revision it speaks: the 2026-07-28 listen streams, and the older notification."""
    await modern  # reaches subscriptions/listen streams only (2026-07-28)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            await legacy()  # the 2025-era notification (a modern connection may have nowhere to send it)
        except Exception:
            pass


def legacy_only(server: MCPServer) -> MCPServer:
    """Serve only the initialize handshake (2025-11-25 and older), as servers written before 2026-07-28 do.

    No server/discover and no subscriptions/listen; over stdio every request is
    served in the handshake era (the SDK would otherwise switch to 2026-07-28
    when the client's first request carries the new envelope).
    """
    import mcp.server.runner as runner

    handlers = server._lowlevel_server._request_handlers
    for method in ("server/discover", "subscriptions/listen"):
        handlers.pop(method, None)
    runner._has_modern_envelope = lambda params: False
    return server


def pin_version(version: str) -> None:
    """Answer initialize with ``version`` (an older revision, e.g. 2025-06-18 or 2025-03-26), whatever is asked."""
    import mcp.server.runner as runner

    runner.HANDSHAKE_PROTOCOL_VERSIONS = tuple(v for v in runner.HANDSHAKE_PROTOCOL_VERSIONS if v <= version)
    runner.LATEST_HANDSHAKE_VERSION = version


def refuse_discover(app: object) -> object:
    """HTTP: answer server/discover as a 2025-era server does (it knows no such method): 404 with a JSON-RPC error."""
    import json

    from starlette.responses import JSONResponse

    async def guarded(scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            request = json.loads(body)
        except ValueError:
            request = {}
        if isinstance(request, dict) and request.get("method") == "server/discover":
            error = {"jsonrpc": "2.0", "id": request.get("id"), "error": {"code": -32601, "message": "Method not found"}}
            return await JSONResponse(error, status_code=404)(scope, receive, send)
        replayed = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay():
            return replayed.pop() if replayed else await receive()

        return await app(scope, replay, send)

    return guarded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "sse", "streamable-http"])
    parser.add_argument("port", nargs="?", type=int, default=0)
    parser.add_argument("--token")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--name", default="basic")
    parser.add_argument("--crash-at-start", action="store_true")
    parser.add_argument("--legacy", action="store_true", help="an older server: the initialize handshake only")
    parser.add_argument("--pin", metavar="VERSION", help="an older server of that revision (implies --legacy)")
    parser.add_argument("--restarts", action="store_true", help="restart on each line on stdin (see serve_restarting)")
    args = parser.parse_args()
    if args.crash_at_start:
        print("fatal: cannot start (on purpose)", file=sys.stderr, flush=True)
        sys.exit(2)
    if args.pin:
        args.legacy = True
        pin_version(args.pin)
    if args.transport == "stdio":
        server = build(args.name)
        if args.legacy:
            legacy_only(server)
        server.run("stdio")
        return

    import uvicorn

    if args.restarts:
        asyncio.run(serve_restarting(lambda: http_app(args), args.port))
        return
    uvicorn.run(http_app(args), host="127.0.0.1", port=args.port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)


def http_app(args: argparse.Namespace) -> Any:
    """A new server (nothing remembered) as an ASGI app, requiring the token and headers asked for."""
    from starlette.responses import JSONResponse

    server = build(args.name)
    if args.legacy:
        legacy_only(server)
    if args.transport == "sse":
        app = server.sse_app(host="127.0.0.1")
    else:
        app = server.streamable_http_app(host="127.0.0.1")
        if args.legacy:
            app = refuse_discover(app)

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

    return guarded


async def serve_restarting(make_app: Any, port: int) -> None:
    """Serve on ``port``; at each line on stdin stop (every connection closed), print "down", and at the next serve
    a new server again and print "up" once listening.  A restart without a new process (whose imports take seconds)."""
    import uvicorn

    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()
    loop.add_reader(sys.stdin.fileno(), lambda: lines.put_nowait(sys.stdin.readline()))
    while True:
        config = uvicorn.Config(make_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        serving = asyncio.ensure_future(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        print("up", flush=True)
        line = await lines.get()
        server.should_exit = True
        await serving
        if not line:
            return  # stdin closed: the test is done
        print("down", flush=True)
        if not await lines.get():
            return


if __name__ == "__main__":
    main()
