"""``prior-match``: a control: the naive student with its test predictions moved to the
known test class prior.

Every embedded pool is class-balanced, so each test set is close to uniform over classes,
and a method may use that without any weak-to-strong generalization: train as ``naive``,
then move its predictions on the (unlabelled) test inputs to the prior: with two classes,
threshold at the median score, so the predicted classes have the prior's shares; with more,
the EM prior adjustment of Saerens et al. (2002). It uses the test
inputs transductively and one published fact (the prior), never a label. What it adds over
``naive`` is what the prior alone is worth on a task; a method whose gain is of that size
has not shown more.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.api import Method, MethodInput, Uses, register


def match_prior(probs: np.ndarray, prior: np.ndarray, rounds: int = 1000,
                tolerance: float = 1e-6) -> np.ndarray:
    """``probs`` moved to the test prior ``prior``.

    Two classes: the class-1 logit offset that puts ``prior[1]`` of the rows in class 1
    (a threshold at that quantile of the logit margin; exact up to ties). More classes: the
    EM prior adjustment of Saerens et al. (2002), which rescales each class's probabilities
    until their mean over the rows is the prior (the soft shares match it; the argmax
    shares follow closely); it stops when the shares move less than ``tolerance``.
    """
    probs = np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)
    probs = probs / probs.sum(axis=1, keepdims=True)
    if probs.shape[1] == 2:
        logits = np.log(probs)
        margin = logits[:, 1] - logits[:, 0]
        shifted = margin - np.quantile(margin, 1.0 - prior[1])
        out = np.empty_like(probs)
        out[:, 1] = 1.0 / (1.0 + np.exp(-shifted))
        out[:, 0] = 1.0 - out[:, 1]
        return out
    weights = np.ones(probs.shape[1])
    out = probs
    for _ in range(rounds):
        shares = out.mean(axis=0)
        if np.abs(shares - prior).max() < tolerance:
            break
        weights = weights * prior / np.maximum(shares, 1e-12)
        out = probs * weights
        out = out / out.sum(axis=1, keepdims=True)
    return out


@register("prior-match")
class PriorMatch(Method):
    """Naive, then predictions thresholded at the known (balanced) test prior."""

    version = "1"
    uses = Uses(transductive=True, extra_data=["the test set's class prior (uniform)"],
                extra_models=[], gold_for_tuning=None,
                compute="one probe training, as naive, and a threshold on the test scores")
    control = True
    defaults = {"prior": "uniform"}

    def check_config(self) -> None:
        if self.config["prior"] != "uniform":
            raise self.option_error("prior", "'uniform' (the embedded pools are balanced)")

    def target(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
               ) -> torch.Tensor:
        return weak_probs

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        probs = super().fit_predict(inp)
        return match_prior(probs, np.full(inp.num_classes, 1.0 / inp.num_classes))
