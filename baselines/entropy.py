"""``entropy``: EleutherAI w2s's "entropy" loss, ``log_confidence_loss(harden=False)``, with
their schedule (see :mod:`baselines.eleuther`).

target = (1 − c)·y_weak + c·p_student, p_student detached; loss = CE(p_student, target).
Because the self-target takes no gradient, d loss / d logits = p − target =
(1 − c)·(p − y_weak): the gradient of plain cross-entropy on the weak labels, scaled by
1 − c. It is a rescaled ``naive``, not an entropy penalty (under Adam, whose steps hardly
depend on the gradient's scale, it trains almost the same probe). The method that does
penalise entropy, with the gradient through H(p), is ``entropy-min``.
"""

from __future__ import annotations

from baselines.eleuther import EleutherSchedule
from benchmark.api import Uses, register


@register("entropy")
class Entropy(EleutherSchedule):
    """EleutherAI's "entropy" loss: a detached soft self-target, in effect a rescaled naive."""

    version = "3"  # 3: EleutherAI's step ramp and the docstring's claim corrected
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one probe training, as naive")
    code = "https://github.com/EleutherAI/w2s"
    harden = False
