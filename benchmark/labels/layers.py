"""Choose the strong model's probed hidden state on the ceiling, at freeze time.

A decoder LM's last hidden state is shaped for predicting the next token; a middle layer
often probes better. For rungs declared with ``layer_search: ceiling`` the freeze trains
the ceiling's probe on gold labels of part of a choice set for every hidden state and keeps
the one that scores best on the rest. The choice set is drawn from the dataset's examples
outside the task's pool, which no replicate trains or tests on (choosing on replicate 0's
split B, as tasks frozen earlier did, used examples that later replicates test on). The
choice is made once per task and recorded in ``references.json``; every replicate's ceiling
and every method then read that layer.
This is harness code: it uses gold labels, as the ceiling does.
"""

from __future__ import annotations

import numpy as np

from benchmark.core.errors import SpecError
from benchmark.core.kinds import declared_kinds
from benchmark.core.metrics import accuracy
from benchmark.datasets.base import Example
from benchmark.labels.frozen import LayerChoice
from benchmark.tasks.spec import TaskSpec
from benchmark.tasks.splits import ExamplePool, draw_pool, task_examples
from benchmark.training.probe import ProbeConfig, one_hot, train_probe

HELD_OUT = 0.2  # share of the choice set the candidates are scored on
CHOICE_SIZE = 2000  # examples outside the pool drawn for the choice, at most
MIN_CHOICE = 40


def choice_examples(spec: TaskSpec, pool: ExamplePool) -> list[Example]:
    """Up to CHOICE_SIZE examples of the task's dataset outside its pool (class-balanced
    where the task is), drawn with the pool's seed; refused where too few remain."""
    if spec.dataset.source == "hub" \
            or not all(kind.layer_search for kind in declared_kinds(spec)):
        raise SpecError(f"task {spec.id!r}: `layer_search` chooses the layer on examples of "
                        "the dataset outside the pool, which hub and shift tasks, and kinds "
                        "such as pairwise, do not define; use a rung without layer_search "
                        "there")
    held = {e.id for e in pool}
    outside = [e for e in task_examples(spec) if e.id not in held]
    classes = len(spec.label_names)
    size = min(CHOICE_SIZE, len(outside))
    if spec.balance and outside:
        size = min(size, classes * min(sum(e.label == c for e in outside)
                                       for c in range(classes)))
    if size < MIN_CHOICE:
        raise SpecError(f"task {spec.id!r}: `layer_search` chooses the strong model's layer "
                        f"on examples outside the pool, and only {size} remain; declare a "
                        "smaller `pool.size` (or smaller splits) so that at least "
                        f"{MIN_CHOICE} examples stay out")
    seed = spec.pool.seed if spec.pool is not None else spec.seed
    return draw_pool(outside, size, spec.balance, seed, classes)


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
    return LayerChoice(layer=best, accuracy=scores, n_fit=len(fit), n_held_out=len(held),
                       source="outside-pool")
