"""``logconf``: the auxiliary confidence loss of Burns et al. (2023), "Weak-to-Strong
Generalization", section 4.3.2.

target = (1 − α)·y_weak + α·ŷ, with ŷ the student's own prediction hardened by a threshold
that keeps the weak labels' class-1 share (see :func:`benchmark.api.losses.harden_keep_prior`),
detached; loss = CE(p_student, target). The paper ramps α linearly from 0 to α_max over the
first 20% of training and then holds it; α_max is 0.75 for the largest students and 0.5
otherwise. Here ``alpha_max: auto`` picks 0.75 when the strong student has at least
``large_student_params`` parameters (default 100M: mpnet-base on the embedded ladder).

``schedule: openai`` reproduces the released code instead: α = α_max·(s if s ≤ w else 1),
which with the released α_max = 0.5 and w = 0.1 ramps to 0.05 and then jumps to 0.5
(openai/weak-to-strong PR #33). Both options are honoured by both schedules; ``auto`` means
the schedule's own default (paper: α_max by student size, w = 0.2; openai: 0.5 and 0.1).
Version 1 silently ignored ``alpha_max`` and ``warmup_fraction`` under ``schedule: openai``.
"""

from __future__ import annotations

import torch

from benchmark.api import (
    Method,
    MethodInput,
    Uses,
    class1_prior,
    class_shares,
    harden_keep_prior,
    harden_keep_shares,
    linear_ramp,
    openai_logconf_coefficient,
    register,
)

SCHEDULES = ("paper", "openai")
WARMUP = {"paper": 0.2, "openai": 0.1}  # the fraction ``warmup_fraction: auto`` means


@register("logconf")
class LogConf(Method):
    """Auxiliary confidence loss: weak labels mixed with the student's hardened predictions."""

    version = "2"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one probe training, as naive")
    paper = "https://arxiv.org/abs/2312.09390"
    code = "https://github.com/openai/weak-to-strong"
    defaults = {"alpha_max": "auto", "warmup_fraction": "auto", "schedule": "paper",
                "large_student_params": 100_000_000}

    def check_config(self) -> None:
        if self.config["schedule"] not in SCHEDULES:
            raise self.option_error("schedule", " or ".join(map(repr, SCHEDULES)))
        alpha = self.config["alpha_max"]
        if alpha != "auto" and not (isinstance(alpha, int | float) and 0 <= alpha <= 1):
            raise self.option_error("alpha_max", "'auto' or a number in [0, 1]")
        self.alpha_max = 0.5 if alpha == "auto" else float(alpha)
        warmup = self.config["warmup_fraction"]
        if warmup != "auto" and not (isinstance(warmup, int | float) and 0 <= warmup <= 1):
            raise self.option_error("warmup_fraction", "'auto' or a number in [0, 1]")
        self.warmup_fraction = WARMUP[self.config["schedule"]] if warmup == "auto" \
            else float(warmup)

    def prepare(self, inp: MethodInput) -> None:
        if self.config["alpha_max"] == "auto" and self.config["schedule"] == "paper":
            params = inp.strong_model.params or 0
            self.alpha_max = 0.75 if params >= self.config["large_student_params"] else 0.5

    def coefficient(self, progress: float) -> float:
        """α at this point of training (0 ≤ progress < 1)."""
        if self.config["schedule"] == "openai":
            return openai_logconf_coefficient(progress, self.alpha_max, self.warmup_fraction)
        return linear_ramp(progress, self.alpha_max, self.warmup_fraction)

    def self_target(self, probs: torch.Tensor, weak_probs: torch.Tensor) -> torch.Tensor:
        if probs.shape[1] == 2:
            return harden_keep_prior(probs, class1_prior(weak_probs))
        return harden_keep_shares(probs, class_shares(weak_probs))  # K classes: every share

    def target(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
               ) -> torch.Tensor:
        alpha = self.coefficient(progress)
        own = self.self_target(torch.softmax(logits, dim=-1), weak_probs)
        return (1 - alpha) * weak_probs + alpha * own
