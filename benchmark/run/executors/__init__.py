"""Where runs execute: ``local`` (a process pool), ``slurm`` and ``submitit-local`` (submitit),
``ray``. Each is a small :class:`Executor` registered by name; the harness uses only that API.
"""

from __future__ import annotations

from benchmark.run.executors.base import Counts, Executor, ExecutorOptions, Job
from benchmark.run.executors.registry import EXECUTORS
from benchmark.tasks.spec import Resources


def make_executor(name: str, options: ExecutorOptions,
                  resources: list[Resources]) -> Executor:
    """The executor called ``name`` (unknown names get suggestions), not started yet."""
    return EXECUTORS.get(name)(options, resources)


__all__ = ["EXECUTORS", "Counts", "Executor", "ExecutorOptions", "Job", "make_executor"]
