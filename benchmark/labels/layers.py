"""Choose the strong model's probed hidden state on the ceiling, at freeze time.

A decoder LM's last hidden state is shaped for predicting the next token; a middle layer
often probes better. For rungs declared with ``layer_search: ceiling`` the freeze trains
the ceiling's probe on gold labels of part of split B for every hidden state and keeps the
one that scores best on the rest of B (never on the test split, which every number is
reported on). The choice is made once per task, on replicate 0's split, and recorded in
``references.json``; every replicate's ceiling and every method then read that layer.
This is harness code: it uses gold labels, as the ceiling does.
"""

from __future__ import annotations

import numpy as np

from benchmark.core.metrics import accuracy
from benchmark.labels.frozen import LayerChoice
from benchmark.training.probe import ProbeConfig, one_hot, train_probe

HELD_OUT = 0.2  # share of split B the candidates are scored on


def choose_layer(layers: np.ndarray, labels: np.ndarray, num_classes: int,
                 config: ProbeConfig, seed: int) -> LayerChoice:
    """The best of ``layers[1:]`` (``[L + 1, n, hidden]`` features of split B with their gold
    ``labels``) by held-out accuracy; the first of equals (the shallower, cheaper one)."""
    n = len(labels)
    order = np.random.default_rng([seed, 7]).permutation(n)
    cut = n - max(1, int(round(n * HELD_OUT)))
    fit, held = order[:cut], order[cut:]
    targets = one_hot(labels[fit], num_classes)
    scores: dict[int, float] = {}
    for layer in range(1, len(layers)):
        features = np.asarray(layers[layer], dtype=np.float32)
        probe = train_probe(features[fit], targets, config, seed)
        scores[layer] = accuracy(probe.predict_proba(features[held]), labels[held])
    best = max(scores, key=lambda layer: (scores[layer], -layer))
    return LayerChoice(layer=best, accuracy=scores, n_fit=len(fit), n_held_out=len(held))
