"""The ``beyond`` tasks on the real embedded data. Those frozen before the protocol (now off
the suite, kept for their records): a shift task's in-distribution part is exactly its plain
twin's (same splits, same weak labels), an ensemble's supervisors are the single-supervisor
tasks'. Old and new: the reward-modelling pairs never share a tweet across splits."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.datasets.base import split_pair
from benchmark.labels.frozen import load_references, load_weak_labels
from benchmark.tasks.spec import TASKS
from benchmark.tasks.splits import example_pool
from benchmark.tasks.suites import SUITES


def test_the_suite_holds_each_kind_on_both_datasets():
    specs = [TASKS.get(t) for t in SUITES.get("beyond").tasks]
    assert {s.dataset.name for s in specs if s.shift} == {"rotten_tomatoes", "tweet_sentiment"}
    assert {s.dataset.name for s in specs if s.weak_models} == {"rotten_tomatoes",
                                                                "tweet_sentiment"}
    assert any(s.pairwise for s in specs)


@pytest.mark.parametrize("shifted, plain", [
    ("rt-tfidf-logreg-to-minilm-l6-shift-tweets", "rt-tfidf-logreg-to-minilm-l6"),
    ("tweets-tfidf-logreg-to-minilm-l6-shift-rt", "tweets-tfidf-logreg-to-minilm-l6"),
])
def test_a_shift_tasks_source_part_is_its_plain_twin(shifted, plain):
    mine, theirs = load_weak_labels(TASKS.get(shifted), 0), load_weak_labels(TASKS.get(plain), 0)
    assert (mine.ids_A, mine.ids_B, mine.ids_test) == (theirs.ids_A, theirs.ids_B,
                                                       theirs.ids_test)
    np.testing.assert_array_equal(mine.train_weak_probs, theirs.train_weak_probs)
    assert load_references(TASKS.get(shifted)).replicates[0].weak_accuracy == \
        load_references(TASKS.get(plain)).replicates[0].weak_accuracy
    assert set(mine.further_ids["target"]).isdisjoint(mine.ids_A + mine.ids_B + mine.ids_test)


@pytest.mark.parametrize("dataset", ["rt", "tweets"])
def test_an_ensembles_supervisors_are_the_single_supervisor_tasks(dataset):
    spec = TASKS.get(f"{dataset}-ensemble-to-minilm-l6")
    for k in (0, 4):
        weak = load_weak_labels(spec, k)
        # tf-idf exactly; the encoder supervisors' single tasks were frozen on another
        # machine whose features differ in the low bits (probabilities within 2e-3)
        for member, atol in (("tfidf-logreg", 1e-6), ("minilm-l6-layer1", 2e-3),
                             ("paraphrase-minilm-l3", 2e-3)):
            single = load_weak_labels(TASKS.get(f"{dataset}-{member}-to-minilm-l6"), k)
            assert single.ids_B == weak.ids_B
            np.testing.assert_allclose(weak.supervisors[member], single.train_weak_probs, atol=atol)
        ref = load_references(spec).replicates[k]
        assert ref.weak_accuracy == max(ref.ensemble.accuracies.values())


@pytest.mark.parametrize("task", ["tweets-pairs-tfidf-logreg-to-minilm-l6",
                                  "tweets-pairs-tfidf-logreg-to-minilm-l6-g1000",
                                  "tweets-pairs-minilm-l6-layer1-to-minilm-l6-g1000"])
def test_the_reward_modelling_pairs_share_no_tweet_across_splits(task):
    spec = TASKS.get(task)
    pool = example_pool(spec)
    for k in (0, spec.replicates - 1):
        weak = load_weak_labels(spec, k)
        seen: dict[str, str] = {}
        for split, ids in (("A", weak.ids_A), ("B", weak.ids_B), ("test", weak.ids_test)):
            for row in pool.rows(ids):
                for response in split_pair(pool.texts[row]):
                    assert seen.setdefault(response, split) == split
    assert 0.45 < pool.labels.mean() < 0.55
