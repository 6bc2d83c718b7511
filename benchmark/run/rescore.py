"""``w2s-bench rescore``: recompute every record's metrics and diagnostics from its stored
predictions, and report any that disagree with what the record says.

A record's numbers are a function of its predictions file (checked against the sha256 in the
record), the frozen weak labels, references and ceiling predictions of its task (checked
against the lock), and the gold labels (harness-side). Rescoring recomputes them with the
same function the harness scored with (:func:`~benchmark.run.scoring.score_predictions`), so
an honest record agrees exactly; an edited number, an edited predictions file or a record
written against other frozen files does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.errors import IntegrityError, W2SBenchError
from benchmark.core.storage import atomic_write_json
from benchmark.labels.frozen import (
    load_ceiling,
    load_lock,
    load_references,
    load_weak_labels,
    replicate_file,
    scored_ids,
)
from benchmark.results.records import (
    UPGRADED_DIAGNOSTICS,
    UPGRADED_METRICS,
    RunRecord,
    load_predictions,
    read_record,
    record_files,
    record_json,
)
from benchmark.run.scoring import further_tests, score_predictions, scored_parts
from benchmark.tasks.spec import TASKS, TaskSpec
from benchmark.tasks.splits import ExamplePool, example_pool


@dataclass(frozen=True)
class Problem:
    path: Path
    kind: str          # disagrees | refused | skipped
    detail: str


@dataclass
class RescoreReport:
    checked: int = 0
    agreed: int = 0
    upgraded: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.kind != "skipped" for p in self.problems)


def predates_upgrade(record: RunRecord) -> bool:
    """The record has none of the derived fields added later (written before them); one that
    has some of them but not all was edited, and is compared field by field."""
    m, d = record.metrics, record.diagnostics
    return m is not None and d is not None and \
        all(getattr(m, k) is None for k in UPGRADED_METRICS) and \
        all(getattr(d, k) is None for k in UPGRADED_DIAGNOSTICS)


def _differences(prefix: str, recorded: Any, recomputed: Any) -> list[str]:
    """Field paths where two dumped models differ, with both values."""
    if isinstance(recorded, dict) and isinstance(recomputed, dict):
        out = []
        for key in sorted(set(recorded) | set(recomputed)):
            out += _differences(f"{prefix}.{key}", recorded.get(key), recomputed.get(key))
        return out
    return [] if recorded == recomputed else [f"{prefix}: recorded {recorded!r}, "
                                              f"recomputed {recomputed!r}"]


class Rescorer:
    """Rescores records one by one, loading each task's pool and frozen files once."""

    def __init__(self) -> None:
        self._pools: dict[str, ExamplePool] = {}

    def _pool(self, spec: TaskSpec) -> ExamplePool:
        if spec.id not in self._pools:
            self._pools[spec.id] = example_pool(spec)
        return self._pools[spec.id]

    def differences(self, path: Path, record: RunRecord, strict: bool = False) -> list[str]:
        """What the record says that its predictions do not give; IntegrityError for a
        tampered predictions file, W2SBenchError when it cannot be rescored here. A record
        that predates every derived field added later is compared without them (``--upgrade``
        adds them), unless ``strict`` (a submission's records must hold them all)."""
        metrics, diagnosed = self.recomputed(path, record)
        if predates_upgrade(record) and not strict:
            metrics = metrics.model_copy(update=dict.fromkeys(UPGRADED_METRICS))
            diagnosed = diagnosed.model_copy(update=dict.fromkeys(UPGRADED_DIAGNOSTICS))
        found = _differences("metrics", record.metrics.model_dump() if record.metrics else None,
                             metrics.model_dump())
        return found + _differences(
            "diagnostics", record.diagnostics.model_dump() if record.diagnostics else None,
            diagnosed.model_dump())

    def upgraded(self, path: Path, record: RunRecord) -> RunRecord | None:
        """The record with the derived fields it predates filled in from its predictions
        (None: nothing to add). Only a record that otherwise agrees is upgraded."""
        if not predates_upgrade(record):
            return None
        metrics, diagnosed = self.recomputed(path, record)
        missing = [k for k in UPGRADED_METRICS if getattr(record.metrics, k) is None
                   and getattr(metrics, k) is not None]
        missing_d = [k for k in UPGRADED_DIAGNOSTICS if getattr(record.diagnostics, k) is None
                     and getattr(diagnosed, k) is not None]
        if not (missing or missing_d):
            return None
        return record.model_copy(update={
            "metrics": record.metrics.model_copy(
                update={k: getattr(metrics, k) for k in missing}),
            "diagnostics": record.diagnostics.model_copy(
                update={k: getattr(diagnosed, k) for k in missing_d})})

    def recomputed(self, path: Path, record: RunRecord) -> tuple[Any, Any]:
        """The record's metrics and diagnostics, computed again from its stored predictions."""
        spec = TASKS.get(record.task)
        lock_sha = load_lock(spec).files.get(replicate_file(record.replicate))
        if (record.provenance.task_sha256, record.provenance.weak_labels_sha256) != \
                (spec.sha256, lock_sha):
            raise W2SBenchError("measured against another task definition or other weak "
                                "labels than the frozen ones here")
        stored = load_predictions(path, record)
        weak = load_weak_labels(spec, record.replicate)
        pool = self._pool(spec)
        gold = pool.labels[np.asarray(pool.rows(scored_ids(spec, weak)))]
        ref = load_references(spec).replicates[record.replicate]
        parts = scored_parts(spec, lambda: [pool.texts[r] for r in pool.rows(weak.ids_test)])
        return score_predictions(stored, gold, ref, weak.test_weak_probs,
                                 load_ceiling(spec, record.replicate), parts,
                                 further_tests(spec, weak))


def rescore(results_dir: Path, upgrade: bool = False) -> RescoreReport:
    """Rescore every successful record under ``results_dir``; ``upgrade``: a record that
    agrees but predates a derived field (AUROC-PGR, CAPA) is rewritten with it, atomically."""
    report = RescoreReport()
    rescorer = Rescorer()
    for path in record_files(results_dir):
        record = read_record(path)
        if record.status != "ok":
            continue
        if record.predictions is None:
            report.problems.append(Problem(path, "skipped", "no predictions stored (written "
                                                            "before they were kept)"))
            continue
        try:
            found = rescorer.differences(path, record)
        except IntegrityError as exc:  # a tampered or missing predictions / frozen file
            report.checked += 1
            report.problems.append(Problem(path, "refused", str(exc)))
            continue
        except W2SBenchError as exc:  # measured against other frozen files: not checkable
            report.problems.append(Problem(path, "skipped", str(exc)))
            continue
        report.checked += 1
        report.agreed += not found
        report.problems += [Problem(path, "disagrees", d) for d in found]
        if upgrade and not found and (newer := rescorer.upgraded(path, record)) is not None:
            atomic_write_json(path, record_json(newer))   # the file read, its predictions kept
            report.upgraded += 1
    return report
