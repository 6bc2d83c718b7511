"""The frontier tables on the site, from hand-made records with known answers: per-slice
means, conflict runs paired with their twin's runs of the same replicate and weak labels
(and not with other labels), elicited shares, and the HTML section that shows them."""

from __future__ import annotations

import pytest

from benchmark.kinds.sandbag import Elicitation
from benchmark.results.records import (
    Diagnostics,
    Metrics,
    PartScore,
    Region,
    RunRecord,
    Setting,
)
from benchmark.site.build import build_site
from benchmark.site.frontier import frontier_tables
from tests.site_records import make_record


def _rows(tables, kind: str) -> tuple:
    """The rows of one kind's table (a kind's table lives in its module: benchmark.kinds)."""
    (table,) = [t for t in tables.kind_tables if t.kind == kind]
    return table.rows


def _with(record: RunRecord, **update) -> RunRecord:
    return record.model_copy(update=update)


def _diag(deception: float, weak_known_acc: float) -> Diagnostics:
    region = Region(share=0.25, student_accuracy=weak_known_acc)
    return Diagnostics(agreement=0.5, fixed=0.5, copied=0.5, kept=0.5, misfit=0.1,
                       weak_error=0.4, student_error=0.3, gain=0.1,
                       regions={"sk_wk": region, "su_wk": region,
                                "sk_wu": Region(share=0.25, student_accuracy=1 - deception),
                                "su_wu": Region(share=0.25, student_accuracy=0.5)},
                       deception_error=deception, deception_share=0.5)


def _part(acc: float, pgr: float) -> PartScore:
    return PartScore(n=10, accuracy=acc, pgr=pgr, weak_accuracy=0.4, ceiling_accuracy=0.8)


def frontier_records() -> list[RunRecord]:
    records = []
    for k, (slice_acc, acc) in enumerate([(0.5, 0.7), (0.6, 0.9)]):
        base = make_record("blind", "naive", k, 0.5, suite="frontier")
        metrics = base.metrics.model_copy(update={"parts": {
            "slice": _part(slice_acc, (slice_acc - 0.4) / 0.4),
            "complement": _part(acc, (acc - 0.4) / 0.4)}})
        records.append(_with(base, metrics=metrics,
                             setting=Setting(slice="negation", supervisor="blind-flip")))
    for k in range(3):
        labels = f"shared-{k}"
        honest = make_record("honest", "naive", k, 0.5, suite="frontier", weak_sha=labels)
        records.append(_with(honest, diagnostics=_diag(0.2, 0.9)))
        conflict = make_record("conflicted", "naive", k, 0.2, suite="frontier",
                               weak_sha=labels)
        records.append(_with(conflict, diagnostics=_diag(0.2 + 0.1 * (k + 1), 0.8),
                             setting=Setting(conflict_class="pos", conflict_weight=0.5,
                                             compare_with="honest")))
    # the twin's run of another weak-label set must not be paired
    records.append(_with(make_record("honest", "naive", 3, 0.5, suite="frontier",
                                     weak_sha="other"), diagnostics=_diag(0.9, 0.1)))
    records.append(_with(make_record("conflicted", "naive", 3, 0.2, suite="frontier",
                                     weak_sha="mine"), diagnostics=_diag(0.0, 0.1),
                         setting=Setting(conflict_class="pos", conflict_weight=0.5,
                                         compare_with="honest")))
    for k, acc in enumerate([0.6, 0.7]):
        base = make_record("locked", "naive", k, 0.0, suite="frontier")
        metrics = Metrics(accuracy=acc, pgr=0.0, weak_accuracy=0.5, ceiling_accuracy=0.8,
                          elicitation=Elicitation(locked_accuracy=0.5, unlocked_accuracy=0.9,
                                                  share=(acc - 0.5) / 0.4))
        records.append(_with(base, metrics=metrics, setting=Setting(sandbag=True)))
    return records


def test_the_three_tables_hold_the_known_answers():
    tables = frontier_tables(frontier_records())["frontier"]
    (blind,) = _rows(tables, "slice")
    assert blind.accuracy["slice"].mean == pytest.approx(0.55)
    assert blind.accuracy["complement"].mean == pytest.approx(0.8)
    assert blind.pgr["slice"].mean == pytest.approx(((0.1 + 0.2) / 0.4) / 2)
    (conflict,) = _rows(tables, "conflict")
    assert conflict.pairs == 3                      # replicate 3's labels differ: unpaired
    assert conflict.deception_delta.mean == pytest.approx(0.2)      # +.1, +.2, +.3
    assert conflict.deception_without.mean == pytest.approx(0.2)
    assert conflict.weak_known_delta.mean == pytest.approx(-0.1)
    assert conflict.accuracy_delta.mean == pytest.approx(0.2 * (0.2 - 0.5))
    (locked,) = _rows(tables, "sandbag")
    assert locked.share.mean == pytest.approx(0.375) and locked.n == 2
    assert (locked.locked, locked.unlocked) == (0.5, 0.9)


def test_the_site_shows_them_in_the_suite_section(tmp_path):
    records = frontier_records()
    build_site(records, tmp_path, build_time="2026-01-01T00:00:00Z", git_commit="c")
    html = (tmp_path / "index.html").read_text()
    for heading in ("Blind spots: scored on the slice and on the rest",
                    "Class-reward drift: regions with and without a class reward",
                    "Sandbagging students: how much of the hidden capability each method"):
        assert heading in html
    assert "0.375" in html and "0.500 → 0.900" in html
    markdown = (tmp_path / "leaderboard.md").read_text()
    assert "### Sandbagging students: elicitation" in markdown
    assert "0.500 → 0.900" in markdown and "| 0.650 [" in markdown   # mean accuracy
    plain = [r for r in records if r.setting is None]
    build_site(plain, tmp_path / "plain", build_time="2026-01-01T00:00:00Z", git_commit="c")
    assert "Frontier" not in (tmp_path / "plain" / "index.html").read_text()


def test_a_blind_spot_is_a_paired_test_over_blocks_not_two_intervals() -> None:
    """Slice PGR below the rest by 0.2 ± 0.05 in each of six runs: the paired slice − rest
    interval excludes 0 and the exact sign-flip p is 2/2^6; with two runs of one shared
    draw the same gap is one block and cannot be tested at all."""
    def run(task: str, k: int, gap: float, split: str = "own") -> RunRecord:
        base = make_record(task, "naive", k, 0.5, suite="frontier", split=split)
        metrics = base.metrics.model_copy(update={"parts": {
            "slice": _part(0.6, 0.5 - gap), "complement": _part(0.7, 0.5)}})
        return _with(base, metrics=metrics,
                     setting=Setting(slice="negation", supervisor="keywords"))

    gaps = [0.15, 0.25, 0.2, 0.18, 0.22, 0.2]
    records = [run("kw", k, g) for k, g in enumerate(gaps)]
    records += [run("kw-shared", k, 0.2, split="one-draw") for k in range(2)]
    rows = {r.task: r for r in _rows(frontier_tables(records)["frontier"], "slice")}
    tested = rows["kw"]
    assert tested.gap.mean == pytest.approx(-0.2) and tested.gap.high < 0
    assert tested.blocks == 6 and tested.p_value == pytest.approx(2 / 2 ** 6)
    assert tested.p_holm == pytest.approx(min(1.0, 2 * 2 / 2 ** 6))   # Holm over two rows
    shared = rows["kw-shared"]
    assert shared.blocks == 1 and shared.p_value == pytest.approx(1.0)


def test_a_part_whose_gap_is_a_few_examples_has_no_pgr_in_the_slice_table() -> None:
    """Three runs; in the third the slice's weak .600 and ceiling .605 on 500 examples (a
    gap of under two standard errors) give a slice PGR of −40: it is left out of the slice
    mean and of the paired test, as the board leaves small gaps out."""
    def run(k: int, ceiling: float, slice_pgr: float) -> RunRecord:
        base = make_record("kw", "naive", k, 0.5, suite="frontier")
        parts = {"slice": PartScore(n=500, accuracy=0.5, pgr=slice_pgr, weak_accuracy=0.6,
                                    ceiling_accuracy=ceiling),
                 "complement": PartScore(n=1500, accuracy=0.7, pgr=0.5, weak_accuracy=0.6,
                                         ceiling_accuracy=0.8)}
        return _with(base, metrics=base.metrics.model_copy(update={"parts": parts}),
                     setting=Setting(slice="negation", supervisor="keywords"))

    records = [run(0, 0.8, 0.3), run(1, 0.8, 0.1), run(2, 0.605, -40.0)]
    (row,) = _rows(frontier_tables(records)["frontier"], "slice")
    assert row.pgr["slice"].mean == pytest.approx(0.2) and row.blocks == 2
    assert row.gap.mean == pytest.approx(-0.3)
    assert row.n == 3   # accuracies keep every run


def test_a_locked_student_is_paired_with_its_honest_twin_per_block() -> None:
    """Six blocks: the locked student ends .05 below its twin in each, and elicits .2 of the
    hidden gap in each; both are sign-flip tests over the six blocks (smallest two-sided p
    2/2^6), Holm over the table's two tests."""
    records = []
    for k in range(6):
        labels = f"shared-{k}"
        twin = make_record("honest-ft", "naive", k, 0.5, suite="f", weak_sha=labels)
        records.append(_with(twin, metrics=twin.metrics.model_copy(
            update={"accuracy": 0.70 + 0.01 * k})))
        base = make_record("locked", "naive", k, 0.0, suite="f", weak_sha=labels)
        acc = 0.65 + 0.01 * k
        metrics = Metrics(accuracy=acc, pgr=0.0, weak_accuracy=0.5, ceiling_accuracy=0.8,
                          elicitation=Elicitation(locked_accuracy=acc - 0.08,
                                                  unlocked_accuracy=acc + 0.2, share=0.2))
        records.append(_with(base, metrics=metrics,
                             setting=Setting(sandbag=True, compare_with="honest-ft")))
    (row,) = _rows(frontier_tables(records)["f"], "sandbag")
    assert row.blocks == 6 and row.honest_delta.mean == pytest.approx(-0.05)
    assert row.short_of_unlocked.mean == pytest.approx(-0.2)  # accuracy − (acc + .2)
    assert row.share_p == pytest.approx(2 / 64) and row.delta_p == pytest.approx(2 / 64)
    assert row.short_p == pytest.approx(2 / 64)
    # Holm over the three: the smallest is tripled, none may fall below an earlier one
    assert (row.short_holm, row.share_holm, row.delta_holm) == pytest.approx((6 / 64,) * 3)
