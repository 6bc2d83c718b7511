"""The intermediate models between a task's supervisor and its student, by measured strength.

The paper's bootstrapping (Burns et al. 2023, §4.3.1) passes the weak labels up a chain of
models of growing capability. Here the chain's models are the embedded ladder's rungs, and
"growing" is measured, not assumed: each rung's test accuracy when trained on the gold labels
of split B, averaged over the frozen references of suite ``ladder`` (its ceiling where it is
the student, its weak ceiling where it supervises), all on one pool per dataset at one gold
budget. A task gets a chain only when it draws from that pool at that budget, so the numbers
compare; its supervisor's strength is the ladder's where the ladder holds it, else (a keyword
rule, an ensemble) the task's own frozen weak ceiling. A rung joins the chain when it is at
least ``MARGIN`` above the supervisor and the rung before it and ``MARGIN`` below the student.
The rungs are separate networks: none shares an encoder with the student, a supervisor or
another rung of the chain (``bootstrap-layers`` walks one network's layers instead), and
only models of the default download qualify.

What decides the chain is aggregate test accuracy from frozen references, which gold labels
scored (the ladder holds some of the very tasks that run the method); no label, prediction or
row reaches the method, only the chosen rungs' names and split B's features. Records carry
the chain (``Provenance.rungs``), and a record made with another chain is rerun.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from benchmark.labels.frozen import is_frozen, load_references
from benchmark.models.ladder import MODELS
from benchmark.tasks.spec import TASKS, PoolSpec, TaskSpec

MEASURED_SUITE = "ladder"   # its tasks: every pair of rungs at 1,000 gold labels, 20 replicates
# closer than this, two rungs' order is within the spread of 20-replicate means of one test
# size (a replicate's accuracy on 4,000 texts has a standard error of about .007)
MARGIN = 0.005


@dataclass(frozen=True)
class Measured:
    """Each rung's mean accuracy on one dataset, and the pool and gold budget it was at."""

    strength: dict[str, float]
    pool: PoolSpec | None
    budget: int


def measured_strength(dataset: str) -> Measured | None:
    """The ladder's measurements on ``dataset`` (None: it holds no frozen task of it, or
    its tasks differ in pool or budget)."""
    from benchmark.tasks.suites import SUITES

    if MEASURED_SUITE not in SUITES:
        return None
    seen: dict[str, list[float]] = defaultdict(list)
    settings = set()
    for task in SUITES.get(MEASURED_SUITE).tasks:
        spec = TASKS.get(task)
        if spec.dataset.name != dataset or not is_frozen(spec.id):
            continue
        settings.add((spec.pool, spec.splits.weak_train, spec.splits.student_train))
        replicates = load_references(spec).replicates
        seen[spec.strong_model].append(float(np.mean([r.ceiling_accuracy for r in replicates])))
        if all(r.controls is not None for r in replicates):
            seen[spec.weak_model].append(float(np.mean(
                [r.controls.weak_ceiling_accuracy for r in replicates])))  # type: ignore[union-attr]
    if len(settings) != 1:
        return None
    ((pool, budget, _),) = settings
    return Measured({m: float(np.mean(v)) for m, v in seen.items()}, pool, budget)


def _own_weak_ceiling(spec: TaskSpec) -> float | None:
    replicates = load_references(spec).replicates
    if not replicates or any(r.controls is None for r in replicates):
        return None
    return float(np.mean([r.controls.weak_ceiling_accuracy  # type: ignore[union-attr]
                          for r in replicates]))


def intermediate_rungs(spec: TaskSpec) -> tuple[str, ...]:
    """The rungs between ``spec``'s supervisor and student, weakest first (empty: none, or a
    task outside the probe regime, the ladder's pool and budget, or the protocol)."""
    if spec.regime != "probe" or not is_frozen(spec.id):
        return ()
    measured = measured_strength(spec.dataset.name)
    if (measured is None or spec.pool != measured.pool
            or not spec.splits.weak_train == spec.splits.student_train == measured.budget
            or spec.strong_model not in measured.strength):
        return ()
    low = measured.strength[spec.weak_model] if spec.weak_model in measured.strength \
        else _own_weak_ceiling(spec)
    if low is None:
        return ()
    high = measured.strength[spec.strong_model]
    taken = {MODELS.get(m).encoder for m in (spec.strong_model, spec.weak_model,
                                             *spec.supervisor_names)}
    chain: list[str] = []
    for accuracy, name in sorted((a, n) for n, a in measured.strength.items()):
        model = MODELS.get(name)
        if (model.kind == "encoder" and model.tier == "default" and model.encoder not in taken
                and low + MARGIN <= accuracy <= high - MARGIN):
            chain.append(name)
            taken.add(model.encoder)
            low = accuracy
    return tuple(chain)
