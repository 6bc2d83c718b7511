"""Compute a method reports for what it trains outside the shared trainers.

The shared probe trainer and finetune entry points count their own FLOPs and examples. A
method with a torch loop of its own reports it here, or lets torch's FLOP counter count the
loop for it (:func:`counting_flops`), so its record does not read "trains nothing".
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def report_training(flops: float, examples: int, params: int) -> None:
    """Add a custom loop's training to the run's meter: its FLOPs (forward and backward),
    the examples it went through (each pass counts) and the parameters it trained. Like
    every compute figure, what a run reports about itself is its own word
    (docs/integrity.md: forgeable by the run, about its own record only)."""
    if not (math.isfinite(flops) and flops >= 0 and examples >= 0 and params >= 0):
        raise ValueError("report_training: flops (finite), examples and params must be ≥ 0")
    from benchmark.core.compute import add_train

    add_train(float(flops), int(examples), int(params))


def report_inference(flops: float) -> None:
    """Add forward-only FLOPs (predictions the method makes) to the run's meter."""
    if not (math.isfinite(flops) and flops >= 0):
        raise ValueError("report_inference: flops must be finite and ≥ 0")
    from benchmark.core.compute import add_inference

    add_inference(float(flops))


@dataclass
class FlopCount:
    flops: float = 0.0


@contextmanager
def counting_flops() -> Iterator[FlopCount]:
    """Count the FLOPs of the torch operations run inside the block (torch's own
    ``FlopCounterMode``: matrix products and convolutions, forward and backward); read
    ``.flops`` after the block and pass it to :func:`report_training`."""
    from torch.utils.flop_counter import FlopCounterMode

    count = FlopCount()
    mode = FlopCounterMode(display=False)
    with mode:
        yield count
    count.flops = float(mode.get_total_flops())
