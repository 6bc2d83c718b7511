"""The intermediate models between a task's supervisor and its student, by measured strength.

The paper's bootstrapping (Burns et al. 2023, §4.3.1) passes the weak labels up a chain of models of
growing capability. Here the chain's models are the embedded ladder's rungs, and "growing" is
measured, not assumed: each rung's accuracy when trained on 1,000 gold labels of its dataset's
shared pool, averaged over the frozen references of suite ``ladder`` (its ceiling where it is the
student, its weak ceiling where it supervises: both at equal gold). A rung is intermediate for a
task when that accuracy is at least ``MARGIN`` above its supervisor's (and the chain's rung before
it) and below its student's, measured the same way (a supervisor the ladder does not hold, a keyword
rule or an ensemble, by the task's own frozen weak ceiling). Rungs read from the student's own
encoder (its earlier layers: ``bootstrap-layers``) and rungs outside the default download are left
out. Read only from frozen references: no gold label is used.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import numpy as np

from benchmark.labels.frozen import is_frozen, load_references
from benchmark.models.ladder import MODELS
from benchmark.tasks.spec import TASKS, TaskSpec

MEASURED_SUITE = "ladder"   # its tasks: every pair of rungs at 1,000 gold labels, 20 replicates
# closer than this, two rungs' order is within the spread of 20-replicate means of one test
# size (a replicate's accuracy on 4,000 texts has a standard error of about .007)
MARGIN = 0.005


@lru_cache(maxsize=8)
def measured_strength(dataset: str) -> dict[str, float]:
    """Each embedded rung's mean accuracy at equal gold on ``dataset``'s pool (empty where
    the ladder suite holds no frozen task of it)."""
    from benchmark.tasks.suites import SUITES

    if MEASURED_SUITE not in SUITES:
        return {}
    seen: dict[str, list[float]] = defaultdict(list)
    for task in SUITES.get(MEASURED_SUITE).tasks:
        spec = TASKS.get(task)
        if spec.dataset.name != dataset or not is_frozen(spec.id):
            continue
        replicates = load_references(spec).replicates
        seen[spec.strong_model].append(float(np.mean([r.ceiling_accuracy for r in replicates])))
        if all(r.controls is not None for r in replicates):
            seen[spec.weak_model].append(float(np.mean(
                [r.controls.weak_ceiling_accuracy for r in replicates])))  # type: ignore[union-attr]
    return {model: float(np.mean(values)) for model, values in seen.items()}


def _task_bounds(spec: TaskSpec) -> tuple[float, float] | None:
    """The task's weak ceiling and ceiling (replicate means), None without controls."""
    replicates = load_references(spec).replicates
    if not replicates or any(r.controls is None for r in replicates):
        return None
    weak = np.mean([r.controls.weak_ceiling_accuracy for r in replicates])  # type: ignore[union-attr]
    return float(weak), float(np.mean([r.ceiling_accuracy for r in replicates]))


def intermediate_rungs(spec: TaskSpec) -> tuple[str, ...]:
    """The rungs between ``spec``'s supervisor and student, weakest first (empty: none, or a
    task outside the probe regime or frozen before the protocol)."""
    if spec.regime != "probe" or not is_frozen(spec.id):
        return ()
    bounds = _task_bounds(spec)
    if bounds is None:
        return ()
    measured = measured_strength(spec.dataset.name)
    low = measured.get(spec.weak_model, bounds[0])
    high = measured.get(spec.strong_model, bounds[1])
    student = MODELS.get(spec.strong_model)
    candidates = sorted((accuracy, name) for name, accuracy in measured.items()
                        if _eligible(name, spec.weak_model, student.encoder))
    chain: list[str] = []
    for accuracy, name in candidates:   # each rung clearly stronger than the one before
        if low + MARGIN <= accuracy <= high - MARGIN:
            chain.append(name)
            low = accuracy
    return tuple(chain)


def _eligible(name: str, supervisor: str, student_encoder: str | None) -> bool:
    model = MODELS.get(name)
    return (model.kind == "encoder" and model.tier == "default" and name != supervisor
            and model.encoder != student_encoder)
