"""The paired procedure behind the leaderboard's ranks, on worked examples with known
answers (:mod:`benchmark.core.paired`)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from benchmark.core.paired import (
    Units,
    compare_all,
    holm,
    minimum_detectable,
    pair_weights,
    rank_ranges,
    sign_flip_p,
)


def test_sign_flip_p_enumerates_small_cases_exactly() -> None:
    one_task = np.ones(3) / 3
    # ±1 ±2 ±3: |sum| ≥ 6 for 2 of the 8 sign patterns
    assert sign_flip_p(np.array([1.0, 2.0, 3.0]), one_task) == 0.25
    # five units all favouring one method cannot reach p < .05: 2 of 32 patterns
    assert sign_flip_p(np.ones(5), np.ones(5) / 5) == 2 / 32
    assert sign_flip_p(np.ones(6), np.ones(6) / 6) == 2 / 64
    # a zero difference is never significant
    assert sign_flip_p(np.zeros(4), np.ones(4) / 4) == 1.0


def test_exact_counting_matches_brute_force_and_monte_carlo_matches_it() -> None:
    from benchmark.core.paired import exact_p

    rng = np.random.default_rng(1)
    d = rng.normal(0.3, 1.0, 14)
    w = np.ones(14) / 14
    observed = abs(d @ w)
    brute = np.mean([abs(np.array(s) @ (d * w)) >= observed - 1e-12
                     for s in itertools.product((1, -1), repeat=14)])
    assert sign_flip_p(d, w) == pytest.approx(brute, rel=1e-12)   # met in the middle
    many = rng.normal(0.1, 1.0, 34)   # past EXACT_BLOCKS: 10,000 random patterns, sd ~ .005
    assert sign_flip_p(many, np.ones(34) / 34) == pytest.approx(exact_p(many / 34), abs=0.02)


def test_tasks_weigh_equally_whatever_their_replicates() -> None:
    tasks = np.array(["a", "b", "b", "b"])
    assert pair_weights(tasks, np.ones(4, bool)).tolist() == pytest.approx(
        [1 / 2, 1 / 6, 1 / 6, 1 / 6])
    # units one method lacks drop out, and the weights re-normalise over what is shared
    assert pair_weights(tasks, np.array([False, True, True, False])).tolist() == \
        pytest.approx([0, 1 / 2, 1 / 2, 0])


def test_holm_step_down_on_a_worked_example() -> None:
    # sorted .005 .01 .03 .04 → ×4 ×3 ×2 ×1 = .02 .03 .06 .04 → running max .02 .03 .06 .06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.02, 0.3]) == pytest.approx([0.04, 0.3])
    assert holm([0.5, 0.9]) == [1.0, 1.0]  # running max: never below an earlier step


def test_standard_error_is_the_stratified_variance_over_blocks() -> None:
    """Each unit its own block, tasks a (2 units) and b (3): se² = (1/T²) Σ_t s_t² / n_t =
    (1/4) (2/2 + 0/3), so se = 0.5 (each task's own variance, not a pooled one)."""
    d = np.array([1.0, 3.0, 2.0, 2.0, 2.0])
    (c,) = compare_all(Units(("a", "b"), ("a", "a", "b", "b", "b"), np.stack([d, 0 * d])))
    assert c.se == pytest.approx(0.5) and c.blocks == 5
    (one,) = compare_all(Units(("a", "b"), ("a", "b"), np.array([[1.0, 2.0], [0.0, 0.0]])))
    # strata of one block each: their squares bound the variance, (1/2)² + (2/2)²
    assert one.se == pytest.approx(math.sqrt(0.25 + 1.0))


def test_family_ranks_and_minimum_detectable_difference() -> None:
    tasks = tuple(t for t in "abcd" for _ in range(4))
    rng = np.random.default_rng(0)
    base = rng.normal(0, 0.5, 16)
    noise = rng.normal(0, 0.05, 16)
    values = np.array([base + 0.3, base + noise, base - noise, base - 0.3])
    comparisons = compare_all(Units(("w", "x", "y", "z"), tasks, values))
    assert len(comparisons) == 6
    significant = {(c.better, c.worse) for c in comparisons if c.significant}
    assert significant == {("w", "x"), ("w", "y"), ("w", "z"), ("x", "z"), ("y", "z")}
    ranges = rank_ranges(["w", "x", "y", "z"], comparisons)
    assert ranges == {"w": (1, 1), "x": (2, 3), "y": (2, 3), "z": (4, 4)}
    # 16 blocks: exact, so every p-value is at least 2/2^16, and Holm never lowers one
    assert all(2 / 2 ** 16 <= c.p_value <= c.p_holm <= 1 for c in comparisons)
    mde = minimum_detectable(comparisons)
    errors = sorted(c.se for c in comparisons)
    z = 2.638257 + 0.841621   # z at 1 − .05/(2 · 6 pairs), Holm's first level, and z.8
    assert mde == pytest.approx(z * np.median(errors), rel=1e-5)


def test_pairs_with_missing_units_use_what_they_share() -> None:
    values = np.array([[0.5, 0.5, 0.5, np.nan], [0.1, 0.1, 0.1, 0.9]])
    (c,) = compare_all(Units(("a", "b"), ("t", "t", "u", "u"), values))
    # shared: t (2 units, mean .4) and u (1 unit, .4): difference .4 on 3 units
    assert (c.better, c.units) == ("a", 3) and c.difference == pytest.approx(0.4)
    assert c.p_value == 2 / 8  # three positive units: exact enumeration
