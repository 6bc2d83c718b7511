"""Code that runs where methods run: build the method, run it, report compute.

Pool workers are started with ``spawn`` (inside the sandbox where there is one,
:mod:`benchmark.run.sandbox`), so they inherit nothing from the harness process (in
particular no gold labels). Each is long-lived and imports torch once, but never a plugin:
every run is a fork of the worker that imports its own method's code alone
(:func:`benchmark.methods.discovery.import_one`), runs, reports and exits. So a submission's
import-time code, or anything its run leaves behind in memory, never reaches another run.
A cluster job (Slurm, Ray) starts such a worker on its node (:mod:`benchmark.run.node`).
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import shutil
import signal
import traceback
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.api.method import MethodInput
from benchmark.core import compute
from benchmark.core.bwrap import (
    BWRAP,
    ENV_SWITCH,
    clear_run_leftovers,
    die_with_parent,
    full_tmpfs,
    prevent_tracing,
    reap_strays,
    tmp_size_mb,
)
from benchmark.core.errors import PluginError
from benchmark.methods.catalog import METHODS, PluginRef
from benchmark.methods.discovery import import_one
from benchmark.run.report import (
    TEXT_MAX,
    ReportError,
    RunOutput,
    check_probs,
    decode,
    encode,
    failed_output,
    max_frame_bytes,
)

LOG_TAIL_LINES = 20
LOG_FILE = ".w2s-run.log"  # in the run's scratch dir, so a killed run's log can still be read


# what set_threads last set in this process: a run's fork inherits it, and setting it again
# there cost 10-14 ms a run (threadpoolctl walks every loaded library: fresh pages in a fork)
_threads_set: int | None = None


def set_threads(threads: int) -> None:
    """Cap torch *and* the BLAS/OpenMP pools numpy and scikit-learn use at ``threads``.

    torch alone is not enough: OpenBLAS starts one thread per core, so a "one-thread" run
    used ~1.35 cores, and two workers on two cores fought over them (a 2-worker naive sweep
    ran 1.14x faster than serial; with the BLAS pools capped, 1.49x, same numbers).
    """
    import torch
    from threadpoolctl import threadpool_limits

    global _threads_set
    threads = max(1, threads)
    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)
    _threads_set = threads


# libraries the reference baselines import (never plugin code): imported once per worker,
# each run's fork inherits them (sklearn.mixture and sklearn.decomposition took 0.14 s a run)
PRELOADED = ("sklearn.linear_model", "sklearn.decomposition", "sklearn.mixture",
             "scipy.optimize", "benchmark.api")


def init_worker(threads: int) -> None:
    """Import what every run needs (torch, scikit-learn, the plugin API) once, up front."""
    import importlib

    set_threads(threads)
    _no_numpy_hugepages()
    for module in PRELOADED:
        importlib.import_module(module)
    from benchmark.core.provenance import hardware

    hardware()  # memoised here, so no run's fork pays for it again
    _warm_up()


def _no_numpy_hugepages() -> None:
    """Stop numpy asking for transparent huge pages for its large arrays (its default on
    Linux). A run is a fresh fork, so every page it writes is faulted in; on these machines
    (THP defrag on madvise) a huge-page fault cost more than the 512 small ones it saves:
    standardising a 6,000 × 384 probe input took 36 ms in a fresh fork with them, 14 ms
    without (5 ms warm). Only paging changes, never a value."""
    switch = getattr(getattr(np, "_core", None), "multiarray", None)
    if switch is not None and hasattr(switch, "_set_madvise_hugepage"):
        switch._set_madvise_hugepage(False)


def _warm_up() -> None:
    """Fit a tiny probe once. Torch initialises lazily on its first training step; done
    here, every run forked from this worker inherits it instead of paying it again."""
    import numpy as np

    from benchmark.training.probe import ProbeConfig, train_probe

    features, targets = np.zeros((8, 4), np.float32), np.full((8, 2), 0.5, np.float32)
    train_probe(features, targets, ProbeConfig(epochs=1, batch_size=4), 0).predict_proba(features)


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-LOG_TAIL_LINES:])


@dataclass(frozen=True)
class RunLimits:
    """What one run's process may use besides memory and time (those are the pool's):
    bytes written to its scratch folder, and processes and threads at once (None: no cap)."""

    disk_mb: float | None = None
    processes: int | None = None


NO_RUN_LIMITS = RunLimits()


def run_forked(plugin: PluginRef, config: dict[str, Any], inp: MethodInput,
               threads: int | None, token: str, limits: RunLimits = NO_RUN_LIMITS,
               close_in_run: Callable[[], None] = lambda: None) -> bytes:
    """Run one job in a fork of this worker; return the report this worker sends on.

    The run gets a pipe of its own for its one report and nothing else: ``close_in_run``
    closes the worker's connection to the driver in the fork before plugin code runs. What
    comes back through the pipe is parsed as data (:mod:`benchmark.run.report`), one frame
    exactly; a run that dies without reporting is reported as WorkerDied. The worker itself
    never imports plugin code."""
    rows, classes = len(inp.test_ids), inp.num_classes
    prevent_tracing()  # a run cannot read or write this process's memory
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the run's process
        code = 1
        try:
            os.close(read_end)
            close_in_run()
            die_with_parent()
            apply_run_limits(limits)
            _write_all(write_end, frame_of(run_light(plugin, config, inp, threads)))
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        data, status = _read_report(read_end, pid, max_frame_bytes(rows, classes))
    finally:
        os.close(read_end)
    reap_strays()
    clear_run_leftovers()
    output = _parse(data, status, rows, classes, limits)
    from benchmark.core.provenance import hardware

    return encode(output.but(token=token, hardware=hardware()))


def frame_of(output: RunOutput) -> bytes:
    """``output`` as a report; one that cannot be encoded becomes the run's failure."""
    try:
        return encode(output)
    except (ReportError, ValueError, TypeError) as exc:
        return encode(failed_output("InvalidOutput", f"the run's output cannot be reported "
                                    f"as data: {str(exc)[:1000]}"))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.close(fd)


def _read_report(fd: int, pid: int, cap: int) -> tuple[bytes | None, int]:
    """Everything the run writes to its report pipe (None past ``cap`` bytes), and its exit
    status. Reading goes on while it runs (a report is larger than a pipe's buffer); once
    it has exited, whatever it left holding the pipe is not waited for."""
    chunks: list[bytes] = []
    size, status = 0, None
    os.set_blocking(fd, False)
    while True:
        ready, _, _ = select.select([fd], [], [], 0.1)
        chunk = _read_some(fd) if ready else None
        if chunk == b"":  # end of file: every writer is gone
            break
        if chunk:
            size += len(chunk)
            if size > cap:
                break
            chunks.append(chunk)
            continue
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
            while chunk := _read_some(fd):  # what it wrote before it exited
                size += len(chunk)
                chunks.append(chunk)
            break
    if status is None:
        if size > cap:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    return (None if size > cap else b"".join(chunks)), status


def _read_some(fd: int) -> bytes | None:
    try:
        return os.read(fd, 1 << 20)
    except BlockingIOError:
        return None


def _parse(data: bytes | None, status: int, rows: int, classes: int,
           limits: RunLimits) -> RunOutput:
    """The run's report as data, or the failure that says why there is none."""
    if data is None:
        return failed_output("InvalidReport", f"the run sent more than "
                             f"{max_frame_bytes(rows, classes)} bytes as its report")
    if not data:
        if os.WIFSIGNALED(status):
            why = f"signal {signal.Signals(os.WTERMSIG(status)).name}"
        else:
            why = f"status {os.WEXITSTATUS(status)}"
        return failed_output("WorkerDied", f"the run's process died ({why}) before "
                             "reporting (a crash, os._exit or a kill in the method)")
    try:
        output = decode(data, rows, classes)
    except ReportError as exc:
        return failed_output("InvalidReport", str(exc))
    return _name_the_limit(output, limits)


def _name_the_limit(output: RunOutput, limits: RunLimits) -> RunOutput:
    """A run stopped by a kernel-enforced limit fails with its own error (ENOSPC, EFBIG,
    EAGAIN); say which limit that was."""
    error = output.error
    if error is None:
        return output
    text = f"{error.get('type')}: {error.get('message')}"
    if any(full_tmpfs()) and "No space left on device" in text:
        kind, note = "TmpLimitExceeded", (f"its in-memory /tmp and /dev/shm hold at most "
                                          f"{tmp_size_mb():g} MB each (resources.tmp_mb)")
    elif "File too large" in text and limits.disk_mb is not None:
        kind, note = "DiskLimitExceeded", (f"a run may write at most {limits.disk_mb:g} MB "
                                           "(resources.disk_mb)")
    elif limits.processes is not None and ("Resource temporarily unavailable" in text
                                           or "can't start new thread" in text):
        kind, note = "ProcessLimitExceeded", (f"a run may have at most {limits.processes} "
                                              "processes and threads (resources.processes)")
    else:
        return output
    return output.but(error={**error, "type": kind,
                             "message": f"{note}: {error.get('message', '')}"[:TEXT_MAX]})


def apply_run_limits(limits: RunLimits) -> None:
    """Kernel limits on the run's process (it cannot raise them: no capabilities): no file
    larger than its disk limit and, in a sandbox, no more processes and threads than its
    limit (the kernel does not apply that one to root; the pool also polls both)."""
    if limits.disk_mb is not None:
        size = int(limits.disk_mb * 2**20)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    if limits.processes is not None and os.environ.get(ENV_SWITCH) == BWRAP:
        tasks = limits.processes + _tasks_here()
        resource.setrlimit(resource.RLIMIT_NPROC, (tasks, tasks))


def _tasks_here() -> int:
    """Processes and threads in this sandbox's PID namespace (the worker and its init)."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                count += len(os.listdir(f"/proc/{entry}/task"))
    return count


def run_light(plugin: PluginRef, config: dict[str, Any], inp: MethodInput,
              threads: int | None = None) -> RunOutput:
    """Fill in the input's features from the cache, then run it (see ``execute_run``)."""
    try:
        inp = inp.with_cached_features()
    except (OSError, ValueError) as exc:
        return failed_output("FeatureCacheMissing", f"this process cannot read the feature "
                             f"cache {inp.feature_file} ({exc}); point W2S_BENCH_CACHE at a "
                             "disk the driver and the nodes share")
    return execute_run(plugin, config, inp, threads)


def _build(plugin: PluginRef, config: dict[str, Any]) -> Any:
    if plugin.refusal is not None:
        raise PluginError(plugin.refusal)
    return import_one(METHODS, plugin.name, plugin.origin)(**config)


def execute_run(plugin: PluginRef, config: dict[str, Any], inp: MethodInput,
                threads: int | None = None) -> RunOutput:
    """Run one method on one input; never raises (errors come back as data). The
    probabilities are checked here (shape, finite, normalised) so an honest mistake reads
    clearly; the harness checks them again, since this process runs the method's code."""
    import torch

    if threads is not None and threads != _threads_set:
        set_threads(threads)
    compute.METER.reset()
    watch = compute.Stopwatch()
    scratch = inp.scratch_dir.absolute()  # before the chdir below: a relative one would move
    scratch.mkdir(parents=True, exist_ok=True)
    inp = replace(inp, scratch_dir=scratch)
    log_path = scratch / LOG_FILE
    home = os.getcwd()
    os.chdir(scratch)  # relative paths a method writes land in its own scratch dir
    try:
        with open(log_path, "w", encoding="utf-8", buffering=1) as log:
            try:
                torch.manual_seed(inp.seed)
                with redirect_stdout(log), redirect_stderr(log):
                    instance = _build(plugin, config)
                    probs = instance.fit_predict(inp)
                try:
                    probs = check_probs(probs, len(inp.test_ids), inp.num_classes)
                except ValueError as exc:
                    output = failed_output("InvalidOutput", str(exc))
                else:
                    output = RunOutput(probs=probs, config=plain_config(instance.config),
                                       version=str(instance.version))
            except Exception as exc:  # the method's failure is this run's result, not the sweep's
                log.write("\n" + traceback.format_exc())
                log.flush()
                output = failed_output(type(exc).__name__, str(exc)[:2000], _tail(
                    log_path.read_text(encoding="utf-8", errors="replace")))
    finally:
        os.chdir(home)
    if output.ok:  # a failed run keeps its folder: checkpoints for the rerun
        shutil.rmtree(scratch, ignore_errors=True)
    return output.but(compute={**compute.meter_snapshot(), **watch.elapsed(),
                               "peak_rss_mb": compute.peak_rss_mb()},
                      torch_threads=torch.get_num_threads())


def plain_config(config: Any) -> dict[str, Any]:
    """A method's configuration as JSON data (tuples become lists, as in its record)."""
    import json

    return json.loads(json.dumps(dict(config), default=str))


HIDDEN_KEPT = 4  # hidden states a worker keeps in memory (a mini one: 10,600 × 384 floats)
_hidden: dict[tuple[int, ...], np.ndarray] = {}


def with_worker_features(inp: MethodInput) -> MethodInput:
    """Fill in a probe run's feature arrays here in the worker, from its in-memory copy of
    the hidden state, before forking the run: the fork reads them as inherited memory. Read
    in each fork instead, they were 14 MB of fresh pages and ~15 ms a run (half of it
    faulting the memory-mapped cache in again). Values are the cache's, as the fork's own
    read would give; a cache this worker cannot read is left to that read to report."""
    if inp.train_features is not None or inp.regime != "probe" or not inp.feature_file:
        return inp
    try:
        stat = os.stat(inp.feature_file)
        key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, inp.strong_model.layer)
        if key not in _hidden:
            if len(_hidden) >= HIDDEN_KEPT:
                _hidden.pop(next(iter(_hidden)))
            _hidden[key] = np.array(inp.hidden_state(inp.strong_model.layer))
        return inp.with_cached_features(_hidden[key])
    except (OSError, ValueError):
        return inp


def run_area_input(inp: MethodInput, area: Path, feature_fd: int | None) -> MethodInput:
    """The input as a sandboxed worker sees it: its scratch folder inside the run area, its
    feature file as the descriptor the harness passed (the cache itself is not visible)."""
    changes: dict[str, Any] = {"scratch_dir": area}
    if feature_fd is not None:
        changes["feature_file"] = f"/proc/self/fd/{feature_fd}"
    return replace(inp, **changes)
