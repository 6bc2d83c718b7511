"""``window`` and ``window-weak``: cross-entropy only on examples inside an uncertainty window
(EleutherAI w2s ``confidence_window_loss`` with ``radius: midweak``).

r = median (the lower middle value, as ``torch.median``) over split B of the weak label's
margin |y_weak,1 − 0.5| (with K classes max_c y_weak,c − 1/K, see
:func:`benchmark.api.losses.confidence_margin`), the source's ``midweak`` radius. The loss
is the sum of CE(p_student, y_weak) over the counted examples divided by the batch size.

- ``window`` is the source's rule: an example counts while the *student* is unsure,
  max_c p_student,c < 1/K + r (0.5 + r with two classes).
- ``window-weak`` is our variant: an example counts when the *weak label's* margin is at
  most r, so training sees the less confident half of the weak labels (ties at the median
  count, so the window is never empty). It is not EleutherAI's rule.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.api import (
    Method,
    MethodInput,
    Uses,
    confidence_margin,
    per_example_cross_entropy,
    register,
)


def midweak_radius(weak_probs: np.ndarray) -> float:
    """The median margin as the source takes it (``torch.median``: the lower of the two
    middle values when their number is even)."""
    margins = np.sort(confidence_margin(np.asarray(weak_probs)))
    return float(margins[(len(margins) - 1) // 2])


def window_mask(logits: torch.Tensor, weak_probs: torch.Tensor, radius: float, select_by: str
                ) -> torch.Tensor:
    if select_by == "weak":
        return confidence_margin(weak_probs) <= radius
    return torch.softmax(logits, -1).detach().max(-1).values < 1.0 / logits.shape[1] + radius


@register("window")
class Window(Method):
    """EleutherAI's window: cross-entropy only while the student is unsure (radius: midweak)."""

    version = "2"  # 2: the source's rule and median (1 selected by the weak label)
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one probe training, as naive")
    code = "https://github.com/EleutherAI/w2s"
    select_by = "student"

    def check_config(self) -> None:
        self.radius = 0.0

    def prepare(self, inp: MethodInput) -> None:
        self.radius = midweak_radius(inp.train_weak_probs)

    def loss(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
             ) -> torch.Tensor:
        mask = window_mask(logits, weak_probs, self.radius, self.select_by)
        per_example = per_example_cross_entropy(logits, weak_probs)
        return (per_example * mask).sum() / len(logits)


@register("window-weak")
class WindowWeak(Window):
    """Our variant of window: cross-entropy only where the weak label's margin is at most r."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one probe training, as naive")
    code = None
    select_by = "weak"
