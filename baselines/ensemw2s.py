"""``ensemw2s-crossfit``: our variant of EnsemW2S (Agrawal et al. 2024, "EnsemW2S: Can an
Ensemble of LLMs be Leveraged to Obtain a Stronger LLM?", arXiv 2410.04571; up to 14% over
the baselines it was compared with, 5% on average on binary classification).

EnsemW2S improves the *supervisor*: weak models are trained on the gold (easy) data in
AdaBoost rounds, each upweighting the examples the ones before it got wrong, and their
α-weighted combination labels the student's data. That part needs gold labels, so the
harness does it when the task is frozen (``benchmark.labels.boosting``): for each replicate,
the task's supervisors boosted on gold split A, with AdaBoost's α = ½·ln((1 − ε)/ε) (plus
SAMME's ln(K − 1) for K classes). This method gets the kept rounds' soft labels on split B
and their α (``MethodInput.boosted``), labels each example with the α-weighted average of
the rounds' probabilities (a soft form of AdaBoost's weighted vote that keeps each round's
confidence), and trains the student on those labels with cross-entropy, as ``naive`` trains
on the task's.

The variant: ε is measured out of fold on A (5-fold cross-fitting), not on the rows each
round was fitted to. In sample, tf-idf's logistic regression fits A (nearly) perfectly, so
AdaBoost would stop after one round with that supervisor alone (the frozen in-sample errors,
``boosting.json``, say where). The student and its training are the paper's plain W2S ones.
"""

from __future__ import annotations

import numpy as np

from benchmark.api import Method, MethodInput, register


def alpha_weighted_labels(probs: np.ndarray, alphas: tuple[float, ...]) -> np.ndarray:
    """Σ_t α_t·p_t / Σ_t α_t over the rounds (``probs`` [rounds, n, classes])."""
    a = np.asarray(alphas, dtype=np.float64)
    if a.ndim != 1 or len(a) != len(probs) or not (a > 0).all():
        raise ValueError(f"need one positive α per round, got {alphas!r} for "
                         f"{len(probs)} rounds")
    return np.tensordot(a / a.sum(), np.asarray(probs, dtype=np.float64), axes=1)


@register("ensemw2s-crossfit")
class EnsemW2SCrossfit(Method):
    """Our EnsemW2S variant: supervisors AdaBoosted on gold A (errors out of fold), α-vote."""

    version = "1"
    needs_boosting = True
    regimes = ("probe",)   # boosting weights probe and regression supervisors only
    paper = "https://arxiv.org/abs/2410.04571"

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        if inp.boosted is None:
            raise ValueError(f"task {inp.task!r} has no boosted supervisors frozen; run "
                             f"`w2s-bench freeze {inp.task} --add-boosting`")
        boosted = inp.boosted
        print("rounds: " + ", ".join(f"{m} α={a:.3f}" for m, a in
                                     zip(boosted.members, boosted.alphas, strict=True)))
        targets = alpha_weighted_labels(boosted.probs, boosted.alphas).astype(np.float32)
        return inp.train_probe(targets).predict_proba(inp.test_features)
