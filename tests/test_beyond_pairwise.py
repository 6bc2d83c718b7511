"""Reward modelling: pairs made from ordinal labels (each response in one pair), weak
Bradley-Terry reward models, and the student's antisymmetric probe, which is a BT scorer:
P(a ≻ b) = σ(r(a) − r(b)), so it ranks a known order and swapping a pair flips it."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.core.errors import SpecError
from benchmark.datasets.base import Example, pair_text, split_pair
from benchmark.kinds.pairwise import make_pairs
from benchmark.labels.frozen import load_references, load_weak_labels
from benchmark.labels.pairwise import fit_pairwise_supervisor
from benchmark.training.probe import ProbeConfig, one_hot, train_probe
from tests.conftest import TASK_YAML

BT = ProbeConfig(epochs=60, batch_size=64, lr=0.05, antisymmetric=True)


def test_pairs_use_each_response_once_and_prefer_the_higher_level():
    examples = [Example(f"{i:04x}", f"text {i}", i % 3) for i in range(90)]
    pairs = make_pairs(examples, seed=0)
    level = {e.text: e.label for e in examples}
    halves = [split_pair(p.text) for p in pairs]
    used = [t for pair in halves for t in pair]
    assert len(used) == len(set(used)) and len(pairs) == 45
    for pair, (first, second) in zip(pairs, halves, strict=True):
        assert level[first] != level[second]
        assert pair.label == int(level[first] > level[second])
    assert 0.3 < np.mean([p.label for p in pairs]) < 0.7        # a fair coin orders them
    assert [p.id for p in make_pairs(examples, seed=0)] == [p.id for p in pairs]


def test_a_bradley_terry_probe_ranks_a_known_order():
    rng = np.random.default_rng(0)
    w = rng.normal(size=8)
    items = rng.normal(size=(400, 8))
    reward = items @ w
    first, second = rng.integers(0, 400, size=(2, 3000))
    keep = first != second
    diff = items[first[keep]] - items[second[keep]]
    labels = (reward[first[keep]] > reward[second[keep]]).astype(int)
    probe = train_probe(diff, one_hot(labels, 2), BT, seed=0)
    # three items of known order a > b > c, never seen in a pair together: the margins
    # (logit differences) rank them and add up, r(a) - r(c) = (r(a) - r(b)) + (r(b) - r(c))
    a, b, c = (items[i] for i in np.argsort(reward)[[-1, 200, 0]])

    def margin(x, y):
        z = probe.logits((x - y)[None])[0]
        return float(z[1] - z[0])

    assert margin(a, b) > 0 and margin(b, c) > 0
    assert margin(a, c) == pytest.approx(margin(a, b) + margin(b, c), rel=1e-4)
    assert margin(b, a) == pytest.approx(-margin(a, b), rel=1e-6)    # exactly antisymmetric
    p_ab, p_ba = (probe.predict_proba((x - y)[None])[0, 1] for x, y in ((a, b), (b, a)))
    assert p_ab + p_ba == pytest.approx(1.0, abs=1e-6)
    learned = items @ ((probe.weight[1] - probe.weight[0]) / probe.scale)
    assert np.corrcoef(learned, reward)[0, 1] > 0.95
    assert not probe.bias.any() and not probe.mean.any()        # no offset: a pure BT scorer


def test_a_weak_tfidf_reward_model_is_antisymmetric():
    good = ["great fun", "lovely film", "great cast", "a lovely day", "great and lovely"]
    bad = ["awful mess", "dull film", "awful cast", "a dull day", "awful and dull"]
    texts = [pair_text(g, b) if i % 2 else pair_text(b, g)
             for i, (g, b) in enumerate(zip(good, bad, strict=True))]
    labels = np.array([i % 2 for i in range(5)])
    texts += [pair_text("lovely cast", "dull mess"), pair_text("dull mess", "lovely cast")]
    predict = fit_pairwise_supervisor("tfidf-logreg", np.arange(5), labels, 10.0, texts,
                                      None, 0)
    p = predict(np.array([5, 6]))
    assert p[0, 1] > 0.5 and p[0, 1] + p[1, 1] == pytest.approx(1.0)


def test_a_pairwise_task_freezes_and_scores_pairwise_accuracy(tiny_world, tmp_path):
    from benchmark.models.features import all_layer_features
    from benchmark.results.records import iter_records
    from benchmark.run.harness import Harness, RunSpec
    from benchmark.run.inputs import TaskContexts, build_input

    text = TASK_YAML.format(id="tiny-pairs").replace(
        "label_names: [negative, positive]", "label_names: [second, first]").replace(
        "weak_train: 60\n  student_train: 240\n  test: 200",
        "weak_train: 40\n  student_train: 120\n  test: 80") + \
        "pairwise:\n  levels: [negative, positive]\n"
    with tiny_world.frozen_task("tiny-pairs", text) as spec:
        ctx = TaskContexts().get(spec)
        weak = load_weak_labels(spec, 0)
        inp, _ = build_input(ctx, 0, tmp_path)
        assert inp.probe_config.antisymmetric
        # a pair's features are its first response's minus its second's
        row = ctx.pool.rows(weak.ids_B[:1])[0]
        first, second = split_pair(ctx.pool.texts[row])
        single = all_layer_features("tiny-bert", [first, second])
        features = inp.with_cached_features().train_features[0]
        np.testing.assert_allclose(features, single[-1, 0] - single[-1, 1], atol=1e-5)
        ref = load_references(spec).replicates[0]
        gold = ctx.gold(weak.ids_test)
        assert ref.weak_accuracy == float((weak.test_weak_probs.argmax(1) == gold).mean())
        results = tmp_path / "results"
        summary = Harness(results, workers=1, progress=False).run(
            [RunSpec("s", spec.id, "naive", 0)], {spec.id: spec})
        assert summary.done == 1 and not summary.failed
        (record,) = iter_records(results)
        assert record.setting.pairwise and 0.5 < record.metrics.accuracy <= 1.0


def test_a_pairwise_task_needs_the_pair_labels(tiny_world):
    from benchmark.tasks.spec import parse_task

    path = tiny_world.root / "tasks" / "tiny-bad-pairs.yaml"
    path.write_text(TASK_YAML.format(id="tiny-bad-pairs")
                    + "pairwise:\n  levels: [negative, positive]\n")
    try:
        with pytest.raises(SpecError, match=r"label_names. are \[.second., .first.\]"):
            parse_task(path)
    finally:
        path.unlink()


def test_the_hub_path_reads_hh_rlhf_as_pairs_for_a_reward_model(tiny_world, tmp_path,
                                                                  monkeypatch):
    """HH-RLHF's chosen / rejected transcripts (here a mirror in its schema, as on machines
    without hub access) as a pairwise task: each transcript scored alone by the reward
    models, the preference as frozen weak labels, a Bradley-Terry student run on them."""
    from benchmark.datasets.hub import HUB_DATASETS, MIRROR_ENV, write_mirror
    from benchmark.results.records import iter_records
    from benchmark.run.harness import Harness, RunSpec
    from benchmark.run.inputs import TaskContexts

    rng = np.random.default_rng(0)
    good = ["Sure, here is how", "Happy to help, first", "Good question, you can"]
    bad = ["No.", "Figure it out yourself", "I will not answer that"]

    def rows(n: int, offset: int) -> list[dict]:
        out = []
        for i in range(offset, offset + n):
            ask = f"\n\nHuman: How do I do task {i}?\n\nAssistant: "
            out.append({"chosen": ask + f"{good[i % 3]} step {i}.",
                        "rejected": ask + f"{bad[int(rng.integers(3))]} ({i})"})
        return out

    hh = HUB_DATASETS.get("anthropic_hh_pairs")
    write_mirror(tmp_path, hh, "train", rows(200, 0))
    write_mirror(tmp_path, hh, "test", rows(80, 1000))
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    text = TASK_YAML.format(id="tiny-hh").replace(
        "label_names: [negative, positive]", "label_names: [second, first]").replace(
        "weak_train: 60\n  student_train: 240\n  test: 200",
        "weak_train: 40\n  student_train: 120\n  test: 60").replace(
        "balance: true", "balance: false")
    start, end = text.index("dataset:"), text.index("label_names:")
    hub = ("dataset:\n  source: hub\n  name: anthropic_hh_pairs\n  hub_id: Anthropic/hh-rlhf\n"
           f"  revision: {'a' * 40}\n")
    with tiny_world.frozen_task("tiny-hh", text[:start] + hub + text[end:] + "pairwise: {}\n"
                                ) as spec:
        ctx = TaskContexts().get(spec)
        weak = load_weak_labels(spec, 0)
        first, second = split_pair(ctx.texts(weak.ids_test[:1])[0])
        assert first.split("Assistant: ")[0] == second.split("Assistant: ")[0]   # one dialogue
        gold = ctx.gold(weak.ids_test)
        assert float((weak.test_weak_probs.argmax(1) == gold).mean()) > 0.8   # tf-idf learns it
        results = tmp_path / "results"
        summary = Harness(results, workers=1, progress=False).run(
            [RunSpec("s", spec.id, "naive", 0)], {spec.id: spec})
        assert summary.done == 1 and not summary.failed
        (record,) = iter_records(results)
        assert record.setting.pairwise and record.provenance.dataset == "anthropic_hh_pairs"
