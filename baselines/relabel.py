"""``relabel-knn`` and ``relabel-logreg``: replace the weak labels by a simple probe on the
strong model's own features, then train the student on those (EleutherAI w2s,
``w2s/probe.py`` and ``w2s/relabel.py``).

- kNN: the new class-1 label of example i is the mean weak class-1 probability of its k
  nearest neighbours in split B (Euclidean distance on standardised features; k = 20). As in
  the source the example itself is one of its neighbours (``exclude_self: true`` drops it).
- Logistic regression: fit on split B to the weak *soft* labels, minimising
  Σ_i CE(σ(w·x_i + b), y_i) + ||w||² / (2C), then predict split B. sklearn takes no soft
  targets, so each example appears twice, once per class, weighted by its weak probability
  of that class: the weighted log-loss is exactly the soft-label cross-entropy.
  ``l2`` (default 1e-3, the source's ``l2p``) is the penalty per example: C = 1 / (2·n·l2).

The student is then trained with cross-entropy on the new labels.
"""

from __future__ import annotations

import numpy as np

from benchmark.api import Method, MethodInput, register, standardizer


def knn_relabel(features: np.ndarray, weak_probs: np.ndarray, k: int, exclude_self: bool
                ) -> np.ndarray:
    """[n, K] soft labels: the mean weak probabilities of the k nearest neighbours."""
    import torch

    mean, scale = standardizer(features)
    x = torch.from_numpy((np.asarray(features, np.float32) - mean) / scale)
    distances = torch.cdist(x, x)
    if exclude_self:
        distances.fill_diagonal_(float("inf"))
    k = min(k, len(x) - int(exclude_self))
    nearest = distances.topk(k, largest=False).indices.numpy()
    weak = np.asarray(weak_probs, np.float64)
    if weak.shape[1] == 2:
        p1 = weak[:, 1][nearest].mean(axis=1)
        return np.stack([1 - p1, p1], axis=1).astype(np.float32)
    return weak[nearest].mean(axis=1).astype(np.float32)  # K classes: the mean vector


def soft_logreg_relabel(features: np.ndarray, weak_probs: np.ndarray, l2: float, seed: int
                        ) -> tuple[np.ndarray, object]:
    """[n, K] soft labels from a logistic regression fitted to soft targets, and the model."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = standardizer(features)
    x = (np.asarray(features, np.float32) - mean) / scale
    n = len(x)
    weak = np.asarray(weak_probs, np.float64)
    model = LogisticRegression(C=1.0 / (2 * n * l2), max_iter=2000, random_state=seed)
    classes = weak.shape[1]  # one weighted copy of x per class
    model.fit(np.concatenate([x] * classes), np.repeat(np.arange(classes), n),
              sample_weight=np.concatenate([weak[:, c] for c in range(classes)]))
    return model.predict_proba(x).astype(np.float32), model


@register("relabel-knn")
class RelabelKnn(Method):
    """Weak labels smoothed by k nearest neighbours in the strong features, then cross-entropy."""

    version = "1"
    regimes = ("probe",)  # works on cached features; no finetune form yet
    code = "https://github.com/EleutherAI/w2s"
    defaults = {"k": 20, "exclude_self": False}

    def check_config(self) -> None:
        if not (isinstance(self.config["k"], int) and self.config["k"] >= 1):
            raise self.option_error("k", "a positive integer")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        labels = knn_relabel(inp.train_features, inp.train_weak_probs, self.config["k"],
                             bool(self.config["exclude_self"]))
        return inp.train_probe(labels).predict_proba(inp.test_features)


@register("relabel-logreg")
class RelabelLogreg(Method):
    """Weak labels replaced by a soft-label logistic regression on the strong features."""

    version = "1"
    regimes = ("probe",)  # works on cached features; no finetune form yet
    code = "https://github.com/EleutherAI/w2s"
    defaults = {"l2": 1e-3}

    def check_config(self) -> None:
        if not (isinstance(self.config["l2"], int | float) and self.config["l2"] > 0):
            raise self.option_error("l2", "a positive number")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        labels, _ = soft_logreg_relabel(inp.train_features, inp.train_weak_probs,
                                        float(self.config["l2"]), inp.seed)
        return inp.train_probe(labels).predict_proba(inp.test_features)
