"""Paired comparisons of methods over shared (task, replicate) units, and the ranks they
support.

Every method of a suite runs on the same units (task × replicate: the same split draw and
weak labels), so two methods are compared on their per-unit differences, not on whether
their separate intervals overlap (a weak test). For a pair (a, b):

- **units**: the (task, replicate) units where both have a PGR; **difference**: the mean over
  their tasks of the mean over replicates of PGR_a − PGR_b (each task counts equally, as in
  the suite's score);
- **p-value**: a sign-flip (paired randomisation) test of that difference. Under the null
  that a and b are exchangeable on every unit, each unit's difference is as likely to have
  either sign; p is the share of sign patterns whose |difference| is at least the observed
  one: every pattern when there are at most ``EXACT_UNITS`` units, else ``draws`` seeded
  random ones (with the usual +1, so p is never 0). It needs no normality, but it does need
  units whose signs can flip independently under the null: units that share a split draw
  are one block (flipping them apart overstates the evidence), and units drawn from one
  pool share examples, which the test ignores. Tasks stay fixed (the suite's question is
  "better on these tasks"), and replicates are what varies;
- **family**: all pairs of ranked entries, Holm-corrected at ``alpha``, so every claim the
  board makes holds jointly at 95%. An entry's rank range runs from 1 + (entries
  significantly above it) to (entries not significantly below it).

The smallest detectable difference at 80% power uses the observed paired variance: the
pooled within-task variance of the per-unit differences, s², gives the standard error of the
difference se² = s² · Σ_t 1/(T² n_t), and MDE = (z₁₋α/₂ + z₀.₈) · se.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np

ALPHA = 0.05
POWER = 0.8
EXACT_UNITS = 12      # 4,096 sign patterns: enumerate them all
DRAWS = 10_000        # Monte Carlo sign patterns otherwise (more for large families)
MAX_DRAWS = 100_000


@dataclass(frozen=True)
class Units:
    """The per-unit PGRs of a suite: ``values[m, u]`` for method m on unit u (NaN: none)."""

    methods: tuple[str, ...]
    tasks: tuple[str, ...]          # the task of each unit
    values: np.ndarray


@dataclass(frozen=True)
class Comparison:
    better: str
    worse: str
    difference: float   # score(better) − score(worse) on their shared units, ≥ 0
    p_value: float
    p_holm: float
    significant: bool
    units: int
    se: float | None    # standard error of the difference (None with one replicate a task)


def pair_weights(tasks: np.ndarray, shared: np.ndarray) -> np.ndarray:
    """Weights w_u with Σ w_u d_u = mean over tasks of the mean over that task's shared
    replicates; zero off the shared units."""
    weights = np.zeros(len(tasks))
    names = np.unique(tasks[shared])
    for name in names:
        in_task = shared & (tasks == name)
        weights[in_task] = 1.0 / (len(names) * in_task.sum())
    return weights


def standard_error(differences: np.ndarray, tasks: np.ndarray) -> float | None:
    """se of the stratified mean difference from the pooled within-task variance."""
    names = np.unique(tasks)
    sizes = np.array([(tasks == t).sum() for t in names])
    dof = int((sizes - 1).sum())
    if dof == 0:
        return None
    squares = sum(float(((differences[tasks == t] - differences[tasks == t].mean()) ** 2).sum())
                  for t in names)
    return math.sqrt(squares / dof * float((1.0 / (len(names) ** 2 * sizes)).sum()))


@lru_cache(maxsize=16)
def sign_patterns(units: int, draws: int, seed: int = 0) -> np.ndarray:
    """±1 patterns [patterns, units]: all 2^units of them when few, else ``draws`` random."""
    if units <= EXACT_UNITS:
        codes = np.arange(2 ** units)[:, None] >> np.arange(units) & 1
        patterns = 1.0 - 2.0 * codes
    else:
        rng = np.random.default_rng(seed)
        patterns = 1.0 - 2.0 * rng.integers(0, 2, size=(draws, units))
    patterns.setflags(write=False)
    return patterns


def _p_values(flipped: np.ndarray, observed: np.ndarray, exact: bool) -> np.ndarray:
    """p per column from flipped statistics [patterns, pairs] and observed [pairs]."""
    tolerance = 1e-9 * np.maximum(np.abs(observed), 1e-12)  # ties count as extreme
    extreme = (np.abs(flipped) >= np.abs(observed) - tolerance).sum(axis=0)
    if exact:
        return extreme / flipped.shape[0]
    return (extreme + 1) / (flipped.shape[0] + 1)


def sign_flip_p(differences: np.ndarray, weights: np.ndarray, draws: int = DRAWS,
                seed: int = 0) -> float:
    """Two-sided sign-flip p-value of Σ w_u d_u (units with weight 0 are left out)."""
    keep = weights > 0
    a = (weights * differences)[keep]
    patterns = sign_patterns(int(keep.sum()), draws, seed)
    return float(_p_values(patterns @ a[:, None], np.array([a.sum()]),
                           keep.sum() <= EXACT_UNITS)[0])


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


def _complete_pairs(values: np.ndarray, tasks: np.ndarray, draws: int, seed: int
                    ) -> dict[tuple[int, int], tuple[float, float, int, float | None]]:
    """Every pair of methods that have all units, in one pass per row.

    The flipped scores of all methods come from one product, laid out one method per row
    so that each row's pairs are counted over contiguous memory, in float32 and into reused
    buffers (3–4× faster than columns; near-ties within float32's rounding count as extreme,
    which only makes p larger). Standard errors come from the Gram matrix of the within-task
    centred values: ‖c_a − c_b‖² = ‖c_a‖² + ‖c_b‖² − 2 c_a·c_b.
    """
    methods, n = values.shape
    weights = pair_weights(tasks, np.ones(n, bool))
    exact = n <= EXACT_UNITS
    patterns = sign_patterns(n, draws, seed)
    scores = values @ weights
    flipped = (values * weights) @ patterns.T              # [methods, patterns], rows contiguous
    if not exact:
        flipped = flipped.astype(np.float32)
    names, task_index = np.unique(tasks, return_inverse=True)
    sizes = np.bincount(task_index)
    dof = int((sizes - 1).sum())
    onehot = (task_index == np.arange(len(names))[:, None]).astype(float)   # [tasks, units]
    centred = values - ((values @ onehot.T) / sizes)[:, task_index]
    gram = centred @ centred.T
    scale = float((1.0 / (len(names) ** 2 * sizes)).sum()) / dof if dof else 0.0
    buffer = np.empty_like(flipped)
    extreme_buffer = np.empty(flipped.shape, bool)
    out = {}
    for a in range(methods - 1):
        observed = scores[a] - scores[a + 1:]
        rest = slice(0, methods - a - 1)
        diff = np.subtract(flipped[a + 1:], flipped[a], out=buffer[rest])   # −(a − b): |·| same
        if exact:
            p = _p_values(diff.T, observed, True)
        else:
            limit = (np.abs(observed) * (1 - 1e-5)).astype(np.float32)[:, None]
            extreme = np.greater_equal(np.abs(diff, out=diff), limit, out=extreme_buffer[rest])
            p = (np.count_nonzero(extreme, axis=1) + 1) / (flipped.shape[1] + 1)
        squares = np.maximum(gram[a, a] + np.diag(gram)[a + 1:] - 2 * gram[a, a + 1:], 0.0)
        for k, b in enumerate(range(a + 1, methods)):
            se = math.sqrt(float(squares[k]) * scale) if dof else None
            out[(a, b)] = (float(observed[k]), float(p[k]), n, se)
    return out


def compare_all(units: Units, alpha: float = ALPHA, seed: int = 0) -> list[Comparison]:
    """Every pair of ``units.methods``, tested and Holm-corrected as one family."""
    tasks = np.asarray(units.tasks)
    values = units.values
    pairs = list(combinations(range(len(units.methods)), 2))
    draws = family_draws(len(pairs), alpha)
    present = ~np.isnan(values)
    complete = [m for m in range(len(units.methods)) if present[m].all()]
    results: dict[tuple[int, int], tuple[float, float, int, float | None]] = {}
    if len(complete) >= 2:  # the usual case: one set of units, every pair from one product
        for (i, j), entry in _complete_pairs(values[complete], tasks, draws, seed).items():
            results[(complete[i], complete[j])] = entry
    for a, b in pairs:
        if (a, b) in results:
            continue
        shared = present[a] & present[b]
        if not shared.any():
            results[(a, b)] = (0.0, 1.0, 0, None)
            continue
        d = np.where(shared, values[a] - values[b], 0.0)
        weights = pair_weights(tasks, shared)
        results[(a, b)] = (float(weights @ d), sign_flip_p(d, weights, draws, seed),
                           int(shared.sum()), standard_error(d[shared], tasks[shared]))
    adjusted = holm([results[pair][1] for pair in pairs])
    out = []
    for (a, b), p_holm in zip(pairs, adjusted, strict=True):
        diff, p, n, se = results[(a, b)]
        better, worse = (a, b) if diff >= 0 else (b, a)
        out.append(Comparison(units.methods[better], units.methods[worse], abs(diff), p,
                              p_holm, p_holm < alpha, n, se))
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


def minimum_detectable(comparisons: list[Comparison], alpha: float = ALPHA,
                       power: float = POWER) -> float | None:
    """The smallest difference a typical pair of this suite detects with ``power`` at level
    ``alpha``: (z₁₋α/₂ + z_power) × the median standard error over the pairs. The normal
    quantiles are scipy.special's ``ndtri``, which ``scipy.stats.norm.ppf`` calls (the
    same bits), without the 0.5 s import of scipy.stats in the leaderboard's build."""
    from scipy.special import ndtri

    errors = [c.se for c in comparisons if c.se is not None]
    if not errors:
        return None
    return float((ndtri(1 - alpha / 2) + ndtri(power)) * np.median(errors))
