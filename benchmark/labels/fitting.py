"""Fitting a task's weak supervisors on gold rows, as its definitions say: shared by the
freeze step (its default labels, weak ceiling and controls) and boosting (weighted fits).
Harness code: gold labels train these and nothing a method runs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmark.core.kinds import declared_kinds
from benchmark.labels.supervisors import (
    Predictor,
    fit_finetuned_supervisor,
    fit_probe_supervisor,
    fit_weak_supervisor,
)
from benchmark.models import MODELS
from benchmark.models.features import model_features
from benchmark.models.hub_ladder import rung_of
from benchmark.tasks.spec import TaskSpec, task_probe_config
from benchmark.tasks.splits import ExamplePool
from benchmark.tasks.supervisors import resolve

# (supervisor, pool rows, gold targets, weights per row with mean 1 or None) -> predictor
WeightedFit = Callable[[str, np.ndarray, np.ndarray, "np.ndarray | None"], Predictor]


def weak_is_finetuned(spec: TaskSpec) -> bool:
    """A paper-scale ladder rung as the weak model of a finetune task is finetuned on A."""
    return rung_of(spec.weak_model) is not None and spec.finetune is not None


def weak_model_features(spec: TaskSpec, texts: list[str], progress: bool,
                        model: str | None = None) -> np.ndarray | None:
    """The frozen features an encoder weak supervisor (``model``: one of several) is fitted
    on (None otherwise)."""
    model = model or spec.weak_model
    if MODELS.get(model).kind != "encoder" or weak_is_finetuned(spec):
        return None
    return model_features(model, texts, progress)


def fit_supervisor(spec: TaskSpec, model: str, pool: ExamplePool, features: np.ndarray | None,
                   rows: np.ndarray, targets: np.ndarray, seed: int,
                   weights: np.ndarray | None = None) -> Predictor:
    """One weak model fitted on gold ``rows`` as the task fits it: finetuned for a
    paper-scale rung; else as its definition says (the ceiling's probe on an encoder's
    features, a pair's being its responses' difference); else as a kind of the task fits one
    (a pairwise task's Bradley-Terry logistic regression); else tf-idf's logistic
    regression. ``weights`` (per row, mean 1): a weighted fit, for boosting (neither
    finetuned nor fitted by a kind)."""
    if weak_is_finetuned(spec):
        assert weights is None, "boosting does not weight finetuned supervisors"
        return fit_finetuned_supervisor(model, rows, targets, pool.texts, spec.finetune, seed,
                                        len(spec.label_names))
    reference = spec.definition_reference(model)
    definition = resolve(reference) if reference is not None else None
    if definition is not None and definition.probe is not None:
        assert features is not None, f"encoder supervisor {model!r} needs features"
        return fit_probe_supervisor(features, rows, targets, definition.probe, seed,
                                    len(spec.label_names),
                                    task_probe_config(spec).antisymmetric, weights)
    c = definition.c if definition is not None and definition.c else spec.weak_c_of(model)
    for kind in declared_kinds(spec):   # e.g. a pairwise task's Bradley-Terry regression
        fitted = kind.fit_weak_model(spec, model, rows, targets, c, pool.texts, features, seed)
        if fitted is not None:
            assert weights is None, f"boosting does not weight {kind.key} supervisors"
            return fitted
    return fit_weak_supervisor(model, rows, targets, c, pool.texts, features, seed,
                               len(spec.label_names), weights)


def weighted_fit(spec: TaskSpec, pool: ExamplePool, features: dict[str, np.ndarray | None]
                 ) -> Callable[[int], WeightedFit]:
    """The task's supervisor fit at a replicate's seed, taking example weights (boosting)."""
    def at_seed(seed: int) -> WeightedFit:
        def fit(model: str, rows: np.ndarray, targets: np.ndarray,
                weights: np.ndarray | None) -> Predictor:
            return fit_supervisor(spec, model, pool, features[model], rows, targets, seed,
                                  weights)
        return fit
    return at_seed


def supervisor_features(spec: TaskSpec, pool: ExamplePool, progress: bool
                        ) -> dict[str, np.ndarray | None]:
    """Each supervisor's frozen features (None for tf-idf or a finetuned rung)."""
    return {model: weak_model_features(spec, pool.texts, progress, model)
            for model in (spec.supervisor_names or [spec.weak_model])}
