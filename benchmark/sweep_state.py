"""Where each run of a sweep stands, read from the results directory alone.

``run --dry-run`` and ``status`` both use this, so the plan a user sees before a sweep and
the report during or after it agree with what ``run`` will actually do: records that are
complete and current are cached; failed, stale or missing ones run; a live claim belongs to
another sweep; a dead driver's claim is taken over (its job adopted when it has one).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from benchmark.claims import claim_path, is_stale, read_owner
from benchmark.errors import SpecError
from benchmark.harness import RunSpec, expected_provenance
from benchmark.records import read_record
from benchmark.tasks import TaskSpec

State = Literal["done", "failed", "stale", "missing", "running", "orphaned"]
STATES: tuple[State, ...] = ("done", "failed", "stale", "missing", "running", "orphaned")


@dataclass(frozen=True)
class RunState:
    run: RunSpec
    state: State
    owner: dict[str, Any] | None = None  # the claim's content (host, pid, job) if claimed
    error: str = ""                      # a failed record's error

    @property
    def will_run(self) -> bool:
        """``run`` computes it (or adopts its orphaned job) rather than skipping it."""
        return self.state in ("failed", "stale", "missing", "orphaned")

    @property
    def adoptable_job(self) -> dict[str, Any] | None:
        return (self.owner or {}).get("job") if self.state == "orphaned" else None


def run_state(run: RunSpec, spec: TaskSpec, results_dir: Path) -> RunState:
    path = run.path(results_dir)
    claim = claim_path(path)
    if claim.exists():
        owner = read_owner(claim)
        return RunState(run, "orphaned" if is_stale(owner) else "running", owner)
    if not path.is_file():
        return RunState(run, "missing")
    try:
        record = read_record(path)
    except SpecError:
        return RunState(run, "stale")  # unreadable: it will be recomputed
    expected = expected_provenance(spec, run.method, run.replicate)
    provenance = record.provenance.model_dump()
    if any(provenance.get(k) != v for k, v in expected.items()):
        return RunState(run, "stale")
    if record.status != "ok":
        why = f"{record.error.type}: {record.error.message}" if record.error else ""
        return RunState(run, "failed", error=why)
    return RunState(run, "done")


def survey(runs: list[RunSpec], tasks: dict[str, TaskSpec],
           results_dir: Path) -> list[RunState]:
    return [run_state(run, tasks[run.task], results_dir) for run in runs]


def tally(states: list[RunState]) -> Counter[str]:
    counts: Counter[str] = Counter({s: 0 for s in STATES})
    counts.update(s.state for s in states)
    return counts
