"""``born-again``: iterated self-distillation (Furlanello et al. 2018, "Born-Again Neural
Networks", applied to W2S as the strong-to-strong rounds of EleutherAI w2s's ``s2s_iters``).

Round 0 is ``naive`` (the student on the weak soft labels). Each of ``rounds`` further rounds
trains a fresh student, from scratch and with the task's settings, on the previous
student's soft predictions on split B. Returns the last student's test probabilities.
"""

from __future__ import annotations

import numpy as np

from benchmark.api import Method, MethodInput, Uses, register


@register("born-again")
class BornAgain(Method):
    """Naive, then retrained from scratch on its own soft predictions for k rounds."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="rounds + 1 probe trainings (3 by default)")
    regimes = ("probe", "finetune")
    paper = "https://arxiv.org/abs/1805.04770"
    defaults = {"rounds": 2}

    def check_config(self) -> None:
        if not (isinstance(self.config["rounds"], int) and self.config["rounds"] >= 1):
            raise self.option_error("rounds", "an integer ≥ 1")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        if inp.regime == "finetune":
            model = inp.finetune(inp.train_weak_probs)
            for _ in range(self.config["rounds"]):
                model = inp.finetune(model.predict_proba(list(inp.train_texts)))
            return model.predict_proba(inp.test_texts)
        probe = inp.train_probe(inp.train_weak_probs)
        self.targets = []
        for _ in range(self.config["rounds"]):
            targets = probe.predict_proba(inp.train_features).astype(np.float32)
            self.targets.append(targets)
            probe = inp.train_probe(targets)
        return probe.predict_proba(inp.test_features)
