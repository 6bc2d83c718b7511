"""Every suite that runs is under the paper's protocol; a retired suite runs no more and its
records are never ranked."""

from __future__ import annotations

import pytest

from benchmark.cli.common import declared_suites
from benchmark.labels.frozen import load_references
from benchmark.site.retired import split_retired
from benchmark.tasks.suites import SUITES, RetiredSuiteError, suite_tasks
from tests.site_records import make_record


def test_every_live_suite_is_frozen_at_equal_gold_with_named_supervisors() -> None:
    live = [name for name, suite in SUITES.items() if suite.retired is None]
    assert {"mini", "beyond", "frontier-g1000", "frontier-locked", "frontier-decoder"} <= set(live)
    for name in live:
        for spec in suite_tasks(name):
            assert spec.under_protocol, (name, spec.id)
            assert spec.splits.weak_train == spec.splits.student_train, (name, spec.id)
            replicates = load_references(spec).replicates
            assert len(replicates) == spec.replicates, (name, spec.id)
            assert all(r.n_A == r.n_B and r.controls is not None for r in replicates), \
                (name, spec.id)


def test_a_retired_suite_refuses_to_run_and_names_its_successors() -> None:
    assert SUITES.get("frontier").retired
    with pytest.raises(RetiredSuiteError, match="retired.*frontier-g1000.*frontier-locked"):
        suite_tasks("frontier")


def test_the_cli_refuses_a_retired_suite_with_its_reason(capsys) -> None:
    from benchmark.cli.main import main

    assert main(["freeze", "--suite", "frontier"]) != 0
    assert "frontier-locked" in capsys.readouterr().err


def test_every_record_of_a_retired_suite_is_listed_apart() -> None:
    suites = declared_suites()
    assert suites["frontier"] == frozenset() and suites["mini"]
    task = SUITES.get("frontier").tasks[0]
    old = make_record(task, "naive", 0, 0.5, suite="frontier")
    kept, retired = split_retired([old], suites)
    assert kept == [] and [r for r, _ in retired["frontier"]] == [old]


def test_compare_says_a_retired_suite_is_compared_with_nothing() -> None:
    from benchmark.core.errors import W2SBenchError
    from benchmark.site.compare import paired_rows

    task = SUITES.get("frontier").tasks[0]
    records = [make_record(task, m, k, p, suite="frontier") for k in range(3)
               for m, p in (("naive", 0.2), ("logconf", 0.4))]
    with pytest.raises(W2SBenchError, match="'frontier' ranks no task \\(it is retired\\)"):
        paired_rows(records, "logconf", ["naive"], "frontier", suite_tasks=declared_suites())


def test_run_and_status_refuse_a_retired_suite_too(capsys) -> None:
    from benchmark.cli.main import main

    for verb in (["run", "--suite", "frontier", "--dry-run"], ["status", "--suite", "frontier"]):
        assert main(verb) != 0, verb
        assert "retired" in capsys.readouterr().err


def test_a_suite_runs_the_first_n_draws_it_ranks_unless_told_otherwise() -> None:
    """``mini`` ranks the first N of its tasks' frozen draws (its time budget); `run` and
    `status` cover those by default, and ``--replicates`` still chooses any count."""
    import argparse

    from benchmark.cli.sweep import plan_sweep

    draws = SUITES.get("mini").replicates
    assert draws is not None and all(draws < t.replicates for t in suite_tasks("mini"))

    def plan(replicates):
        args = argparse.Namespace(suite="mini", tasks=None, default_suite="mini",
                                  methods=["naive"], replicates=replicates, results_dir=None,
                                  regime=None)
        return plan_sweep(args)

    assert {r.replicate for r in plan(None).runs} == set(range(draws))
    assert len(plan(None).runs) == 8 * draws
    assert {r.replicate for r in plan(draws + 2).runs} == set(range(draws + 2))


def test_a_suite_cannot_rank_more_draws_than_its_tasks_froze(tmp_path, monkeypatch) -> None:
    from benchmark.core.errors import SpecError
    from benchmark.core.registry import Registry
    from benchmark.tasks import suites

    task = SUITES.get("mini").tasks[0]
    path = tmp_path / "suites.yaml"
    path.write_text(f"greedy:\n  description: more than frozen\n  replicates: 500\n"
                    f"  tasks: [{task}]\n")
    monkeypatch.setattr(suites, "suite_files", lambda: [path])
    with pytest.raises(SpecError, match=f"ranks 500 replicates, but task '{task}' has 20; "
                                        "lower the suite's `replicates`"):
        suites._load_suites(Registry("suite"))
