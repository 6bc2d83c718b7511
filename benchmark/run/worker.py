"""Code that runs inside a worker process: build the method, run it, report compute.

Workers are started with ``spawn``, so they inherit nothing from the harness process (in
particular no gold labels); each is long-lived, so torch and the plugins are imported once.
"""

from __future__ import annotations

import os
import shutil
import traceback
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

from benchmark.api.method import MethodInput
from benchmark.core import compute
from benchmark.methods.catalog import METHODS, build_method

LOG_TAIL_LINES = 20
LOG_FILE = ".w2s-run.log"  # in the run's scratch dir, so a killed run's log can still be read


def set_threads(threads: int) -> None:
    """Cap torch *and* the BLAS/OpenMP pools numpy and scikit-learn use at ``threads``.

    torch alone is not enough: OpenBLAS starts one thread per core, so a "one-thread" run
    used ~1.35 cores, and two workers on two cores fought over them (a 2-worker naive sweep
    ran 1.14x faster than serial; with the BLAS pools capped, 1.49x, same numbers).
    """
    import torch
    from threadpoolctl import threadpool_limits

    threads = max(1, threads)
    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)


def init_worker(threads: int) -> None:
    set_threads(threads)
    METHODS.names()  # import plugins once, up front


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-LOG_TAIL_LINES:])


def failed_output(kind: str, message: str, log_tail: str = "") -> dict[str, Any]:
    """The output of a run that never returned (killed, timed out, lost with its job)."""
    return {"probs": None, "compute": None,
            "error": {"type": kind, "message": message, "log_tail": log_tail}}


def run_job(method: str, config: dict[str, Any], inp: MethodInput,
            threads: int = 1) -> dict[str, Any]:
    """Entry point of a run on a cluster (a Slurm job, a Ray task): the process imports the
    plugins itself and receives only the gold-free input, exactly like a pool worker."""
    init_worker(threads)
    return run_light(method, config, inp, threads)


def run_light(method: str, config: dict[str, Any], inp: MethodInput,
              threads: int | None = None) -> dict[str, Any]:
    """Fill in the input's features from the cache, then run it (see ``execute_run``)."""
    try:
        inp = inp.with_cached_features()
    except (OSError, ValueError) as exc:
        return failed_output("FeatureCacheMissing", f"this process cannot read the feature "
                             f"cache {inp.feature_file} ({exc}); point W2S_BENCH_CACHE at a "
                             "disk the driver and the nodes share")
    return execute_run(method, config, inp, threads)


def execute_run(method: str, config: dict[str, Any], inp: MethodInput,
                threads: int | None = None) -> dict[str, Any]:
    """Run one method on one input; never raises (errors come back as data)."""
    import torch

    from benchmark.core.provenance import hardware

    if threads is not None:
        set_threads(threads)
    compute.METER.reset()
    watch = compute.Stopwatch()
    scratch = inp.scratch_dir.resolve()  # before the chdir below: a relative one would move
    scratch.mkdir(parents=True, exist_ok=True)
    log_path = scratch / LOG_FILE
    home = os.getcwd()
    os.chdir(scratch)  # relative paths a method writes land in its own scratch dir
    try:
        with open(log_path, "w", encoding="utf-8", buffering=1) as log:
            try:
                torch.manual_seed(inp.seed)
                with redirect_stdout(log), redirect_stderr(log):
                    instance = build_method(method, config)
                    probs = instance.fit_predict(inp)
                result: dict[str, Any] = {"probs": probs, "error": None,
                                          "config": instance.config,
                                          "version": str(instance.version)}
            except Exception as exc:  # the method's failure is this run's result, not the sweep's
                log.write("\n" + traceback.format_exc())
                log.flush()
                result = {"probs": None, "error": {
                    "type": type(exc).__name__, "message": str(exc)[:2000],
                    "log_tail": _tail(log_path.read_text(encoding="utf-8", errors="replace"))}}
    finally:
        os.chdir(home)
    if result["error"] is None:  # a failed run keeps its folder: checkpoints for the rerun
        shutil.rmtree(scratch, ignore_errors=True)
    result["compute"] = {**compute.meter_snapshot(), **watch.elapsed(),
                         "peak_rss_mb": compute.peak_rss_mb()}
    result["torch_threads"] = torch.get_num_threads()
    result["hardware"] = hardware()  # the machine that ran it, which may not be the driver's
    result["pid"] = os.getpid()
    return result
