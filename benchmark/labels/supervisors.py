"""Weak supervisors: the weak model trained on gold split A, predicting soft labels.

A weak supervisor is fitted on the weak model's view of the text. A task that names a
definition (``weak_supervisor``) gets its learner: the ceiling's linear probe on an encoder
rung's features, or a logistic regression (scikit-learn, deterministic L-BFGS) on tf-idf
n-grams. Older tasks fit a logistic regression on either view with the task's ``weak_c``.
A paper-scale ladder rung is instead finetuned on A, as
the original trains its weak models, with the task's recipe and the rung's own learning rate,
eval batch size and checkpointing. Only the harness's freeze step calls this: it is the one
place, besides the ceiling, where gold labels train anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmark.finetune.fit import fit_classifier
from benchmark.finetune.trainer import FinetuneConfig
from benchmark.labels.shared_fits import shared_predictor, training_key
from benchmark.models import MODELS
from benchmark.models.hub_ladder import LADDER
from benchmark.tasks.checkpoints import model_checkpoint
from benchmark.tasks.supervisors import ProbeRecipe
from benchmark.training.probe import (
    ProbeConfig,
    ProbeTrainer,
    one_hot,
    soft_cross_entropy,
    train_probe,
)

Predictor = Callable[[np.ndarray], np.ndarray]


def fit_finetuned_supervisor(model: str, train_rows: np.ndarray, labels: np.ndarray,
                             texts: Sequence[str], settings: Any, seed: int,
                             classes: int = 2) -> Predictor:
    """Finetune ladder rung ``model`` on gold A (``settings``: the task's finetune block),
    with the rung's own learning rate, eval batch size and checkpointing."""
    rung = LADDER.get(model)
    config = replace(FinetuneConfig.from_settings(settings), lr=rung.lr,
                     eval_batch_size=rung.eval_batch_size,
                     gradient_checkpointing=settings.gradient_checkpointing
                     or rung.gradient_checkpointing)
    checkpoint, train = model_checkpoint(model), [texts[i] for i in train_rows]
    targets = one_hot(labels, classes)
    predict = shared_predictor(
        training_key(checkpoint, settings.pooling, config, seed, train, targets),
        lambda: fit_classifier(checkpoint, settings.pooling, train, targets, config, seed,
                               soft_cross_entropy))
    return lambda rows: predict([texts[i] for i in rows])


def fit_probe_supervisor(features: np.ndarray, train_rows: np.ndarray, labels: np.ndarray,
                         recipe: ProbeRecipe, seed: int, classes: int = 2,
                         antisymmetric: bool = False,
                         weights: np.ndarray | None = None) -> Predictor:
    """A defined encoder supervisor: the ceiling's linear probe trainer on its features
    (``antisymmetric`` for pairs, as the ceiling's: a Bradley-Terry reward model).
    ``weights`` (one per training row, mean 1) scale each row's gradient (boosting)."""
    config = ProbeConfig(epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr,
                         weight_decay=recipe.weight_decay, antisymmetric=antisymmetric)
    targets = one_hot(labels, classes)
    if weights is None:
        probe = train_probe(features[train_rows], targets, config, seed)
    else:
        trainer = ProbeTrainer(features[train_rows], targets, config, seed)
        for _ in range(config.epochs):
            trainer.run_epoch(weights)
        probe = trainer.probe()
    return lambda rows: probe.predict_proba(features[rows])


def _every_class(pipeline, inputs, classes: int) -> np.ndarray:
    """Probabilities with a column per class of the task, also those split A lacked (0)."""
    proba = pipeline.predict_proba(inputs)
    if proba.shape[1] == classes:
        return proba
    full = np.zeros((len(proba), classes), dtype=proba.dtype)
    full[:, pipeline.classes_] = proba
    return full


def fit_weak_supervisor(model: str, train_rows: np.ndarray, labels: np.ndarray, c: float,
                        texts: Sequence[str], features: np.ndarray | None,
                        seed: int, classes: int = 2,
                        weights: np.ndarray | None = None) -> Predictor:
    """Fit on the pool rows ``train_rows``; return ``predict(rows) -> [n, classes]`` probs
    (multinomial logistic regression with more than two classes). ``weights`` (one per
    training row, mean 1, so C keeps its meaning) weight each row's loss (boosting); the
    tf-idf vocabulary and the feature scaling are fitted unweighted."""
    spec = MODELS.get(model)
    fit_params = {} if weights is None else {"logisticregression__sample_weight": weights}
    if spec.kind == "tfidf":
        pipeline = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
            LogisticRegression(C=c, max_iter=5000, random_state=seed))
        pipeline.fit([texts[i] for i in train_rows], labels, **fit_params)
        return lambda rows: _every_class(pipeline, [texts[i] for i in rows], classes)
    assert features is not None, f"encoder supervisor {model!r} needs features"
    pipeline = make_pipeline(StandardScaler(),
                             LogisticRegression(C=c, max_iter=5000, random_state=seed))
    pipeline.fit(features[train_rows], labels, **fit_params)
    return lambda rows: _every_class(pipeline, features[rows], classes)
