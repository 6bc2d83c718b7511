"""Paired comparisons of methods over shared (task, replicate) units, tested over blocks.

Every method of a suite runs on the same units (task × replicate: the same split draw and
weak labels), so two methods are compared on their per-unit differences, not on whether
their separate intervals overlap (a weak test). Units that share a split draw are one
*block* (:mod:`benchmark.core.blocks`): the block, never the unit, is what varies
independently. For a pair (a, b):

- **units**: the (task, replicate) units where both have a PGR; **difference**: the mean over
  their tasks of the mean over replicates of PGR_a − PGR_b (each task counts equally, as in
  the suite's score);
- **p-value**: a sign-flip (paired randomisation) test over blocks. Under the null that a
  and b are exchangeable within every block, each block's contribution to the difference is
  as likely to have either sign; all units of a block flip together. p is the share of sign
  patterns whose |difference| is at least the observed one: counted over every pattern when
  there are at most ``EXACT_BLOCKS`` blocks (the two halves' sums enumerated apart and
  matched by sorting, so the smallest p is exactly 2 / 2^blocks), else over ``draws``
  seeded random ones (with the usual +1, so p is never 0). Tasks stay fixed (the suite's question
  is "better on these tasks"); split draws are what varies;
- **family**: all pairs of ranked entries, Holm-corrected at ``alpha``, so every claim the
  board makes holds jointly at 95%. An entry's rank range runs from 1 + (entries
  significantly above it) to (entries not significantly below it).

The standard error of a difference is the stratified block variance: blocks that hold the
same tasks are independent draws of one cell, so se² = Σ_strata n_s · var_s(block sums).
The smallest detectable difference at 80% power is taken at the family's corrected level
(Holm's first threshold, alpha / pairs): (z₁₋α/(2m) + z₀.₈) · se; where the blocks are too
few for any p to reach that level there is none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np

from benchmark.core.blocks import block_sums, layout, smallest_p, stratified_variance

ALPHA = 0.05
POWER = 0.8
EXACT_BLOCKS = 30     # up to 2^30 sign patterns, counted exactly by meeting in the middle
DRAWS = 10_000        # Monte Carlo sign patterns otherwise (more for large families)
MAX_DRAWS = 100_000


@dataclass(frozen=True)
class Units:
    """The per-unit PGRs of a suite: ``values[m, u]`` for method m on unit u (NaN: none);
    ``blocks[u]``: the split draw unit u was measured on."""

    methods: tuple[str, ...]
    tasks: tuple[str, ...]          # the task of each unit
    values: np.ndarray
    blocks: tuple[str, ...] = ()    # empty: every unit its own block

    def block_names(self) -> tuple[str, ...]:
        if self.blocks:
            if len(self.blocks) != len(self.tasks):
                raise ValueError(f"Units: {len(self.blocks)} block names for "
                                 f"{len(self.tasks)} units")
            return self.blocks
        return tuple(f"unit-{u}" for u in range(len(self.tasks)))


@dataclass(frozen=True)
class Comparison:
    better: str
    worse: str
    difference: float   # score(better) − score(worse) on their shared units, ≥ 0
    p_value: float
    p_holm: float
    significant: bool
    units: int
    se: float | None    # standard error of the difference (None: a stratum of one block)
    blocks: int = 0     # the independent split draws the test flipped


@dataclass(frozen=True)
class Family:
    """What a suite's family of tests can say at all: its blocks, the smallest p an exact
    test over them reaches, Holm's strictest threshold, and the detectable difference."""

    pairs: int
    blocks: int
    smallest_p: float
    threshold: float
    detectable: float | None

    @property
    def can_separate(self) -> bool:
        return self.pairs > 0 and self.smallest_p <= self.threshold


def pair_weights(tasks: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """Weights w_u with Σ w_u d_u = mean over tasks of the mean over that task's shared
    replicates; zero off the shared units."""
    weights = np.zeros(len(tasks))
    names = np.unique(tasks[shared])
    for name in names:
        in_task = shared & (tasks == name)
        weights[in_task] = 1.0 / (len(names) * in_task.sum())
    return weights


@lru_cache(maxsize=16)
def sign_patterns(count: int, draws: int, seed: int = 0) -> np.ndarray:
    """``draws`` seeded random ±1 patterns [draws, count] (Monte Carlo past exact counting)."""
    rng = np.random.default_rng(seed)
    patterns = 1.0 - 2.0 * rng.integers(0, 2, size=(draws, count))
    patterns.setflags(write=False)
    return patterns


@lru_cache(maxsize=32)
def all_signs(count: int) -> np.ndarray:
    """Every ±1 pattern of ``count`` signs [2^count, count]."""
    codes = np.arange(2 ** count)[:, None] >> np.arange(count) & 1
    patterns = 1.0 - 2.0 * codes
    patterns.setflags(write=False)
    return patterns


def _half_sums(values: np.ndarray) -> np.ndarray:
    """Σ ± values over all 2^len sign patterns."""
    return all_signs(len(values)) @ values


def exact_p(sums: np.ndarray) -> float:
    """Two-sided exact sign-flip p of Σ sums: the share of all 2^n sign patterns with
    |Σ ± sums| ≥ |Σ sums| (ties count as extreme), by enumerating each half's 2^(n/2) sums
    and counting the matching ones of the other half among its sorted sums."""
    sums = np.asarray(sums, dtype=float)
    observed = abs(float(sums.sum()))
    limit = observed - 1e-9 * max(observed, 1e-12)
    half = len(sums) // 2
    left, right = _half_sums(sums[:half]), np.sort(_half_sums(sums[half:]))
    above = len(right) - np.searchsorted(right, limit - left, side="left")   # l + r ≥ limit
    below = np.searchsorted(right, -limit - left, side="right")              # l + r ≤ −limit
    both = np.minimum(above + below, len(right))   # a zero statistic: every pattern counts
    return float(both.sum()) / (len(left) * len(right))


def _p_values(flipped: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Monte Carlo p per column from flipped statistics [patterns, pairs] and observed."""
    tolerance = 1e-9 * np.maximum(np.abs(observed), 1e-12)  # ties count as extreme
    extreme = (np.abs(flipped) >= np.abs(observed) - tolerance).sum(axis=0)
    return (extreme + 1) / (flipped.shape[0] + 1)


def block_p(sums: np.ndarray, draws: int = DRAWS, seed: int = 0) -> float:
    """Two-sided sign-flip p of Σ sums over blocks: exact up to ``EXACT_BLOCKS``, else
    Monte Carlo."""
    sums = np.asarray(sums, dtype=float)
    if len(sums) <= EXACT_BLOCKS:
        return exact_p(sums)
    patterns = sign_patterns(len(sums), draws, seed)
    return float(_p_values(patterns @ sums[:, None], np.array([sums.sum()]))[0])


def sign_flip_p(differences: np.ndarray, weights: np.ndarray, blocks: np.ndarray | None = None,
                draws: int = DRAWS, seed: int = 0) -> float:
    """Two-sided sign-flip p-value of Σ w_u d_u, flipping whole blocks (``blocks[u]``: the
    block index of unit u; None: every unit its own block). Units of weight 0 are left out."""
    keep = weights > 0
    contributions = (weights * differences)[keep]
    if blocks is None:
        sums = contributions
    else:
        _, index = np.unique(np.asarray(blocks)[keep], return_inverse=True)
        sums = np.bincount(index, contributions)
    return block_p(sums, draws, seed)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for step, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - step) * p_values[i]))
        adjusted[i] = running
    return adjusted


def family_draws(pairs: int, alpha: float = ALPHA) -> int:
    """Enough Monte Carlo patterns that the smallest attainable p, 1/(draws+1), is well
    below Holm's strictest threshold alpha/pairs (bounded by ``MAX_DRAWS``)."""
    return int(min(MAX_DRAWS, max(DRAWS, math.ceil(2 * pairs / alpha))))


def _tested(values: np.ndarray, tasks: np.ndarray, blocks: np.ndarray, draws: int, seed: int
            ) -> dict[tuple[int, int], tuple[float, float, int, float | None, int]]:
    """Every pair of methods (rows of ``values``, NaN where a method has no PGR).

    The layout (blocks, and strata: the blocks holding the same tasks) is the design's, from
    every unit, so a unit without a PGR (a small gap) leaves its block in its stratum with a
    zero weight rather than making a stratum of its own. A pair's statistic is over the
    units both have; its blocks are those holding any of them."""
    methods, _ = values.shape
    lay = layout(list(tasks), list(blocks))
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    common = present.all(axis=0)
    if (present == common).all():   # one set of units: every pair from one product
        weights = pair_weights(tasks, common)
        sums = block_sums(filled * weights, lay.unit_block, lay.blocks)   # [methods, blocks]
        kept = block_sums(weights, lay.unit_block, lay.blocks) > 0
        out = {}
        for (a, b), p in _pair_p_values(sums[:, kept], draws, seed).items():
            variance = stratified_variance(sums[a] - sums[b], lay.block_stratum, lay.strata,
                                           kept)
            se = None if variance is None else math.sqrt(max(float(variance), 0.0))
            out[(a, b)] = (float(sums[a].sum() - sums[b].sum()), p, int(common.sum()), se,
                           int(kept.sum()))
        return out
    out = {}
    for a, b in combinations(range(methods), 2):
        shared = present[a] & present[b]
        if not shared.any():
            out[(a, b)] = (0.0, 1.0, 0, None, 0)
            continue
        weights = pair_weights(tasks, shared)
        d = block_sums((filled[a] - filled[b]) * weights, lay.unit_block, lay.blocks)
        kept = block_sums(weights, lay.unit_block, lay.blocks) > 0
        variance = stratified_variance(d, lay.block_stratum, lay.strata, kept)
        se = None if variance is None else math.sqrt(max(float(variance), 0.0))
        out[(a, b)] = (float(d.sum()), block_p(d[kept], draws, seed), int(shared.sum()), se,
                       int(kept.sum()))
    return out


def _pair_p_values(sums: np.ndarray, draws: int, seed: int) -> dict[tuple[int, int], float]:
    """p of every pair of rows of block sums [methods, blocks]: exact per pair when the
    blocks are few, else one Monte Carlo product for all, laid out one method per row so
    each row's pairs are counted over contiguous memory, in float32 into reused buffers
    (faster than columns; near-ties within float32's rounding count as extreme)."""
    methods, count = sums.shape
    if count <= EXACT_BLOCKS:
        return {(a, b): exact_p(sums[a] - sums[b]) for a, b in combinations(range(methods), 2)}
    patterns = sign_patterns(count, draws, seed)
    flipped = (sums @ patterns.T).astype(np.float32)                 # [methods, patterns]
    scores = sums.sum(axis=1)
    buffer = np.empty_like(flipped)
    extreme_buffer = np.empty(flipped.shape, bool)
    out = {}
    for a in range(methods - 1):
        observed = scores[a] - scores[a + 1:]
        rest = slice(0, methods - a - 1)
        diff = np.subtract(flipped[a + 1:], flipped[a], out=buffer[rest])   # −(a − b): |·| same
        limit = (np.abs(observed) * (1 - 1e-5)).astype(np.float32)[:, None]
        extreme = np.greater_equal(np.abs(diff, out=diff), limit, out=extreme_buffer[rest])
        p = (np.count_nonzero(extreme, axis=1) + 1) / (flipped.shape[1] + 1)
        for k, b in enumerate(range(a + 1, methods)):
            out[(a, b)] = float(p[k])
    return out


def compare_all(units: Units, alpha: float = ALPHA, seed: int = 0) -> list[Comparison]:
    """Every pair of ``units.methods``, tested over blocks and Holm-corrected as one family."""
    pairs = list(combinations(range(len(units.methods)), 2))
    results = _tested(units.values, np.asarray(units.tasks), np.asarray(units.block_names()),
                      family_draws(len(pairs), alpha), seed)
    adjusted = holm([results[pair][1] for pair in pairs])
    out = []
    for (a, b), p_holm in zip(pairs, adjusted, strict=True):
        diff, p, n, se, count = results[(a, b)]
        better, worse = (a, b) if diff >= 0 else (b, a)
        out.append(Comparison(units.methods[better], units.methods[worse], abs(diff), p,
                              p_holm, p_holm < alpha, n, se, count))
    return out


def rank_ranges(order: list[str], comparisons: list[Comparison]) -> dict[str, tuple[int, int]]:
    """(best, worst) rank each entry of ``order`` (best first) can claim given the family."""
    above = {m: 0 for m in order}
    below = {m: 0 for m in order}
    for c in comparisons:
        if c.significant:
            above[c.worse] += 1
            below[c.better] += 1
    return {m: (1 + above[m], len(order) - below[m]) for m in order}


def normal_quantile(q: float) -> float:
    """scipy.special's ``ndtri``, which ``scipy.stats.norm.ppf`` calls (the same bits),
    without the slow import of scipy.stats in the leaderboard's build."""
    from scipy.special import ndtri

    return float(ndtri(q))


def minimum_detectable(comparisons: list[Comparison], alpha: float = ALPHA,
                       power: float = POWER) -> float | None:
    """The smallest difference a typical pair of this family detects with ``power`` at the
    family's corrected level alpha / pairs: (z₁₋α/(2m) + z_power) × the median standard
    error over the pairs. None when there is no se, or no p can reach that level."""
    return family(comparisons, alpha, power).detectable


def family(comparisons: list[Comparison], alpha: float = ALPHA, power: float = POWER
           ) -> Family:
    """What the family of ``comparisons`` can separate at all (see :class:`Family`)."""
    pairs = len(comparisons)
    blocks = min((c.blocks for c in comparisons if c.units), default=0)
    threshold = alpha / pairs if pairs else alpha
    lowest = smallest_p(blocks) if blocks else 1.0
    if blocks > EXACT_BLOCKS:   # Monte Carlo: the draws bound the smallest p too
        lowest = max(lowest, 1.0 / (family_draws(pairs, alpha) + 1))
    errors = [c.se for c in comparisons if c.se is not None]
    detectable = None
    if errors and lowest <= threshold:
        detectable = detectable_at(float(np.median(errors)), threshold, power)
    return Family(pairs, blocks, lowest, threshold, detectable)


def detectable_at(se: float, level: float, power: float = POWER) -> float:
    """The difference a two-sided test at ``level`` detects with ``power`` given its se."""
    return (normal_quantile(1 - level / 2) + normal_quantile(power)) * se
