"""``early-stop``: naive cross-entropy, stopped where held-out weak labels say (EleutherAI
w2s's rule: ``eval_steps: 25``, ``metric_for_best_model: val_auroc``,
``load_best_model_at_end``).

Every ``eval_every_steps`` optimizer updates of 32 examples (800 examples seen by default)
the student is scored on a validation split labelled by the weak model only: the AUROC of
its class-1 logit (as the source scores ``predictions[:, 1]``, the logits) against the weak
labels hardened at 0.5 (never gold). Training runs the task's full budget and the
best-scoring head is returned (the earliest on ties: the trainer replaces its best only on a
strictly higher score).

Where it differs from the source, by necessity: EleutherAI validates on a separate
1,000-example split; a run here has only split B, so ``holdout_fraction`` (default 0.2) of B,
drawn with the run's seed, is held out and never trained on. A run too short to reach one
scoring point is scored once at its end. EleutherAI's trainer stops every method this way
(``load_best_model_at_end``); here only this row does, the others train their full budget.
With K > 2 classes (the source has two) each class's logit is scored one against the rest.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from benchmark.api import LinearProbe, Method, MethodInput, ProbeTrainer, Uses, auroc, register

EXAMPLES_PER_STEP = 32  # the source's batch: 32 examples per optimizer update


def holdout_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, held-out rows), both sorted; the held-out slice has round(fraction·n) rows."""
    order = np.random.default_rng(seed).permutation(n)
    held = max(1, int(round(fraction * n)))
    return np.sort(order[held:]), np.sort(order[:held])


def best_checkpoint(scores: list[tuple[int, float | None]]) -> int:
    """The checkpoint with the highest score; the earliest wins ties; unscored ones lose."""
    best, best_score = scores[0][0], -np.inf
    for point, score in scores:
        if score is not None and score > best_score:
            best, best_score = point, score
    return best


@register("early-stop")
class EarlyStop(Method):
    """Naive cross-entropy; the head with the best held-out weak-label AUROC is kept."""

    version = "2"  # 2: EleutherAI's step interval (1 scored once per epoch)
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one probe training, scored on held-out weak labels every 25 updates")
    regimes = ("probe",)  # works on cached features; no finetune form yet
    code = "https://github.com/EleutherAI/w2s"
    defaults = {"holdout_fraction": 0.2, "eval_every_steps": 25, "max_epochs": None}

    def check_config(self) -> None:
        f = self.config["holdout_fraction"]
        if not (isinstance(f, int | float) and 0 < f < 1):
            raise self.option_error("holdout_fraction", "a number in (0, 1)")
        every = self.config["eval_every_steps"]
        if not (isinstance(every, int) and every >= 1):
            raise self.option_error("eval_every_steps", "a positive integer")
        e = self.config["max_epochs"]
        if e is not None and not (isinstance(e, int) and e >= 1):
            raise self.option_error("max_epochs", "a positive integer, or null for the task's")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        fit, held = holdout_split(len(inp.train_features), self.config["holdout_fraction"],
                                  inp.seed)
        held_x = inp.train_features[held]
        held_weak = inp.train_weak_probs[held].argmax(1)
        interval = self.config["eval_every_steps"] * EXAMPLES_PER_STEP
        snapshots: dict[int, LinearProbe] = {}
        scores: list[tuple[int, float | None]] = []

        def score(trainer: ProbeTrainer) -> None:
            probe = trainer.probe()
            snapshots[trainer.examples_seen] = probe
            logits = probe.logits(held_x)
            if logits.shape[1] == 2:  # the score is the class-1 logit, not z1 − z0
                logits = np.stack([-logits[:, 1], logits[:, 1]], axis=1)
            scores.append((trainer.examples_seen, auroc(logits, held_weak)))

        def maybe_score(trainer: ProbeTrainer) -> None:
            if trainer.examples_seen // interval > len(scores):
                score(trainer)

        config = inp.probe_config
        if self.config["max_epochs"] is not None:
            config = dataclasses.replace(config, epochs=self.config["max_epochs"])
        trainer = inp.probe_trainer(inp.train_weak_probs[fit], features=inp.train_features[fit],
                                    config=config)
        for _ in range(config.epochs):
            trainer.run_epoch(after_step=maybe_score)
        if not scores:
            score(trainer)
        self.chosen = best_checkpoint(scores)
        self.scored_at = [point for point, _ in scores]
        print(f"early-stop: kept the head after {self.chosen} of {trainer.examples_seen} "
              f"examples ({len(scores)} scoring points)")
        return snapshots[self.chosen].predict_proba(inp.test_features)
