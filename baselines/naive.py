"""``naive``: train the strong student on the weak soft labels with cross-entropy.

Burns et al. (2023), "Weak-to-Strong Generalization", the ``xent`` loss of
openai/weak-to-strong: CE(p_student, y_weak) with y_weak the weak model's soft labels.
"""

from __future__ import annotations

import torch

from benchmark.api import Method, Uses, register


@register("naive")
class Naive(Method):
    """Cross-entropy on weak soft labels (the W2S paper's baseline)."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one probe training")
    paper = "https://arxiv.org/abs/2312.09390"
    code = "https://github.com/openai/weak-to-strong"

    def target(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
               ) -> torch.Tensor:
        return weak_probs
