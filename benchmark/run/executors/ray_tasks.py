"""``--executor ray``: one Ray task per run, with the task's CPUs, GPUs and memory requested.

Connects to ``--ray-address`` (an existing cluster, e.g. ``auto`` or ``ray://head:10001``) or
starts a private local instance. Ray's ``local_mode`` is never used: it would run methods in
the driver, the one process that holds gold labels. The per-run wall-clock limit is enforced
from the driver with ``ray.cancel(force=True)``; memory is requested from Ray's scheduler and
policed by Ray's own out-of-memory killer (no per-run RSS cap as in the local pool).

Inputs travel with their feature arrays through Ray's object store, so nodes need not share
the feature cache (only methods reading other layers with ``features_at`` do). Ray ties a
task to the driver that owns it: when a driver dies, Ray stops its tasks, so a restarted
sweep submits the missing runs again rather than adopting them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Hashable
from typing import Any

from benchmark.core.bwrap import sandbox_kind
from benchmark.core.errors import W2SBenchError
from benchmark.run.executors.base import Counts, Executor, Job
from benchmark.run.executors.registry import EXECUTORS
from benchmark.run.node import read_node_result, run_job
from benchmark.run.report import RunOutput, failed_output

# Variables a Ray worker needs to find this checkout's tasks, plugins and caches.
FORWARDED_ENV = ("W2S_BENCH_ROOT", "W2S_BENCH_CACHE", "HF_HOME", "HF_HUB_OFFLINE")


@EXECUTORS.register("ray")
class RayExecutor(Executor):
    """Ray: one task per run with the task's resources; a cluster address or a local Ray."""

    name = "ray"
    needs = "ray"

    @property
    def capacity(self) -> int:
        if self.options.workers:
            return max(1, self.options.workers)
        return getattr(self, "_cluster_slots", 0) or max(1, os.cpu_count() or 1)

    def start(self) -> None:
        try:
            import ray
        except ImportError:
            raise W2SBenchError("--executor ray needs the ray package: pip install "
                                "'w2s-bench[ray]' (or pip install ray)") from None
        self._ray = ray
        self.sandbox = sandbox_kind()  # the jobs make it on their nodes (run/node.py)
        env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
        self._started = not ray.is_initialized()
        if self._started:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "logging_level": "warning",
                                      "runtime_env": {"env_vars": env}}
            if self.options.ray_address:
                kwargs["address"] = self.options.ray_address
            else:
                kwargs["num_cpus"] = os.cpu_count() or 1
            ray.init(**kwargs)
        cpus = max((r.cpus for r in self.resources), default=1)
        self._cluster_slots = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus))
        self._remote = ray.remote(run_job)
        # ref -> (key, submit time, the (rows, classes) its report must carry)
        self._refs: dict[Any, tuple[Hashable, float, tuple[int, int]]] = {}

    def submit(self, jobs: list[Job]) -> dict[Hashable, dict[str, Any] | None]:
        for job in jobs:
            res = job.resources
            ref = self._remote.options(
                num_cpus=res.cpus, num_gpus=res.gpus, memory=res.memory_mb * 2**20,
                max_retries=0, name=job.name,
            ).remote(job.plugin, job.config, job.inp.with_cached_features(), job.threads,
                      self.sandbox, self.readable, job.limits, self.tmp_mb())
            self._refs[ref] = (job.key, time.monotonic(), job.shape)
        return {job.key: None for job in jobs}

    def collect(self, timeout: float) -> list[tuple[Hashable, RunOutput]]:
        if not self._refs:
            return []
        ready, _ = self._ray.wait(list(self._refs), num_returns=len(self._refs),
                                  timeout=timeout)
        finished = []
        for ref in ready:
            key, _, shape = self._refs.pop(ref)
            finished.append((key, self._output(ref, shape)))
        limit = self.options.limits.timeout_s
        if limit is not None:
            now = time.monotonic()
            for ref, (key, started, _) in list(self._refs.items()):
                if now - started > limit:
                    self._ray.cancel(ref, force=True)
                    del self._refs[ref]
                    finished.append((key, failed_output(
                        "Timeout", f"the run exceeded its wall-clock limit of {limit:g} s "
                        "(counted from submission); its Ray task was cancelled")))
        return finished

    def _output(self, ref: Any, shape: tuple[int, int]) -> RunOutput:
        try:
            return read_node_result(self._ray.get(ref), *shape)  # the node runner's bytes
        except Exception as exc:  # WorkerCrashedError, OutOfMemoryError, TaskCancelledError
            kind = {"OutOfMemoryError": "MemoryLimitExceeded",
                    "WorkerCrashedError": "WorkerDied"}.get(type(exc).__name__, "JobFailed")
            return failed_output(kind, f"the Ray task failed: {type(exc).__name__}: "
                                 f"{str(exc)[:1500]}")

    def counts(self) -> Counts:
        # Ray's per-task states need its dashboard; the split is inferred from the free slots.
        return Counts(queued=max(0, len(self._refs) - self._cluster_slots),
                      running=min(len(self._refs), self._cluster_slots))

    def close(self) -> None:
        for ref in list(getattr(self, "_refs", {})):
            self._ray.cancel(ref, force=True)
        self._refs = {}
        if getattr(self, "_started", False):
            self._ray.shutdown()
