"""Weak supervisors defined once: named, versioned definitions that tasks reference.

A definition fixes everything that makes a supervisor what it is (the rung, its learner and
the learner's hyperparameters), so two tasks that name ``minilm-l6-layer1@1`` are supervised
by the same thing, and a scaling line is one supervisor. The definitions live in
``tasks/supervisors/*.yaml``; a task's hash includes the definition it resolves to.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from benchmark.core.errors import SpecError
from benchmark.core.paths import tasks_dir
from benchmark.core.registry import Registry
from benchmark.core.schema import read_yaml, validate
from benchmark.models import MODELS

REFERENCE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._-]*)@(?P<version>[1-9][0-9]*)$")


class ProbeRecipe(BaseModel):
    """The linear probe's settings (the trainer is the ceiling's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    epochs: PositiveInt = Field(le=1000)
    batch_size: PositiveInt = Field(le=65536)
    lr: float = Field(gt=0, le=10)
    weight_decay: float = Field(ge=0, le=10)


class SupervisorDefinition(BaseModel):
    """One version of one named supervisor."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: PositiveInt
    model: str
    learner: Literal["probe", "logreg", "keyword-table"]
    probe: ProbeRecipe | None = None     # learner: probe
    c: float | None = Field(default=None, gt=0)   # learner: logreg (inverse L2 strength)
    description: str = Field(max_length=300)

    @model_validator(mode="after")
    def _settings_match_learner(self) -> SupervisorDefinition:
        if (self.learner == "probe") != (self.probe is not None):
            raise ValueError("`probe:` settings go with `learner: probe`, and only there")
        if (self.learner == "logreg") != (self.c is not None):
            raise ValueError("`c:` goes with `learner: logreg`, and only there")
        return self

    def hashed(self) -> dict:
        """What a task's hash includes (the description is prose, not the definition)."""
        return self.model_dump(mode="json", exclude={"description"})


def definition_files() -> list[Path]:
    return sorted((tasks_dir() / "supervisors").glob("*.yaml"))


def _load(registry: Registry[SupervisorDefinition]) -> None:
    for path in definition_files():
        raw = read_yaml(path)
        if not isinstance(raw, dict):
            raise SpecError(f"{path}: expected a mapping of supervisor name to its versions")
        for name, versions in raw.items():
            if not isinstance(versions, list) or not versions:
                raise SpecError(f"{path}: supervisor {name!r}: give a list of versions")
            for body in versions:
                definition = validate(SupervisorDefinition, body, f"{path} ({name!r})")
                kind = MODELS.get(definition.model).kind if definition.model in MODELS else None
                if kind is None:
                    raise SpecError(f"{path}: supervisor {name!r}: `model`: "
                                    f"{MODELS.unknown_message(definition.model)}")
                expected = {"tfidf": "logreg", "rule": "keyword-table"}.get(kind, "probe")
                if definition.learner != expected:
                    raise SpecError(f"{path}: supervisor {name!r} v{definition.version}: a "
                                    f"{kind} model learns with `learner: {expected}`")
                registry.add(f"{name}@{definition.version}", definition, origin=str(path))


SUPERVISORS: Registry[SupervisorDefinition] = Registry("supervisor definition", loader=_load)


def latest_definition(model: str) -> str | None:
    """The newest version of the supervisor definition named after ``model``, if any."""
    versions = [int(name.rsplit("@", 1)[1]) for name in SUPERVISORS
                if name.rsplit("@", 1)[0] == model]
    return f"{model}@{max(versions)}" if versions else None


def resolve(reference: str) -> SupervisorDefinition:
    """The definition a task's ``weak_supervisor: NAME@VERSION`` names."""
    if not REFERENCE.match(reference):
        raise SpecError(f"`weak_supervisor` {reference!r}: write NAME@VERSION, e.g. "
                        "tfidf-logreg@1 (`w2s-bench list supervisors`)")
    return SUPERVISORS.get(reference)


def check_task_definition(path: Path, spec: Any) -> None:
    """A task's ``weak_supervisor`` exists and is defined on its ``weak_model``."""
    reference = spec.weak_supervisor or ""
    if not REFERENCE.match(reference):
        raise SpecError(f"{path}: `weak_supervisor` {reference!r}: write NAME@VERSION, e.g. "
                        "tfidf-logreg@1")
    if reference not in SUPERVISORS:
        raise SpecError(f"{path}: `weak_supervisor`: {SUPERVISORS.unknown_message(reference)}")
    definition = resolve(reference)
    if definition.model != spec.weak_model:
        raise SpecError(f"{path}: `weak_supervisor` {reference} is defined on model "
                        f"{definition.model!r}, but `weak_model` is {spec.weak_model!r}; "
                        "name the definition's model or another definition")
