"""What every executor does: run jobs (a method, its config and its gold-free input) in
processes that never hold gold labels, and hand the outputs back.

The harness keeps planning, claims, scoring and records; an executor only moves jobs to
compute and outputs back. That is why a sweep's records are the same whichever engine ran
them, and why a new engine is one small class here rather than a change to the harness.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from benchmark.api.method import MethodInput
from benchmark.methods.catalog import PluginRef
from benchmark.run.forked import RunLimits
from benchmark.run.pool import NO_LIMITS, Limits
from benchmark.run.report import RunOutput
from benchmark.tasks.spec import Resources


@dataclass(frozen=True)
class Job:
    """One run as an executor sees it: no suite, no gold, no record path."""

    key: Hashable              # the harness's RunSpec; handed back with the output
    name: str                  # "task.method.rN", for the engine's job names and logs
    plugin: PluginRef          # the method, and where its code is (imported alone)
    config: dict[str, Any]
    inp: MethodInput
    resources: Resources       # the task's hints, after command-line overrides

    @property
    def method(self) -> str:
        return self.plugin.name

    @property
    def threads(self) -> int:
        return self.resources.cpus

    @property
    def limits(self) -> RunLimits:
        """What the run's process may write and start (its task's resources)."""
        return RunLimits(disk_mb=self.resources.disk_mb, processes=self.resources.processes)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, classes) of the probabilities its report must carry."""
        return len(self.inp.test_ids), len(self.inp.label_names)


@dataclass(frozen=True)
class ExecutorOptions:
    """Everything the command line can say about where runs go (frozen, like a run spec)."""

    workers: int | None = None          # local: processes; clusters: runs in flight at once
    limits: Limits = NO_LIMITS          # per-run wall clock and memory caps (the suite's)
    folder: Path | None = None          # submitit: job pickles and logs (on a shared disk)
    slurm_partition: str | None = None
    slurm_array: bool = False           # submit each batch of runs as one Slurm job array
    slurm_options: dict[str, str] = field(default_factory=dict)  # extra #SBATCH key=value
    ray_address: str | None = None      # None: start a local Ray instance
    readable: tuple[Path, ...] = ()     # what a sandboxed run may read besides code: weights


@dataclass
class Counts:
    queued: int = 0    # submitted, waiting for the engine to start it
    running: int = 0


class Executor(ABC):
    """A place to run jobs. Subclasses register themselves in ``EXECUTORS``."""

    name: ClassVar[str]
    needs: ClassVar[str] = ""  # the optional package it imports, for a clear error
    reattachable: ClassVar[bool] = False  # jobs outlive the driver and can be adopted
    sandbox: str = "none"  # what method code runs in here (set by start(); core/bwrap.py)

    @property
    def readable(self) -> tuple[str, ...]:
        """What a sandboxed run may read besides code (model weights), as a job carries it."""
        return tuple(str(p) for p in self.options.readable)

    def __init__(self, options: ExecutorOptions, resources: list[Resources]) -> None:
        self.options = options
        self.resources = resources  # of every task in the sweep, to size defaults

    @property
    @abstractmethod
    def capacity(self) -> int:
        """Runs in flight at once; the harness prepares inputs for this many ahead."""

    @property
    def cpu_slots(self) -> int | None:
        """CPUs the runs in flight may ask for together (their ``resources.cpus``), or None
        where the engine places runs itself (a cluster's scheduler does)."""
        return None

    @abstractmethod
    def start(self) -> None:
        """Connect to the engine (start workers, a Ray instance, a submitit folder)."""

    @abstractmethod
    def submit(self, jobs: list[Job]) -> dict[Hashable, dict[str, Any] | None]:
        """Start ``jobs``; return each one's handle (JSON-able) for re-attaching, or None."""

    def reattach(self, job: Job, handle: dict[str, Any]) -> bool:
        """Adopt a job a dead driver submitted; False when it cannot be (then resubmit)."""
        return False

    @abstractmethod
    def collect(self, timeout: float) -> list[tuple[Hashable, RunOutput]]:
        """Wait up to ``timeout`` s; return ``(key, output)`` of finished runs, failures
        included (as :func:`benchmark.run.report.failed_output`)."""

    @abstractmethod
    def counts(self) -> Counts:
        """Jobs this executor holds, split into queued and running."""

    @abstractmethod
    def close(self) -> None:
        """Stop what this driver still runs; jobs of a ``reattachable`` engine are left to
        finish, for the next driver to adopt."""

    def tmp_mb(self) -> int:
        """The size of a sandboxed worker's /tmp and /dev/shm: the largest any task asks."""
        return max((r.tmp_mb for r in self.resources), default=Resources().tmp_mb)

    def describe_job(self, resources: Resources) -> str:
        """How one run is requested from this engine (for ``run --dry-run``)."""
        return (f"{resources.cpus} CPU, {resources.gpus} GPU, "
                f"{resources.memory_mb / 1024:.1f} GB")
