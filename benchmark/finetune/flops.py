"""FLOPs of a training step, measured with ``torch.utils.flop_counter`` and scaled by tokens.

Counting every step would slow training, so one step is measured and its FLOPs per (padded)
token are applied to all tokens processed. :func:`six_n_d` is the usual 6·N·D estimate
(N = parameters in matrix multiplies, D = tokens) the measurement is checked against.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def measure_flops(step: Callable[[], object]) -> tuple[float, object]:
    """Run ``step()`` under the FLOP counter: (FLOPs, its return value)."""
    counter = FlopCounterMode(display=False)
    with counter:
        out = step()
    return float(counter.get_total_flops()), out


def matmul_params(model: nn.Module) -> int:
    """Parameters that take part in matrix multiplies: all but embedding tables and norms."""
    embedding = {id(p) for m in model.modules() if isinstance(m, nn.Embedding)
                 for p in m.parameters()}
    return sum(p.numel() for p in model.parameters() if p.ndim >= 2 and id(p) not in embedding)


def six_n_d(model: nn.Module, tokens: int) -> float:
    return 6.0 * matmul_params(model) * tokens


def peak_memory_mb(device: torch.device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return None
