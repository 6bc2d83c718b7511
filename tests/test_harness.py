"""End to end on the miniature world: isolation, records, resume, determinism, failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.datasets import example_id
from benchmark.datasets.base import normalize_text
from benchmark.results.records import TIMING_FIELDS, iter_records, read_record
from benchmark.run.harness import Harness, RunSpec
from tests.conftest import TINY_SUITE, TINY_TASK, unconfined
from tests.spy_plugin import SPY_SOURCE, assert_spy_found_no_gold


def runs(methods: list[str], replicates: int = 2) -> list[RunSpec]:
    return [RunSpec(TINY_SUITE, TINY_TASK, m, k) for m in methods for k in range(replicates)]


def sweep(results: Path, methods: list[str], tiny_task, **kwargs):
    harness = Harness(results, workers=1, progress=False, **kwargs)
    return harness.run(runs(methods), {TINY_TASK: tiny_task})


def gold_by_id(world) -> dict[str, int]:
    return {example_id(normalize_text(t)): y for t, y in world.corpus}


def without_timing(record) -> dict:
    data = record.model_dump(mode="json")
    for key in TIMING_FIELDS:
        data["compute"].pop(key)
    return data


def test_spying_method_cannot_recover_gold_labels(tiny_world, tiny_task, tmp_path, monkeypatch):
    monkeypatch.setenv("W2S_SPY_OUT", str(tmp_path))  # it writes its dumps there:
    unconfined(monkeypatch)  # this spy checks the input, so it runs outside the sandbox
    tiny_world.add_submission("spy", SPY_SOURCE)
    summary = sweep(tmp_path / "results", ["spy"], tiny_task)
    assert summary.done == 2 and not summary.failed
    assert_spy_found_no_gold(tmp_path, gold_by_id(tiny_world), spec=tiny_task)


def test_the_spy_scan_would_catch_gold_in_its_process(tiny_world, tiny_task, tmp_path):
    """Control: the same scan run in the harness process (which holds gold) finds it."""
    namespace: dict = {}
    exec(SPY_SOURCE.replace('@register("spy")', ""), namespace)
    from benchmark.run.harness import TaskContexts

    ctx = TaskContexts().get(tiny_task)
    found: list = []
    namespace["label_like_vectors"]({"ctx": vars(ctx)}, {len(ctx.labels)}, found, set())
    assert any(np.array_equal(v, ctx.labels) for v in found)


def test_records_resume_and_are_deterministic(tiny_world, tiny_task, tmp_path):
    results = tmp_path / "results"
    first = sweep(results, ["naive"], tiny_task)
    assert (first.done, first.skipped, first.failed) == (2, 0, [])
    paths = sorted(results.glob("*/*/*/replicate-*.json"))
    assert [p.relative_to(results).as_posix() for p in paths] == [
        f"{TINY_SUITE}/{TINY_TASK}/naive/replicate-{k}.json" for k in range(2)]
    stamps = [p.stat().st_mtime_ns for p in paths]

    again = sweep(results, ["naive"], tiny_task)
    assert (again.done, again.skipped) == (0, 2)
    assert [p.stat().st_mtime_ns for p in paths] == stamps

    before = [without_timing(read_record(p)) for p in paths]
    redo = sweep(results, ["naive"], tiny_task, resume=False)
    assert redo.done == 2
    assert [without_timing(read_record(p)) for p in paths] == before

    # A record measured against other weak labels is stale: it is rerun, not kept.
    stale = json.loads(paths[0].read_text())
    stale["provenance"]["weak_labels_sha256"] = "0" * 64
    paths[0].write_text(json.dumps(stale))
    paths[1].write_text("{ truncated")  # and an unreadable one is recomputed
    fixed = sweep(results, ["naive"], tiny_task)
    assert (fixed.done, fixed.skipped) == (2, 0)
    assert [without_timing(read_record(p)) for p in paths] == before


def test_record_carries_scores_compute_and_provenance(tiny_world, tiny_task, tmp_path):
    from benchmark.core.metrics import pgr
    from benchmark.labels.frozen import load_references

    sweep(tmp_path, ["naive"], tiny_task)
    record = read_record(tmp_path / TINY_SUITE / TINY_TASK / "naive" / "replicate-1.json")
    ref = load_references(tiny_task).replicates[1]
    m = record.metrics
    assert record.status == "ok" and record.seed == 1
    assert (m.weak_accuracy, m.ceiling_accuracy) == (ref.weak_accuracy, ref.ceiling_accuracy)
    if m.pgr is not None:
        assert m.pgr == pytest.approx(pgr(m.accuracy, ref.weak_accuracy, ref.ceiling_accuracy)
                                      .value)
    else:
        assert "undefined" in m.pgr_note
    lock = json.loads((tiny_world.frozen / "lock.json").read_text())
    p = record.provenance
    assert p.weak_labels_sha256 == lock["files"]["replicate-1.csv.gz"]
    assert p.task_sha256 == tiny_task.sha256 and p.task_version == 1
    assert p.method_version == "1" and p.method_origin.endswith("baselines/naive.py")
    assert {"torch", "numpy", "w2s-bench"} <= set(p.packages)
    assert p.hardware["torch_threads"] == 1 and p.git_commit
    c = record.compute
    assert c.examples_seen == 240 * 20 and c.trained_params == 32 * 2 + 2
    assert c.train_flops == 6 * c.trained_params * c.examples_seen
    assert c.wall_s > 0 and c.peak_rss_mb > 0


HEADER = """
import os
import numpy as np
from benchmark.api.method import Method, register
"""
FAILING = {
    "boom": """
@register("boom")
class Boom(Method):
    def fit_predict(self, inp):
        print("about to fail")
        raise ValueError("deliberate failure")
""",
    "badshape": """
@register("badshape")
class BadShape(Method):
    def fit_predict(self, inp):
        return np.full((3, 2), 0.5)
""",
    "crash": """
@register("crash")
class Crash(Method):
    def fit_predict(self, inp):
        os._exit(3)
""",
}


def test_failures_are_recorded_and_the_sweep_goes_on(tiny_world, tiny_task, tmp_path):
    for name, body in FAILING.items():
        tiny_world.add_submission(name, HEADER + body)
    summary = sweep(tmp_path, ["crash", "boom", "naive", "badshape"], tiny_task)
    assert summary.done == 2
    kinds = {(run.method, why.split(":")[0]) for run, why in summary.failed}
    assert kinds == {("crash", "WorkerDied"), ("boom", "ValueError"),
                     ("badshape", "InvalidOutput")}
    assert len(summary.failed) == 6
    records = {(r.method, r.replicate): r for r in iter_records(tmp_path)}
    assert len(records) == 8
    boom = records[("boom", 0)]
    assert boom.status == "failed" and "deliberate failure" in boom.error.message
    assert "about to fail" in boom.error.log_tail
    assert "expected (200, 2)" in records[("badshape", 1)].error.message
    assert records[("naive", 0)].status == "ok"


def test_workers_or_limits_beside_executor_options_are_refused(tmp_path):
    """Given beside ``options``, they used to be ignored without a word."""
    from benchmark.run.executors.base import ExecutorOptions
    from benchmark.run.pool import Limits

    with pytest.raises(ValueError, match="inside `options`"):
        Harness(tmp_path, workers=2, options=ExecutorOptions())
    with pytest.raises(ValueError, match="inside `options`"):
        Harness(tmp_path, limits=Limits(timeout_s=5), options=ExecutorOptions())
    assert Harness(tmp_path, options=ExecutorOptions(workers=2)).options.workers == 2
