"""The executor registry: ``--executor NAME`` looks up a class here (no if/elif chain)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from benchmark.core.registry import Registry

if TYPE_CHECKING:
    from benchmark.run.executors.base import Executor

# Modules that register an executor on import. Their engines (submitit, ray) are imported
# only when a sweep starts, so listing executors never needs the optional packages.
EXECUTOR_MODULES = ("benchmark.run.executors.local", "benchmark.run.executors.submitit_jobs",
                    "benchmark.run.executors.ray_tasks")


def _load(registry: Registry[type[Executor]]) -> None:
    for module in EXECUTOR_MODULES:
        importlib.import_module(module)


EXECUTORS: Registry[type[Executor]] = Registry("executor", loader=_load)
