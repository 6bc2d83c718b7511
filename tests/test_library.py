"""``benchmark.library.evaluate``: the library entry point runs what ``w2s-bench run`` runs and
returns the records; a second call finds them current and runs nothing."""

from __future__ import annotations

from tests.conftest import TINY_SUITE, TINY_TASK


def test_evaluate_returns_the_records_of_its_runs_and_resumes(tiny_world, tmp_path):
    from benchmark.library import evaluate

    results = tmp_path / "results"
    records = evaluate(["naive", "logconf"], TINY_SUITE, replicates=2, results_dir=results)
    assert sorted((r.method, r.replicate) for r in records) == [
        ("logconf", 0), ("logconf", 1), ("naive", 0), ("naive", 1)]
    assert all(r.status == "ok" and r.task == TINY_TASK and r.suite == TINY_SUITE
               for r in records)
    stamps = {p: p.stat().st_mtime_ns for p in results.rglob("replicate-*.json")}
    again = evaluate("naive", TINY_SUITE, replicates=2, results_dir=results)
    assert [r.metrics.accuracy for r in again] == \
        [r.metrics.accuracy for r in records if r.method == "naive"]
    assert {p: p.stat().st_mtime_ns for p in results.rglob("replicate-*.json")} == stamps


def test_evaluate_takes_one_task_by_name(tiny_world, tmp_path):
    from benchmark.library import evaluate

    records = evaluate("naive", tasks=TINY_TASK, replicates=1, results_dir=tmp_path)
    assert [(r.task, r.method, r.replicate) for r in records] == [(TINY_TASK, "naive", 0)]
