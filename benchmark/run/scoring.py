"""Score a method's test probabilities against gold labels and assemble the run record.

Runs in the harness process only. The output is checked first (shape, finite, non-negative,
rows summing to one); a malformed output fails the run with a message saying what was wrong.
A valid output is stored as float16 (the record's predictions file) and every metric and
diagnostic is computed from that stored form, so ``w2s-bench rescore`` recomputes exactly
the recorded numbers from the files alone (:func:`score_predictions` does both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark.api.method import MethodInput
from benchmark.core.diagnostics import diagnostics
from benchmark.core.metrics import accuracy, auroc, pgr
from benchmark.core.provenance import git_commit, hardware, package_versions
from benchmark.labels.frozen import References, ReplicateReference, WeakLabelSet, load_lock
from benchmark.methods.catalog import METHODS, method_info
from benchmark.models import MODELS
from benchmark.results.records import (
    Compute,
    Diagnostics,
    Metrics,
    Provenance,
    RunError,
    RunRecord,
    predictions_ref,
    stored_predictions,
)
from benchmark.tasks.spec import TaskSpec


@dataclass(frozen=True)
class Scored:
    """A run's record and the bytes of its predictions file (None for a failed run)."""

    record: RunRecord
    predictions: bytes | None = None


def check_probs(probs: Any, n_test: int, classes: int) -> np.ndarray:
    """The method's output as a float array, or ValueError saying what is wrong with it."""
    try:
        array = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"fit_predict returned {type(probs).__name__}, not an array of "
                         "probabilities") from None
    if array.shape != (n_test, classes):
        raise ValueError(f"fit_predict returned shape {array.shape}; expected ({n_test}, "
                         f"{classes}) = (test examples, classes)")
    if not np.isfinite(array).all():
        raise ValueError("fit_predict returned NaN or infinite probabilities")
    if (array < 0).any() or not np.allclose(array.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("fit_predict must return probabilities: non-negative rows summing to 1 "
                         "(apply a softmax)")
    return array


def score_predictions(stored: np.ndarray, gold: np.ndarray, ref: ReplicateReference,
                      weak_test: np.ndarray, ceiling: np.ndarray | None
                      ) -> tuple[Metrics, Diagnostics]:
    """Metrics and diagnostics of stored (float16) test probabilities: the one computation
    behind a record's numbers, at scoring time and when rescoring from the files."""
    probs = np.asarray(stored, dtype=np.float64)
    acc = accuracy(probs, gold)
    gap = pgr(acc, ref.weak_accuracy, ref.ceiling_accuracy)
    metrics = Metrics(accuracy=acc, auroc=auroc(probs, gold), pgr=gap.value,
                      pgr_note=gap.reason, weak_accuracy=ref.weak_accuracy,
                      ceiling_accuracy=ref.ceiling_accuracy)
    return metrics, Diagnostics(**diagnostics(probs, weak_test, gold, ceiling))


def build_record(suite: str, spec: TaskSpec, method: str, replicate: int, inp: MethodInput,
                 weak: WeakLabelSet, references: References, gold_test: np.ndarray,
                 output: dict[str, Any], ceiling: np.ndarray | None = None) -> Scored:
    ref = references.replicates[replicate]
    lock = load_lock(spec)
    method_cls = METHODS.get(method)
    hw = dict(output.get("hardware") or hardware())  # the machine that ran the method
    if "torch_threads" in output:
        hw["torch_threads"] = output["torch_threads"]
    if "executor" in output:
        hw["executor"] = output["executor"]
    provenance = Provenance(
        task_version=spec.version, dataset=spec.dataset.name, task_sha256=spec.sha256,
        weak_labels_sha256=weak.sha256,
        references_sha256=lock.files["references.json"], weak_model=spec.weak_model,
        strong_model=spec.strong_model,
        method_version=str(output.get("version", method_cls.version)),
        method_config=output.get("config") or dict(method_cls.defaults),
        method_origin=METHODS.origin(method), packages=package_versions(),
        git_commit=git_commit(), hardware=hw, sandbox=str(output.get("sandbox") or "none"))
    common = {"suite": suite, "task": spec.id, "method": method, "replicate": replicate,
              "seed": inp.seed, "provenance": provenance, "method_info": method_info(method)}
    stats = output.get("compute")
    run_compute = None
    if stats:
        run_compute = Compute(strong_model_params=inp.strong_model.params,
                              weak_model_params=MODELS.get(spec.weak_model).params, **stats)
    error = output.get("error")
    if error is None:
        try:
            probs = check_probs(output["probs"], len(gold_test), len(spec.label_names))
        except ValueError as exc:
            error = {"type": "InvalidOutput", "message": str(exc)}
    if error is not None:
        return Scored(RunRecord(status="failed", error=RunError(**error), compute=run_compute,
                                **common))
    stored = stored_predictions(probs)
    metrics, diagnosed = score_predictions(stored, gold_test, ref, weak.probs_test, ceiling)
    file, data = predictions_ref(replicate, stored)
    return Scored(RunRecord(status="ok", metrics=metrics, compute=run_compute,
                            diagnostics=diagnosed, predictions=file, **common), data)
