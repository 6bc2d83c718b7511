"""``co-teaching``: our per-epoch variant of co-teaching (Han et al. 2018, "Co-teaching:
Robust Training of Deep Neural Networks with Extremely Noisy Labels"), a noisy-label method
applied to weak labels, written with the probe trainer's epoch hooks as a submitter would.

Two linear heads on the strong features start apart, from random heads drawn with seeds
``seed`` and ``seed + 1`` (``torch.nn.Linear``'s default: weights uniform in ±1/√d on the
standardised features, zero bias; the paper's networks start from their default
initialisation), and train side by side on the weak soft labels. A wider start, N(0, 0.1²),
dominated the task's short probe schedule and left the student below its supervisor.

Before each epoch e, each head ranks split B by its own per-example cross-entropy against
the weak labels and keeps the 1 − r(e) fraction with the smallest loss; the *other* head
trains that epoch on those rows only. The paper exchanges rows every minibatch; here every
epoch. The forget rate r(e) = ``forget_rate`` · min(1, e / (``ramp`` · epochs)) grows from
0, as in the paper (its r = the estimated noise rate; here a fixed option). Returns the
first head's test probabilities.
"""

from __future__ import annotations

import numpy as np

from benchmark.api import LinearProbe, Method, MethodInput, Uses, register, standardizer


def random_head(features: np.ndarray, classes: int, seed: int) -> LinearProbe:
    """A head with ``nn.Linear``'s default weights, uniform in ±1/√d, and zero bias, on
    ``features``' standardised view."""
    mean, spread = standardizer(features)
    bound = 1.0 / np.sqrt(features.shape[1])
    weight = np.random.default_rng(seed).uniform(-bound, bound, (classes, features.shape[1]))
    return LinearProbe(mean, spread, weight.astype(np.float32), np.zeros(classes, np.float32))


def small_loss_rows(losses: np.ndarray, forget: float) -> np.ndarray:
    """0/1 weights keeping the round((1 − forget)·n) rows of smallest loss (ties by row)."""
    keep = max(1, int(round((1.0 - forget) * len(losses))))
    weights = np.zeros(len(losses), dtype=np.float32)
    weights[np.argsort(losses, kind="stable")[:keep]] = 1.0
    return weights


def forget_rate(epoch: int, epochs: int, rate: float, ramp: float) -> float:
    """r(e) = rate · min(1, e / (ramp · epochs)), e counted from 0."""
    span = ramp * epochs
    return rate if span <= 0 else rate * min(1.0, epoch / span)


@register("co-teaching")
class CoTeaching(Method):
    """Our per-epoch co-teaching: two heads, each trained on the rows the other finds easiest."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="two probe heads trained side by side (2× naive)")
    regimes = ("probe",)
    paper = "https://arxiv.org/abs/1804.06872"
    defaults = {"forget_rate": 0.2, "ramp": 0.5}

    def check_config(self) -> None:
        r = self.config["forget_rate"]
        if not (isinstance(r, int | float) and 0 <= r < 1):
            raise self.option_error("forget_rate", "a number in [0, 1)")
        ramp = self.config["ramp"]
        if not (isinstance(ramp, int | float) and 0 <= ramp <= 1):
            raise self.option_error("ramp", "a number in [0, 1]")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        epochs = inp.probe_config.epochs
        first, second = (inp.probe_trainer(inp.train_weak_probs, seed=seed, init=random_head(
            inp.train_features, inp.num_classes, seed)) for seed in (inp.seed, inp.seed + 1))
        self.kept: list[tuple[np.ndarray, np.ndarray]] = []
        self.losses: list[tuple[np.ndarray, np.ndarray]] = []
        for epoch in range(epochs):
            rate = forget_rate(epoch, epochs, self.config["forget_rate"],
                               self.config["ramp"])
            losses = (first.per_example_loss(), second.per_example_loss())
            for_second = small_loss_rows(losses[0], rate)
            for_first = small_loss_rows(losses[1], rate)
            self.losses.append(losses)
            self.kept.append((for_first, for_second))
            first.run_epoch(weights=for_first)
            second.run_epoch(weights=for_second)
        return first.probe().predict_proba(inp.test_features)
