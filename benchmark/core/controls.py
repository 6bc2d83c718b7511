"""The protocol references of one replicate, as frozen with a task and copied into its
records (the schema both sides share; :mod:`benchmark.labels.controls` measures them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# the weak model a task with several supervisors names (its records say so too: the site
# reads it from there, not from the task)
ENSEMBLE = "ensemble"


class Controls(BaseModel):
    """One replicate's protocol references; the accuracies are on its test set."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    weak_ceiling_accuracy: float = Field(ge=0, le=1)
    self_training_accuracy: float | None = Field(default=None, ge=0, le=1)
    label_free_accuracy: float | None = Field(default=None, ge=0, le=1)
