"""Weak reward models for pairwise tasks: Bradley-Terry logistic regressions on split A.

A weak reward model scores one response, r(x) = w · φ(x), and prefers the first of a pair
with probability σ(r(first) − r(second)): a logistic regression without intercept on
φ(first) − φ(second). φ is tf-idf n-grams fitted on A's responses for ``tfidf-logreg``, or an
encoder rung's frozen features (a pairwise pool's features already are the differences; they
are scaled, not centred, so the model stays antisymmetric). Only the freeze step calls this.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from benchmark.datasets.base import split_pair
from benchmark.labels.supervisors import Predictor
from benchmark.models import MODELS


def _two_columns(p_first: np.ndarray) -> np.ndarray:
    return np.stack([1.0 - p_first, p_first], axis=1)


def fit_pairwise_supervisor(model: str, train_rows: np.ndarray, labels: np.ndarray, c: float,
                            texts: Sequence[str], features: np.ndarray | None,
                            seed: int) -> Predictor:
    """Fit on the pool rows ``train_rows`` (pairs, class 1: first preferred); return
    ``predict(rows) -> [n, 2]`` = [P(second ≻ first), P(first ≻ second)]."""
    regression = LogisticRegression(C=c, fit_intercept=False, max_iter=5000,
                                    random_state=seed)
    if MODELS.get(model).kind == "tfidf":
        halves = [split_pair(texts[i]) for i in train_rows]
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        vectorizer.fit([r for pair in halves for r in pair])

        def difference(rows: Sequence[int]) -> np.ndarray:
            pairs = [split_pair(texts[i]) for i in rows]
            return (vectorizer.transform([a for a, _ in pairs])
                    - vectorizer.transform([b for _, b in pairs]))

        regression.fit(difference(train_rows), labels)
        return lambda rows: _two_columns(regression.predict_proba(difference(rows))[:, 1])
    assert features is not None, f"encoder supervisor {model!r} needs features"
    scale = np.sqrt((np.asarray(features[train_rows], np.float64) ** 2).mean(0)) + 1e-6
    regression.fit(features[train_rows] / scale, labels)
    return lambda rows: _two_columns(regression.predict_proba(features[rows] / scale)[:, 1])
