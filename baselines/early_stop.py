"""``early-stop``: naive cross-entropy with early stopping chosen on weak labels only.

A held-out slice of split B (``holdout_fraction``, default 0.2, drawn with the run's seed) is
kept out of training; after each epoch the probe's AUROC on that slice is measured against
the slice's *hardened weak labels* (never gold), and the epoch with the best score is kept
(earliest on ties). This is the early-stopping rule of EleutherAI w2s (validation AUROC
against weak labels); Burns et al. note that early stopping on weak labels is itself a way
of limiting imitation of the supervisor's errors. The training budget is the task's epochs
(``max_epochs`` overrides it), so compute stays comparable with ``naive``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from benchmark.api import Method, MethodInput, auroc, register


def holdout_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, held-out rows), both sorted; the held-out slice has round(fraction·n) rows."""
    order = np.random.default_rng(seed).permutation(n)
    held = max(1, int(round(fraction * n)))
    return np.sort(order[held:]), np.sort(order[:held])


def best_epoch(scores: list[tuple[int, float | None]]) -> int:
    """The epoch with the highest score; the earliest wins ties; unscored epochs lose."""
    ranked = [(s if s is not None else -np.inf, -e, e) for e, s in scores]
    return max(ranked)[2]


@register("early-stop")
class EarlyStop(Method):
    """Naive cross-entropy stopped at the epoch with the best AUROC against held-out weak labels."""

    version = "1"
    regimes = ("probe",)  # works on cached features; no finetune form yet
    code = "https://github.com/EleutherAI/w2s"
    defaults = {"holdout_fraction": 0.2, "max_epochs": None}

    def check_config(self) -> None:
        f = self.config["holdout_fraction"]
        if not (isinstance(f, int | float) and 0 < f < 1):
            raise self.option_error("holdout_fraction", "a number in (0, 1)")
        e = self.config["max_epochs"]
        if e is not None and not (isinstance(e, int) and e >= 1):
            raise self.option_error("max_epochs", "a positive integer, or null for the task's")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        fit, held = holdout_split(len(inp.train_features), self.config["holdout_fraction"],
                                  inp.seed)
        held_x = inp.train_features[held]
        held_weak = inp.train_weak_probs[held].argmax(1)
        snapshots, scores = {}, []

        def score(epoch: int, probe) -> None:
            snapshots[epoch] = probe
            scores.append((epoch, auroc(probe.predict_proba(held_x), held_weak)))

        config = inp.probe_config
        if self.config["max_epochs"] is not None:
            config = dataclasses.replace(config, epochs=self.config["max_epochs"])
        inp.train_probe(inp.train_weak_probs[fit], features=inp.train_features[fit],
                        config=config, on_epoch=score)
        self.chosen_epoch = best_epoch(scores)
        print(f"early-stop: kept epoch {self.chosen_epoch} of {config.epochs}")
        return snapshots[self.chosen_epoch].predict_proba(inp.test_features)
