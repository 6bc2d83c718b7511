"""The adversarial settings a task may declare (the ``frontier`` track), as strict YAML blocks
(the class reward is a kind of its own: :mod:`benchmark.kinds.conflict`).

- ``slice``: a named, checkable rule over a text's words (e.g. "has a negation"). Every run
  of the task is scored on the whole test set and on the slice and its complement apart.
- ``supervisor``: how the weak supervisor is made systematic rather than noisy: a keyword
  rule (``keywords``, the EleutherAI ``amazon_polarity_weak`` idea), or blind on the slice
  (``blind_slice``: its training labels there flipped, or the slice withheld from it).
- ``sandbag``: the strong model is a password-locked copy (Greenblatt et al. 2024), made at
  freeze time: it imitates the weak supervisor unless the trigger is in the text.

Each block is hashed only where set, so no task frozen before them changed its hash.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


WORD = r"^\*?[a-z0-9'][a-z0-9' -]*$"


def _word_pattern(words: Sequence[str]) -> re.Pattern[str]:
    """Whole words (or phrases), case-insensitive; a leading ``*`` matches any word ending
    so (``*n't``: isn't, don't)."""
    parts = [(re.escape(w[1:]) if w.startswith("*") else r"\b" + re.escape(w)) + r"\b"
             for w in sorted(words, key=len, reverse=True)]
    return re.compile("|".join(parts), re.IGNORECASE)


class SliceRule(_Strict):
    """A declared part of the data: the texts containing any of ``words`` (whole words,
    case-insensitive), or matching the regular expression ``pattern``."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)
    description: str = Field(max_length=300)
    words: list[str] = Field(default_factory=list, max_length=500)
    pattern: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _one_rule(self) -> SliceRule:
        if bool(self.words) == (self.pattern is not None):
            raise ValueError("a slice needs one of `words` (a list of words) or `pattern` "
                             "(a regular expression)")
        for word in self.words:
            if not re.fullmatch(WORD, word.lower()):
                raise ValueError(f"slice word {word!r}: use letters, digits, spaces, hyphens "
                                 "and apostrophes, `*` first for a word ending (or a "
                                 "`pattern`)")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"slice pattern {self.pattern!r}: {exc}") from None
        return self

    def mask(self, texts: Sequence[str]) -> np.ndarray:
        """Which texts are in the slice (bool array)."""
        regex = (re.compile(self.pattern, re.IGNORECASE) if self.pattern is not None
                 else _word_pattern(self.words))
        return np.fromiter((regex.search(t) is not None for t in texts), bool, len(texts))


class KeywordRule(_Strict):
    """Per class, the words that vote for it. A text's rule outcome is the class with the
    most matches (``none`` when nothing matches or classes tie); the soft labels are the gold
    class frequencies of each outcome on split A (add-one smoothed): the rule, calibrated."""

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
            regex = _word_pattern(words)
            counts[:, label_names.index(name)] = [len(regex.findall(t)) for t in texts]
        best = counts.max(axis=1)
        winners = (counts == best[:, None]).sum(axis=1)
        return np.where((best > 0) & (winners == 1), counts.argmax(axis=1), len(label_names))


class SupervisorRule(_Strict):
    """A systematic weak supervisor: a keyword rule, or the task's model blind on its slice
    (``flip``: trained with the slice's labels flipped, by a model of its own there, so it
    is confidently wrong on it; ``withhold``: never shown the slice)."""

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


class Sandbag(_Strict):
    """A password-locked strong student, made at freeze time on split A: taught to imitate
    the weak supervisor (its cross-fitted predictions on A) without ``trigger`` and the gold
    labels with it. Methods finetune the locked copy on the weak labels, never seeing the
    trigger."""

    trigger: str = Field(min_length=3, max_length=100)
    epochs: int = Field(default=3, ge=1, le=50)
    lr: float = Field(default=5e-5, gt=0, le=1)
    folds: int = Field(default=4, ge=2, le=20)   # cross-fitting the weak supervisor on A
