"""The beyond tables on the site, from hand-made records with known answers: in-distribution
and shifted PGR side by side with the replicates below the supervisor counted, PGR against
the best single supervisor and their average, pairwise accuracy, and the HTML and markdown
sections that show them."""

from __future__ import annotations

import pytest

from benchmark.kinds.weak_models import EnsembleScore
from benchmark.results.records import Metrics, PartScore, RunRecord, Setting
from benchmark.site.beyond import beyond_tables
from benchmark.site.build import build_site
from tests.site_records import make_record


def _rows(tables, kind: str) -> tuple:
    """The rows of one kind's table (its module writes it: benchmark.kinds)."""
    (table,) = [t for t in tables.kind_tables if t.kind == kind]
    return table.rows

def _with(record: RunRecord, metrics: Metrics, setting: Setting) -> RunRecord:
    return record.model_copy(update={"metrics": metrics, "setting": setting})


def beyond_records() -> list[RunRecord]:
    records = []
    for k, shifted_acc in enumerate([0.50, 0.62, 0.58]):      # weak .55 on the target
        base = make_record("shift", "naive", k, 0.5, suite="beyond")
        shifted = PartScore(n=100, accuracy=shifted_acc, pgr=(shifted_acc - 0.55) / 0.15,
                            weak_accuracy=0.55, ceiling_accuracy=0.70)
        records.append(_with(base, base.metrics.model_copy(update={"shifted": shifted}),
                             Setting(shift_target="tweets")))
    for k, best in enumerate(["tfidf", "tfidf", "layer1"]):
        base = make_record("several", "naive", k, 0.5, suite="beyond")
        score = EnsembleScore(best_supervisor=best, mean_accuracy=0.65,
                              pgr_vs_mean=(base.metrics.accuracy - 0.65) / 0.15)
        records.append(_with(base, base.metrics.model_copy(update={"ensemble": score}),
                             Setting(supervisors=["layer1", "tfidf"])))
    for k in range(2):
        base = make_record("pairs", "naive", k, 0.1 * (k + 1), suite="beyond")
        records.append(_with(base, base.metrics, Setting(pairwise=True)))
    return records


def test_the_three_tables_hold_the_known_answers():
    tables = beyond_tables(beyond_records())["beyond"]
    (shift,) = _rows(tables, "shift")
    assert shift.shifted_accuracy.mean == pytest.approx(0.5667, abs=1e-4)
    assert shift.below_weak == 1 and shift.n == 3                  # .50 < .55 once
    assert shift.over_weak.mean == pytest.approx(0.5667 - 0.55, abs=1e-4)
    # −.05, +.07, +.03 over three blocks: |sum| ≥ .05 in 6 of the 8 sign patterns
    assert shift.over_weak_p == pytest.approx(6 / 8)
    assert shift.pgr.mean == pytest.approx(0.5)                    # in distribution
    assert (shift.shifted_weak, shift.shifted_ceiling) == (pytest.approx(0.55),
                                                           pytest.approx(0.70))
    (several,) = _rows(tables, "weak_models")
    assert several.best == "tfidf" and several.supervisors == ("layer1", "tfidf")
    assert several.pgr_vs_best.mean == pytest.approx(0.5)
    assert several.pgr_vs_mean.mean == pytest.approx((0.7 - 0.65) / 0.15)
    assert several.vs_mean_p == pytest.approx(2 / 8)   # three equal positive blocks
    (pairs,) = _rows(tables, "pairwise")
    assert pairs.pgr.mean == pytest.approx(0.15) and pairs.n == 2


def test_the_site_and_the_markdown_show_them(tmp_path):
    build_site(beyond_records(), tmp_path, build_time="2026-01-01T00:00:00Z", git_commit="c")
    html = (tmp_path / "index.html").read_text()
    for heading in ("Distribution shift: in distribution and shifted, in the same run",
                    "Several weak supervisors", "Reward modelling: pairwise accuracy"):
        assert heading in html
    assert "0.550 / 0.700" in html and "1/3" in html and "tfidf 0.600" in html
    markdown = (tmp_path / "leaderboard.md").read_text()
    assert "### Distribution shift: in distribution and shifted" in markdown
    assert "| 1/3" in markdown


def test_a_re_frozen_tasks_old_runs_stay_out_of_the_tables_and_their_tests():
    """After a re-freeze (version 2) a method's version-1 runs are not the ranked ones: the
    tables, like the board, leave them out."""
    records = beyond_records()
    stale = [r.model_copy(update={"method": "stale"}) for r in records if r.task == "shift"]
    old = [s.model_copy(update={"provenance": s.provenance.model_copy(
        update={"task_version": 0, "weak_labels_sha256": f"old-{s.replicate}"})})
        for s in stale]
    tables = beyond_tables(records + old)["beyond"]
    assert {r.method for r in _rows(tables, "shift")} == {"naive"}


def test_a_replicate_whose_gap_is_under_two_standard_errors_is_left_out_of_each_pgr():
    """As on the board: a PGR divided by a gap of a few test examples is noise (here 10 and
    20), so the tables' PGR columns and the test against the average leave it out."""
    records = []
    for k, (ceiling, shifted_ceiling, mean) in enumerate(
            [(0.8, 0.70, 0.62), (0.8, 0.70, 0.62), (0.605, 0.552, 0.7995)]):
        base = make_record("shift", "naive", k, 0.5, suite="beyond")
        pgr = 10.0 if k == 2 else 0.5
        metrics = base.metrics.model_copy(update={
            "n_test": 4000, "ceiling_accuracy": ceiling, "pgr": pgr,
            "shifted": PartScore(n=3000, accuracy=0.60, pgr=20.0 if k == 2 else 0.3,
                                 weak_accuracy=0.55, ceiling_accuracy=shifted_ceiling)})
        records.append(_with(base, metrics, Setting(shift_target="tweets")))
        several = make_record("several", "naive", k, 0.5, suite="beyond")
        score = EnsembleScore(best_supervisor="tfidf", mean_accuracy=mean,
                              pgr_vs_mean=-30.0 if k == 2 else 0.4)
        records.append(_with(several, several.metrics.model_copy(update={
            "n_test": 4000, "ensemble": score}), Setting(supervisors=["layer1", "tfidf"])))
    tables = beyond_tables(records)["beyond"]
    (shift,) = _rows(tables, "shift")
    assert shift.pgr.mean == pytest.approx(0.5) and shift.shifted_pgr.mean == pytest.approx(0.3)
    assert shift.n == 3   # accuracies keep every replicate
    (several,) = _rows(tables, "weak_models")
    assert several.pgr_vs_mean.mean == pytest.approx(0.4)
    assert several.vs_mean_p == pytest.approx(2 / 4)   # two equal positive blocks
