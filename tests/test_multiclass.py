"""Tasks with more than two classes, end to end: a 4-class file task frozen, run by every
baseline, scored and shown; a binary-only method is skipped with its reason."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from benchmark.api.losses import confidence_margin, harden_keep_prior, harden_keep_shares
from benchmark.cli.main import main
from benchmark.core.metrics import auroc
from benchmark.results.records import iter_records
from tests.conftest import FILLER, NEGATIVE, POSITIVE, TASK_YAML

TOPICS = [POSITIVE[:4], POSITIVE[4:], NEGATIVE[:4], NEGATIVE[4:]]
NAMES = ["alpha", "beta", "gamma", "delta"]


def topic_corpus(n: int = 800, seed: int = 0) -> list[tuple[str, int]]:
    """Four topics told apart by a few words each, with 25% of those words off-topic."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = i % 4
        words = list(rng.choice(FILLER, size=rng.integers(4, 9)))
        for _ in range(rng.integers(1, 3)):
            topic = label if rng.random() < 0.75 else int(rng.integers(0, 4))
            words.insert(int(rng.integers(0, len(words))), str(rng.choice(TOPICS[topic])))
        rows.append((" ".join(words) + f" #{i}", label))
    return rows


def test_share_keeping_hardening_fills_every_quota() -> None:
    probs = torch.tensor([[.7, .2, .1], [.6, .3, .1], [.5, .4, .1], [.2, .2, .6]])
    # shares ½, ¼, ¼ of 4 rows: quotas 2, 1, 1. By falling probability: row 0 → class 0
    # (.7), row 1 → class 0 (.6, quota now full), row 3 → class 2 (.6), row 2's best free
    # class is 1 (.4)
    hard = harden_keep_shares(probs, torch.tensor([.5, .25, .25]))
    assert hard.argmax(1).tolist() == [0, 0, 1, 2]
    assert hard.sum(0).tolist() == [2, 1, 1]
    binary = torch.tensor([[.9, .1], [.4, .6], [.3, .7]])
    assert torch.equal(harden_keep_shares(binary, torch.tensor([.5, .5])),
                       harden_keep_prior(binary, torch.tensor(.5)))  # two classes: unchanged


def test_macro_auroc_and_the_margin_with_more_classes() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 200)
    probs = rng.dirichlet(np.ones(4), 200) + np.eye(4)[labels] * 0.3
    probs /= probs.sum(1, keepdims=True)
    assert auroc(probs, labels) == pytest.approx(
        roc_auc_score(labels, probs, multi_class="ovr", average="macro"))
    assert auroc(probs, np.zeros(200, int)) is None
    assert confidence_margin(np.array([[.7, .1, .1, .1]])) == pytest.approx([.45])
    assert confidence_margin(np.array([[.2, .8]])) == pytest.approx([.3])


BINARY_ONLY = '''
from benchmark.api import Method, register

@register("two-only")
class TwoOnly(Method):
    """Works on two classes only (tests)."""
    binary_only = True
    def loss(self, logits, weak_probs, progress):
        raise AssertionError("never run on a 4-class task")
'''


def test_a_four_class_task_runs_every_baseline(tiny_world, tmp_path, capsys) -> None:
    import pandas as pd

    corpus = topic_corpus()
    path = tiny_world.root / "topics.csv"
    pd.DataFrame({"text": [t for t, _ in corpus],
                  "topic": [NAMES[y][0] for _, y in corpus]}).to_csv(path, index=False)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    base = TASK_YAML.format(id="topics")
    start, end = base.index("dataset:"), base.index("balance:")
    dataset = (f"dataset:\n  source: file\n  name: topics\n  path: topics.csv\n  sha256: {sha}\n"
               "  text: text\n  label: topic\n  label_map: {a: alpha, b: beta, g: gamma, "
               f"d: delta}}\nlabel_names: {NAMES}\n")
    tiny_world.add_submission("two-only", BINARY_ONLY)
    results, site = tmp_path / "results", tmp_path / "site"
    with tiny_world.frozen_task("topics", base[:start] + dataset + base[end:]):
        assert main(["run", "--tasks", "topics", "--replicates", "1", "--results-dir",
                     str(results), "--leaderboard-dir", str(site), "--no-progress"]) == 0
        assert main(["run", "--tasks", "topics", "--methods", "naive,two-only",
                     "--replicates", "1", "--results-dir", str(results), "--no-progress"]) == 0
    out = capsys.readouterr().out
    for name in ("two-only", "topo-filter"):
        assert f"{name} skipped on 'topics': it declares `binary_only`; the task has more " \
            "than two classes" in out
    records = list(iter_records(results))
    from benchmark.methods.catalog import METHODS, baseline_names

    baselines = {m for m in baseline_names() if "probe" in METHODS.get(m).regimes
                 and not METHODS.get(m).needs_supervisors
                 and not METHODS.get(m).needs_boosting    # one supervisor: nothing boosted
                 and not METHODS.get(m).needs_rungs}   # a user's own dataset: no ladder
    binary = {m for m in baselines if METHODS.get(m).binary_only}
    assert binary == {"logconf-eleuther", "relabel-knn", "probe-filter", "topo-filter"}
    assert {r.method for r in records} == baselines - binary  # skipped with the note above
    assert all(r.status == "ok" for r in records), [(r.method, r.error) for r in records
                                                     if r.status != "ok"]
    for r in records:
        assert 0 <= r.metrics.accuracy <= 1 and r.metrics.auroc is not None
        assert r.diagnostics is not None and r.diagnostics.regions is not None
    weak = records[0].metrics.weak_accuracy
    assert 0.25 < weak < 1  # the supervisor learnt something and is not perfect
    board = json.loads((site / "leaderboard.json").read_text())["suites"][0]
    assert board["suite"] == "topics" and len(board["ranked"]) == len(baselines - binary)
