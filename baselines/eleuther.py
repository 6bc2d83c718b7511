"""EleutherAI w2s's confidence losses, as their code runs them (``w2s/loss.py`` and
``w2s/sft.py`` at commit a929af0).

- ``logconf-eleuther``: target = (1 − c)·y_weak + c·ŷ (detached), c = 0.5·min(1, step/100),
  step = optimizer updates of 32 examples completed before this minibatch (their
  ``global_step``); ŷ hardens the student's class-0 probability at the threshold t =
  quantile of a rolling buffer of its last 32 class-0 probabilities (this minibatch's last
  ones included) at the level of the minibatch's mean weak class-1 label (0.5 for a one-row
  minibatch): class 1 where p_0 < t. Binary only, as the source.
- ``entropy`` (module ``baselines.entropy``) runs the same schedule with the un-hardened
  student prediction.

The step and the buffer are kept per run (reset in :meth:`prepare`). A finetune run resumed
from a checkpoint starts them afresh; a whole run never does.
"""

from __future__ import annotations

import torch

from benchmark.api import Method, MethodInput, register

EXAMPLES_PER_STEP = 32  # their batch: 32 examples per optimizer update
WARMUP_STEPS = 100      # logconf_warmup_steps
AUX_WEIGHT = 0.5        # logconf_weight
BUFFER = 32             # buffer_size = batch_size


def eleuther_coefficient(step: int, weight: float = AUX_WEIGHT,
                         warmup_steps: int = WARMUP_STEPS) -> float:
    """c = weight · min(1, step / warmup_steps) (no warm-up: weight)."""
    return weight * min(1.0, step / warmup_steps) if warmup_steps > 0 else weight


def buffer_harden(p0: torch.Tensor, buffer: list[float], prior: float) -> torch.Tensor:
    """One-hot targets from class-0 probabilities ``p0``: class 1 where p_0 is below the
    ``prior`` quantile of ``buffer`` (the last predictions, this minibatch's included)."""
    threshold = torch.quantile(torch.tensor(buffer, dtype=p0.dtype), prior)
    class1 = p0 < threshold
    return torch.stack([~class1, class1], dim=1).to(p0.dtype)


class EleutherSchedule(Method):
    """The state EleutherAI's trainer keeps for its confidence losses: examples seen (its
    step counter) and the rolling buffer of class-0 predictions."""

    harden: bool = True

    def check_config(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.examples_seen = 0
        self.buffer: list[float] = []

    def prepare(self, inp: MethodInput) -> None:
        self.reset()

    def target(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
               ) -> torch.Tensor:
        step = self.examples_seen // EXAMPLES_PER_STEP
        self.examples_seen += len(logits)
        coef = eleuther_coefficient(step)
        probs = torch.softmax(logits.detach(), dim=-1)
        self.buffer = (self.buffer + probs[:, 0].tolist())[-BUFFER:]
        if not self.harden:
            own = probs
        else:
            prior = float(weak_probs[:, 1].mean()) if len(weak_probs) > 1 else 0.5
            own = buffer_harden(probs[:, 0], self.buffer, prior)
        return (1 - coef) * weak_probs + coef * own


@register("logconf-eleuther")
class LogConfEleuther(EleutherSchedule):
    """Confidence loss as EleutherAI w2s runs it: step-count ramp, rolling-buffer hardening."""

    version = "1"
    binary_only = True
    code = "https://github.com/EleutherAI/w2s"
