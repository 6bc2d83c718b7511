"""Shared training utilities: the linear probe that the ceiling and every method train.

Probe regime: frozen strong-model features, standardised with statistics of the student's
training inputs (no labels involved), and a linear head trained with AdamW on minibatches.
The loss is pluggable: ``loss(logits, targets, progress)`` with ``progress`` in [0, 1) lets a
method ramp a schedule (e.g. the confidence loss) without touching the loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from benchmark.core import compute

LossFn = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]


@dataclass(frozen=True)
class ProbeConfig:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-2
    weight_decay: float = 0.0
    # a Bradley-Terry scorer on pair features f(first) - f(second): no centring and no
    # bias, so the logit is r(first) - r(second) and swapping a pair flips its probability
    antisymmetric: bool = False

    @classmethod
    def from_defaults(cls, defaults: object) -> ProbeConfig:
        """From a task's ``training`` block, so the ceiling and every method train alike."""
        return cls(epochs=defaults.epochs, batch_size=defaults.batch_size, lr=defaults.lr,
                   weight_decay=defaults.weight_decay)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, progress: float = 0.0
                       ) -> torch.Tensor:
    """Cross-entropy against soft targets (rows of ``targets`` sum to 1)."""
    return -(targets * torch.log_softmax(logits, dim=-1)).sum(-1).mean()


@dataclass
class LinearProbe:
    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray  # [classes, dim]
    bias: np.ndarray    # [classes]

    @property
    def num_params(self) -> int:
        return int(self.weight.size + self.bias.size)

    def logits(self, features: np.ndarray) -> np.ndarray:
        x = (np.asarray(features, dtype=np.float32) - self.mean) / self.scale
        compute.add_inference(2.0 * self.num_params * len(x))
        return x @ self.weight.T + self.bias

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        z = self.logits(features)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)


def standardizer(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(features, dtype=np.float64)
    return x.mean(0).astype(np.float32), (x.std(0) + 1e-6).astype(np.float32)


def train_probe(features: np.ndarray, targets: np.ndarray, config: ProbeConfig, seed: int,
                loss: LossFn = soft_cross_entropy,
                on_epoch: Callable[[int, LinearProbe], None] | None = None) -> LinearProbe:
    """Fit a linear head on ``features`` to soft ``targets`` ([n, classes], rows sum to 1).

    Deterministic for a given seed on a given machine: the shuffling generator and the
    zero-initialised head depend on nothing else. FLOPs (6 × head parameters per example
    seen) and examples seen go to the compute meter. ``on_epoch(epoch, probe)`` sees a
    snapshot of the head after each epoch (early stopping picks one of them).
    """
    features = np.asarray(features, dtype=np.float32)
    targets = np.asarray(targets, dtype=np.float32)
    if features.ndim != 2 or targets.ndim != 2 or len(features) != len(targets):
        raise ValueError(f"train_probe: features {features.shape} and targets {targets.shape} "
                         "must be [n, dim] and [n, classes]")
    mean, scale = standardizer(features)
    if config.antisymmetric:
        mean = np.zeros_like(mean)
        scale = np.sqrt((np.asarray(features, np.float64) ** 2).mean(0)).astype(np.float32) \
            + np.float32(1e-6)
    x = torch.from_numpy((features - mean) / scale)
    y = torch.from_numpy(targets)
    head = torch.nn.Linear(x.shape[1], y.shape[1])
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    trained = (head.weight,) if config.antisymmetric else (head.weight, head.bias)
    head.bias.requires_grad_(not config.antisymmetric)
    optimizer = ProbeAdamW(trained, lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(seed)
    n = len(x)
    steps_per_epoch = max(1, -(-n // config.batch_size))
    total = config.epochs * steps_per_epoch
    step = 0
    linear = torch.nn.functional.linear
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, config.batch_size):
            idx = order[start:start + config.batch_size]
            logits = linear(x[idx], head.weight, head.bias)
            value = loss(logits, y[idx], step / total)
            number = value.item()
            if not math.isfinite(number):
                raise FloatingPointError(f"the training loss became {number} at step "
                                         f"{step + 1} of {total} (epoch {epoch + 1})")
            head.weight.grad = head.bias.grad = None
            value.backward()
            optimizer.step()
            step += 1
        if on_epoch is not None:
            on_epoch(epoch + 1, _snapshot(head, mean, scale))
    params = sum(p.numel() for p in head.parameters())
    compute.add_train(6.0 * params * n * config.epochs, n * config.epochs, params)
    return _snapshot(head, mean, scale)


class ProbeAdamW:
    """``torch.optim.AdamW``'s step (its single-tensor path, amsgrad off) written out for the
    probe's two tensors. The same tensor operations in the same order, so the same bits
    (``tests/test_probe_speed.py`` holds it to ``torch.optim.AdamW``), without the optimizer
    framework around them (hooks, profiler records, state look-ups), which cost more than
    the arithmetic on a 384 × 2 head: 470 steps took 0.24 s with it, 0.15 s without.
    """

    def __init__(self, params: tuple[torch.Tensor, ...], lr: float, weight_decay: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.params, self.lr, self.weight_decay, self.eps = params, lr, weight_decay, eps
        self.beta1, self.beta2 = betas
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format)
                        for p in params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format)
                           for p in params]
        self.steps = 0

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        beta1, beta2, lr = self.beta1, self.beta2, self.lr
        step_size = lr / (1 - beta1 ** self.steps)
        bias_correction2_sqrt = (1 - beta2 ** self.steps) ** 0.5
        for param, exp_avg, exp_avg_sq in zip(self.params, self.exp_avg, self.exp_avg_sq,
                                              strict=True):
            grad = param.grad
            if self.weight_decay != 0:
                param.mul_(1 - lr * self.weight_decay)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
            param.addcdiv_(exp_avg, denom, value=-step_size)


def _snapshot(head: torch.nn.Linear, mean: np.ndarray, scale: np.ndarray) -> LinearProbe:
    return LinearProbe(mean, scale, head.weight.detach().numpy().copy(),
                       head.bias.detach().numpy().copy())


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    out = np.zeros((len(labels), num_classes), dtype=np.float32)
    out[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)] = 1.0
    return out
