"""``w2s-bench compare`` speaks with the board's voice: same guard, same blocked test."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.site.compare import ALL_TASKS, paired_rows, render
from benchmark.site.frame import record_rows
from benchmark.site.standings import standings
from tests.site_records import make_record


def _records(seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    skill = {"naive": 0.0, "good": 0.06, "same": 0.005, "odd": 0.03}
    out = []
    for t in ("t1", "t2", "t3"):
        for k in range(12):
            base = 0.3 + rng.normal(0, 0.05)
            out += [make_record(t, m, k, base + s + rng.normal(0, 0.02))
                    for m, s in skill.items()]
    return out


def test_compare_and_the_board_agree_on_every_pair_they_both_report() -> None:
    records = _records()
    (board,) = standings(record_rows(records))
    for method in ("good", "same", "odd", "naive"):
        rivals = [m for m in ("naive", "good", "same", "odd") if m != method]
        overall = {r.against: r for r in paired_rows(records, method, rivals)
                   if r.task == ALL_TASKS}
        for c in board.comparisons:
            if method not in (c.better, c.worse):
                continue
            rival = c.worse if c.better == method else c.better
            row = overall[rival]
            assert row.source == "board" and row.p_holm == c.p_holm
            assert row.pgr == pytest.approx(c.difference if c.better == method else -c.difference)
            assert row.verdict == ("not separated" if not c.significant
                                   else "better" if c.better == method else "worse")
            assert row.blocks == c.blocks == 36


def test_compare_refuses_to_pair_across_task_versions_and_weak_labels() -> None:
    """A rival measured on other weak labels for t2 is not paired there (the board's
    guard); it is not ranked, so its row is descriptive, says why, and gives no verdict: a
    test on a task subset and a family of the user's choosing is how verdicts get shopped."""
    records = [r for r in _records() if not (r.method == "odd" and r.task == "t2")]
    records += [make_record("t2", "odd", k, 0.9, weak_sha=f"relabelled-{k}") for k in range(12)]
    rows = paired_rows(records, "good", ["odd"])
    overall = next(r for r in rows if r.task == ALL_TASKS)
    assert {r.task for r in rows if r.task != ALL_TASKS} == {"t1", "t3"}
    assert overall.units == 24 and overall.p_holm is None and "descriptive" in overall.verdict
    assert "odd not ranked" in overall.source and "other weak labels" in overall.source
    text = render(rows, "good")
    assert "descriptive" in text and "| (all tasks) |" in text
