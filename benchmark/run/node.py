"""Where a cluster job runs its method: inside the same sandbox a local worker gets.

A Slurm job or a Ray task is a fresh process on some node, started by the cluster, not by
the harness. If the driver sandboxes runs (``bwrap``), the job must too: it starts a
one-worker :class:`~benchmark.run.pool.WorkerPool` inside bubblewrap on its node, hands it
the run, and returns what the worker reports, with the sandbox it ran in. A node that cannot
make the sandbox fails the run with ``SandboxUnavailable`` instead of running the method
unconfined; a driver without one (``--trust-code``) runs it directly, as before.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmark.api.method import MethodInput
from benchmark.core.bwrap import BWRAP, NONE, bwrap_works
from benchmark.methods.catalog import PluginRef
from benchmark.run.pool import WorkerPool
from benchmark.run.sandbox import RunSandbox
from benchmark.run.worker import failed_output, init_worker, run_light

POLL_SECONDS = 0.5


def node_areas() -> Path:
    """Run areas on this node's own disk (a pid is only meaningful on its own machine)."""
    return Path(tempfile.gettempdir()) / "w2s-run-areas"


def run_job(plugin: PluginRef, config: dict[str, Any], inp: MethodInput, threads: int = 1,
            sandbox: str = NONE, readable: Iterable[str] = ()) -> dict[str, Any]:
    """Entry point of a run on a cluster: ``sandbox`` is what the driver promised its
    records (``bwrap`` or ``none``); ``readable``, the weights a finetune run may read."""
    if sandbox != BWRAP:
        init_worker(threads)
        return {**run_light(plugin, config, inp, threads), "sandbox": NONE}
    why = bwrap_works()
    if why:
        return {**failed_output("SandboxUnavailable", f"this node cannot sandbox the method "
                                f"({why}); install bubblewrap on the nodes, or run the sweep "
                                "where none is made at all with --trust-code"),
                "sandbox": NONE}
    pool = WorkerPool(1, threads, pin=False, sandbox=RunSandbox(node_areas(),
                                                     tuple(Path(p) for p in readable)))
    try:
        pool.start()
        pool.submit("job", plugin, config, inp, threads)
        while not (done := pool.collect(POLL_SECONDS)):
            pass
    finally:
        pool.close()
    return {**done[0][1], "sandbox": BWRAP}
