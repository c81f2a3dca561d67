"""Tools over a dask DataFrame: ``mcp.map("S.T", ddf)`` returns a lazy dask DataFrame, computed wherever ``ddf`` is.

Each partition is mapped by the worker that computes it (``worker.py``: its
plugin's connections, or this process's own off a distributed worker) and
comes back as in-process: the partition's rows, a column per result field,
and ``error``.  The columns are known before anything runs (``meta``): the
tool's ``outputSchema`` properties (else ``text``), or the ``meta=`` given.
An OAuth server's access token is the one current when ``map`` was called:
compute the result before it expires, or map again.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from mcpomni_jupyter.core.mapping import cluster, frames, worker
from mcpomni_jupyter.core.mapping.credentials import Credentials
from mcpomni_jupyter.core.session.state import HOP_GRACE

if TYPE_CHECKING:
    from mcpomni_jupyter.core.manager import MCPManager
    from mcpomni_jupyter.core.session.connection import Connection


def is_dask_frame(value: Any) -> bool:
    """A dask DataFrame (recognised through ``sys.modules``: if dask.dataframe was never imported, nothing is one)."""
    module = sys.modules.get("dask.dataframe")
    return module is not None and isinstance(value, module.DataFrame)


def _fields(manager: MCPManager, connection: Connection, tool: str) -> list[str]:
    """The result columns the tool's ``outputSchema`` promises (``text`` when it has none)."""
    from mcpomni_jupyter.core import resolve

    wait = manager.timeout
    coro = resolve.resolve(manager.registry, "tools", tool, connection.name, wait)
    _, spec = manager.loop.run(coro, connection.config.timeout + wait + HOP_GRACE, f"finding {tool!r}")
    schema = getattr(spec, "output_schema", None)
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(properties, dict) and properties:
        names = [str(name) for name in properties]
        return names[: frames.MAX_RESULT_COLUMNS] + (["more_results"] if len(names) > frames.MAX_RESULT_COLUMNS else [])
    return ["text"]


def make_meta(empty: Any, fields: list[str]) -> Any:
    """The result's empty frame: ``empty``'s columns, then the result fields (renamed as ``frame_out`` does), then ``error``."""
    pandas = sys.modules["pandas"]
    taken = set(map(str, empty.columns))
    added = {frames._free(name, taken): pandas.Series([], dtype=object) for name in fields}
    added[frames._free("error", taken, "map_error")] = pandas.Series([], dtype=object)
    return pandas.concat([empty, pandas.DataFrame(added, index=empty.index)], axis=1)


def map_frame(manager: MCPManager, tool: str, ddf: Any, options: dict[str, Any]) -> Any:
    """``ddf`` mapped lazily: a dask DataFrame with the result columns (``meta`` given)."""
    connection, name = cluster.target(manager, tool, options["server"])
    credentials = Credentials(manager, connection)
    job = cluster.make_job(manager, connection, name, options["concurrency"], options["timeout"])
    meta = options.get("meta")
    if meta is None:
        meta = make_meta(ddf._meta, _fields(manager, connection, name))
    module = cluster.distributed("map() of a dask DataFrame")
    try:
        module.default_client().register_plugin(worker.plugin())  # the workers keep their connections
    except ValueError:  # no client: the DataFrame computes with another scheduler, each process with its own manager
        pass
    return ddf.map_partitions(
        frame_partition, job, credentials.token, options["columns"], list(meta.columns), meta=meta, align_dataframes=False
    )


def frame_partition(frame: Any, job: worker.Job, token: worker.Token | None, columns: Any, names: list[str]) -> Any:
    """One partition, mapped where it computes: its rows, the result columns, ``error``; exactly ``names``."""
    plan = frames.plan(frame, columns)
    pairs = list(plan.rows)
    labels, rows = [label for label, _ in pairs], [row for _, row in pairs]
    part = worker.run_partition(job, token, rows) if rows else ("ok", [])
    out = frames.frame_out(frame, worker.outcomes_of(part, labels, rows)).reindex(columns=names)
    for name in names[len(frame.columns) :]:
        out[name] = out[name].astype(object)
    return out
