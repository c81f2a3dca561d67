"""Tools over data on a Dask cluster, the notebook's side: ``mcp.map("S.T", rows, cluster=client)``.

The rows (a list, an iterator read in chunks, a DataFrame) are cut into
partitions and submitted to the workers a window at a time (two per worker
thread: one running, one waiting), so an iterator is never read far ahead;
each partition carries the job and, for an OAuth server, the access token
current when it is submitted.  The workers call the tool (``worker.py``) and
send back each partition's outcomes, which land in input order: a
``MapResults`` or a DataFrame, as in-process.  The progress view counts
finished partitions; an interrupt cancels the futures, tells the workers to
stop their calls, and returns what finished (the partitions still running as
cancelled rows).  A worker lost mid-job: Dask runs its partition again
elsewhere, and a partition's outcomes are taken once, from its one future.
"""

from __future__ import annotations

import itertools
import math
import queue
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.agents.extra import need
from mcpomni_jupyter.core.mapping import engine, frames, worker
from mcpomni_jupyter.core.mapping.credentials import Credentials, for_workers
from mcpomni_jupyter.errors import ApprovalDenied, ArgumentError, LookupFailed, McpJupyterError, ServerConnectionError
from mcpomni_jupyter.results.batch import MapResults, RowError, kind_of

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager
    from mcpomni_jupyter.core.session.connection import Connection

INSTALL = "pip install 'mcpomni-jupyter[dask]'"
PARTS_PER_THREAD = 4  # partitions per worker thread when the total is known: small enough to balance, big enough to batch
MAX_PARTITION = 5_000
DEFAULT_PARTITION = 256  # rows per partition of an iterator of unknown length


def distributed(what: str = "map(cluster=...)") -> Any:
    """``distributed``, imported now (never at import or %load_ext), or a one-line ``MissingExtra``."""
    return need("distributed", "dask[distributed]", what, INSTALL)


def target(manager: MCPManager, tool: str, server: str | None) -> tuple[Connection, str]:
    """The configured server and the tool name behind ``SERVER.TOOL`` (the server is named: the workers connect it)."""
    if server is not None:
        return manager.registry.get(server), tool
    names = manager.registry.snapshot()
    for i, ch in enumerate(tool):
        if ch == "." and tool[:i] in names and tool[i + 1 :]:
            return names[tool[:i]], tool[i + 1 :]
    raise LookupFailed(f"map(cluster=...) needs the server named: SERVER.{tool} (or server=); configured: {', '.join(names) or 'none'}")


def refused(manager: MCPManager, connection: Connection, tool: str) -> None:
    """A ``deny`` rule of the approval policy holds on a cluster too: checked here, once, before any row leaves.

    (The workers' managers run no pre-call checks of the notebook's: ``add_call_check`` functions stay here.)
    """
    spec = next((t for t in connection.tools if t.name == tool), None)
    verdict = manager.approval.verdict(connection.name, tool, spec, "map")
    if verdict.decision == "deny":
        raise ApprovalDenied(f"{connection.name}.{tool} is denied by the approval policy ({verdict.why}); no row was sent to the cluster")


def make_job(manager: MCPManager, connection: Connection, tool: str, concurrency: int, timeout: float | None) -> Job:
    return worker.Job(uuid.uuid4().hex[:12], for_workers(connection.config), tool, concurrency, timeout or manager.timeout, type(manager))


Job = worker.Job


@dataclass
class Partition:
    labels: list[Any]
    rows: list[Any]
    outcomes: list[Any] | None = None


@dataclass
class ClusterRun:
    """One cluster map: the client, the job, its partitions in input order, and those in flight."""

    client: Any
    job: worker.Job
    credentials: Credentials
    state: engine.MapRun
    size: int
    window: int
    parts: list[Partition] = field(default_factory=list)
    pending: dict[Any, int] = field(default_factory=dict)  # future -> partition number
    finished: queue.Queue[Any] = field(default_factory=queue.Queue)

    def submit(self, chunk: list[tuple[Any, Any]]) -> None:
        number = len(self.parts)
        self.parts.append(Partition([label for label, _ in chunk], [row for _, row in chunk]))
        token = self.credentials.current()
        key = f"mcp-map-{self.job.id}-{number}"
        future = self.client.submit(worker.run_partition, self.job, token, self.parts[-1].rows, key=key, pure=False)
        self.pending[future] = number
        future.add_done_callback(self.finished.put)

    def take(self, future: Any, raise_errors: bool) -> None:
        """A finished partition's outcomes into place (counted once: a future finishes once)."""
        number = self.pending.pop(future, None)
        if number is None:
            return
        part = self.parts[number]
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - the partition was lost (its workers died too often): its rows failed
            result = ("failed", f"partition {number} was lost on the cluster: {type(exc).__name__}")
        part.outcomes = worker.outcomes_of(result, part.labels, part.rows)
        for outcome in part.outcomes:
            if not isinstance(outcome, RowError):
                self.state.done += 1
            elif outcome.cancelled:
                self.state.cancelled += 1
            else:
                self.state.failed += 1
        if raise_errors:
            first = next((o for o in part.outcomes if isinstance(o, RowError) and not o.cancelled), None)
            if first is not None:
                raise _raised(first)

    def stop(self) -> None:
        """Cancel what is still running: the futures, and the calls on the workers (each server is told)."""
        futures = list(self.pending)
        if futures:
            self.client.cancel(futures)
        try:
            self.client.run(worker.cancel_job, self.job.id)
        except Exception:  # noqa: BLE001 - a worker that cannot be told stops its calls when its partition ends
            pass

    def outcomes(self) -> list[Any]:
        """Every submitted partition's outcomes in input order; one still running: its rows as cancelled."""
        out: list[Any] = []
        for part in self.parts:
            if part.outcomes is None:
                part.outcomes = worker.outcomes_of(("cancelled", None), part.labels, part.rows, "still running when it was interrupted")
                self.state.cancelled += len(part.outcomes)
            out.extend(part.outcomes)
        return out


def _raised(row: RowError) -> McpJupyterError:
    """The error ``errors="raise"`` raises for ``row``, naming it, as in-process."""
    if row.result is not None:
        return engine._row_failed(row.index, row.result)
    if isinstance(row.error, McpJupyterError):
        return engine._reraised(row.index, row.error)
    return ServerConnectionError(f"row {row.index!r}: {row.message}")


def _chunks(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def sizes(client: Any, total: int | None, concurrency: int, partition_size: int | None) -> tuple[int, int]:
    """(rows per partition, partitions in flight)."""
    threads = max(1, sum(client.nthreads().values()))
    if partition_size is not None:
        if isinstance(partition_size, bool) or not isinstance(partition_size, int) or partition_size < 1:
            raise ArgumentError(f"map(): partition_size must be a whole number of rows, at least 1, got {partition_size!r}")
        size = partition_size
    elif total is not None:
        size = min(MAX_PARTITION, max(2 * concurrency, math.ceil(total / (PARTS_PER_THREAD * threads))))
    else:
        size = max(2 * concurrency, DEFAULT_PARTITION)
    return size, 2 * threads


def check_client(client: Any) -> None:
    module = distributed()
    if not isinstance(client, module.Client):
        raise ArgumentError(f"map(): cluster= takes a distributed.Client (Client(cluster) or Client('tcp://...')), not {kind_of(client)}")
    client.register_plugin(worker.plugin())  # idempotent: the workers keep their plugin and its connections


def start(manager: MCPManager, client: Any, tool: str, plan: frames.Plan, options: dict[str, Any]) -> ClusterRun:
    check_client(client)
    connection, name = target(manager, tool, options["server"])
    refused(manager, connection, name)
    credentials = Credentials(manager, connection)
    job = make_job(manager, connection, name, options["concurrency"], options["timeout"])
    size, window = sizes(client, plan.total, options["concurrency"], options["partition_size"])
    state = engine.MapRun(f"{connection.name}.{name}", plan.total)
    return ClusterRun(client, job, credentials, state, size, window)


def wait(run: ClusterRun, plan: frames.Plan, raise_errors: bool, tick: Any = None) -> MapResults:
    """Submit the partitions a window at a time; take each as it finishes; tick; an interrupt returns what finished."""
    chunks = _chunks(plan.rows, run.size)
    exhausted = False
    try:
        while True:
            while not exhausted and len(run.pending) < run.window:
                chunk = next(chunks, None)
                if chunk is None:
                    exhausted = True
                else:
                    run.submit(chunk)
            if not run.pending:
                break
            try:
                run.take(run.finished.get(timeout=engine.TICK), raise_errors)
            except queue.Empty:
                pass
            _refresh(run)
            if tick is not None:
                tick()
    except KeyboardInterrupt:
        run.state.interrupted = True
        run.stop()
    except BaseException:
        run.stop()
        raise
    finally:
        run.state.ended = time.monotonic()
    return MapResults(run.outcomes(), run.state.tool, run.state.elapsed, run.state.interrupted)


def _refresh(run: ClusterRun) -> None:
    """An OAuth token that came due: refreshed in the notebook and sent to every worker now."""
    if run.credentials.oauth and run.credentials.stale() and run.credentials.refresh() and run.credentials.token is not None:
        run.client.run(worker.send_token, run.credentials.token)
