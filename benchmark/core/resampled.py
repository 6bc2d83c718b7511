"""A suite's score under resampled split draws: intervals, rank distributions, split halves.

The score of a method is the mean over its tasks of the mean over its units (the board's
PGR). Blocks, not units, are resampled, each within its stratum (the blocks that hold the
same tasks), so the intervals cover split-draw noise on these tasks and nothing treats
units that share a draw as independent. Tasks stay fixed, as in the paired test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchmark.core.blocks import BlockLayout, half_splits, layout, resample_counts
from benchmark.core.metrics import Interval

DRAWS = 2000
SPLITS = 200


def scores(weights: np.ndarray, values: np.ndarray, tasks: np.ndarray) -> np.ndarray:
    """[draws, methods] mean over tasks of the ``weights``-weighted mean of each method's
    present units (``weights``: [draws, units]; NaN values: absent). A task a method has no
    weight on in a draw is left out of that draw's mean."""
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    total = np.zeros((weights.shape[0], values.shape[0]))
    counted = np.zeros_like(total)
    for task in np.unique(tasks):
        columns = tasks == task
        w = weights[:, columns]
        numerator = w @ filled[:, columns].T
        denominator = w @ present[:, columns].T.astype(float)
        has = denominator > 0
        total += np.where(has, numerator / np.where(has, denominator, 1.0), 0.0)
        counted += has
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counted > 0, total / counted, np.nan)


def _unit_counts(lay: BlockLayout, draws: int, seed: int) -> np.ndarray:
    """[draws, units]: each unit's weight, its block's count in a stratified resample."""
    return resample_counts(lay.block_stratum, lay.strata, draws, seed)[:, lay.unit_block]


def suite_intervals(values: np.ndarray, tasks: Sequence[str], blocks: Sequence[str],
                    level: float = 0.95, draws: int = DRAWS, seed: int = 0
                    ) -> list[Interval | None]:
    """Each method's score with a percentile interval over stratified block resamples
    (``Interval.n``: the method's units)."""
    task_array = np.asarray(tasks)
    lay = layout(list(tasks), list(blocks))
    point = scores(np.ones((1, values.shape[1])), values, task_array)[0]
    drawn = scores(_unit_counts(lay, draws, seed), values, task_array)
    tail = (1 - level) / 2
    out: list[Interval | None] = []
    for m in range(values.shape[0]):
        column = drawn[:, m][~np.isnan(drawn[:, m])]
        if np.isnan(point[m]) or not len(column):
            out.append(None)
            continue
        low, high = np.quantile(column, [tail, 1 - tail])
        out.append(Interval(float(point[m]), float(low), float(high),
                            int((~np.isnan(values[m])).sum())))
    return out


@dataclass(frozen=True)
class RankStability:
    """How firmly the order holds: the split-half rank correlation (median and 95% range
    over random halvings of each stratum's blocks), over all entries and over the contested
    ones (those the tests do not place at one rank: controls and clearly worse methods
    inflate the first), and each method's rank over block resamples (share at its observed
    rank, 95% range)."""

    split_half: float | None
    split_half_low: float | None
    split_half_high: float | None
    rank_share: dict[str, float]          # share of resamples at the observed rank
    rank_range: dict[str, tuple[int, int]]  # 2.5% and 97.5% quantiles of the rank
    draws: int
    splits: int
    contested: tuple[str, ...] = ()
    contested_split_half: tuple[float, float, float] | None = None   # median, low, high


def _ranks(score_rows: np.ndarray) -> np.ndarray:
    """1-based ranks of each row's methods, best (highest) first; ties broken by order."""
    order = np.argsort(-score_rows, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(score_rows.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, score_rows.shape[1] + 1)
    return ranks


def _spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Spearman correlation of two score matrices [rows, methods]."""
    ra, rb = _ranks(a).astype(float), _ranks(b).astype(float)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    return (ra * rb).sum(axis=1) / np.sqrt((ra ** 2).sum(axis=1) * (rb ** 2).sum(axis=1))


def _split_half(values: np.ndarray, tasks: np.ndarray, lay: BlockLayout, splits: int,
                 seed: int) -> tuple[float, float, float] | None:
    """Median and 95% range of the Spearman correlation between the orders two random halves
    of each stratum's blocks give (None: under three methods or no halves)."""
    halves = half_splits(lay.block_stratum, lay.strata, splits, seed)
    if values.shape[0] < 3 or not halves[:, 0].any():
        return None
    first = scores(halves[:, 0].astype(float)[:, lay.unit_block], values, tasks)
    second = scores(halves[:, 1].astype(float)[:, lay.unit_block], values, tasks)
    correlation = _spearman(np.nan_to_num(first, nan=-np.inf),
                            np.nan_to_num(second, nan=-np.inf))
    if np.isnan(correlation).all():
        return None
    low, mid, high = np.nanquantile(correlation, [0.025, 0.5, 0.975])
    return float(mid), float(low), float(high)


def rank_stability(methods: Sequence[str], values: np.ndarray, tasks: Sequence[str],
                   blocks: Sequence[str], draws: int = DRAWS, splits: int = SPLITS,
                   seed: int = 0, contested: Sequence[str] = ()) -> RankStability:
    """Rank stability of complete methods (``values`` [methods, units], NaN: no PGR; the
    observed order is by score, best first)."""
    task_array = np.asarray(tasks)
    lay = layout(list(tasks), list(blocks))
    observed = _ranks(scores(np.ones((1, values.shape[1])), values, task_array))[0]
    resampled = _ranks(np.nan_to_num(scores(_unit_counts(lay, draws, seed), values,
                                            task_array), nan=-np.inf))
    share = {m: float((resampled[:, i] == observed[i]).mean()) for i, m in enumerate(methods)}
    ranges = {m: (int(np.quantile(resampled[:, i], 0.025, method="lower")),
                  int(np.quantile(resampled[:, i], 0.975, method="higher")))
              for i, m in enumerate(methods)}
    every = _split_half(values, task_array, lay, splits, seed)
    rows = [i for i, m in enumerate(methods) if m in set(contested)]
    among = _split_half(values[rows], task_array, lay, splits, seed) if rows else None
    return RankStability(*(every or (None, None, None)), share, ranges, draws,
                         splits if every else 0, tuple(methods[i] for i in rows), among)
