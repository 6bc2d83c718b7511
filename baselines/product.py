"""``product``: the product loss of openai/weak-to-strong (``product_loss_fn``).

target ∝ p_student^β · y_weak^α (normalised per example, detached), loss = CE(p_student,
target), with α = β = 1 by default: the student keeps what both it and the weak labels
believe, so it cannot simply copy a confident weak mistake.

The target is computed in log space, softmax(β·log p + α·log y), so it is finite and sums to
one everywhere. Version 1 normalised the product directly with the denominator clamped at
1e-12: with a hard weak label (stored probabilities have 6 decimals, so exact 0 and 1 occur)
and a student logit gap above ~27.6 the product underflowed, the target stopped summing to
one and the row's loss and gradient vanished (the original code returns NaN there).
"""

from __future__ import annotations

import torch

from benchmark.api import Method, Uses, register


def product_target(student_logits: torch.Tensor, weak_probs: torch.Tensor, alpha: float,
                   beta: float) -> torch.Tensor:
    """softmax(β·log_softmax(logits) + α·log y_weak), detached; ``xlogy`` makes α = 0 give 0
    (not 0·log 0 = NaN) where a weak probability is exactly 0."""
    log_student = torch.log_softmax(student_logits.detach(), dim=-1)
    alpha_t = torch.as_tensor(alpha, dtype=weak_probs.dtype, device=weak_probs.device)
    log_joint = beta * log_student + torch.special.xlogy(alpha_t, weak_probs)
    return torch.softmax(log_joint, dim=-1)


@register("product")
class Product(Method):
    """Cross-entropy to the normalised product of student and weak probabilities."""

    version = "2"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one probe training, as naive")
    code = "https://github.com/openai/weak-to-strong"
    defaults = {"alpha": 1.0, "beta": 1.0}

    def target(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
               ) -> torch.Tensor:
        return product_target(logits, weak_probs, self.config["alpha"], self.config["beta"])
