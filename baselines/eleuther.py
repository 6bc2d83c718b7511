"""EleutherAI w2s's confidence losses, as their code runs them (``w2s/loss.py`` and
``w2s/sft.py`` at commit a929af0, with their defaults: ``minibatch_size: 1``, 32 minibatches
accumulated into each optimizer update).

- ``logconf-eleuther``: each example's target is (1 − c)·y_weak + c·ŷ (ŷ detached), with
  c = 0.5·min(1, step/100) and step = optimizer updates of 32 examples completed before it
  (their ``global_step``). Their trainer calls the loss on one example at a time, so the
  prior is 0.5 (a one-row minibatch) and ŷ hardens the student's class-0 probability at the
  median of a rolling buffer of its last 32 class-0 probabilities, this example's included:
  class 1 where p_0 < that median. Here a minibatch of any size is streamed through that
  rule row by row, in order. Binary only, as the source.
- ``entropy`` (module ``baselines.entropy``) runs the same schedule with the un-hardened
  student prediction.

The step and the buffer are kept per run (reset in :meth:`prepare`); a run resumed from a
checkpoint takes its step from its progress and starts an empty buffer. Single-process
only: under data parallelism each rank would count its own rows. Their evaluation passes
also stream predictions into the buffer; none does here.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.api import Method, MethodInput, Uses, register

EXAMPLES_PER_STEP = 32  # their batch: 32 examples per optimizer update
WARMUP_STEPS = 100      # logconf_warmup_steps
AUX_WEIGHT = 0.5        # logconf_weight
BUFFER = 32             # buffer_size = batch_size


def eleuther_coefficient(step: int, weight: float = AUX_WEIGHT,
                         warmup_steps: int = WARMUP_STEPS) -> float:
    """c = weight · min(1, step / warmup_steps) (no warm-up: weight)."""
    return weight * min(1.0, step / warmup_steps) if warmup_steps > 0 else weight


def streamed_thresholds(p0: np.ndarray, buffer: list[float]) -> tuple[np.ndarray, list[float]]:
    """Per row, the median of the last 32 class-0 probabilities streamed so far (the earlier
    ``buffer`` and this minibatch up to and including the row), and the buffer after it.

    Rows whose window is full take their medians at once: the two middle order statistics
    of each window, averaged as ``np.median`` does (the same bits as a per-row call)."""
    stream = np.concatenate([np.asarray(buffer, np.float64), np.asarray(p0, np.float64)])
    start, n = len(buffer), len(p0)
    out = np.empty(n)
    first_full = min(max(0, BUFFER - start - 1), n)  # rows before it see a short buffer
    for i in range(first_full):
        out[i] = np.median(stream[:start + i + 1])
    if first_full < n:
        ends = start + np.arange(first_full, n) + 1
        windows = stream[ends[:, None] - BUFFER + np.arange(BUFFER)]
        middle = np.partition(windows, (BUFFER // 2 - 1, BUFFER // 2), axis=1)
        out[first_full:] = (middle[:, BUFFER // 2 - 1] + middle[:, BUFFER // 2]) / 2
    return out, stream[-BUFFER:].tolist()


class EleutherSchedule(Method):
    """The state EleutherAI's trainer keeps for its confidence losses: examples seen (its
    step counter) and the rolling buffer of class-0 predictions."""

    harden: bool = True

    def check_config(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.examples_seen = 0
        self.buffer: list[float] = []
        self.total_examples = 0

    def prepare(self, inp: MethodInput) -> None:
        self.reset()
        if inp is not None:
            epochs = (inp.finetune_config.epochs if inp.regime == "finetune"
                      and inp.finetune_config else inp.probe_config.epochs)
            self.total_examples = int(epochs * len(inp.train_weak_probs))

    def target(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
               ) -> torch.Tensor:
        if self.examples_seen == 0 and progress > 0 and self.total_examples:
            self.examples_seen = int(round(progress * self.total_examples))  # resumed run
        n = len(logits)
        steps = (self.examples_seen + np.arange(n)) // EXAMPLES_PER_STEP
        self.examples_seen += n
        coef = torch.from_numpy(AUX_WEIGHT * np.minimum(1.0, steps / WARMUP_STEPS)
                                ).to(weak_probs.dtype).unsqueeze(1)  # eleuther_coefficient
        probs = torch.softmax(logits.detach(), dim=-1).to(weak_probs.dtype)
        if not self.harden:  # no thresholds; the buffer streams all the same
            own = probs
            p0 = probs[:, 0].numpy().astype(np.float64)
            self.buffer = (self.buffer + p0.tolist())[-BUFFER:]
        else:
            thresholds, self.buffer = streamed_thresholds(probs[:, 0].numpy(), self.buffer)
            class1 = probs[:, 0] < torch.from_numpy(thresholds).to(probs.dtype)
            own = torch.stack([~class1, class1], dim=1).to(probs.dtype)
        return (1 - coef) * weak_probs + coef * own


@register("logconf-eleuther")
class LogConfEleuther(EleutherSchedule):
    """Confidence loss as EleutherAI w2s runs it: step ramp, streamed 32-prediction buffer."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="one probe training, as naive")
    binary_only = True
    code = "https://github.com/EleutherAI/w2s"
