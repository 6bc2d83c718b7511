"""The frontier setting not yet moved into a kind module, as a strict YAML block (the class
reward, the slice and the systematic supervisor are kinds: :mod:`benchmark.kinds`).

- ``sandbag``: the strong model is a password-locked copy (Greenblatt et al. 2024), made at
  freeze time: it imitates the weak supervisor unless the trigger is in the text.

Hashed only where set, so no task frozen before it changed its hash.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sandbag(_Strict):
    """A password-locked strong student, made at freeze time on split A: taught to imitate
    the weak supervisor (its cross-fitted predictions on A) without ``trigger`` and the gold
    labels with it. Methods finetune the locked copy on the weak labels, never seeing the
    trigger."""

    trigger: str = Field(min_length=3, max_length=100)
    epochs: int = Field(default=3, ge=1, le=50)
    lr: float = Field(default=5e-5, gt=0, le=1)
    folds: int = Field(default=4, ge=2, le=20)   # cross-fitting the weak supervisor on A
