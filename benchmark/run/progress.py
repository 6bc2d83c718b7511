"""Live sweep progress: a tqdm bar with queued / running / done / failed, mirrored to a small
JSON file in the results directory so ``w2s-bench status`` can report a sweep from disk.

The file is ``<results>/.sweeps/<host>-<pid>.json``, rewritten atomically at most once a
second and removed when the sweep ends; a file whose process is gone marks a driver that
died (its runs are picked up by the next ``run``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmark.core.storage import atomic_write_text
from benchmark.run.claims import HOST

SWEEPS_DIR = ".sweeps"
WRITE_EVERY_S = 1.0


@dataclass
class SweepCounts:
    total: int = 0      # runs this sweep computes (cached ones excluded)
    queued: int = 0     # not started: waiting for a worker, or pending in the engine
    running: int = 0
    done: int = 0
    failed: int = 0

    def line(self) -> str:
        return (f"queued {self.queued}, running {self.running}, done {self.done}, "
                f"failed {self.failed}")


def sweeps_dir(results_dir: Path) -> Path:
    return results_dir / SWEEPS_DIR


class SweepProgress:
    """The bar on the terminal and the status file on disk, updated together."""

    def __init__(self, results_dir: Path, executor: str, total: int, show: bool) -> None:
        from tqdm.auto import tqdm

        self.path = sweeps_dir(results_dir) / f"{HOST}-{os.getpid()}.json"
        self.executor = executor
        self.started = time.time()
        self.counts = SweepCounts(total=total, queued=total)
        self._bar = tqdm(total=total, desc=f"runs ({executor})", unit="run", disable=not show)
        self._written = 0.0

    def update(self, queued: int, running: int, done: int = 0, failed: int = 0) -> None:
        """Set the in-flight split; add ``done``/``failed`` runs that just finished."""
        counts = self.counts
        counts.queued, counts.running = queued, running
        counts.done += done
        counts.failed += failed
        self._bar.set_postfix(queued=queued, running=running, done=counts.done,
                              failed=counts.failed, refresh=not (done or failed))
        if done or failed:
            self._bar.update(done + failed)  # redraws, with the postfix just set
        if time.time() - self._written >= WRITE_EVERY_S:
            self._write()

    def _write(self) -> None:
        self._written = time.time()
        state: dict[str, Any] = {"host": HOST, "pid": os.getpid(), "executor": self.executor,
                                 "started": self.started, "updated": self._written,
                                 **asdict(self.counts)}
        with contextlib.suppress(OSError):  # progress must never fail a sweep
            atomic_write_text(self.path, json.dumps(state), durable=False)

    def close(self) -> None:
        self._bar.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
            self.path.parent.rmdir()  # only when no other sweep's file is left


def read_sweeps(results_dir: Path) -> list[dict[str, Any]]:
    """Status files of sweeps on ``results_dir``: live ones, and ones whose driver died."""
    sweeps = []
    for path in sorted(sweeps_dir(results_dir).glob("*.json")):
        try:
            sweeps.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # replaced between listing and reading
    return sweeps
