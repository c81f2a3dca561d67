"""A test MCP server with task tools (MCP Tasks), in both wire forms, run as a real subprocess.

    python tasks_server.py stdio [--legacy]
    python tasks_server.py streamable-http PORT [--legacy]

2026-07-28 (the ``io.modelcontextprotocol/tasks`` extension): a task tool
answers ``tools/call`` with ``resultType: "task"`` when the request's
capabilities carry the extension (``-32021`` otherwise, for a required one);
``tasks/get`` inlines ``result`` / ``error`` / ``inputRequests``;
``tasks/update`` takes ``inputResponses``; ``tasks/cancel`` acknowledges.
2025-11-25 (``--legacy``; experimental tasks): ``tools/call`` with ``params.task``
answers ``{"task": {...}}``; ``tasks/get``, ``tasks/result`` (which carries the
task's elicitation on its own stream), ``tasks/list`` and ``tasks/cancel``.

The SDK's server has no tasks support: a middleware answers the task
requests before the SDK's handlers (and their result sieve) see them.

Tools: ``research`` (required; completes after ``seconds``, suggesting a
``poll_ms`` poll interval), ``instant`` (optional; completes at once, for the
benchmark), ``fails`` (required; ends ``failed``), ``ask`` (required; needs
input, then works on for ``then`` seconds; its question names its task in
``_meta``, as the spec has it; ``kind=malformed|sampling|unknown``: another
input request, 2026-07-28), ``slow`` (required; runs until
cancelled), ``odd_id`` (required; answers with a hostile task id) and
``plain`` (no task support).  For the client's 2026-07-28 call path:
``who`` (no task support) asks its question the 2026-07-28 way, as an
``input_required`` answer to ``tools/call``; ``odd_answer`` answers
``kind=type`` with an unknown ``resultType``, ``kind=schema`` with a result
that breaks its output schema, ``kind=task_schema`` with a task whose result
breaks it (every era); ``stale`` refuses its first two calls per ``key`` with
``HEADER_MISMATCH`` (2026-07-28), as a server does when the client's listing
of the tool is out of date.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import MCPError
from mcp.shared.message import ServerMessageMetadata
from mcp_types import ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

sys.path.insert(0, str(Path(__file__).parent))
from basic import ask_form, legacy_only, refuse_discover

EXTENSION = "io.modelcontextprotocol/tasks"
RELATED = "io.modelcontextprotocol/related-task"
SUPPORT = {
    "research": "required",
    "instant": "optional",
    "fails": "required",
    "ask": "required",
    "slow": "required",
    "odd_id": "required",
    "odd_answer": "optional",
}
HEADER_MISMATCH = -32020
STALE_REFUSED: dict[str, int] = {}  # stale: refusals so far, per key
TTL_MS = 300_000


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


class Job:
    def __init__(self, tool: str, arguments: dict[str, Any], poll_ms: int) -> None:
        self.id = uuid.uuid4().hex
        self.tool, self.arguments, self.poll_ms = tool, arguments, poll_ms
        self.status, self.message = "working", "started"
        self.created = self.updated = now()
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.question: dict[str, Any] | None = None  # an elicitation/create params, while input_required
        self.request: dict[str, Any] | None = None  # the input request (2026-07-28 inputRequests), while input_required
        self.answer: asyncio.Future[dict[str, Any]] | None = None
        self.done = asyncio.Event()
        self.runner: asyncio.Task[None] | None = None

    def set(self, status: str, message: str | None = None) -> None:
        if self.status in ("completed", "failed", "cancelled"):
            return  # terminal states never change
        self.status, self.message, self.updated = status, message, now()
        if status in ("completed", "failed", "cancelled"):
            self.done.set()

    def wire(self, modern: bool) -> dict[str, Any]:
        task: dict[str, Any] = {"taskId": self.id, "status": self.status, "createdAt": self.created, "lastUpdatedAt": self.updated}
        if self.message:
            task["statusMessage"] = self.message
        task["ttlMs" if modern else "ttl"] = TTL_MS
        task["pollIntervalMs" if modern else "pollInterval"] = self.poll_ms
        return task

    async def ask(self, message: str, schema: dict[str, Any], request: dict[str, Any] | None = None) -> dict[str, Any]:
        self.question = {"mode": "form", "message": message, "requestedSchema": schema}
        self.request = request or {"method": "elicitation/create", "params": self.question}
        self.answer = asyncio.get_running_loop().create_future()
        self.set("input_required", "waiting for your answer")
        try:
            return await self.answer
        finally:
            self.question = self.request = None
            self.set("working", "thanks; continuing")


JOBS: dict[str, Job] = {}
# ask kind=...: an input request (2026-07-28) other than a well-formed question
ODD_REQUESTS = {
    "malformed": {"method": "elicitation/create", "params": {"mode": "form", "message": 5}},
    "sampling": {
        "method": "sampling/createMessage",
        "params": {"messages": [{"role": "user", "content": {"type": "text", "text": "a colour?"}}], "maxTokens": 10},
    },
    "unknown": {"method": "colours/pick", "params": {}},
}


def text(value: str, error: bool = False) -> dict[str, Any]:
    # structuredContent fits the output schema the SDK derives from the tools' ``-> str``
    return {"content": [{"type": "text", "text": value}], "structuredContent": {"result": value}, "isError": error}


async def body(job: Job) -> dict[str, Any]:
    """What each task tool does; returns a CallToolResult (raises MCPError for a JSON-RPC failure)."""
    args = job.arguments
    if job.tool == "research":
        steps = 3
        for step in range(steps):
            job.set("working", f"step {step + 1} of {steps}")
            await asyncio.sleep(float(args.get("seconds", 0.3)) / steps)
        return text(f"report on {args.get('topic', '?')}")
    if job.tool == "instant":
        return text(f"instant {args.get('x', 0)}")
    if job.tool == "fails":
        await asyncio.sleep(0.05)
        raise MCPError(code=-32603, message="the backend <b>exploded</b>")
    if job.tool == "ask":
        schema = {"type": "object", "properties": {"colour": {"type": "string", "enum": ["red", "blue"]}}, "required": ["colour"]}
        answer = await job.ask(f"Which colour for {args.get('topic', '?')}?", schema, ODD_REQUESTS.get(args.get("kind", "")))
        await asyncio.sleep(float(args.get("then", 0)))  # working on after the answer
        if answer.get("action") != "accept":
            return text(f"no colour: {answer.get('action')}")
        return text(f"colour: {(answer.get('content') or {}).get('colour')}")
    if job.tool == "odd_answer":
        return {**text("odd"), "structuredContent": {"result": 5}}  # the output schema says a string
    if job.tool == "slow":
        try:
            await asyncio.sleep(float(args.get("seconds", 60)))
        except asyncio.CancelledError:
            job.set("cancelled", "cancelled by the client")
            raise
        return text("slow done")
    raise MCPError(code=-32602, message=f"unknown task tool {job.tool}")


async def run(job: Job) -> None:
    try:
        job.result = await body(job)
        job.set("completed", "done")
    except MCPError as exc:
        job.error = {"code": exc.error.code, "message": exc.error.message}
        job.set("failed", exc.error.message)
    except asyncio.CancelledError:
        job.set("cancelled", "cancelled by the client")


def start(tool: str, arguments: dict[str, Any], poll_ms: int) -> Job:
    job = Job(tool, arguments, poll_ms)
    JOBS[job.id] = job
    job.runner = asyncio.get_running_loop().create_task(run(job))
    return job


def find(params: dict[str, Any]) -> Job:
    job = JOBS.get(str(params.get("taskId")))
    if job is None:
        raise MCPError(code=-32602, message="Failed to retrieve task: Task not found")
    return job


def declares_tasks(params: dict[str, Any]) -> bool:
    caps = (params.get("_meta") or {}).get("io.modelcontextprotocol/clientCapabilities") or {}
    return EXTENSION in (caps.get("extensions") or {})


async def call_tool(ctx: Any, params: dict[str, Any], modern: bool, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
    name, arguments = params["name"], params.get("arguments") or {}
    poll_ms = 0 if name == "instant" else int(arguments.get("poll_ms", 50))
    wants_task = declares_tasks(params) if modern else isinstance(params.get("task"), dict)
    if name == "odd_answer" and arguments.get("kind") != "task_schema":
        if modern and arguments.get("kind") == "type":
            return {"resultType": "banana", "content": []}
        return {**text("odd"), "structuredContent": {"result": 5}}
    if name == "odd_id" and wants_task:
        hostile = {"long": "x" * 5000, "html": "<img src=x onerror=alert(1)>", "control": "a\x1b[2Jb"}[arguments.get("kind", "long")]
        task = {"taskId": hostile, "status": "working", "createdAt": now(), "lastUpdatedAt": now()}
        return {"resultType": "task", **task, "ttlMs": None} if modern else {"task": {**task, "ttl": None}}
    if not wants_task:
        if SUPPORT[name] == "required":
            if modern:
                data = {"requiredCapabilities": {"extensions": {EXTENSION: {}}}}
                raise MCPError(code=-32021, message="Missing required client capability", data=data)
            raise MCPError(code=-32601, message=f"Tool {name} requires task augmentation (taskSupport: 'required')")
        return await call_next(ctx)  # an optional tool called plainly: the SDK's handler answers
    job = start(name, arguments, poll_ms)
    return {"resultType": "task", **job.wire(True)} if modern else {"task": job.wire(False)}


async def task_request(ctx: Any, method: str, params: dict[str, Any], modern: bool) -> dict[str, Any]:
    if method == "tasks/list" and not modern:
        return {"tasks": [job.wire(False) for job in JOBS.values()]}
    job = find(params)
    if method == "tasks/get":
        out = job.wire(modern)
        if modern and job.status == "completed":
            out["result"] = job.result
        elif modern and job.status == "failed":
            out["error"] = job.error
        elif modern and job.status == "input_required" and job.request is not None:
            out["inputRequests"] = {f"q-{job.id[:8]}": job.request}
        return out
    if method == "tasks/update" and modern:
        for response in (params.get("inputResponses") or {}).values():
            if job.answer is not None and not job.answer.done():
                job.answer.set_result(response)
        return {}
    if method == "tasks/cancel":
        if job.status in ("completed", "failed", "cancelled"):
            raise MCPError(code=-32602, message=f"Cannot cancel task: already {job.status}")
        job.set("cancelled", "cancelled by the client")
        if job.runner is not None:
            job.runner.cancel()
        return {} if modern else job.wire(False)
    if method == "tasks/result" and not modern:
        while not job.done.is_set():
            if job.question is not None and job.answer is not None and not job.answer.done():
                answer = await ctx.session.send_request(  # the question names its task (the spec's related-task _meta)
                    ElicitRequest(params=ElicitRequestFormParams.model_validate({**job.question, "_meta": {RELATED: {"taskId": job.id}}})),
                    ElicitResult,
                    metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
                )
                job.answer.set_result(answer.model_dump(by_alias=True, exclude_none=True))
                continue
            waiter = asyncio.ensure_future(job.done.wait())
            await asyncio.wait({waiter}, timeout=0.05)
            waiter.cancel()
        if job.status == "failed" and job.error is not None:
            raise MCPError(code=job.error["code"], message=job.error["message"])
        if job.status == "cancelled":
            raise MCPError(code=-32000, message="Task cancelled")
        return {**(job.result or text("")), "_meta": {"io.modelcontextprotocol/related-task": {"taskId": job.id}}}
    raise MCPError(code=-32601, message="Method not found")


async def middleware(ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
    method = ctx.method
    params = dict(ctx.params or {})
    modern = ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
    if method in ("initialize", "server/discover"):
        result = await call_next(ctx)
        caps = result.setdefault("capabilities", {})
        if method == "initialize":
            caps["tasks"] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
        else:
            caps.setdefault("extensions", {})[EXTENSION] = {}
        return result
    if method == "tools/list":
        result = await call_next(ctx)
        for tool in result.get("tools", []):
            if tool.get("name") in SUPPORT:
                tool["execution"] = {"taskSupport": SUPPORT[tool["name"]]}
        return result
    if method == "tools/call" and params.get("name") in SUPPORT:
        return await call_tool(ctx, params, modern, call_next)
    if method == "tools/call" and params.get("name") == "stale" and modern:
        key = str((params.get("arguments") or {}).get("key"))
        STALE_REFUSED[key] = STALE_REFUSED.get(key, 0) + 1
        if STALE_REFUSED[key] <= 2:
            raise MCPError(code=HEADER_MISMATCH, message="the tool's listed schema does not match this call")
    if method.startswith("tasks/"):
        return await task_request(ctx, method, params, modern)
    return await call_next(ctx)


def build() -> MCPServer:
    server = MCPServer("tasks", instructions="Task tools for mcpomni_jupyter's tests.")

    @server.tool()
    def research(topic: str, seconds: float = 0.3, poll_ms: int = 50) -> str:
        """Research a topic for a while (a task: required; pollInterval poll_ms)."""
        return "only as a task"

    @server.tool()
    def instant(x: int = 0) -> str:
        """Complete at once (a task: optional)."""
        return f"instant {x}"

    @server.tool()
    def fails() -> str:
        """Fail with a JSON-RPC error (a task: required)."""
        return "only as a task"

    @server.tool()
    def ask(topic: str, then: float = 0, kind: str = "") -> str:
        """Ask the person a question, then work on for ``then`` seconds (a task: required; ``kind``: see ODD_REQUESTS)."""
        return "only as a task"

    @server.tool()
    def slow(seconds: float = 60) -> str:
        """Run until cancelled (a task: required)."""
        return "only as a task"

    @server.tool()
    def odd_id(kind: str = "long") -> str:
        """Answer with a hostile task id (a task: required)."""
        return "only as a task"

    @server.tool()
    def plain(text: str = "") -> str:
        """An ordinary tool (no task support)."""
        return f"plain {text}"

    @server.tool()
    async def who(ctx: Context) -> Any:
        """Ask the person for a name (no task support; 2026-07-28: an input_required answer)."""
        schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
        result = await ask_form(ctx, "who", "Who are you?", schema)
        if isinstance(result, InputRequiredResult):
            return result
        return f"hello {result.content['name']}" if result.action == "accept" else result.action

    @server.tool()
    def odd_answer(kind: str = "type") -> str:
        """Answer oddly (see the module's docstring)."""
        return "only through the middleware"

    @server.tool()
    def stale(key: str = "") -> str:
        """Refused twice per key with HEADER_MISMATCH (2026-07-28), then answered."""
        return f"fresh {key}"

    server._lowlevel_server.middleware.append(middleware)
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "streamable-http"])
    parser.add_argument("port", nargs="?", type=int, default=0)
    parser.add_argument("--legacy", action="store_true", help="an older server: the initialize handshake only (2025-11-25 tasks)")
    args = parser.parse_args()
    server = build()
    if args.legacy:
        legacy_only(server)
    if args.transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    app = server.streamable_http_app(host="127.0.0.1")
    if args.legacy:
        app = refuse_discover(app)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()
