"""The ``map`` part of the manager's Python API: one tool over many rows (dicts or a DataFrame), concurrently.

A base class of ``MCPManager`` that declares what it uses of it.  The tool is
resolved once (connecting on first use), then ``mapping.run`` calls it for
each row on the loop thread while the kernel's thread waits and ticks the
progress view, which the UI registers (``UiHost.map_view``; the core never
imports a widget).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core import resolve
from mcpomni_jupyter.core.mapping import cluster as cluster_map
from mcpomni_jupyter.core.mapping import engine as mapping
from mcpomni_jupyter.core.mapping import frames, lazy
from mcpomni_jupyter.core.mapping.feed import feed
from mcpomni_jupyter.errors import ArgumentError

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager


class MapMethods:
    """``map`` and ``amap``; mixed into ``MCPManager`` (each method typed against it)."""

    def _start_map(
        self: MCPManager,
        tool: str,
        rows: Any,
        concurrency: int,
        errors: str,
        columns: Any,
        server: str | None,
        timeout: float | None,
        total: int | None,
        check: Callable[[dict[str, Any]], None] | None,
    ) -> tuple[frames.Plan, mapping.MapRun, Any]:
        mapping.check_options(concurrency, errors)
        plan = frames.plan(rows, columns, total)
        state = mapping.MapRun(tool, plan.total)
        registry, default = self._ops.registry, self.settings.timeout

        async def body() -> None:
            try:
                connection, spec = await resolve.resolve(registry, "tools", tool, server, default)
            except BaseException:
                state.finished.set()  # ended before any row (an interrupt while connecting): nothing to wait for
                raise
            state.tool = f"{connection.name}.{spec.name}"
            limit = timeout or self.settings.timeout

            async def call(arguments: dict[str, Any]) -> Any:
                # the one request path: the task policy, the timeout, the checks and the errors of any call
                return await connection.live().call_tool(spec.name, arguments, timeout=limit, origin="map")

            # a person's iterator and a per-row check are read on a thread of their own, never on the loop thread
            rows = feed(plan.rows, plan.ours, concurrency, check)
            await mapping.run(rows, call, state, concurrency, errors == "raise")

        return plan, state, body()

    def _view(self: MCPManager, state: mapping.MapRun, progress: bool) -> Any:
        view = self.ui_host.map_view
        return view(state) if progress and view is not None else None

    def map(
        self: MCPManager,
        tool: str,
        rows: Any,
        *,
        concurrency: int = 16,
        errors: str = "collect",
        columns: Any = None,
        server: str | None = None,
        timeout: float | None = None,
        total: int | None = None,
        progress: bool = True,
        check: Callable[[dict[str, Any]], None] | None = None,
        cluster: Any = None,
        partition_size: int | None = None,
        meta: Any = None,
    ) -> Any:
        """Call ``[SERVER.]TOOL`` once per row, ``concurrency`` calls at a time; results in input order.

        ``rows`` is an iterable of argument dicts (a generator is read as the
        calls go, never all at once) or a pandas DataFrame (its columns are
        the arguments; ``columns=["a", "b"]`` picks some, ``{"col": "arg"}``
        picks and renames).  Returns a ``MapResults`` list (``CallResult`` or
        ``RowError`` per row; ``.errors``, ``.values``), or, for a DataFrame,
        a DataFrame of the rows with a column per structured field and
        ``error``.  A row's error is collected; ``errors="raise"`` raises the
        first.  A kernel interrupt cancels the calls still running and returns
        what finished.  ``timeout`` is per call; ``total`` the number of rows
        of a generator (for the ETA); ``check(arguments)`` may raise
        ``ArgumentError`` to fail a row before its call.

        ``cluster=client`` (a ``distributed.Client``) runs the rows on its
        workers, ``partition_size`` rows a task, ``concurrency`` calls at a
        time per worker; the answer is the same.  A dask DataFrame gives a
        lazy dask DataFrame (``meta=`` its empty frame, else from the tool's
        ``outputSchema``).  See core/mapping/cluster.py.
        """
        if cluster is not None or lazy.is_dask_frame(rows):
            mapping.check_options(concurrency, errors)
            options = {"server": server, "concurrency": concurrency, "timeout": timeout, "columns": columns}
            if lazy.is_dask_frame(rows):
                return lazy.map_frame(self, tool, rows, {**options, "meta": meta})
            return self._map_on(cluster, tool, rows, errors, total, progress, {**options, "partition_size": partition_size})
        plan, state, coro = self._start_map(tool, rows, concurrency, errors, columns, server, timeout, total, check)
        view = self._view(state, progress)
        try:
            mapping.wait(self.loop, coro, state, view.tick if view is not None else None)
        except BaseException:
            _finish(view, state, ok=False)
            raise
        _finish(view, state, ok=True)
        return _output(plan, state)

    def _map_on(
        self: MCPManager, client: Any, tool: str, rows: Any, errors: str, total: int | None, progress: bool, options: dict[str, Any]
    ) -> Any:
        """``map`` on a Dask cluster: partitions to the workers, outcomes back in input order."""
        plan = frames.plan(rows, options["columns"], total)
        run = cluster_map.start(self, client, tool, plan, options)
        view = self._view(run.state, progress)
        try:
            results = cluster_map.wait(run, plan, errors == "raise", view.tick if view is not None else None)
        except BaseException:
            _finish(view, run.state, ok=False)
            raise
        _finish(view, run.state, ok=True)
        return frames.frame_out(plan.frame, list(results)) if plan.frame is not None else results

    async def amap(
        self: MCPManager,
        tool: str,
        rows: Any,
        *,
        concurrency: int = 16,
        errors: str = "collect",
        columns: Any = None,
        server: str | None = None,
        timeout: float | None = None,
        total: int | None = None,
        progress: bool = True,
        check: Callable[[dict[str, Any]], None] | None = None,
        cluster: Any = None,
    ) -> Any:
        """``map`` for top-level ``await`` (``cluster=`` and dask DataFrames: use ``map``)."""
        if cluster is not None or lazy.is_dask_frame(rows):
            raise ArgumentError("amap() runs in-process; for cluster= or a dask DataFrame use map()")
        plan, state, coro = self._start_map(tool, rows, concurrency, errors, columns, server, timeout, total, check)
        view = self._view(state, progress)
        try:
            await mapping.await_run(coro, self.loop, state, view.tick if view is not None else None)
        except BaseException:
            _finish(view, state, ok=False)
            raise
        _finish(view, state, ok=True)
        return _output(plan, state)


def _finish(view: Any, state: mapping.MapRun, ok: bool) -> None:
    """The progress view's last line: interrupted (what finished is kept), done, or failed."""
    if view is not None:
        view.finish("interrupted" if state.interrupted else "success" if ok else "error")


def _output(plan: frames.Plan, state: mapping.MapRun) -> Any:
    if plan.frame is not None:
        return frames.frame_out(plan.frame, state.snapshot())
    return state.results()
