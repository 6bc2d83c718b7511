"""Where each run of a sweep stands, read from the results directory alone.

One rule decides "skip or run this record" (:func:`record_state`), and ``run``, ``run
--dry-run`` and ``status`` all ask it, so the plan a user sees before a sweep and the
report during or after it agree with what ``run`` does: records that are complete and
current are cached; failed, stale or missing ones run; a live claim belongs to another
sweep; a dead driver's claim is taken over (its job adopted when it has one).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from benchmark.core.errors import SpecError, W2SBenchError
from benchmark.labels.boosting import boosting_digest
from benchmark.labels.frozen import load_lock, replicate_file
from benchmark.labels.rungs import intermediate_rungs
from benchmark.methods.catalog import METHODS, method_config
from benchmark.results.records import read_record
from benchmark.run.claims import claim_path, inspect_claim
from benchmark.run.spec import RunSpec
from benchmark.tasks.spec import TaskSpec

RecordState = Literal["done", "failed", "stale", "missing"]
State = Literal["done", "failed", "stale", "missing", "running", "orphaned"]
STATES: tuple[State, ...] = ("done", "failed", "stale", "missing", "running", "orphaned")


def expected_provenance(spec: TaskSpec, method: str, replicate: int) -> dict[str, Any]:
    """Provenance a record must carry to count as current: task, weak labels, method."""
    lock = load_lock(spec)
    expected: dict[str, Any] = {
        "task_sha256": spec.sha256,
        "weak_labels_sha256": lock.files[replicate_file(replicate)],
        "method_version": str(METHODS.get(method).version)}
    if METHODS.get(method).needs_rungs:   # the chain it was handed
        expected["rungs"] = list(intermediate_rungs(spec)) or None
    if METHODS.get(method).needs_boosting:   # the boosted labels it had
        expected["boosting_sha256"] = boosting_digest(spec, replicate)
    try:
        expected["method_config"] = method_config(method)
    except W2SBenchError:
        expected["method_config"] = None  # a broken plugin: never current, always rerun
    return expected


def record_state(path: Path, spec: TaskSpec, run: RunSpec) -> tuple[RecordState, str]:
    """The record at ``path``: done (successful and current), failed, stale (unreadable,
    measured against another task, weak-label set or method version/config, or without its
    predictions file) or missing; with a failed record's error. Only ``done`` is skipped."""
    if not path.is_file():
        return "missing", ""
    try:
        record = read_record(path)
    except SpecError:
        return "stale", ""  # unreadable: it will be recomputed
    provenance = record.provenance.model_dump()
    expected = expected_provenance(spec, run.method, run.replicate)
    if any(provenance.get(k) != v for k, v in expected.items()):
        return "stale", ""
    if record.status != "ok":
        return "failed", f"{record.error.type}: {record.error.message}" if record.error else ""
    if record.predictions is None or not (path.parent / record.predictions.file).is_file():
        return "stale", ""  # written before predictions were kept, or its file is gone
    return "done", ""


def is_current(run: RunSpec, spec: TaskSpec, results_dir: Path) -> bool:
    """The run has a successful record measured against what it would be measured on now."""
    return record_state(run.path(results_dir), spec, run)[0] == "done"


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
        owner, stale = inspect_claim(claim)
        return RunState(run, "orphaned" if stale else "running", owner)
    state, error = record_state(path, spec, run)
    return RunState(run, state, error=error)


def survey(runs: list[RunSpec], tasks: dict[str, TaskSpec],
           results_dir: Path) -> list[RunState]:
    return [run_state(run, tasks[run.task], results_dir) for run in runs]


def tally(states: list[RunState]) -> Counter[str]:
    counts: Counter[str] = Counter({s: 0 for s in STATES})
    counts.update(s.state for s in states)
    return counts
