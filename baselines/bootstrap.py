"""``bootstrap``: bootstrapping with intermediate model sizes (Burns et al. 2023, §4.3.1), and
``bootstrap-layers``, our variant with the strong model's own earlier layers as the rungs.

``bootstrap`` (probe regime): the weak labels train a probe on the weakest intermediate
model's features of split B, whose out-of-fold predictions train the next model's probe, and
so on; the last one's labels train the student. The intermediate models are the embedded
ladder's rungs measured (at equal gold) clearly stronger than the supervisor and weaker than
the student, the harness's choice (``benchmark.labels.rungs``, read from frozen references),
handed over as ``MethodInput.rung_features``; a task with none skips the method. The paper
chains pretrained models of growing size and finetunes each; here each link is a linear probe
on a frozen model, and each passes labels out of fold (our choice: the paper does not say how
a link labels the data it was trained on).

``bootstrap-layers`` does not go through separate models: a rung here may be weaker than the
supervisor (layer 2 of MiniLM-L6 when layer 3 supervises) or be the supervisor's own layer, and
a student of one layer has no rung (the method then runs as ``naive``). Read it as a layer-wise
smoothing of the weak labels, not as the paper's method.

The weak labels train the first intermediate model m1; m1's predictions on split B train m2;
…; the last intermediate model's predictions train the strong student. In the probe regime
the intermediate rungs are the strong encoder cut at intermediate hidden layers (the way the
embedded ladder defines its small rungs, e.g. ``minilm-l6-layer3``): with ``steps`` rungs
and the student reading layer L, rung i reads layer round(i·L / (steps + 1)).

In the finetune regime the rungs are the strong model's first blocks, finetuned: rung i is
the strong checkpoint truncated to round(i·L / (steps + 1)) of its L blocks (pretrained
weights, final norm kept), trained with the task's recipe; the chain costs ``folds`` short
finetunes per rung plus the student's.

Each rung's labels for split B are out-of-fold predictions (``folds``-fold cross-fitting,
folds drawn with the run's seed), so no rung labels an example it was trained on; the
labels passed along are soft probabilities.
"""

from __future__ import annotations

import numpy as np

from benchmark.api import Method, MethodInput, Uses, register


def rung_layers(student_layer: int, steps: int) -> list[int]:
    """Hidden-state indices of the intermediate rungs, strictly between 0 and the student."""
    layers = [round(i * student_layer / (steps + 1)) for i in range(1, steps + 1)]
    return sorted({layer for layer in layers if 0 < layer < student_layer})


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """Fold number of each row: a seeded permutation dealt round-robin into ``folds``."""
    ids = np.empty(n, dtype=np.int64)
    ids[np.random.default_rng(seed).permutation(n)] = np.arange(n) % folds
    return ids


def out_of_fold(inp: MethodInput, features: np.ndarray, targets: np.ndarray, folds: int
                ) -> np.ndarray:
    """Each row's prediction from a probe trained on the other folds' (features, targets)."""
    ids = fold_ids(len(features), folds, inp.seed)
    out = np.empty_like(targets, dtype=np.float32)
    for fold in range(folds):
        train, held = ids != fold, ids == fold
        probe = inp.train_probe(targets[train], features=features[train])
        out[held] = probe.predict_proba(features[held])
    return out


def out_of_fold_finetuned(inp: MethodInput, layers: int, targets: np.ndarray, folds: int
                          ) -> np.ndarray:
    """Each row's prediction from the strong model cut to ``layers`` blocks and finetuned on
    the other folds' (texts, targets)."""
    texts = np.array(inp.train_texts, dtype=object)
    ids = fold_ids(len(texts), folds, inp.seed)
    out = np.empty_like(targets, dtype=np.float32)
    for fold in range(folds):
        train, held = ids != fold, ids == fold
        fitted = inp.finetune(targets[train], texts=tuple(texts[train]), layers=layers)
        out[held] = fitted.predict_proba(list(texts[held]))
    return out


@register("bootstrap-layers")
class BootstrapLayers(Method):
    """Our variant: weak labels passed up the strong model's own earlier layers as rungs."""

    version = "1"
    uses = Uses(transductive=False, extra_data=[], extra_models=[], gold_for_tuning=None,
                compute="1 + folds × steps probe trainings (5 by default)")
    regimes = ("probe", "finetune")
    defaults = {"steps": 2, "folds": 2}

    def check_config(self) -> None:
        if not (isinstance(self.config["steps"], int) and self.config["steps"] >= 1):
            raise self.option_error("steps", "a positive integer")
        if not (isinstance(self.config["folds"], int) and self.config["folds"] >= 2):
            raise self.option_error("folds", "an integer ≥ 2")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        labels = np.asarray(inp.train_weak_probs, dtype=np.float32)
        if inp.regime == "finetune":
            blocks = rung_layers(inp.strong_model.num_layers, self.config["steps"])
            for layers in blocks:
                labels = out_of_fold_finetuned(inp, layers, labels, self.config["folds"])
            print(f"bootstrap: rungs of {blocks} blocks → student of "
                  f"{inp.strong_model.num_layers}")
            return inp.finetune(labels).predict_proba(inp.test_texts)
        layers = rung_layers(inp.strong_model.layer, self.config["steps"])
        for layer in layers:
            features, _ = inp.features_at(layer)
            labels = out_of_fold(inp, features, labels, self.config["folds"])
        print(f"bootstrap: rungs at layers {layers} → student layer {inp.strong_model.layer}")
        return inp.train_probe(labels).predict_proba(inp.test_features)


@register("bootstrap")
class Bootstrap(Method):
    """The paper's bootstrapping: weak labels passed up intermediate models, weakest first."""

    version = "2"   # "bootstrap" v1 was the layer variant, now ``bootstrap-layers``
    uses = Uses(transductive=False, extra_data=[],
                extra_models=["the intermediate rungs the task names (their features)"],
                gold_for_tuning=None,
                compute="one probe training per rung per fold, then the student's (5 with 2 rungs)")
    regimes = ("probe",)
    needs_rungs = True
    paper = "https://arxiv.org/abs/2312.09390"
    defaults = {"folds": 2}

    def check_config(self) -> None:
        if not (isinstance(self.config["folds"], int) and self.config["folds"] >= 2):
            raise self.option_error("folds", "an integer ≥ 2")

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        if not inp.rung_features:
            raise ValueError(f"task {inp.task!r}: no intermediate model between its supervisor "
                             "and student; bootstrap needs at least one")
        labels = np.asarray(inp.train_weak_probs, dtype=np.float32)
        for features in inp.rung_features.values():
            labels = out_of_fold(inp, features, labels, self.config["folds"])
        print(f"bootstrap: {' → '.join(inp.rung_features)} → {inp.strong_model.name}")
        return inp.train_probe(labels).predict_proba(inp.test_features)
