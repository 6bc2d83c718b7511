"""The finetune regime end to end: a task finetuning the tiny BERT, frozen (ceiling finetuned
on gold), swept through the harness in worker processes, spied on for gold labels."""

from __future__ import annotations

import pytest

from benchmark.core.bwrap import bwrap_works
from benchmark.results.records import read_record
from benchmark.run.harness import Harness, RunSpec
from tests.conftest import TASK_YAML, TINY_TASK, unconfined
from tests.spy_plugin import SPY_SOURCE, assert_spy_found_no_gold
from tests.test_harness import gold_by_id

FT_TASK = "tiny-tfidf-to-bert-ft"
FINETUNE_BLOCK = """\
finetune:
  epochs: 4
  batch_size: 16
  lr: 0.003
  max_ctx: 32
  pooling: mean
"""


@pytest.fixture
def ft_task(tiny_world):
    text = TASK_YAML.format(id=FT_TASK).replace("regime: probe\n",
                                                "regime: finetune\n" + FINETUNE_BLOCK)
    with tiny_world.frozen_task(FT_TASK, text) as spec:
        yield spec


def test_finetune_task_freezes_runs_and_scores(ft_task, tiny_world, tmp_path, monkeypatch):
    from benchmark.labels.frozen import load_references

    refs = load_references(ft_task).replicates
    assert all(r.ceiling_accuracy > r.weak_accuracy for r in refs)  # finetuned on gold
    runs = [RunSpec("tiny", FT_TASK, m, k) for m in ("naive", "logconf") for k in range(2)] \
        + [RunSpec("tiny", FT_TASK, "bootstrap-layers", 0)]
    summary = Harness(tmp_path / "results", workers=1, progress=False).run(
        runs, {FT_TASK: ft_task})
    assert summary.done == 5 and not summary.failed
    sandbox = "none" if bwrap_works() else "bwrap"  # the weights are readable inside it
    for k in range(2):
        record = read_record(runs[k].path(tmp_path / "results"))
        assert record.status == "ok" and record.metrics.accuracy > 0.6  # chance: 0.5
        assert record.compute.train_flops > 0 and record.compute.examples_seen == 4 * 240
        assert record.provenance.sandbox == sandbox
        # its curve: the finetune's own loss per epoch (15 steps of 16 each), no agreement
        (curve,) = record.training
        assert curve.loss_of == "training loss" and len(curve.loss) == 4
        assert curve.weak_agreement == [None] * 4 and curve.loss[-1] < curve.loss[0]
    monkeypatch.setenv("W2S_SPY_OUT", str(tmp_path))  # it writes its dumps there:
    unconfined(monkeypatch)  # this spy checks the input, so it runs outside the sandbox
    tiny_world.add_submission("spy", SPY_SOURCE)
    spied = Harness(tmp_path / "results", workers=1, progress=False).run(
        [RunSpec("tiny", FT_TASK, "spy", k) for k in range(2)], {FT_TASK: ft_task})
    assert spied.done == 2 and not spied.failed
    assert_spy_found_no_gold(tmp_path, gold_by_id(tiny_world), spec=ft_task)
    # bootstrap's finetune form: a 1-block rung finetuned on each half of B (out of fold),
    # then the 2-block student on the rung's labels
    boot = read_record(runs[-1].path(tmp_path / "results"))
    assert boot.status == "ok" and boot.metrics.accuracy > 0.6
    assert boot.compute.examples_seen == 4 * 240 * 2  # two half-size rung fits + the student
    assert len(boot.training) == 3   # the rung's two fits and the student's, in order


def test_probe_only_methods_are_left_out_of_finetune_sweeps(ft_task, tiny_world, capsys):
    import argparse

    from benchmark.cli.sweep import plan_sweep
    from benchmark.tasks.suites import SUITES

    suites = tiny_world.root / "tasks" / "suites.yaml"
    saved = suites.read_text()
    suites.write_text(f"tiny:\n  description: tests\n  tasks: [{TINY_TASK}, {FT_TASK}]\n")
    SUITES.reset()
    try:
        args = argparse.Namespace(suite="tiny", default_suite="mini", tasks=None,
                                  methods=["naive", "relabel-knn"],
                                  replicates=1, results_dir=None, regime="finetune")
        plan = plan_sweep(args)
    finally:
        suites.write_text(saved)
        SUITES.reset()
    assert [(r.task, r.method) for r in plan.runs] == [(FT_TASK, "naive")]
    assert f"relabel-knn skipped on {FT_TASK!r}: it works in the probe regime, not the " \
        "finetune one" in capsys.readouterr().out
