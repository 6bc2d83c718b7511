"""The strong model's probed hidden state chosen on the ceiling (``layer_search: ceiling``)."""

from __future__ import annotations

import json
import shutil

import numpy as np

from benchmark.labels.layers import choose_layer
from benchmark.training.probe import ProbeConfig


def test_the_layer_that_carries_the_label_is_chosen_on_held_out_gold():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=600)
    layers = rng.normal(size=(4, 600, 8)).astype(np.float32)  # 0 = embeddings, 1..3
    layers[2, :, 0] += 3.0 * (2 * labels - 1)                  # layer 2 separates the classes
    layers[3, :, 0] += 0.5 * (2 * labels - 1)                  # layer 3 a little
    choice = choose_layer(layers, labels, 2, ProbeConfig(epochs=10, lr=0.1), seed=1)
    assert choice.layer == 2
    assert set(choice.accuracy) == {1, 2, 3}                   # the embeddings are no candidate
    assert choice.accuracy[2] > 0.95 > choice.accuracy[1]
    assert choice.n_fit + choice.n_held_out == 600 and choice.n_held_out == 120


def test_freeze_records_the_choice_and_methods_read_that_layer(tiny_world, tiny_task):
    from benchmark.labels.freeze import freeze_task
    from benchmark.labels.frozen import load_references, task_frozen_dir
    from benchmark.models.ladder import MODELS
    from benchmark.run.inputs import TaskContexts
    from benchmark.tasks.spec import TASKS
    from tests.conftest import TASK_YAML, reset_registries

    spec = MODELS.get("tiny-bert")
    searched = spec.model_copy(update={"layer_search": "ceiling"})
    task_id = "tiny-layer-search"
    path = tiny_world.root / "tasks" / f"{task_id}.yaml"
    path.write_text(TASK_YAML.format(id=task_id))
    MODELS.remove("tiny-bert")
    MODELS.add("tiny-bert", searched)
    reset_registries()
    try:
        task = TASKS.get(task_id)
        freeze_task(task, progress=False, legacy=True)
        chosen = load_references(task).strong_layer
        assert chosen is not None and chosen.layer in (1, 2)
        # chosen on examples no replicate trains or tests on: the corpus minus the pool
        from benchmark.labels.layers import choice_examples
        from benchmark.tasks.splits import example_pool

        pool = example_pool(task)
        outside = choice_examples(task, pool)
        assert chosen.source == "outside-pool"
        assert chosen.n_fit + chosen.n_held_out == len(outside) >= 40
        assert not {e.id for e in outside} & {e.id for e in pool}
        assert chosen.accuracy[chosen.layer] == max(chosen.accuracy.values())
        raw = json.loads((task_frozen_dir(task_id) / "references.json").read_text())
        assert raw["strong_layer"]["layer"] == chosen.layer
        assert TaskContexts().get(task).strong.layer == chosen.layer
    finally:
        MODELS.remove("tiny-bert")
        MODELS.add("tiny-bert", spec)
        path.unlink()
        shutil.rmtree(task_frozen_dir(task_id), ignore_errors=True)
        reset_registries()
    # a rung without layer_search writes no key: older references stay byte-identical
    assert "strong_layer" not in json.loads(
        (task_frozen_dir(tiny_task.id) / "references.json").read_text())
