"""``--executor local``: the harness's own pool of killable worker processes on this machine."""

from __future__ import annotations

import os
from collections.abc import Hashable
from typing import Any

from benchmark.core.bwrap import BWRAP, sandbox_kind
from benchmark.run.executors.base import Counts, Executor, Job
from benchmark.run.executors.registry import EXECUTORS
from benchmark.run.pool import WorkerPool
from benchmark.run.report import RunOutput
from benchmark.run.sandbox import RunSandbox, run_areas

# Probe heads are tiny matrices that gain nothing from intra-op threads; one thread per worker
# also makes results independent of how many workers a sweep uses. Tasks that ask for more
# CPUs in their resource hints get that many threads per run.
BASE_THREADS = 1


def available_memory_mb() -> float | None:
    """MemAvailable from /proc/meminfo (Linux), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


@EXECUTORS.register("local")
class LocalExecutor(Executor):
    """One run per worker process; per-run wall-clock and memory limits kill the worker."""

    name = "local"

    @property
    def capacity(self) -> int:
        if self.options.workers:
            return max(1, self.options.workers)
        return self.default_workers()

    @property
    def cpu_slots(self) -> int | None:
        """The cores, shared by CPU count when the workers were not set by hand: a suite
        mixing 1-CPU probe runs with 2-CPU finetune runs keeps both cores busy with probe
        runs and gives a finetune run both (rather than one worker for the whole suite)."""
        return None if self.options.workers else max(
            (os.cpu_count() or 1), max((r.cpus for r in self.resources), default=1))

    def default_workers(self) -> int:
        """As many workers as both the cores (shared by CPU count, see :attr:`cpu_slots`)
        and the memory fit for the largest task; one where a task asks for a GPU (workers are
        not given a device each, so a second would train on the same one)."""
        if any(r.gpus for r in self.resources):
            return 1
        cpus = min((r.cpus for r in self.resources), default=1)
        workers = max(1, (os.cpu_count() or 1) // cpus)
        memory = max((r.memory_mb for r in self.resources), default=0)
        free = available_memory_mb()
        if memory and free:
            workers = min(workers, max(1, int(free // memory)))
        return workers

    def start(self) -> None:
        self.sandbox = sandbox_kind()
        box = None
        if self.sandbox == BWRAP:
            box = RunSandbox(run_areas(self.options), self.options.readable, self.tmp_mb())
        widest = max((r.cpus for r in self.resources), default=BASE_THREADS)
        self._pool = WorkerPool(self.capacity, BASE_THREADS, self.options.limits, sandbox=box,
                                pin_width=widest)
        self._pool.start()

    def submit(self, jobs: list[Job]) -> dict[Hashable, dict[str, Any] | None]:
        for job in jobs:
            self._pool.submit(job.key, job.plugin, job.config, job.inp, job.threads,
                              job.limits)
        return {job.key: None for job in jobs}

    def collect(self, timeout: float) -> list[tuple[Hashable, RunOutput]]:
        return self._pool.collect(timeout)

    def counts(self) -> Counts:
        return Counts(queued=0, running=self._pool.busy())

    def close(self) -> None:
        self._pool.close()
