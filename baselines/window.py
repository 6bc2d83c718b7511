"""``window``: cross-entropy only where the weak label is uncertain (EleutherAI w2s
``confidence_window_loss`` with ``radius: midweak``).

r = median over split B of the weak label's margin |y_weak,1 − 0.5| (with K classes
max_c y_weak,c − 1/K, see :func:`benchmark.api.losses.confidence_margin`). With
``select_by: weak`` (default) an example counts when its margin ≤ r: training sees only the
less confident half of the weak labels (ties at the median count, so the window is never
empty). ``select_by: student`` is the EleutherAI code's rule: an example counts when
max_c p_student,c < 1/K + r (0.5 + r with two classes). Either way
the loss is the sum of CE(p_student, y_weak) over the counted examples divided by the batch
size.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.api import (
    Method,
    MethodInput,
    confidence_margin,
    per_example_cross_entropy,
    register,
)

SELECT_BY = ("weak", "student")


def midweak_radius(weak_probs: np.ndarray) -> float:
    return float(np.median(confidence_margin(np.asarray(weak_probs))))


def window_mask(logits: torch.Tensor, weak_probs: torch.Tensor, radius: float, select_by: str
                ) -> torch.Tensor:
    if select_by == "weak":
        return confidence_margin(weak_probs) <= radius
    return torch.softmax(logits, -1).detach().max(-1).values < 1.0 / logits.shape[1] + radius


@register("window")
class Window(Method):
    """Cross-entropy only on examples inside the uncertainty window (radius: median margin)."""

    version = "1"
    code = "https://github.com/EleutherAI/w2s"
    defaults = {"select_by": "weak"}

    def check_config(self) -> None:
        if self.config["select_by"] not in SELECT_BY:
            raise self.option_error("select_by", " or ".join(map(repr, SELECT_BY)))
        self.radius = 0.0

    def prepare(self, inp: MethodInput) -> None:
        self.radius = midweak_radius(inp.train_weak_probs)

    def loss(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
             ) -> torch.Tensor:
        mask = window_mask(logits, weak_probs, self.radius, self.config["select_by"])
        per_example = per_example_cross_entropy(logits, weak_probs)
        return (per_example * mask).sum() / len(logits)
