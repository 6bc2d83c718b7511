"""Blocks, the runs that share a split draw, are the unit of every test and interval."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.core.blocks import (
    block_sums,
    half_splits,
    layout,
    resample_counts,
    smallest_p,
    split_draw_sha256,
    stratified_variance,
)
from benchmark.core.paired import Units, compare_all, family, sign_flip_p
from benchmark.core.resampled import rank_stability, suite_intervals
from benchmark.site.frame import record_rows
from benchmark.site.standings import standings
from tests.site_records import make_record


def test_a_split_draw_is_named_by_its_ids_not_by_order_or_task() -> None:
    ids = {"A": ["a1", "a2"], "B": ["b1"], "test": ["t2", "t1"], "U": []}
    same = {"test": ["t1", "t2"], "B": ["b1"], "A": ["a2", "a1"]}
    assert split_draw_sha256("rt", ids) == split_draw_sha256("rt", same)
    assert split_draw_sha256("rt", ids) != split_draw_sha256("tweets", ids)
    moved = {"A": ["a1"], "B": ["b1", "a2"], "test": ["t1", "t2"]}
    assert split_draw_sha256("rt", ids) != split_draw_sha256("rt", moved)


def test_blocks_group_by_draw_and_strata_by_the_tasks_they_hold() -> None:
    # legacy design: three tasks share each replicate's draw; 4 replicates
    tasks = ["t1", "t2", "t3"] * 4
    blocks = [f"r{k}" for k in range(4) for _ in range(3)]
    lay = layout(tasks, blocks)
    assert (lay.blocks, lay.strata) == (4, 1)
    # own draws: each (task, replicate) is a block; strata are the tasks
    lay = layout(tasks, [f"{t}/{k}" for k, t in enumerate(tasks)])
    assert (lay.blocks, lay.strata) == (12, 3)
    assert list(lay.stratum_sizes) == [4, 4, 4]


def test_unit_level_flipping_claims_what_block_level_flipping_refuses() -> None:
    """Three tasks share each of five split draws, and method a beats b on every unit. As
    15 independent units the exact test gives p = 2/2^15 and separates them; as the 5 blocks
    they are, no sign pattern can go below 2/2^5 = .0625."""
    tasks = tuple(t for _ in range(5) for t in ("t1", "t2", "t3"))
    blocks = tuple(f"draw-{k}" for k in range(5) for _ in range(3))
    a = np.array([0.30 + 0.01 * u for u in range(15)])
    b = a - 0.05
    as_units = compare_all(Units(("a", "b"), tasks, np.stack([a, b])))
    as_blocks = compare_all(Units(("a", "b"), tasks, np.stack([a, b]), blocks))
    assert as_units[0].p_value == pytest.approx(2 / 2 ** 15) and as_units[0].significant
    assert as_blocks[0].p_value == pytest.approx(2 / 2 ** 5)
    assert not as_blocks[0].significant and as_blocks[0].blocks == 5
    assert as_blocks[0].difference == pytest.approx(0.05)


def test_the_block_sign_flip_p_value_on_a_worked_example() -> None:
    """Block sums 3, 1, −1 (weights 1): of the 8 patterns, |sum| ≥ 3 for (+,+,+), (+,+,−)
    → 3, ... enumerated: sums are ±3, ±1, ±5, ±3 → |·| ≥ 3 in 6 of 8."""
    d = np.array([1.0, 2.0, 1.0, -1.0])
    blocks = np.array([0, 0, 1, 2])
    assert sign_flip_p(d, np.ones(4), blocks) == pytest.approx(6 / 8)
    # every unit its own block: sums 1, 2, 1, −1 → observed 3; |·| ≥ 3 in 8 of 16 patterns
    patterns = [np.array(s) for s in np.ndindex(2, 2, 2, 2)]
    extreme = sum(abs(((1 - 2 * p) * d).sum()) >= 3 for p in patterns)
    assert sign_flip_p(d, np.ones(4)) == pytest.approx(extreme / 16)


def test_the_stratified_variance_is_the_familiar_formula_in_both_designs() -> None:
    rng = np.random.default_rng(0)
    # own draws, 2 tasks × 6 replicates: Σ_t s_t² / (T² n)
    d = rng.normal(0, 1, 12)
    tasks = np.repeat(["t1", "t2"], 6)
    weights = np.full(12, 1 / (2 * 6))
    lay = layout(list(tasks), [f"u{u}" for u in range(12)])
    sums = block_sums(weights * d, lay.unit_block, lay.blocks)
    variance = stratified_variance(sums, lay.block_stratum, lay.strata)
    expected = sum(d[tasks == t].var(ddof=1) for t in ("t1", "t2")) / (4 * 6)
    assert float(variance) == pytest.approx(expected)
    # shared draws, 2 tasks in each of 6 blocks: the variance of the 6 block totals × 6
    lay = layout(list(np.tile(["t1", "t2"], 6)), [f"r{k}" for k in range(6) for _ in range(2)])
    totals = (weights * d).reshape(6, 2).sum(axis=1)
    variance = stratified_variance(totals, lay.block_stratum, lay.strata)
    assert float(variance) == pytest.approx(6 * totals.var(ddof=1))
    # a stratum of one block: nothing estimates its variance, so its square stands in
    # for it (E[x²] ≥ var x: an upper bound, never a vanished se)
    assert float(stratified_variance(np.array([0.5, 2.0]), np.array([0, 1]), 2)) == \
        pytest.approx(0.25 + 4.0)


def test_the_family_says_when_the_blocks_are_too_few_to_separate_anything() -> None:
    assert smallest_p(10) == pytest.approx(2 / 1024)
    tasks = tuple(t for _ in range(10) for t in ("t1", "t2"))
    blocks = tuple(f"draw-{k}" for k in range(10) for _ in range(2))
    rng = np.random.default_rng(1)
    values = rng.normal(0.3, 0.1, (12, 20)) + np.arange(12)[:, None] * 0.05
    methods = tuple(f"m{i}" for i in range(12))
    comparisons = compare_all(Units(methods, tasks, values, blocks))
    tested = family(comparisons)
    assert (tested.pairs, tested.blocks) == (66, 10)
    assert tested.threshold == pytest.approx(0.05 / 66)
    assert not tested.can_separate and tested.detectable is None
    assert not any(c.significant for c in comparisons)   # 11 × 0.05 apart, yet none


def test_the_detectable_difference_is_taken_at_the_corrected_level() -> None:
    from scipy import stats

    rng = np.random.default_rng(2)
    tasks = tuple(np.repeat(["t1", "t2"], 40))
    values = rng.normal(0.3, 0.1, (3, 80))
    comparisons = compare_all(Units(("a", "b", "c"), tasks, values))
    tested = family(comparisons)
    z = stats.norm.ppf(1 - 0.05 / 3 / 2) + stats.norm.ppf(0.8)
    assert tested.detectable == pytest.approx(z * float(np.median([c.se for c in comparisons])))


def test_suite_intervals_resample_blocks_within_strata() -> None:
    # task t1 is constant across draws, t2 varies: resampled means stay within the data
    tasks = ["t1"] * 5 + ["t2"] * 5
    blocks = [f"b{u}" for u in range(10)]
    values = np.array([[0.5] * 5 + [0.1, 0.2, 0.3, 0.4, 0.5]])
    (interval,) = suite_intervals(values, tasks, blocks)
    assert interval.mean == pytest.approx((0.5 + 0.3) / 2)
    assert (0.5 + 0.1) / 2 <= interval.low < interval.mean < interval.high <= (0.5 + 0.5) / 2
    counts = resample_counts(layout(tasks, blocks).block_stratum, 2, 50, 0)
    assert (counts[:, :5].sum(axis=1) == 5).all() and (counts[:, 5:].sum(axis=1) == 5).all()


def test_rank_stability_of_a_clear_order_and_of_a_coin_toss() -> None:
    rng = np.random.default_rng(3)
    tasks = list(np.repeat(["t1", "t2"], 20))
    blocks = [f"b{u}" for u in range(40)]
    clear = np.array([[1.0], [0.5], [0.0]]) + rng.normal(0, 0.01, (3, 40))
    stable = rank_stability(("a", "b", "c"), clear, tasks, blocks)
    assert stable.split_half == pytest.approx(1.0) and stable.rank_share["a"] == 1.0
    assert stable.rank_range["b"] == (2, 2)
    noise = rng.normal(0, 1, (4, 40))
    shaky = rank_stability(("a", "b", "c", "d"), noise, tasks, blocks)
    assert shaky.split_half < 0.9 and min(shaky.rank_share.values()) < 0.9
    halves = half_splits(layout(tasks, blocks).block_stratum, 2, 5, 0)
    assert not (halves[:, 0] & halves[:, 1]).any() and (halves.sum(axis=2) == 20).all()


def test_the_board_tests_over_the_blocks_its_records_name() -> None:
    """The same PGRs on a board: as own draws, a separates from b; when the records say
    their three tasks shared each of four draws, it cannot, and the board says why."""
    def records(shared: bool):
        out = []
        for k in range(4):
            for t in ("t1", "t2", "t3"):
                split = f"draw-{k}" if shared else "own"
                base = 0.3 + 0.01 * k + 0.02 * int(t[1])
                out += [make_record(t, "a", k, base + 0.1, split=split),
                        make_record(t, "b", k, base, split=split)]
        return out

    (own,) = standings(record_rows(records(shared=False)))
    (shared,) = standings(record_rows(records(shared=True)))
    assert own.family.blocks == 12 and own.comparisons[0].significant
    assert shared.family.blocks == 4 and not shared.comparisons[0].significant
    assert shared.family.smallest_p == pytest.approx(2 / 16) and not shared.family.can_separate
    # records written before they kept their draw fall back to one block per dataset × replicate
    old = [make_record(t, m, k, p, split=None) for t in ("t1", "t2") for k in range(3)
           for m, p in (("a", 0.4), ("b", 0.3))]
    (legacy,) = standings(record_rows(old))
    assert legacy.family.blocks == 3
    assert math.isclose(legacy.comparisons[0].difference, 0.1)


def test_the_board_says_what_its_blocks_allow_in_words() -> None:
    from benchmark.site.inference import blocks_needed, family_text

    assert blocks_needed(100, 0.1) == 400   # se ∝ 1/sqrt(blocks): (0.1 / 0.05)² × 100
    records = []
    for k in range(4):
        for t in ("t1", "t2"):
            records += [make_record(t, m, k, 0.3 + 0.01 * k + s, split=f"draw-{k}")
                        for m, s in (("naive", 0.0), ("a", 0.1), ("b", 0.2))]
    (board,) = standings(record_rows(records))
    words = family_text(board)
    assert "4 blocks (split draws) holding 8 (task, replicate) units" in words.test
    assert "cannot separate any pair" in words.reach and "0.12" in words.reach


def test_blocks_from_the_committed_frozen_splits() -> None:
    """On the real frozen tasks: a shift task is in its plain twin's block (same A, B and
    test; the target is a further draw), a conflict task in its honest twin's, and mini's
    tasks and replicates are all blocks of their own."""
    from benchmark.labels.frozen import load_weak_labels
    from benchmark.run.scoring import split_draw
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.suites import SUITES

    def draw(task: str, k: int) -> str:
        spec = TASKS.get(task)
        return split_draw(spec, load_weak_labels(spec, k))

    assert draw("rt-tfidf-logreg-to-minilm-l6-shift-tweets", 3) == \
        draw("rt-ensemble-to-minilm-l6", 3) != draw("rt-ensemble-to-minilm-l6", 4)
    assert draw("tweets-tfidf-logreg-to-minilm-l6-g1000-conflict", 7) == \
        draw("tweets-tfidf-logreg-to-minilm-l6-g1000", 7)
    mini = [draw(t, k) for t in SUITES.get("mini").tasks for k in range(3)]
    assert len(set(mini)) == len(mini)


def test_old_and_new_records_of_one_draw_never_split_it_in_two() -> None:
    """Two tasks share each replicate's draw; one was re-run (its records name the draw),
    the other was not (they name none). Taken apart they would be 8 blocks; the board puts
    every unit of a dataset's replicate with an old record in the coarse block: 4."""
    records = []
    for k in range(4):
        for m, p in (("a", 0.4), ("b", 0.3)):
            records.append(make_record("new", m, k, p + 0.01 * k, split=f"draw-{k}"))
            records.append(make_record("old", m, k, p + 0.02 * k, split=None))
    (board,) = standings(record_rows(records))
    assert board.family.blocks == 4


def test_a_unit_without_a_pgr_keeps_its_block_in_its_stratum() -> None:
    """Three tasks share each of eight draws; one unit has a gap too small for a PGR. Its
    block stays in the design's single stratum (a stratum of its own would have no
    variance, and every standard error would vanish)."""
    tasks = tuple(t for _ in range(8) for t in ("t1", "t2", "t3"))
    blocks = tuple(f"draw-{k}" for k in range(8) for _ in range(3))
    rng = np.random.default_rng(4)
    values = rng.normal(0.3, 0.1, (2, 24))
    values[:, 5] = np.nan
    (c,) = compare_all(Units(("a", "b"), tasks, values, blocks))
    assert c.se is not None and c.blocks == 8 and c.units == 23


def test_a_block_with_no_data_is_no_observation_in_the_variance() -> None:
    """Own draws, one task of six blocks, one without a PGR: the se is the five present
    blocks' s/√5, not a variance inflated by a zero standing in for the missing block."""
    d = np.array([0.1, 0.3, 0.2, 0.4, 0.0, np.nan])
    values = np.stack([d, np.where(np.isnan(d), np.nan, 0.0)])
    (c,) = compare_all(Units(("a", "b"), ("t",) * 6, values, tuple(f"b{u}" for u in range(6))))
    assert c.se == pytest.approx(np.std(d[:5], ddof=1) / np.sqrt(5)) and c.blocks == 5
