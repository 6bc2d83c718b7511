"""``entropy-min``: cross-entropy on the weak labels plus an entropy penalty whose gradient
flows (entropy minimisation, Grandvalet & Bengio 2005, used here as a W2S loss; our variant,
not a published W2S method).

L = (1 − c)·CE(p_student, y_weak) + c·H(p_student), H(p) = −Σ_c p_c log p_c, with c on
``logconf``'s paper schedule (linear to ``alpha_max`` over the first ``warmup_fraction`` of
training). Unlike EleutherAI's "entropy" loss (``entropy``), the penalty's gradient reaches the
student, so it pushes predictions towards confidence.
"""

from __future__ import annotations

import torch

from baselines.logconf import LogConf
from benchmark.api import Uses, register


def entropy_min_loss(logits: torch.Tensor, weak_probs: torch.Tensor, coef: float
                     ) -> torch.Tensor:
    log_p = torch.log_softmax(logits, dim=-1)
    ce = -(weak_probs * log_p).sum(-1)
    entropy = -(log_p.exp() * log_p).sum(-1)
    return ((1 - coef) * ce + coef * entropy).mean()


@register("entropy-min")
class EntropyMin(LogConf):
    """Weak-label cross-entropy plus an entropy penalty with its gradient (a variant of ours)."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one probe training, as naive")
    paper = "https://papers.nips.cc/paper/2740-semi-supervised-learning-by-entropy-minimization"
    code = None

    def loss(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
             ) -> torch.Tensor:
        return entropy_min_loss(logits, weak_probs, self.coefficient(progress))
