"""Code that runs where methods run: build the method, run it, report compute.

Pool workers are started with ``spawn`` (inside the sandbox where there is one,
:mod:`benchmark.run.sandbox`), so they inherit nothing from the harness process (in
particular no gold labels). Each is long-lived and imports torch once, but never a plugin:
runs happen in forks of the worker that import their own method's code alone
(:func:`benchmark.methods.discovery.import_one`): a fresh fork for every run of a submission,
so its import-time code, or anything a run leaves behind in memory, never reaches another
run; one fork for a reference baseline's consecutive probe runs (:mod:`benchmark.run.session`).
A cluster job (Slurm, Ray) starts such a worker on its node (:mod:`benchmark.run.node`).
"""

from __future__ import annotations

import os
import shutil
import traceback
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.api.method import MethodInput
from benchmark.core import compute, curves
from benchmark.core.errors import PluginError
from benchmark.core.memo import BoundedMemo
from benchmark.core.method_card import plain_options
from benchmark.methods.catalog import METHODS, PluginRef
from benchmark.methods.discovery import import_one
from benchmark.run.report import ReportedCompute, RunOutput, check_probs, failed_output

LOG_TAIL_LINES = 20
LOG_FILE = ".w2s-run.log"  # in the run's scratch dir, so a killed run's log can still be read


# what set_threads last set in this process: a run's fork inherits it, and setting it again
# there is costly (threadpoolctl walks every loaded library: fresh pages in a fork)
_threads_set: int | None = None


def set_threads(threads: int) -> None:
    """Cap torch *and* the BLAS/OpenMP pools numpy and scikit-learn use at ``threads``.

    torch alone is not enough: OpenBLAS starts one thread per core, so a "one-thread" run
    uses more than one core, and two workers on two cores fight over them (capping the BLAS
    pools speeds a 2-worker sweep up without changing a number).
    """
    import torch
    from threadpoolctl import threadpool_limits

    global _threads_set
    threads = max(1, threads)
    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)
    _threads_set = threads


# libraries the reference baselines import (never plugin code): imported once per worker,
# each run's fork inherits them instead of importing them again (sklearn.mixture and
# sklearn.decomposition are slow to import)
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
    (THP defrag on madvise) a huge-page fault costs more than the 512 small ones it saves.
    Only paging changes, never a value."""
    switch = getattr(getattr(np, "_core", None), "multiarray", None)
    if switch is not None and hasattr(switch, "_set_madvise_hugepage"):
        switch._set_madvise_hugepage(False)


def keep_freed_memory() -> None:
    """Let glibc keep freed memory for the next allocation instead of handing it back to
    the kernel (large blocks are mapped and unmapped per allocation by default, and the heap
    is trimmed): a run's arrays of a few MB would be faulted in afresh each time, in every run
    of a session. Only paging changes, never a value. Blocks over 64 MB are still mapped and
    unmapped one by one, and the heap is trimmed past 64 MB free. Called in a session, never
    in the worker: the worker's heap is what every later fork inherits, and freed blocks
    kept there would hold earlier runs' bytes."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl): its allocator has no such switches
        return
    libc.mallopt(M_MMAP_THRESHOLD, KEPT_BYTES)
    libc.mallopt(M_TRIM_THRESHOLD, KEPT_BYTES)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
KEPT_BYTES = 64 << 20  # blocks up to this size are reused; larger ones go back at once


def _warm_up() -> None:
    """Fit a tiny probe once. Torch initialises lazily on its first training step; done
    here, every run forked from this worker inherits it instead of paying it again."""
    import numpy as np

    from benchmark.training.probe import ProbeConfig, train_probe

    features, targets = np.zeros((8, 4), np.float32), np.full((8, 2), 0.5, np.float32)
    train_probe(features, targets, ProbeConfig(epochs=1, batch_size=4), 0).predict_proba(features)


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-LOG_TAIL_LINES:])


def run_light(plugin: PluginRef, config: dict[str, Any], inp: MethodInput,
              threads: int | None = None, own_output: bool = False) -> RunOutput:
    """Fill in the input's features from the cache, then run it (see ``execute_run``)."""
    try:
        inp = inp.with_cached_features()
    except (OSError, ValueError) as exc:
        return failed_output("FeatureCacheMissing", f"this process cannot read the feature "
                             f"cache {inp.feature_file} ({exc}); point W2S_BENCH_CACHE at a "
                             "disk the driver and the nodes share")
    return execute_run(plugin, config, inp, threads, own_output)


def _build(plugin: PluginRef, config: dict[str, Any]) -> Any:
    if plugin.refusal is not None:
        raise PluginError(plugin.refusal)
    return import_one(METHODS, plugin.name, plugin.origin)(**config)


def execute_run(plugin: PluginRef, config: dict[str, Any], inp: MethodInput,
                threads: int | None = None, own_output: bool = False) -> RunOutput:
    """Run one method on one input; never raises (errors come back as data). The
    probabilities are checked here (shape, finite, normalised) so an honest mistake reads
    clearly; the harness checks them again, since this process runs the method's code.
    ``own_output``: this process is the run's own, so its standard output and error
    descriptors go to the run's log too (what C code prints, not only Python's)."""
    import torch

    if threads is not None and threads != _threads_set:
        set_threads(threads)
    compute.METER.reset()
    curves.reset()
    watch = compute.Stopwatch()
    scratch = inp.scratch_dir.absolute()  # before the chdir below: a relative one would move
    scratch.mkdir(parents=True, exist_ok=True)
    inp = replace(inp, scratch_dir=scratch)
    log_path = scratch / LOG_FILE
    home = os.getcwd()
    os.chdir(scratch)  # relative paths a method writes land in its own scratch dir
    try:
        with open(log_path, "w", encoding="utf-8", buffering=1) as log:
            if own_output:
                os.dup2(log.fileno(), 1)
                os.dup2(log.fileno(), 2)
            try:
                seed_global_generators(inp.seed)
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
    return output.but(compute=ReportedCompute(**compute.meter_snapshot(), **watch.elapsed(),
                                              peak_rss_mb=compute.peak_rss_mb()),
                      curves=curves.snapshot() or None, torch_threads=torch.get_num_threads())


def seed_global_generators(seed: int) -> None:
    """Seed torch's, numpy's legacy and Python's global generators with the run's seed, so a
    method that draws from them unseeded gets the same numbers in any process: a fresh
    worker seeds numpy's and Python's from the OS, and a session's earlier runs move them."""
    import random

    import torch

    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def plain_config(config: Any) -> dict[str, Any]:
    """A method's configuration as JSON data (tuples become lists, as in its record and its
    card: the one rule, :func:`benchmark.core.method_card.plain_options`)."""
    return plain_options(config)


HIDDEN_KEPT = 4  # hidden states a worker keeps in memory (a mini one: 10,600 × 384 floats)
_hidden: BoundedMemo[tuple[int, ...], np.ndarray] = BoundedMemo(HIDDEN_KEPT)


def worker_hidden(inp: MethodInput) -> tuple[tuple[int, ...], np.ndarray] | None:
    """The hidden state a probe run reads, from this worker's in-memory copy (loaded once
    per feature file and layer), with the key it is kept under; None where the run has no
    feature file this worker can read (the run's own read reports that). The worker fills a
    run's features from it before forking, so the fork reads them as inherited memory: read
    in each fork instead, they would be 14 MB of fresh pages a run."""
    if inp.regime != "probe" or not inp.feature_file:
        return None
    try:
        stat = os.stat(inp.feature_file)
        key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, inp.strong_model.layer)
        return key, _hidden.get_or_make(
            key, lambda: np.array(inp.hidden_state(inp.strong_model.layer)))
    except (OSError, ValueError):
        return None


def run_area_input(inp: MethodInput, area: Path, feature_fd: int | None) -> MethodInput:
    """The input as a sandboxed worker sees it: its scratch folder inside the run area, its
    feature file as the descriptor the harness passed (the cache itself is not visible)."""
    changes: dict[str, Any] = {"scratch_dir": area}
    if feature_fd is not None:
        changes["feature_file"] = f"/proc/self/fd/{feature_fd}"
    return replace(inp, **changes)
