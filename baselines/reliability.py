"""``reliability-weighted``: our variant: each example weighted by how far its supervisors
agree, for tasks with several weak supervisors (after Guo & Yang 2024, "Improving Weak-to-Strong
Generalization with Reliability-Aware Alignment": query the supervision several ways and
trust a label by their agreement; here the several ways are the task's supervisors).

reliability_i = the share of supervisors whose class (argmax) is the majority class of
example i (ties: the lower class). The student trains on the supervisors' mean soft labels
with each example's gradient scaled by reliability_i ** ``sharpness`` (the shared probe
trainer's per-example weights), so examples the supervisors dispute count less.
"""

from __future__ import annotations

import numpy as np

from benchmark.api import Method, MethodInput, Uses, register


def stacked_supervisors(inp: MethodInput) -> np.ndarray:
    """The supervisors' labels on B, ``[supervisors, n_B, classes]``, in name order (kept
    here rather than imported from ``baselines.ensemble``: a plugin that imports a sibling
    fails to load where that sibling was imported outside the catalog first)."""
    labels = inp.kinds.get("weak_models")
    if labels is None:
        raise ValueError(f"task {inp.task!r} names one weak supervisor; this method needs "
                         "several (`weak_models`)")
    return np.stack([np.asarray(labels.probs[n], np.float64) for n in sorted(labels.probs)])


def reliability(labels: np.ndarray) -> np.ndarray:
    """[n] share of the supervisors (``labels`` [S, n, C]) voting each row's majority class."""
    votes = labels.argmax(axis=2)                                   # [S, n]
    classes = labels.shape[2]
    counts = np.stack([(votes == c).sum(axis=0) for c in range(classes)], axis=1)  # [n, C]
    return counts.max(axis=1) / labels.shape[0]


@register("reliability-weighted")
class ReliabilityWeighted(Method):
    """Our variant after Guo & Yang: supervisors' mean, each example weighted by their agreement."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one probe training, as naive")
    needs_supervisors = True
    regimes = ("probe",)
    paper = "https://arxiv.org/abs/2406.19032"
    defaults = {"sharpness": 1.0}

    def check_config(self) -> None:
        s = self.config["sharpness"]
        if not (isinstance(s, int | float) and s >= 0):
            raise self.option_error("sharpness", "a number ≥ 0")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        labels = stacked_supervisors(inp)
        weights = reliability(labels) ** float(self.config["sharpness"])
        self.weights = weights
        trainer = inp.probe_trainer(labels.mean(axis=0).astype(np.float32))
        for _ in range(inp.probe_config.epochs):
            trainer.run_epoch(weights=weights)
        return trainer.probe().predict_proba(inp.test_features)
