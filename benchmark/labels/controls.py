"""What a task's PGR is read against, measured once at freeze time (harness-side, with gold).

- The **weak ceiling**: the supervisor's own definition fitted on gold B, the split the strong
  ceiling learns from. At equal gold the capability gap is strong ceiling − weak ceiling, and
  (weak ceiling − weak accuracy) is what the supervisor would gain from more gold alone.
- The **self-training control**: the strong model's own probe fitted on gold A labels B, and
  a fresh probe learns from those labels: what "more noisy data" gives with no stronger model.
- The **label-free floor**: k-means on the strong model's standardised features of B, its
  clusters matched to classes on the test set with gold (one matching, so it bounds from
  above what clustering gives with no label at all).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from benchmark.core.metrics import accuracy
from benchmark.training.probe import ProbeConfig, one_hot, train_probe


def self_training_accuracy(features: np.ndarray, labels: np.ndarray, rows: dict[str, np.ndarray],
                           config: ProbeConfig, seed: int, classes: int) -> float:
    """The strong probe fitted on gold A labels B (soft); a probe trained on those labels
    with the task's recipe, scored on test."""
    teacher = train_probe(features[rows["A"]], one_hot(labels[rows["A"]], classes), config, seed)
    student = train_probe(features[rows["B"]], teacher.predict_proba(features[rows["B"]]),
                          config, seed)
    return accuracy(student.predict_proba(features[rows["test"]]), labels[rows["test"]])


def matched_accuracy(clusters: np.ndarray, labels: np.ndarray, classes: int) -> float:
    """Accuracy of ``clusters`` under the one-to-one matching of clusters to classes that
    scores best (Hungarian algorithm on the contingency table)."""
    table = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(table, (clusters, labels), 1)
    chosen_rows, chosen_cols = linear_sum_assignment(table, maximize=True)
    return float(table[chosen_rows, chosen_cols].sum() / len(labels))


def label_free_accuracy(features: np.ndarray, labels: np.ndarray, rows: dict[str, np.ndarray],
                        seed: int, classes: int) -> float:
    """k-means (as many clusters as classes) on the standardised strong features of B,
    applied to test; clusters matched to classes with test gold."""
    from sklearn.cluster import KMeans

    train = np.asarray(features[rows["B"]], np.float64)
    mean, scale = train.mean(0), train.std(0) + 1e-6
    model = KMeans(n_clusters=classes, n_init=10, random_state=seed)
    model.fit((train - mean) / scale)
    test = (np.asarray(features[rows["test"]], np.float64) - mean) / scale
    return matched_accuracy(model.predict(test), labels[rows["test"]], classes)
