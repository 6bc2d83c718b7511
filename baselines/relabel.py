"""``relabel-knn`` and ``relabel-logreg``: replace the weak labels by a simple probe on the
strong model's own features, then train the student on those (EleutherAI w2s,
``w2s/probe.py`` and ``w2s/sft.py``).

- ``relabel-knn``, EleutherAI's rule (``probe_relabel`` with the kNN probe): the new class-1
  label of example i is the mean weak class-1 probability of its k = 50 nearest neighbours
  in split B, by Euclidean distance on the raw (unstandardised) activations of the middle
  hidden state (index (L + 1) // 2 of the L + 1 the model has, the source's ``probe_layer``
  default; this harness's pooled state, where the source takes a decoder's last token). As
  in the source the example itself is one of its neighbours. The student then trains with
  the source's default loss, ``logconf-eleuther``. Binary only, as that loss.
- ``relabel-logreg``, our variant (EleutherAI's logistic probe reads the raw middle-layer
  activations and is followed by their logconf; this one reads standardised final-layer
  features and is followed by cross-entropy): fit on split B to the weak *soft* labels,
  minimising Σ_i CE(σ(w·x_i + b), y_i) + ||w||² / (2C), then predict split B. sklearn takes no soft
  targets, so each example appears twice, once per class, weighted by its weak probability
  of that class: the weighted log-loss is exactly the soft-label cross-entropy.
  ``l2`` (default 1e-3, the source's ``l2p``) is the penalty per example: C = 1 / (2·n·l2).
"""

from __future__ import annotations

import numpy as np

from baselines.eleuther import LogConfEleuther
from benchmark.api import Method, MethodInput, Uses, register, standardizer


def middle_layer(inp: MethodInput) -> int:
    """The source's ``probe_layer`` default: hidden state (L + 1) // 2 of L + 1."""
    return (inp.strong_model.num_layers + 1) // 2


def knn_relabel(features: np.ndarray, weak_probs: np.ndarray, k: int, exclude_self: bool,
                standardise: bool = False) -> np.ndarray:
    """[n, K] soft labels: the mean weak probabilities of the k nearest neighbours (raw
    features, as the source; ``standardise`` for per-column z-scores first)."""
    import torch

    x = np.asarray(features, np.float32)
    if standardise:
        mean, scale = standardizer(x)
        x = (x - mean) / scale
    x = torch.from_numpy(x)
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


def train_with_eleuther_logconf(inp: MethodInput, targets: np.ndarray,
                                rows: np.ndarray | None = None) -> np.ndarray:
    """The student on ``targets`` (of ``rows`` of B, default all) with the source's default
    loss, ``logconf-eleuther``; test probabilities."""
    loss = LogConfEleuther()
    loss.prepare(inp)
    features = inp.train_features if rows is None else inp.train_features[rows]
    probe = inp.train_probe(targets, loss=loss.training_loss(), features=features)
    return probe.predict_proba(inp.test_features)


@register("relabel-knn")
class RelabelKnn(Method):
    """EleutherAI's kNN relabelling (k = 50, raw middle-layer activations), then their logconf."""

    version = "2"  # 2: the source's k, features, layer and loss (1: k = 20, standardised, CE)
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="a kNN probe on B's activations, then one probe training")
    regimes = ("probe",)  # works on cached features; no finetune form yet
    binary_only = True
    code = "https://github.com/EleutherAI/w2s"
    defaults = {"k": 50}

    def check_config(self) -> None:
        if not (isinstance(self.config["k"], int) and self.config["k"] >= 1):
            raise self.option_error("k", "a positive integer")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        acts, _ = inp.features_at(middle_layer(inp))
        labels = knn_relabel(acts, inp.train_weak_probs, self.config["k"], exclude_self=False)
        return train_with_eleuther_logconf(inp, labels)


@register("relabel-logreg")
class RelabelLogreg(Method):
    """Our variant: weak labels replaced by a soft-label logistic regression, then CE."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="a logistic probe on B, then one probe training")
    regimes = ("probe",)  # works on cached features; no finetune form yet
    defaults = {"l2": 1e-3}

    def check_config(self) -> None:
        if not (isinstance(self.config["l2"], int | float) and self.config["l2"] > 0):
            raise self.option_error("l2", "a positive number")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        labels, _ = soft_logreg_relabel(inp.train_features, inp.train_weak_probs,
                                        float(self.config["l2"]), inp.seed)
        return inp.train_probe(labels).predict_proba(inp.test_features)
