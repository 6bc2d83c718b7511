"""A method card says what a method uses beyond the weak labels (test inputs, extra data or
models, gold for tuning, compute): every baseline declares it, a submission must, the record
keeps it, and the board marks it, filterably, from records alone; the board can rank on
AUROC-PGR and plots training curves on method pages."""

from __future__ import annotations

import re

import pytest

from benchmark.core.method_card import Uses
from benchmark.results.records import MethodInfo, TrainingCurve
from benchmark.site.build import build_site
from tests.site_records import make_record


def test_every_reference_baseline_declares_what_it_uses() -> None:
    from benchmark.methods.catalog import METHODS, is_baseline, method_card

    baselines = [n for n in METHODS.names() if is_baseline(n)]
    assert len(baselines) >= 29
    undeclared = [n for n in baselines if method_card(n).uses is None]
    assert undeclared == []
    marks = {n: method_card(n).uses.marks() for n in baselines}
    assert marks["prior-match"] == ["transductive", "extra_data"]
    assert marks["bootstrap"] == ["extra_models"]
    assert marks["naive"] == [] and marks["logconf-openai-schedule"] == []


def test_a_submission_must_state_every_use(tiny_world) -> None:
    from benchmark.core.errors import SpecError
    from benchmark.methods.submissions import load_submission_meta
    from tests.conftest import PLAIN_USES

    folder = tiny_world.add_submission("terse", None, {"uses": None})
    with pytest.raises(SpecError, match="missing required key `uses`"):
        load_submission_meta(folder)
    partial = {k: v for k, v in PLAIN_USES.items() if k != "gold_for_tuning"}
    folder = tiny_world.add_submission("terse", None, {"uses": partial})
    with pytest.raises(SpecError, match="missing required key `uses.gold_for_tuning`"):
        load_submission_meta(folder)
    tuned = {**PLAIN_USES, "gold_for_tuning": {"split": "A of mini", "n": 0, "chose": "lr"}}
    folder = tiny_world.add_submission("terse", None, {"uses": tuned})
    with pytest.raises(SpecError, match="uses.gold_for_tuning.n"):
        load_submission_meta(folder)


USES = {
    "plain": Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                  compute="one probe training"),
    "reads-test": Uses(transductive=True, extra_data=[], extra_models=[],
                       gold_for_tuning=None, compute="one probe training"),
}


def board_records():
    records = []
    for name, pgr in (("plain", 0.4), ("reads-test", 0.6), ("old", 0.2)):
        info = MethodInfo(kind="submission", summary=name, uses=USES.get(name))
        for task in ("t1", "t2"):
            for k in range(4):
                r = make_record(task, name, k, pgr + 0.01 * k, info=info)
                m = r.metrics
                # AUROC-PGR ordered the other way round from accuracy-PGR
                m = m.model_copy(update={"weak_auroc": 0.6, "ceiling_auroc": 0.9,
                                         "pgr_auroc": 1.0 - pgr})
                curve = [TrainingCurve(loss=[0.7, 0.6, 0.55], weak_agreement=[0.6, 0.8, 0.9])]
                records.append(r.model_copy(update={"metrics": m, "training": curve}))
    return records


def test_the_board_marks_uses_and_filters_on_them(tmp_path) -> None:
    build_site(board_records(), tmp_path, build_time="2026-12-07T00:00:00Z")
    index = (tmp_path / "index.html").read_text()
    marks = dict(re.findall(r'data-method="([^"]+)" data-marks="([^"]*)"', index))
    assert marks == {"plain": "", "reads-test": "transductive", "old": "undeclared"}
    assert 'class="mark-filter" value="transductive"' in index
    assert "Ranked by <strong>accuracy-PGR</strong>" in index
    assert "AUROC-PGR [95% CI]" in index
    page = (tmp_path / "methods" / "reads-test.html").read_text()
    assert "Uses the test inputs (transductive)</th><td>yes" in page
    assert "plots/s-curve-reads-test.svg" in page
    assert (tmp_path / "plots" / "s-curve-reads-test.svg").read_text().startswith("<?xml")
    assert "undeclared: its records carry no card fields" in \
        (tmp_path / "methods" / "old.html").read_text()


def test_the_rank_switch_ranks_and_tests_on_auroc_pgr(tmp_path) -> None:
    from benchmark.site.frame import record_rows
    from benchmark.site.standings import standings

    records = board_records()
    by_accuracy = standings(record_rows(records))[0]
    by_auroc = standings(record_rows(records, "pgr-auroc"))[0]
    assert [e.method for e in by_accuracy.ranked][0] == "reads-test"
    assert [e.method for e in by_auroc.ranked][0] == "old"
    first = by_auroc.ranked[0]
    assert first.pgr.mean == pytest.approx(0.8) == first.pgr_auroc.mean
    build_site(records, tmp_path, build_time="2026-12-07T00:00:00Z", rank_by="pgr-auroc")
    assert "Ranked by <strong>AUROC-PGR</strong>" in (tmp_path / "index.html").read_text()
    exported = (tmp_path / "leaderboard.csv").read_text()
    assert "pgr and its interval and the tests are on AUROC" in exported
    assert "pgr_median, pgr_of_means, the controls" in exported   # still on accuracy
    assert "PGR of means (accuracy)" in (tmp_path / "index.html").read_text()
    with pytest.raises(ValueError, match="pgr-auroc"):
        record_rows(records, "auroc")


def test_a_noise_sized_auroc_gap_gives_no_auroc_pgr() -> None:
    from benchmark.site.frame import record_rows

    record = board_records()[0]
    narrow = record.model_copy(update={"metrics": record.metrics.model_copy(
        update={"weak_auroc": 0.80, "ceiling_auroc": 0.81, "n_test": 400})})
    wide = record_rows([record])[0]
    assert wide.pgr_auroc is not None and record_rows([narrow])[0].pgr_auroc is None
