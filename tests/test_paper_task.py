"""A paper-scale task end to end: hub dataset (from a mirror) × ladder rungs, frozen by
finetuning the weak rung on gold A (same lock format as the embedded tasks), swept through the
harness, invalidated when a model is re-pinned; and a killed finetune run resumed."""

from __future__ import annotations

import pytest

from benchmark.datasets.hub import HUB_DATASETS, load_examples, write_mirror
from benchmark.models.hub_ladder import register_rung, unregister_rung
from benchmark.results.records import read_record
from benchmark.run.harness import Harness, RunSpec
from tests.conftest import unconfined
from tests.hub_fixtures import sciq_rows
from tests.tiny_lms import tiny_rungs

PAPER_TASK = "tiny-sciq-gpt2-to-qwen2"
PAPER_YAML = f"""\
id: {PAPER_TASK}
version: 1
description: a tiny GPT-2 rung supervises a tiny Qwen2 rung on SciQ rows (tests only)
dataset:
  source: hub
  name: sciq
  hub_id: allenai/sciq
  revision: {"c" * 40}
label_names: [wrong, correct]
balance: true
splits:
  weak_train: 24
  student_train: 24
  test: 16
weak_model: tiny-gpt2
strong_model: tiny-qwen2
regime: finetune
finetune:
  epochs: 2
  batch_size: 8
  lr: 0.001
  max_ctx: 64
replicates: 1
seed: 0
"""


@pytest.fixture(scope="module")
def rungs(tmp_path_factory):
    built = tiny_rungs(tmp_path_factory.mktemp("rungs"))
    yield built
    for rung in built:
        unregister_rung(rung.name)


@pytest.fixture
def paper_task(tiny_world, rungs, tmp_path, monkeypatch):
    for rung in rungs:
        unregister_rung(rung.name)
        register_rung(rung)
    mirror = tmp_path / "mirror"
    sciq = HUB_DATASETS.get("sciq")
    write_mirror(mirror, sciq, "train", sciq_rows(80, 0))
    write_mirror(mirror, sciq, "test", sciq_rows(40, 1))
    monkeypatch.setenv("W2S_BENCH_HF_MIRROR", str(mirror))
    with tiny_world.frozen_task(PAPER_TASK, PAPER_YAML) as spec:
        yield spec


def test_paper_task_freezes_with_a_finetuned_weak_rung_and_runs(paper_task, rungs, tmp_path):
    from benchmark.labels.frozen import load_lock, load_references, load_weak_labels
    from benchmark.tasks.spec import TASKS

    weak = load_weak_labels(paper_task, 0)
    test_split = {e.id for e in load_examples("sciq", "test")}
    assert set(weak.ids_test) <= test_split                    # test: the source's test split
    assert not (set(weak.ids_A) | set(weak.ids_B)) & test_split  # A and B: its train split
    assert (len(weak.ids_A), len(weak.ids_B), len(weak.ids_test)) == (24, 24, 16)
    probs = weak.train_weak_probs   # a trained model's output
    assert probs.shape == (24, 2) and probs.std() > 0
    ref = load_references(paper_task).replicates[0]
    assert 0 <= ref.weak_accuracy <= 1 and 0 <= ref.ceiling_accuracy <= 1

    runs = [RunSpec("tiny", PAPER_TASK, "naive", 0)]
    summary = Harness(tmp_path / "results", workers=1, progress=False).run(
        runs, {PAPER_TASK: paper_task})
    assert summary.done == 1 and not summary.failed
    assert read_record(runs[0].path(tmp_path / "results")).status == "ok"
    assert not (tmp_path / "results" / ".scratch" / "tiny" / PAPER_TASK / "naive" / "r0").exists()

    # re-pinning the weak rung changes the task's hash: the frozen labels no longer verify
    from benchmark.core.errors import IntegrityError

    unregister_rung("tiny-gpt2")
    register_rung(rungs[0].model_copy(update={"revision": "d" * 40}))
    TASKS.reset()
    with pytest.raises(IntegrityError, match="changed since its weak labels were frozen"):
        load_lock(TASKS.get(PAPER_TASK))


CRASH_ONCE = '''
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from benchmark.api.method import Method, register
from benchmark.training.probe import soft_cross_entropy


@register("crash-once")
class CrashOnce(Method):
    """Finetunes with a checkpoint every 2 steps and dies at step 5 on its first attempt."""

    version = "1"

    def fit_predict(self, inp):
        marker = Path(os.environ["W2S_CRASH_MARKER"])
        calls = {"n": 0}

        def loss(logits, targets, progress):
            calls["n"] += 1
            if calls["n"] == 5 and not marker.exists():
                marker.write_text("crashed")
                raise RuntimeError("simulated crash at step 5")
            return soft_cross_entropy(logits, targets)

        config = replace(inp.finetune_config, checkpoint_every=2)
        fitted = inp.finetune(inp.train_weak_probs, loss=loss, config=config)
        Path(os.environ["W2S_CRASH_MARKER"] + ".resumed").write_text(
            str(fitted.stats.resumed_from_step))
        return fitted.predict_proba(inp.test_texts)
'''


def test_a_failed_finetune_run_resumes_from_its_checkpoint(paper_task, tiny_world, tmp_path,
                                                           monkeypatch):
    marker = tmp_path / "marker"
    monkeypatch.setenv("W2S_CRASH_MARKER", str(marker))
    unconfined(monkeypatch)  # its marker file lives outside its scratch folder
    tiny_world.add_submission("crash-once", CRASH_ONCE)
    run = RunSpec("tiny", PAPER_TASK, "crash-once", 0)
    results = tmp_path / "results"
    first = Harness(results, workers=1, progress=False).run([run], {PAPER_TASK: paper_task})
    assert len(first.failed) == 1 and marker.exists()
    scratch = results / ".scratch" / "tiny" / PAPER_TASK / "crash-once" / "r0"
    assert list(scratch.glob("checkpoints/*/finetune-checkpoint.pt"))  # kept for the rerun
    second = Harness(results, workers=1, progress=False).run([run], {PAPER_TASK: paper_task})
    assert second.done == 1 and not second.failed
    assert (tmp_path / "marker.resumed").read_text() == "4"  # steps 1-4 were not redone
    assert read_record(run.path(results)).status == "ok" and not scratch.exists()
