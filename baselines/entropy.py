"""``entropy``: the confidence loss with the student's un-hardened prediction (EleutherAI w2s,
``log_confidence_loss(harden=False)``, their "entropy" loss).

target = (1 − α)·y_weak + α·p_student (detached); loss = CE(p_student, target)
= (1 − α)·CE(p_student, y_weak) + α·H(p_student) in value: an entropy penalty that pushes
the student towards confident predictions. α follows the same schedule as ``logconf``.
"""

from __future__ import annotations

import torch

from baselines.logconf import LogConf
from benchmark.api import register


@register("entropy")
class Entropy(LogConf):
    """Confidence loss with the soft (un-hardened) student prediction: entropy minimisation."""

    version = "2"  # 2: logconf's options are honoured under ``schedule: openai`` too
    code = "https://github.com/EleutherAI/w2s"

    def self_target(self, probs: torch.Tensor, weak_probs: torch.Tensor) -> torch.Tensor:
        return probs
