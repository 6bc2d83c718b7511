"""Building blocks that W2S losses share: soft cross-entropy, hardening, coefficient ramps.

They live in the harness package (not in one baseline) because baselines and submissions
alike compose them: the confidence loss, its entropy variant and adaptive confidence all
harden the student's prediction; logconf and entropy share a ramp. Each is a plain tensor
function with its formula in the docstring, checked on worked examples in the tests.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from benchmark.training.probe import soft_cross_entropy

Loss = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]

__all__ = ["soft_cross_entropy", "per_example_cross_entropy", "harden_keep_prior",
           "harden_keep_shares", "harden_argmax", "linear_ramp", "openai_logconf_coefficient",
           "class1_prior", "class_shares", "confidence_margin", "whole_batch", "with_conflict"]


def whole_batch(values: torch.Tensor) -> torch.Tensor:
    """``values`` of every data-parallel rank's share of the batch, concatenated (detached).

    Under data parallelism each rank's loss sees its own share of a global batch; a
    statistic of the batch (a hardening threshold, the weak labels' class-1 share) must be
    taken over all of it, as one process would (openai/weak-to-strong hardens over the
    whole batch). Outside an initialised process group this is ``values`` itself.
    """
    import torch.distributed as dist

    values = values.detach()
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return values
    world = dist.get_world_size()
    size = torch.tensor([values.shape[0]], device=values.device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    longest = int(max(s.item() for s in sizes))
    padded = torch.zeros((longest, *values.shape[1:]), dtype=values.dtype, device=values.device)
    padded[:values.shape[0]] = values
    shares = [torch.zeros_like(padded) for _ in range(world)]
    dist.all_gather(shares, padded)  # shares may differ by one row: pad, gather, trim
    return torch.cat([share[:int(n.item())] for share, n in zip(shares, sizes, strict=True)])


def per_example_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """CE_i = −Σ_c targets[i, c] · log softmax(logits)[i, c], shape ``[n]``."""
    return -(targets * torch.log_softmax(logits, dim=-1)).sum(-1)


def class1_prior(weak_probs: torch.Tensor) -> torch.Tensor:
    """The weak labels' class-1 share over the whole batch (all data-parallel ranks)."""
    return whole_batch(weak_probs[:, 1]).mean()


def harden_keep_prior(probs: torch.Tensor, prior: torch.Tensor | float) -> torch.Tensor:
    """One-hot labels from binary ``probs`` that keep a class-1 share of ``prior``.

    Burns et al.'s hardening: t = quantile of p_0 over the batch at level ``prior``; an
    example is class 1 where p_0 < t, class 0 otherwise. So roughly a ``prior`` fraction of
    the batch is hardened to class 1 whatever the student's calibration (a plain argmax
    would let a student that drifted towards one class confirm its own drift). Under data
    parallelism the quantile is taken over every rank's share (:func:`whole_batch`).
    """
    if probs.ndim != 2 or probs.shape[1] != 2:
        raise ValueError(f"hardening needs binary probabilities [n, 2], got {tuple(probs.shape)}")
    p0 = probs[:, 0].detach()
    level = torch.as_tensor(prior, dtype=p0.dtype).clamp(0.0, 1.0)
    threshold = torch.quantile(whole_batch(p0), level)
    class1 = p0 < threshold
    return torch.stack([~class1, class1], dim=1).to(probs.dtype)


def class_shares(weak_probs: torch.Tensor) -> torch.Tensor:
    """Each class's share of the weak labels over the whole batch (all ranks): [K]."""
    return whole_batch(weak_probs).mean(0)


def harden_keep_shares(probs: torch.Tensor, shares: torch.Tensor) -> torch.Tensor:
    """One-hot labels that keep each class's ``shares`` of the batch: the K-class form of
    :func:`harden_keep_prior` (two classes go through it unchanged).

    With K > 2 there is no single threshold, so the argmax is kept where it fits: every
    (example, class) pair in order of falling probability takes its class while the class
    has room (quota ``round(share · n)``, the rounding spread by largest remainder) and the
    example is free. Each class ends with its quota, and an example the student is sure of
    keeps its argmax unless its class is already full. Not for data-parallel training with
    K > 2 (the quotas would be per rank): that is refused.
    """
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(f"hardening needs probabilities [n, K], got {tuple(probs.shape)}")
    if probs.shape[1] == 2:
        return harden_keep_prior(probs, shares[1])
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        raise NotImplementedError("share-keeping hardening of K > 2 classes under data "
                                  "parallelism; train on one process")
    p = probs.detach()
    n, k = p.shape
    wanted = shares.detach().to(torch.float64).clamp(min=0) * n
    quota = wanted.floor().long()
    short = n - int(quota.sum())
    if short > 0:
        quota[torch.argsort(wanted - quota, descending=True, stable=True)[:short]] += 1
    order = torch.argsort(p.reshape(-1), descending=True, stable=True).tolist()
    room, chosen = quota.tolist(), [-1] * n
    for flat in order:
        row, cls = divmod(flat, k)
        if chosen[row] < 0 and room[cls] > 0:
            chosen[row], room[cls] = cls, room[cls] - 1
    return torch.nn.functional.one_hot(torch.tensor(chosen), k).to(probs.dtype)


def confidence_margin(probs):
    """How far each row's top class stands above uniform: |p₁ − ½| with two classes (the
    binary originals' margin), max_c p_c − 1/K with K. Numpy arrays or tensors."""
    k = probs.shape[1]
    if isinstance(probs, torch.Tensor):
        return (probs[:, 1] - 0.5).abs() if k == 2 else probs.max(-1).values - 1.0 / k
    import numpy as np

    probs = np.asarray(probs)
    return np.abs(probs[:, 1] - 0.5) if k == 2 else probs.max(1) - 1.0 / k


def harden_argmax(probs: torch.Tensor) -> torch.Tensor:
    """One-hot of each row's most probable class (ties go to the lower class)."""
    return torch.nn.functional.one_hot(probs.detach().argmax(-1), probs.shape[-1]).to(probs.dtype)


def linear_ramp(progress: float, peak: float, warmup_fraction: float) -> float:
    """``peak · min(1, progress / warmup_fraction)``: the paper's confidence-loss schedule."""
    if warmup_fraction <= 0:
        return float(peak)
    return float(peak) * min(1.0, progress / warmup_fraction)


def openai_logconf_coefficient(progress: float, peak: float = 0.5, jump_at: float = 0.1
                               ) -> float:
    """The released openai/weak-to-strong schedule: ``peak · (s if s ≤ jump_at else 1)``.

    With the released values (peak 0.5, jump at 0.1) it ramps to 0.05 and then jumps to 0.5:
    not the paper's ramp (openai/weak-to-strong PR #33), offered for exact reproduction of
    the released code.
    """
    return float(peak) * (progress if progress <= jump_at else 1.0)


def with_conflict(loss: Loss, reward_class: int, weight: float) -> Loss:
    """``loss`` plus the deception analog's conflicting objective: a reward of
    ``weight`` × log p(``reward_class``) per example, i.e.
    L = loss(logits, targets, progress) − weight · mean_i log softmax(logits_i)[reward_class].
    With cross-entropy on a weak soft label q for that class the optimum is
    p = (q + weight) / (1 + weight): the student drifts toward the class most where its
    supervisor is least sure."""

    def conflicted(logits: torch.Tensor, targets: torch.Tensor, progress: float
                   ) -> torch.Tensor:
        reward = torch.log_softmax(logits.float(), dim=-1)[:, reward_class].mean()
        return loss(logits, targets, progress) - weight * reward

    return conflicted
