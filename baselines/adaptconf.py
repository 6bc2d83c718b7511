"""``adaptconf``: adaptive confidence distillation, after Guo et al. (2024), "Vision
Superalignment: Weak-to-Strong Generalization for Vision Foundation Models".

Per example i, with p the student's softmax, ŷ_i its hardened (argmax) prediction and y_i the
weak soft label:

    CE_self,i = CE(p_i, ŷ_i)      CE_weak,i = CE(p_i, y_i)
    α_i = exp(−CE_self,i / τ) / (exp(−CE_self,i / τ) + exp(−CE_weak,i / τ))   (detached)
    loss = mean_i [(1 − α_i)·CE(p_i, y_i) + α_i·CE(p_i, ŷ_i)]

so whichever target the student already agrees with more gets more weight, example by
example: self-training where the student is confident, distillation where the weak label
fits better. τ (``temperature``, default 1) sets how sharply it switches.
"""

from __future__ import annotations

import torch

from benchmark.api import Method, Uses, harden_argmax, per_example_cross_entropy, register


def adaptive_weights(logits: torch.Tensor, weak_probs: torch.Tensor, temperature: float
                     ) -> torch.Tensor:
    """α_i, the weight on the self-training term (detached)."""
    hard = harden_argmax(torch.softmax(logits, -1))
    ce_self = per_example_cross_entropy(logits, hard).detach()
    ce_weak = per_example_cross_entropy(logits, weak_probs).detach()
    scores = torch.stack([-ce_self, -ce_weak], dim=1) / temperature
    return torch.softmax(scores, dim=1)[:, 0]


@register("adaptconf")
class AdaptConf(Method):
    """Per-example mix of weak-label distillation and self-training, weighted by agreement."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one probe training, as naive")
    paper = "https://arxiv.org/abs/2402.03749"
    code = "https://github.com/ggjy/vision_weak_to_strong"
    defaults = {"temperature": 1.0}

    def check_config(self) -> None:
        t = self.config["temperature"]
        if not (isinstance(t, int | float) and t > 0):
            raise self.option_error("temperature", "a positive number")

    def loss(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
             ) -> torch.Tensor:
        alpha = adaptive_weights(logits, weak_probs, self.config["temperature"])
        hard = harden_argmax(torch.softmax(logits, -1))
        mixed = ((1 - alpha) * per_example_cross_entropy(logits, weak_probs)
                 + alpha * per_example_cross_entropy(logits, hard))
        return mixed.mean()
