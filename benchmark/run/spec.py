"""A run: one (suite, task, method, replicate), frozen like HELM's run specs, and where its
record and its working folder live under a results directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmark.results.records import record_path

SCRATCH = ".scratch"  # under the results folder: a run's working files until it succeeds


@dataclass(frozen=True)
class RunSpec:
    """One unit of work."""

    suite: str
    task: str
    method: str
    replicate: int

    def path(self, results_dir: Path) -> Path:
        return record_path(results_dir, self.suite, self.task, self.method, self.replicate)

    def scratch(self, results_dir: Path) -> Path:
        """One folder per run, stable across reruns and kept when the run fails or is
        killed, so a finetune method's checkpoints let the rerun resume where it stopped."""
        return results_dir / SCRATCH / self.suite / self.task / self.method / f"r{self.replicate}"

    @property
    def label(self) -> str:
        return f"{self.task}.{self.method}.r{self.replicate}"
