"""``supervisor``: the weak supervisor made systematic rather than noisy, fitted on gold A at
freeze like any other: a keyword rule (``keywords``, the EleutherAI ``amazon_polarity_weak``
idea, with ``weak_model: keyword-rule``), or the task's model blind on its slice
(``blind_slice``: ``flip``, trained with the slice's labels flipped by a model of its own
there, so it is confidently wrong on it; ``withhold``, never shown the slice). Its errors are
not noise: a keyword rule is wrong wherever its words mislead (a negated "good"), a blind
supervisor on the slice by construction. Records name which (``setting.supervisor``); the
slice's table shows it (:mod:`benchmark.kinds.slice`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from benchmark.core.kinds import SettingField, TaskKind
from benchmark.kinds.slice import WORD, word_pattern

Predictor = Callable[[np.ndarray], np.ndarray]
Fit = Callable[[np.ndarray, np.ndarray], Predictor]   # (pool rows, labels) -> predictor


class KeywordRule(BaseModel):
    """Per class, the words that vote for it. A text's rule outcome is the class with the
    most matches (``none`` when nothing matches or classes tie); the soft labels are the gold
    class frequencies of each outcome on split A (add-one smoothed): the rule, calibrated."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    words: dict[str, list[str]] = Field(min_length=1)

    @model_validator(mode="after")
    def _words(self) -> KeywordRule:
        for name, words in self.words.items():
            bad = [w for w in words if not re.fullmatch(WORD, w.lower())]
            if not words or bad:
                raise ValueError(f"keywords of {name!r}: give a non-empty list of words "
                                 f"(letters, digits, spaces, hyphens, apostrophes); bad: {bad}")
        return self

    def outcomes(self, texts: Sequence[str], label_names: Sequence[str]) -> np.ndarray:
        """Per text: the index of the winning class, or ``len(label_names)`` for none."""
        counts = np.zeros((len(texts), len(label_names)), dtype=np.int64)
        for name, words in self.words.items():
            regex = word_pattern(words)
            counts[:, label_names.index(name)] = [len(regex.findall(t)) for t in texts]
        best = counts.max(axis=1)
        winners = (counts == best[:, None]).sum(axis=1)
        return np.where((best > 0) & (winners == 1), counts.argmax(axis=1), len(label_names))


class SupervisorRule(BaseModel):
    """A systematic weak supervisor: a keyword rule, or the task's model blind on its slice."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    keywords: dict[str, list[str]] | None = None   # class name -> its words
    blind_slice: Literal["flip", "withhold"] | None = None

    @property
    def keyword_rule(self) -> KeywordRule | None:
        return KeywordRule(words=self.keywords) if self.keywords is not None else None

    @model_validator(mode="after")
    def _one(self) -> SupervisorRule:
        if (self.keywords is None) == (self.blind_slice is None):
            raise ValueError("`supervisor` takes one of `keywords` or `blind_slice`")
        _ = self.keyword_rule  # checks the word lists
        return self


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


class SupervisorKind(TaskKind):
    key = "supervisor"
    block = SupervisorRule
    track = "frontier"
    summary = "a systematic weak supervisor: a keyword rule, or blind on the task's slice"
    setting_fields = {"supervisor": SettingField(str | None, written_unset=True)}
    excludes = ("weak_models",)

    def check(self, spec: Any) -> None:
        rule = spec.supervisor
        if rule.blind_slice and spec.slice is None:
            raise ValueError("`supervisor.blind_slice` needs the task's `slice:` (the rule "
                             "saying where the supervisor is blind)")
        if rule.keyword_rule:
            unknown = sorted(set(rule.keywords or {}) - set(spec.label_names))
            if unknown:
                raise ValueError(f"`supervisor.keywords`: {', '.join(map(repr, unknown))} "
                                 f"not among label_names {spec.label_names}")

    def makes_supervisor(self, spec: Any) -> bool:
        return spec.supervisor.keywords is not None

    def check_registered(self, path: Path, spec: Any) -> None:
        from benchmark.core.errors import SpecError
        from benchmark.models import MODELS

        if spec.supervisor.keywords and MODELS.get(spec.weak_model).kind != "rule":
            raise SpecError(f"{path}: a keyword rule is declared as `weak_model: keyword-rule` "
                            "with `supervisor: {keywords: ...}`, the one with the other")

    def setting(self, spec: Any) -> dict[str, Any]:
        rule = spec.supervisor
        return {"supervisor": "keywords" if rule.keywords else f"blind-{rule.blind_slice}"}

    def weak_supervisor(self, spec: Any, texts: Sequence[str], labels: np.ndarray,
                        rows_A: np.ndarray, fit: Fit) -> Predictor | None:
        rule = spec.supervisor
        if rule.keyword_rule is not None:
            return fit_keyword_supervisor(rule.keyword_rule, spec.label_names, texts, rows_A,
                                          labels[rows_A])
        assert rule.blind_slice is not None and spec.slice is not None
        return fit_blind_supervisor(rule.blind_slice, fit, spec.slice.mask(texts), rows_A,
                                    labels[rows_A], len(spec.label_names))


KIND = SupervisorKind()
