from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmark.core.metrics import accuracy, auroc, mean_ci, pgr


def test_pgr_worked_examples() -> None:
    # weak 0.60, ceiling 0.80: a student at 0.70 recovers half of the 0.20 gap.
    assert pgr(0.70, 0.60, 0.80).value == pytest.approx(0.5)
    assert pgr(0.65, 0.60, 0.80).value == pytest.approx(0.25)
    assert pgr(0.80, 0.60, 0.80).value == pytest.approx(1.0)
    assert pgr(0.90, 0.60, 0.80).value == pytest.approx(1.5)   # beats the ceiling
    assert pgr(0.55, 0.60, 0.80).value == pytest.approx(-0.25)  # worse than its supervisor


@pytest.mark.parametrize("ceiling", [0.6, 0.59])
def test_pgr_is_undefined_when_there_is_no_gap(ceiling: float) -> None:
    result = pgr(0.7, 0.6, ceiling)
    assert result.value is None
    assert "undefined" in result.reason and "0.6000" in result.reason


def test_accuracy_uses_argmax() -> None:
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert accuracy(probs, np.array([0, 1, 1])) == pytest.approx(2 / 3)


def test_auroc_equals_pairwise_definition_with_ties() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 40)
    scores = np.round(rng.random(40), 1)  # many ties
    pos, neg = scores[labels == 1], scores[labels == 0]
    pairs = [(1.0 if p > n else 0.5 if p == n else 0.0) for p, n in itertools.product(pos, neg)]
    expected = sum(pairs) / len(pairs)
    assert auroc(np.c_[1 - scores, scores], labels) == pytest.approx(expected)
    assert auroc(np.c_[1 - scores, scores], np.ones(40, dtype=int)) is None


def test_mean_ci_student_t() -> None:
    interval = mean_ci([1.0, 2.0, 3.0])
    # t(0.975, df=2) = 4.3027; sd = 1; half-width = 4.3027 / sqrt(3)
    assert interval.mean == pytest.approx(2.0)
    assert interval.high - interval.mean == pytest.approx(4.302653 / np.sqrt(3), rel=1e-5)
    assert mean_ci([]) is None
    single = mean_ci([0.4])
    assert (single.low, single.high) == (0.4, 0.4)


def test_the_t_quantile_is_scipy_stats_to_the_last_bit() -> None:
    """The site's intervals use scipy.special.stdtrit (a lighter import than scipy.stats);
    every published interval must stay what t.ppf gave."""
    from scipy import stats

    from benchmark.core.metrics import _t_quantile

    for df in (1, 2, 3, 4, 5, 7, 9, 19, 29, 99, 999):
        for q in (0.5, 0.9, 0.95, 0.975, 0.995):
            assert _t_quantile(q, df) == float(stats.t.ppf(q, df)), (q, df)


def test_the_minimum_detectable_difference_uses_scipy_stats_normal_quantiles() -> None:
    from scipy import stats

    from benchmark.core.paired import ALPHA, POWER, Comparison, minimum_detectable

    comparisons = [Comparison("a", "b", 0.1, 0.01, 0.03, True, 8, se, blocks=8)
                   for se in (0.01, 0.03, 0.02)]
    z = stats.norm.ppf(1 - ALPHA / 3 / 2) + stats.norm.ppf(POWER)   # Holm's first level
    assert minimum_detectable(comparisons) == float(z * 0.02)


def test_an_accuracy_interval_never_leaves_0_1_and_says_when_it_was_cut() -> None:
    """Five replicates of a 5-class task once gave a t-interval of [0.688, 1.056]: accuracy
    intervals are cut at their bounds and marked as a poor fit, others left as they are."""
    from benchmark.core.metrics import accuracy_ci, mean_ci

    values = [0.80, 0.99, 1.0, 0.70, 0.95]
    plain = mean_ci(values)
    assert plain.high > 1.0 and not plain.clipped
    cut = accuracy_ci(values)
    assert (cut.low, cut.high, cut.mean) == (plain.low, 1.0, plain.mean) and cut.clipped
    inside = accuracy_ci([0.70, 0.72, 0.71])
    assert not inside.clipped and inside == mean_ci([0.70, 0.72, 0.71])
