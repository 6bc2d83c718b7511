"""The site's protocol views: the gold-budget table and the agreement between regimes."""

from __future__ import annotations

import pytest

from benchmark.core.controls import Controls
from benchmark.results.records import Metrics
from benchmark.site.budget import budget_lines
from benchmark.site.exports import render_markdown
from benchmark.site.frame import record_rows
from benchmark.site.regimes import regime_agreement, spearman
from benchmark.site.standings import standings, suite_board
from tests.site_records import make_record


def _budgeted(task: str, method: str, k: int, pgr: float, n_gold: int, dataset: str = "d"):
    record = make_record(task, method, k, pgr, dataset=dataset)
    metrics = Metrics(**{**record.metrics.model_dump(), "n_test": 4000, "n_gold": n_gold,
                         "controls": Controls(weak_ceiling_accuracy=0.6 + n_gold / 10_000)})
    return record.model_copy(update={"metrics": metrics})


def test_the_budget_view_lines_up_one_pair_across_budgets() -> None:
    records = [_budgeted(f"t-g{n}", method, k, pgr, n)
               for n in (250, 1000) for method, pgr in (("naive", 0.2), ("best", 0.5))
               for k in range(3)]
    # another dataset's pair at one budget only: no line
    records += [_budgeted("other", m, k, 0.1, 500, dataset="e") for m in ("naive", "best")
                for k in range(3)]
    lines = budget_lines(suite_board("s", record_rows(records)))
    assert len(lines) == 1
    points = lines[0].points
    assert [p.n_gold for p in points] == [250, 1000]
    assert points[0].leader == "best" and points[0].leader_pgr.mean == pytest.approx(0.5)
    assert points[1].naive_pgr.mean == pytest.approx(0.2)
    # ceiling .8 − weak ceiling (.6 + n/10,000)
    assert points[0].capability_gap.mean == pytest.approx(0.175)
    assert points[1].capability_gap.mean == pytest.approx(0.1)


def test_spearman_on_worked_examples() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)


def _board_records(suite: str, order: list[float]) -> list:
    return [make_record(f"task-{t}", method, k, pgr + 0.01 * ((k * 7 + t) % 3), suite=suite)
            for t in range(2) for method, pgr in zip(("naive", "m1", "m2", "m3"), order,
                                                     strict=True)
            for k in range(6)]


def test_regime_agreement_pairs_a_finetune_suite_with_its_probe_suite() -> None:
    same = standings(record_rows(_board_records("x", [0.1, 0.2, 0.3, 0.4])
                                 + _board_records("x-finetune", [0.0, 0.15, 0.35, 0.5])))
    (agreement,) = regime_agreement(same)
    assert (agreement.probe_suite, agreement.finetune_suite) == ("x", "x-finetune")
    assert agreement.spearman == pytest.approx(1.0) and agreement.low > 0.5
    reversed_ = standings(record_rows(_board_records("x", [0.1, 0.2, 0.3, 0.4])
                                      + _board_records("x-finetune", [0.5, 0.35, 0.15, 0.0])))
    (against,) = regime_agreement(reversed_)
    assert against.spearman == pytest.approx(-1.0) and against.high < -0.5
    assert "Spearman ρ = -1.00" in render_markdown(reversed_)
