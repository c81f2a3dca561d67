"""Tools over data on a Dask cluster, the worker's side: a plugin that keeps one ``MCPManager`` per worker.

A partition (``run_partition``) arrives with its ``Job`` (the server's config
as the notebook has it, the tool, the concurrency) and its rows; the worker's
manager connects the server on first need (a stdio server runs on the worker;
an HTTP server is reached from it with its headers) and keeps the connection
for later partitions, until the worker stops (``WorkerPlugin.teardown``).  An
OAuth server's connection puts the notebook's current access token on every
request (``TokenAuth``): the notebook sends a newer one with later
partitions, and never a refresh token.

A partition never raises: distributed logs a failed task with its arguments
(which may hold header values), so a failure comes back as a one-line message
and the notebook turns it into the rows' errors.  Nothing of dask is imported
here at module level: the plugin's base class is made on first use.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.config import ServerConfig
from mcpomni_jupyter.errors import McpJupyterError, ServerConnectionError
from mcpomni_jupyter.redact import add_secret
from mcpomni_jupyter.results.batch import RowError, one_line

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager

PLUGIN = "mcpomni-jupyter-map"  # the plugin's name on every worker


@dataclass(frozen=True)
class Job:
    """What every partition of one ``map`` carries: the server (secrets of the notebook's OAuth client left out),
    the tool, the calls at a time per worker, the per-call timeout."""

    id: str
    server: ServerConfig
    tool: str
    concurrency: int
    timeout: float
    manager: Any  # the manager's class (the notebook's ``type(mcp)``, sent by reference): what each worker makes one of


@dataclass(frozen=True)
class Token:
    """An OAuth server's access token for the workers (never its refresh token), and when it expires."""

    server: str
    access: str
    expires_at: float | None

    def __repr__(self) -> str:
        return f"Token(server={self.server!r}, access='***', expires_at={self.expires_at!r})"


Part = tuple[str, Any]  # ("ok", outcomes in row order) | ("failed", one line) | ("cancelled", None)


class WorkerState:
    """One worker's manager, the access tokens it was sent, and the jobs the notebook cancelled."""

    def __init__(self, name: str = "this process", threads: int = 1) -> None:
        self.name = name
        self.threads = max(1, threads)
        self.manager: MCPManager | None = None
        self.tokens: dict[str, Token] = {}  # server -> the newest access token sent
        self.cancelled: set[str] = set()
        self._lock = threading.Lock()

    def held(self) -> dict[str, Any]:
        """What this worker holds (for a check that no refresh token ever reached it)."""
        servers = {name: c.config for name, c in (self.manager.connections if self.manager else {}).items()}
        return {"servers": servers, "tokens": dict(self.tokens), "cancelled": set(self.cancelled)}

    def take_token(self, token: Token | None) -> None:
        """Keep ``token`` unless a later one (by expiry) is held already."""
        if token is None:
            return
        add_secret(token.access)
        with self._lock:
            held = self.tokens.get(token.server)
            if held is None or (token.expires_at or 0) >= (held.expires_at or 0):
                self.tokens[token.server] = token

    def _manager(self, job: Job) -> MCPManager:
        """The worker's manager with ``job.server`` configured as sent (a changed config replaces the connection)."""
        with self._lock:
            if self.manager is None:
                self.manager = job.manager(timeout=job.timeout)
            manager = self.manager
        found = manager.registry.find(job.server.name)
        if found is None or found.config != job.server:
            factory = token_auth(self, job.server.name) if job.server.auth.uses_oauth else None
            manager.add_server(job.server, auth_factory=factory)
        return manager

    def run(self, job: Job, token: Token | None, rows: list[Any]) -> Part:
        """Call the tool for each row, ``job.concurrency`` calls at a time on this worker; outcomes in row order."""
        from mcpomni_jupyter.core.mapping import engine

        if job.id in self.cancelled:
            return "cancelled", None
        self.take_token(token)
        if job.server.transport == "stdio":
            _check_command(job.server, self.name)
        manager = self._manager(job)
        concurrency = max(1, job.concurrency // self.threads)  # the worker's threads share its calls
        _, state, coro = manager._start_map(job.tool, rows, concurrency, "collect", None, job.server.name, job.timeout, None, None)

        def tick() -> None:
            if job.id in self.cancelled:
                raise KeyboardInterrupt  # the engine cancels the calls still running (each server is told)

        engine.wait(manager.loop, coro, state, tick)
        return ("cancelled", None) if state.interrupted else ("ok", state.snapshot())

    def close(self) -> None:
        manager, self.manager = self.manager, None
        if manager is not None:
            manager.shutdown()


def _check_command(server: ServerConfig, where: str) -> None:
    """A stdio server's command must be installed on the worker: one line when it is not."""
    command = server.command or ""
    path = server.env.get("PATH", os.environ.get("PATH"))
    if shutil.which(command, path=path) is None and not (os.sep in command and os.access(command, os.X_OK)):
        raise ServerConnectionError(
            f"server {server.name!r} cannot start on {where}: its command {os.path.basename(command)!r} is not installed there; "
            "install the server on every worker (a stdio server runs where the rows are)"
        )


def token_auth(state: WorkerState, server: str) -> Any:
    """An ``httpx2.Auth`` factory: every request to ``server`` carries the newest access token the notebook sent."""
    import httpx2

    class TokenAuth(httpx2.Auth):
        def auth_flow(self, request: Any) -> Any:
            token = state.tokens.get(server)
            if token is not None:
                request.headers["Authorization"] = f"Bearer {token.access}"
            yield request

    return lambda connection: TokenAuth()


_LOCAL: WorkerState | None = None  # off a distributed worker (a dask DataFrame computed by another scheduler)
_LOCAL_LOCK = threading.Lock()


def worker_state(worker: Any = None) -> WorkerState:
    """This worker's state (the plugin's), or this process's own when not on a distributed worker."""
    global _LOCAL
    if worker is None:
        try:
            from distributed import get_worker

            worker = get_worker()
        except (ImportError, ValueError):
            worker = None
    plugin = worker.plugins.get(PLUGIN) if worker is not None else None
    state = getattr(plugin, "state", None)
    if isinstance(state, WorkerState):
        return state
    with _LOCAL_LOCK:
        if _LOCAL is None:
            _LOCAL = WorkerState(str(getattr(worker, "address", "this process")), getattr(getattr(worker, "state", None), "nthreads", 1))
        return _LOCAL


def run_partition(job: Job, token: Token | None, rows: list[Any]) -> Part:
    """A partition's task: never raises (a failed task's arguments would reach the worker's log)."""
    state = worker_state()
    try:
        return state.run(job, token, rows)
    except McpJupyterError as exc:
        return "failed", one_line(str(exc))
    except Exception as exc:  # noqa: BLE001 - reported as the partition's one line, never as a logged traceback
        return "failed", one_line(f"on {state.name}: {type(exc).__name__}: {exc}")


def outcomes_of(part: Part, labels: list[Any], rows: list[Any], cancelled: str = "cancelled before it finished") -> list[Any]:
    """A partition's outcomes for the notebook: each ``RowError`` named by its row's label (the notebook's index)."""
    kind, value = part
    if kind == "ok":
        for label, outcome in zip(labels, value):
            if isinstance(outcome, RowError):
                outcome.index = label
        return list(value)
    if kind == "failed":
        return [RowError(label, row, value, ServerConnectionError(value)) for label, row in zip(labels, rows)]
    return [RowError(label, row, cancelled, cancelled=True) for label, row in zip(labels, rows)]


def cancel_job(job_id: str, dask_worker: Any = None) -> None:
    """Run on every worker (``client.run``) after an interrupt: its partitions of the job stop their calls."""
    worker_state(dask_worker).cancelled.add(job_id)


def send_token(token: Token, dask_worker: Any = None) -> None:
    """Run on every worker (``client.run``) when the notebook refreshed an OAuth server's access token."""
    worker_state(dask_worker).take_token(token)


def held(dask_worker: Any = None) -> dict[str, Any]:
    """What this worker's plugin holds (``client.run(held)``): configs, access tokens, cancelled jobs."""
    return worker_state(dask_worker).held()


def plugin() -> Any:
    """The worker plugin (a ``distributed.WorkerPlugin``): a ``WorkerState`` per worker, closed when the worker stops."""
    from distributed import WorkerPlugin

    class McpWorkerPlugin(WorkerPlugin):
        name = PLUGIN
        idempotent = True  # registered again by a later map: the workers keep their connections

        def setup(self, worker: Any) -> None:
            self.state = WorkerState(str(worker.address), worker.state.nthreads)

        def teardown(self, worker: Any) -> None:
            self.state.close()

    return McpWorkerPlugin()
