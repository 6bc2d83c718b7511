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

# The method every "relative to" on the site and every default comparison is measured
# against: cross-entropy on the weak labels, the paper's baseline (``xent``).
REFERENCE_METHOD = "naive"


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(probs).argmax(axis=1) == np.asarray(labels)).mean())


def _binary_auroc(scores: np.ndarray, positives: np.ndarray) -> float | None:
    """AUROC of ``scores`` for ``positives`` from average ranks (Mann-Whitney U), ties half."""
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2)[inverse]  # 1-based average ranks
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auroc(probs: np.ndarray, labels: np.ndarray) -> float | None:
    """AUROC: of the class-1 probability with two classes; with K > 2 the macro average of
    the one-vs-rest AUROCs over the classes that occur (and do not make up every label).
    None when no class can be scored (the labels hold one class only).

    Computed exactly from average ranks (the Mann-Whitney U statistic), ties counted half.
    """
    labels = np.asarray(labels)
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] < 2:
        return None
    if probs.shape[1] == 2:
        return _binary_auroc(probs[:, 1], labels == 1)
    scores = [_binary_auroc(probs[:, c], labels == c) for c in range(probs.shape[1])]
    scored = [s for s in scores if s is not None]
    return float(np.mean(scored)) if scored else None


@dataclass(frozen=True)
class PGR:
    value: float | None
    reason: str = ""


ACCURACY_BOUNDS = (0.0, 1.0)


def pgr(student_accuracy: float, weak_accuracy: float, ceiling_accuracy: float) -> PGR:
    gap = ceiling_accuracy - weak_accuracy
    if not gap > 0:
        return PGR(None, f"undefined: ceiling {ceiling_accuracy:.4f} does not exceed weak "
                         f"accuracy {weak_accuracy:.4f}")
    return PGR((student_accuracy - weak_accuracy) / gap)


def pgr_auroc(student_auroc: float | None, weak_auroc: float | None,
              ceiling_auroc: float | None) -> float | None:
    """PGR on AUROC, as EleutherAI's w2s reports it: (student − weak) / (ceiling − weak) of
    the three AUROCs; None where one is missing or the ceiling's does not exceed the weak's."""
    if student_auroc is None or weak_auroc is None or ceiling_auroc is None:
        return None
    return pgr(student_auroc, weak_auroc, ceiling_auroc).value


def gap_se(weak_accuracy: float, ceiling_accuracy: float, n_test: int) -> float:
    """Standard error of one test accuracy, sqrt(p(1-p)/n), at p the mean of the two."""
    p = (weak_accuracy + ceiling_accuracy) / 2
    return math.sqrt(p * (1 - p) / max(n_test, 1))


def small_gap(weak_accuracy: float, ceiling_accuracy: float, n_test: int) -> bool:
    """The gap is under two standard errors of a test accuracy: a PGR divided by it is
    noise, so aggregates leave that replicate out."""
    return ceiling_accuracy - weak_accuracy < 2 * gap_se(weak_accuracy, ceiling_accuracy,
                                                         n_test)


def auroc_se(area: float, n_test: int) -> float:
    """Hanley & McNeil's (1982) standard error of an AUROC ``area`` on ``n_test`` rows taken
    as half positive, half negative."""
    pos = neg = max(n_test // 2, 1)
    q1, q2 = area / (2 - area), 2 * area * area / (1 + area)
    var = (area * (1 - area) + (pos - 1) * (q1 - area * area)
           + (neg - 1) * (q2 - area * area)) / (pos * neg)
    return math.sqrt(max(var, 0.0))


def small_auroc_gap(weak_auroc: float, ceiling_auroc: float, n_test: int) -> bool:
    """:func:`small_gap` for AUROC: the gap under two standard errors of an AUROC at the
    mean of the two."""
    se = auroc_se((weak_auroc + ceiling_auroc) / 2, n_test)
    return ceiling_auroc - weak_auroc < 2 * se


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int
    clipped: bool = False   # a Student-t interval cut at its quantity's bounds: a poor fit


@lru_cache(maxsize=256)
def _t_quantile(q: float, df: int) -> float:
    """Student's t quantile: ``scipy.stats.t.ppf(q, df)``, which is this very function
    (the same value to the last bit), without importing scipy.stats: that import is slow,
    and it would fall in the default job's serial tail, where the leaderboard is built."""
    from scipy.special import stdtrit

    return float(stdtrit(df, q))


def mean_ci(values: Sequence[float], level: float = 0.95,
            bounds: tuple[float, float] | None = None) -> Interval | None:
    """Mean with a Student-t interval (ddof=1); a single value gets a zero-width interval.
    ``bounds``: the quantity's range (an accuracy's [0, 1]); an interval that leaves it is
    cut there and marked ``clipped``, since the t-interval is then a poor fit."""
    data = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if len(data) == 0:
        return None
    mean = float(data.mean())
    if len(data) == 1:
        return Interval(mean, mean, mean, 1)
    half = float(_t_quantile(0.5 + level / 2, len(data) - 1) * data.std(ddof=1)
                 / math.sqrt(len(data)))
    low, high = mean - half, mean + half
    if bounds is not None and (low < bounds[0] or high > bounds[1]):
        return Interval(mean, max(low, bounds[0]), min(high, bounds[1]), len(data), True)
    return Interval(mean, low, high, len(data))


def accuracy_ci(values: Sequence[float], level: float = 0.95) -> Interval | None:
    """:func:`mean_ci` of accuracies, kept within [0, 1]."""
    return mean_ci(values, level, ACCURACY_BOUNDS)
