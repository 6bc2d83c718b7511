"""Systematic weak supervisors (the frontier track's blind spots), fitted on gold split A.

Their errors are not noise: a keyword rule is wrong wherever its words mislead (a negated
"good"), and a supervisor blind on a slice is wrong there by construction. Both are fitted
and frozen exactly like every weak model; only :mod:`benchmark.labels.freeze` calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from benchmark.tasks.frontier_blocks import KeywordRule

Predictor = Callable[[np.ndarray], np.ndarray]
Fit = Callable[[np.ndarray, np.ndarray], Predictor]   # (pool rows, labels) -> predictor


def fit_keyword_supervisor(rule: KeywordRule, label_names: Sequence[str],
                           texts: Sequence[str], train_rows: np.ndarray,
                           labels: np.ndarray) -> Predictor:
    """The rule, calibrated: each outcome (a class's words win, or none) predicts the gold
    class frequencies it had on A, add-one smoothed."""
    classes = len(label_names)
    outcomes = rule.outcomes([texts[i] for i in train_rows], label_names)
    counts = np.ones((classes + 1, classes))
    np.add.at(counts, (outcomes, labels), 1.0)
    table = counts / counts.sum(axis=1, keepdims=True)
    return lambda rows: table[rule.outcomes([texts[i] for i in rows], label_names)]


def flipped(labels: np.ndarray, classes: int) -> np.ndarray:
    """Each label moved to the next class (with two classes: the other one)."""
    return (np.asarray(labels) + 1) % classes


def fit_blind_supervisor(mode: str, fit: Fit, in_slice: np.ndarray, train_rows: np.ndarray,
                         labels: np.ndarray, classes: int) -> Predictor:
    """A supervisor blind on the slice (``in_slice``: a mask over the pool).

    ``withhold``: ``fit`` on A without the slice; it predicts the slice from what it learned
    elsewhere. ``flip``: ``fit`` on A outside the slice and, separately, on A inside it with
    its labels flipped, each part predicted by its own model, so the supervisor is as
    confidently wrong on the slice as an honest model of it would be right (a linear model
    alone could not learn "flip the label where there is a negation").
    """
    inside = in_slice[train_rows]
    outside_fit = fit(train_rows[~inside], labels[~inside])
    if mode == "withhold":
        return outside_fit
    if len(set(labels[inside].tolist())) < 2:
        raise ValueError(f"the slice holds {int(inside.sum())} examples of split A, not both "
                         "classes: too few to learn a blind spot from; widen the slice rule "
                         "or enlarge `splits.weak_train`")
    inside_fit = fit(train_rows[inside], flipped(labels[inside], classes))

    def predict(rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows)
        mask = in_slice[rows]
        out = np.empty((len(rows), classes))
        if (~mask).any():
            out[~mask] = outside_fit(rows[~mask])
        if mask.any():
            out[mask] = inside_fit(rows[mask])
        return out

    return predict
