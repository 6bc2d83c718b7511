"""Distribution shift: a task's A/B/test come from its source dataset and a shifted test set
(plus unlabelled inputs) from a target dataset; both test sets are scored in the same run,
each against its own references, and rescoring from the files gives the same numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmark.core.errors import SpecError
from benchmark.core.kinds import FurtherTest
from benchmark.labels.frozen import ReplicateReference, load_references, load_weak_labels
from benchmark.run.scoring import score_predictions
from tests.conftest import TASK_YAML

SHIFT = "shift:\n  target: tiny_shifted\n  pool: 300\n  test: 150\n  unlabelled: 100\n"


@pytest.fixture
def shifted_world(tiny_world):
    """The tiny world plus a target dataset: the same labels, texts written another way."""
    from benchmark.datasets.base import DATASETS, DatasetSource, make_examples

    def read(folder: Path):
        lines = (folder / "data.csv").read_text().splitlines()[1:]
        return make_examples((f"tweet: {line.rsplit(',', 1)[0].upper()} !!",
                              int(line.rsplit(",", 1)[1])) for line in lines)

    DATASETS.add("tiny_shifted", DatasetSource("tiny_shifted", "tiny-corpus",
                                               ("bad", "good"), "tests", read))
    try:
        yield tiny_world
    finally:
        DATASETS.remove("tiny_shifted")


def test_scoring_keeps_the_shifted_test_set_apart_on_a_worked_example():
    gold = np.array([0, 1, 0, 1, 0, 1, 0, 1])          # 4 in-distribution, then 4 shifted
    right = np.eye(2)[gold]
    stored = np.concatenate([right[:4], right[4:6], 1 - right[6:]])   # shifted: 2 of 4 right
    ref = ReplicateReference(replicate=0, seed=0, weak_accuracy=0.5, ceiling_accuracy=0.75,
                             n_A=1, n_B=1, n_test=4)
    weak_target = np.concatenate([right[4:5], 1 - right[5:]])         # 1 of 4 right
    ceiling_target = np.concatenate([right[4:7], 1 - right[7:]])      # 3 of 4 right
    metrics, _ = score_predictions(stored, gold, ref, right[:4], None,
                                   further=[FurtherTest("shifted", weak_target, ceiling_target)])
    assert metrics.accuracy == 1.0 and metrics.pgr == pytest.approx((1 - 0.5) / 0.25)
    shifted = metrics.shifted
    assert (shifted.n, shifted.accuracy, shifted.weak_accuracy, shifted.ceiling_accuracy) == \
        (4, 0.5, 0.25, 0.75)
    assert shifted.pgr == pytest.approx((0.5 - 0.25) / (0.75 - 0.25))


def test_a_shift_task_draws_its_shifted_test_set_from_the_target_only(shifted_world, tmp_path):
    from benchmark.run.inputs import TaskContexts, build_input

    with shifted_world.frozen_task("tiny-shift", TASK_YAML.format(id="tiny-shift") + SHIFT
                                   ) as spec:
        ctx = TaskContexts().get(spec)
        weak = load_weak_labels(spec, 0)
        target_texts = ctx.texts(weak.further_ids["target"]) + ctx.texts(weak.further_ids["U"])
        assert (len(weak.further_ids["target"]), len(weak.further_ids["U"])) == (150, 100)
        assert all(t.startswith("tweet: ") for t in target_texts)
        source = weak.ids_A + weak.ids_B + weak.ids_test
        assert not any(ctx.texts(source)[i].startswith("tweet: ") for i in range(len(source)))
        assert set(weak.further_ids["target"]).isdisjoint(weak.further_ids["U"])
        # the frozen references are the weak model's and the ceiling's accuracy there
        ref = load_references(spec).replicates[0].shifted
        gold = ctx.gold(weak.further_ids["target"])
        assert ref.weak_accuracy == float((weak.further_probs["target"].argmax(1) == gold).mean())
        assert (ref.n_test, ref.n_unlabelled) == (150, 100)
        # the method predicts both test sets and sees the unlabelled inputs, no label
        inp, _ = build_input(ctx, 0, tmp_path)
        target = inp.kinds["shift"]
        assert len(inp.test_ids) == 200 + 150 and target.ids == tuple(map(str, range(100)))
        assert target.features is None   # shipped without features, as the test set is
        filled = inp.with_cached_features()
        assert filled.test_features.shape[0] == 350
        unlabelled = filled.kinds["shift"].features
        assert unlabelled.shape == (100, spec_hidden(filled))
        hidden = filled.hidden_state(filled.strong_model.layer)
        np.testing.assert_array_equal(unlabelled, hidden[list(ctx.pool.rows(
            weak.further_ids["U"]))])


def spec_hidden(inp) -> int:
    return inp.strong_model.hidden_size


def test_a_run_scores_both_test_sets_and_rescores_them(shifted_world, tmp_path):
    from benchmark.results.records import iter_records, load_predictions
    from benchmark.run.harness import Harness, RunSpec
    from benchmark.run.inputs import TaskContexts
    from benchmark.run.rescore import rescore

    with shifted_world.frozen_task("tiny-shift", TASK_YAML.format(id="tiny-shift") + SHIFT
                                   ) as spec:
        results = tmp_path / "results"
        summary = Harness(results, workers=1, progress=False).run(
            [RunSpec("s", spec.id, "naive", 0)], {spec.id: spec})
        assert summary.done == 1 and not summary.failed
        (record,) = list(iter_records(results))
        path = results / "s" / spec.id / "naive" / "replicate-0.json"
        stored = np.asarray(load_predictions(path, record), np.float64)
        ctx = TaskContexts().get(spec)
        weak = load_weak_labels(spec, 0)
        gold_test, gold_target = ctx.gold(weak.ids_test), ctx.gold(weak.further_ids["target"])
        assert stored.shape == (350, 2)
        assert record.metrics.accuracy == float((stored[:200].argmax(1) == gold_test).mean())
        shifted = record.metrics.shifted
        assert shifted.accuracy == float((stored[200:].argmax(1) == gold_target).mean())
        ref = load_references(spec).replicates[0]
        assert (shifted.weak_accuracy, shifted.ceiling_accuracy) == \
            (ref.shifted.weak_accuracy, ref.shifted.ceiling_accuracy)
        assert record.setting.shift_target == "tiny_shifted"
        assert rescore(results).ok


@pytest.mark.parametrize("block, says", [
    ("shift:\n  target: tiny_sentimnt\n  pool: 300\n  test: 150\n", "Did you mean"),
    ("shift:\n  target: tiny_sentiment\n  pool: 300\n  test: 150\n", "source dataset itself"),
    ("shift:\n  target: tiny_shifted\n  pool: 200\n  test: 150\n  unlabelled: 100\n",
     "exceeds the target pool"),
])
def test_a_shift_block_that_cannot_work_is_refused(shifted_world, block, says):
    from benchmark.tasks.spec import parse_task

    path = shifted_world.root / "tasks" / "tiny-bad-shift.yaml"
    path.write_text(TASK_YAML.format(id="tiny-bad-shift") + block)
    try:
        with pytest.raises((SpecError, ValueError), match=says):
            parse_task(path)
    finally:
        path.unlink()
