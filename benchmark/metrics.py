"""Accuracy, AUROC, PGR and confidence intervals.

PGR = (acc_w2s − acc_weak) / (acc_ceiling − acc_weak). When the ceiling does not exceed the
weak accuracy the gap is empty and PGR is undefined: it is returned as ``None`` with a reason,
never as a number (a tiny positive gap is allowed and gives large, honest values).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(probs).argmax(axis=1) == np.asarray(labels)).mean())


def auroc(probs: np.ndarray, labels: np.ndarray) -> float | None:
    """Binary AUROC of the class-1 probability; None when the labels hold one class only.

    Computed exactly from average ranks (the Mann-Whitney U statistic), ties counted half.
    """
    labels = np.asarray(labels)
    probs = np.asarray(probs)
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0 or probs.ndim != 2 or probs.shape[1] != 2:
        return None
    _, inverse, counts = np.unique(probs[:, 1], return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[inverse]  # 1-based average ranks
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass(frozen=True)
class PGR:
    value: float | None
    reason: str = ""


def pgr(student_accuracy: float, weak_accuracy: float, ceiling_accuracy: float) -> PGR:
    gap = ceiling_accuracy - weak_accuracy
    if not gap > 0:
        return PGR(None, f"undefined: ceiling {ceiling_accuracy:.4f} does not exceed weak "
                         f"accuracy {weak_accuracy:.4f}")
    return PGR((student_accuracy - weak_accuracy) / gap)


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int


@lru_cache(maxsize=256)
def _t_quantile(q: float, df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(q, df))


def mean_ci(values: Sequence[float], level: float = 0.95) -> Interval | None:
    """Mean with a Student-t interval (ddof=1); a single value gets a zero-width interval."""
    data = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if len(data) == 0:
        return None
    mean = float(data.mean())
    if len(data) == 1:
        return Interval(mean, mean, mean, 1)
    half = float(_t_quantile(0.5 + level / 2, len(data) - 1) * data.std(ddof=1)
                 / math.sqrt(len(data)))
    return Interval(mean, mean - half, mean + half, len(data))


def bootstrap_ci(groups: Sequence[Sequence[float]], level: float = 0.95, draws: int = 2000,
                 seed: int = 0) -> Interval | None:
    """CI of the mean of group means, resampling groups and values within each group.

    Groups are tasks and values their replicates, so the interval covers both which tasks
    are in the suite and replicate noise. Deterministic for a given seed. Vectorised (draws
    are processed in chunks of a bounded size), because a leaderboard build runs it once per
    method, suite and column.
    """
    arrays = [np.asarray([v for v in g if v is not None], dtype=float) for g in groups]
    arrays = [g for g in arrays if len(g)]
    if not arrays:
        return None
    lengths = np.array([len(g) for g in arrays])
    count, width = len(arrays), int(lengths.max())
    values = np.zeros((count, width))
    for row, g in enumerate(arrays):
        values[row, :len(g)] = g
    point = float(np.mean([g.mean() for g in arrays]))
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // (count * width))
    stats = []
    for start in range(0, draws, chunk):
        n = min(chunk, draws - start)
        picked = rng.integers(0, count, size=(n, count))            # which groups
        sizes = lengths[picked]                                      # their lengths
        within = (rng.random((n, count, width)) * sizes[..., None]).astype(np.int64)
        drawn = values[picked[..., None], within]                    # resampled values
        used = np.arange(width) < sizes[..., None]
        stats.append(((drawn * used).sum(-1) / sizes).mean(-1))
    alpha = (1 - level) / 2
    low, high = np.quantile(np.concatenate(stats), [alpha, 1 - alpha])
    return Interval(point, float(low), float(high), int(lengths.sum()))
