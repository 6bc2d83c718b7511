"""Score a method's test probabilities against gold labels and assemble the run record.

Runs in the harness process only. The output is checked first (shape, finite, non-negative,
rows summing to one); a malformed output fails the run with a message saying what was wrong.
A valid output is stored as float16 (the record's predictions file) and every metric and
diagnostic is computed from that stored form, so ``w2s-bench rescore`` recomputes exactly
the recorded numbers from the files alone (:func:`score_predictions` does both).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from benchmark.api.method import MethodInput
from benchmark.core.blocks import split_draw_sha256
from benchmark.core.diagnostics import diagnostics
from benchmark.core.errors import SpecError
from benchmark.core.kinds import FurtherTest, TaskKind, declared_kinds, registered_kinds
from benchmark.core.memo import BoundedMemo
from benchmark.core.metrics import accuracy, auroc, pgr, pgr_auroc
from benchmark.core.provenance import git_commit, hardware, package_versions
from benchmark.labels.frozen import (
    References,
    ReplicateReference,
    WeakLabelSet,
    load_lock,
)
from benchmark.methods.catalog import METHODS, method_info
from benchmark.models import MODELS
from benchmark.results.records import (
    Compute,
    Diagnostics,
    Metrics,
    PartScore,
    Provenance,
    RunError,
    RunRecord,
    Setting,
    predictions_ref,
    stored_predictions,
)
from benchmark.run.report import RunOutput, check_probs
from benchmark.tasks.spec import TaskSpec


@dataclass(frozen=True)
class Scored:
    """A run's record and the bytes of its predictions file (None for a failed run)."""

    record: RunRecord
    predictions: bytes | None = None


def part_score(probs: np.ndarray, gold: np.ndarray, weak_test: np.ndarray,
               ceiling: np.ndarray | None, part: np.ndarray) -> PartScore:
    """Accuracy and PGR on the test examples where ``part`` holds, PGR measured against
    the weak model's and the ceiling's accuracy on those same examples."""
    n = int(part.sum())
    if n == 0:
        return PartScore(n=0, accuracy=None, pgr=None, pgr_note="undefined: empty part",
                         weak_accuracy=None)
    acc = accuracy(probs[part], gold[part])
    weak = accuracy(weak_test[part], gold[part])
    if ceiling is None:
        return PartScore(n=n, accuracy=acc, pgr=None, weak_accuracy=weak,
                         pgr_note="undefined: the task keeps no ceiling predictions")
    top = accuracy(np.asarray(ceiling, np.float64)[part], gold[part])
    gap = pgr(acc, weak, top)
    return PartScore(n=n, accuracy=acc, pgr=gap.value, pgr_note=gap.reason,
                     weak_accuracy=weak, ceiling_accuracy=top)


def score_predictions(stored: np.ndarray, gold: np.ndarray, ref: ReplicateReference,
                      weak_test: np.ndarray, ceiling: np.ndarray | None,
                      parts: dict[str, np.ndarray] | None = None,
                      further: Sequence[FurtherTest] = ()) -> tuple[Metrics, Diagnostics]:
    """Metrics and diagnostics of stored (float16) test probabilities: the one computation
    behind a record's numbers, at scoring time and when rescoring from the files.
    ``parts``: named masks over the test set (a task kind's, e.g. a slice and the rest),
    each scored apart.
    ``further``: the rows after the test set (``len(weak_test)`` rows) are a kind's further
    test sets in order (a shifted test set), each scored apart into its metric field
    (``gold`` covers them all)."""
    probs = np.asarray(stored, dtype=np.float64)
    n_test = len(weak_test)
    further_scores, start = {}, n_test
    for test in further:
        stop = start + len(test.weak)
        every = np.ones(stop - start, dtype=bool)
        further_scores[test.field] = part_score(
            probs[start:stop], gold[start:stop], np.asarray(test.weak, np.float64),
            test.ceiling, every)
        start = stop
    probs, gold = probs[:n_test], gold[:n_test]
    acc = accuracy(probs, gold)
    gap = pgr(acc, ref.weak_accuracy, ref.ceiling_accuracy)
    part_scores = None
    if parts:
        weak = np.asarray(weak_test, np.float64)
        part_scores = {name: part_score(probs, gold, weak, ceiling, mask)
                       for name, mask in parts.items()}
    student_auroc = auroc(probs, gold)
    metrics = Metrics(accuracy=acc, auroc=student_auroc, pgr=gap.value,
                      pgr_note=gap.reason, weak_accuracy=ref.weak_accuracy,
                      weak_auroc=ref.weak_auroc, ceiling_auroc=ref.ceiling_auroc,
                      pgr_auroc=pgr_auroc(student_auroc, ref.weak_auroc, ref.ceiling_auroc),
                      ceiling_accuracy=ref.ceiling_accuracy, parts=part_scores,
                      controls=ref.controls, n_test=n_test if ref.controls else None,
                      n_gold=ref.n_B if ref.controls else None,
                      **further_scores, **{name: value for kind in registered_kinds()
                                           for name, value in kind.score(acc, ref).items()})
    return metrics, Diagnostics(**diagnostics(probs, weak_test, gold, ceiling))


def further_tests(spec: TaskSpec, weak: WeakLabelSet) -> list[FurtherTest]:
    """The references of the task's further test sets, in the order their rows follow the
    test set (a shift task's shifted test set; none for most tasks)."""
    return [test for kind in declared_kinds(spec) if kind.further_splits
            if (test := kind.further_test(spec, weak)) is not None]


def scored_parts(spec: TaskSpec, test_texts: Callable[[], Sequence[str]]
               ) -> dict[str, np.ndarray] | None:
    """The parts of the test set the task's kinds score apart, as named masks (None: none;
    ``test_texts`` is called only when a kind scores parts)."""
    kinds = [k for k in declared_kinds(spec)
             if type(k).scored_parts is not TaskKind.scored_parts]
    if not kinds:
        return None
    texts, parts = test_texts(), {}
    for kind in kinds:
        for name, mask in kind.scored_parts(spec, texts).items():
            if name in parts:
                raise SpecError(f"task {spec.id!r}: two of its kinds score a part named "
                                f"{name!r}; rename one")
            parts[name] = mask
    return parts


def task_setting(spec: TaskSpec) -> Setting | None:
    """What a record says about its task's adversarial setting or kind (None for other
    tasks)."""
    declared = list(declared_kinds(spec))
    if not declared:
        return None
    return Setting(compare_with=spec.compare_with,
                   **{name: value for kind in declared
                      for name, value in kind.setting(spec).items()})


def split_draw(spec: TaskSpec, weak: WeakLabelSet) -> str:
    """The replicate's split draw, its A, B and test ids: runs that share it are one block.
    A shift task's target and unlabelled sets are a further draw from the other dataset, so
    a shift task shares its block with the tasks that draw its A, B and test. Memoised on
    the weak-label file's sha256, which fixes the ids (every method of a sweep asks)."""
    return _DRAWS.get_or_make((spec.dataset.name, weak.sha256), lambda: split_draw_sha256(
        spec.dataset.name, {"A": weak.ids_A, "B": weak.ids_B, "test": weak.ids_test}))


_DRAWS: BoundedMemo[tuple[str, str], str] = BoundedMemo(4096)


def build_record(suite: str, spec: TaskSpec, method: str, replicate: int, inp: MethodInput,
                 weak: WeakLabelSet, references: References, gold_test: np.ndarray,
                 output: RunOutput, ceiling: np.ndarray | None = None,
                 parts: dict[str, np.ndarray] | None = None,
                 further: Sequence[FurtherTest] = ()) -> Scored:
    ref = references.replicates[replicate]
    lock = load_lock(spec)
    method_cls = METHODS.get(method)
    hw = dict(output.hardware or hardware())  # the machine that ran the method
    if output.torch_threads is not None:
        hw["torch_threads"] = output.torch_threads
    if output.executor is not None:
        hw["executor"] = output.executor
    provenance = Provenance(
        task_version=spec.version, dataset=spec.dataset.name, task_sha256=spec.sha256,
        weak_labels_sha256=weak.sha256,
        references_sha256=lock.files["references.json"], weak_model=spec.weak_model,
        strong_model=spec.strong_model,
        method_version=str(output.version if output.version is not None
                           else method_cls.version),
        method_config=output.config or dict(method_cls.defaults),
        method_origin=METHODS.origin(method), packages=package_versions(),
        git_commit=git_commit(), hardware=hw, sandbox=str(output.sandbox or "none"),
        regime=spec.regime, split_sha256=split_draw(spec, weak),
        sandbox_binary=output.sandbox_binary if output.sandbox == "bwrap" else None,
        rungs=list(inp.rung_features) or None,
        boosting_sha256=weak.boosted_sha256)
    common = {"suite": suite, "task": spec.id, "method": method, "replicate": replicate,
              "seed": inp.seed, "provenance": provenance, "method_info": method_info(method),
              "setting": task_setting(spec)}
    stats = output.compute
    run_compute = None
    if stats is not None:
        run_compute = Compute(strong_model_params=inp.strong_model.params,
                              weak_model_params=MODELS.get(spec.weak_model).params,
                              **stats.model_dump())
    error = RunError(**output.error.model_dump()) if output.error is not None else None
    if error is None:
        try:
            probs = check_probs(output.probs, len(gold_test), len(spec.label_names))
        except ValueError as exc:
            error = RunError(type="InvalidOutput", message=str(exc))
    if error is not None:
        return Scored(RunRecord(status="failed", error=error, compute=run_compute,
                                **common))
    stored = stored_predictions(probs)
    metrics, diagnosed = score_predictions(stored, gold_test, ref, weak.test_weak_probs, ceiling,
                                           parts, further)
    file, data = predictions_ref(replicate, stored)
    return Scored(RunRecord(status="ok", metrics=metrics, compute=run_compute,
                            diagnostics=diagnosed, predictions=file, training=output.curves,
                            **common), data)
