"""``product``: the product loss of openai/weak-to-strong (``product_loss_fn``).

target ∝ p_student^β · y_weak^α (normalised per example, detached), loss = CE(p_student,
target), with α = β = 1 by default: the student keeps what both it and the weak labels
believe, so it cannot simply copy a confident weak mistake.
"""

from __future__ import annotations

import torch

from benchmark.api import Method, register, soft_cross_entropy


def product_target(student_probs: torch.Tensor, weak_probs: torch.Tensor, alpha: float,
                   beta: float) -> torch.Tensor:
    joint = student_probs.detach().pow(beta) * weak_probs.pow(alpha)
    return joint / joint.sum(-1, keepdim=True).clamp_min(1e-12)


@register("product")
class Product(Method):
    """Cross-entropy to the normalised product of student and weak probabilities."""

    version = "1"
    code = "https://github.com/openai/weak-to-strong"
    defaults = {"alpha": 1.0, "beta": 1.0}

    def loss(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
             ) -> torch.Tensor:
        target = product_target(torch.softmax(logits, -1), weak_probs, self.config["alpha"],
                                self.config["beta"])
        return soft_cross_entropy(logits, target)
