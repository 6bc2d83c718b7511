"""The beyond setting not yet moved into a kind module, as a strict YAML block of a task
(distribution shift and reward modelling are kinds of their own: :mod:`benchmark.kinds`):

- ``weak_models`` (with ``weak_model: ensemble``): several weak supervisors by name, each
  with its own regularisation and frozen on its own; the method gets each one's soft labels
  by name beside their average.

Each block is hashed only where set, so no task frozen before them changed its hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from benchmark.core.controls import ENSEMBLE
from benchmark.core.errors import SpecError
from benchmark.models import MODELS
from benchmark.models.hub_ladder import rung_of
from benchmark.tasks.supervisors import SUPERVISORS, resolve
from benchmark.training.probe import ProbeConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeakMember(_Strict):
    """One of several weak supervisors: under the paper's protocol its definition
    (``supervisor: NAME@VERSION``, as a one-supervisor task's ``weak_supervisor``); in tasks
    frozen before it, its inverse L2 strength (default: ``training.weak_c``)."""

    supervisor: str | None = Field(default=None, max_length=90)
    weak_c: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_definition(self) -> WeakMember:
        if self.supervisor is not None and self.weak_c is not None:
            raise ValueError("a member's `supervisor:` definition fixes its learner and "
                             "settings; drop `weak_c`")
        return self


def check_kind_fields(spec: Any) -> None:
    """ValueError where a task's beyond blocks do not fit together or with the rest of it (a
    TaskSpec validator)."""
    if (spec.weak_model == ENSEMBLE) != (spec.weak_models is not None):
        raise ValueError(f"several weak supervisors are declared as `weak_model: {ENSEMBLE}` "
                         "with `weak_models: {a: {}, b: {weak_c: 0.1}}`, the one with the other")
    if spec.strong_model in (spec.weak_models or {}):
        raise ValueError("`weak_models` names the strong model")


def check_kinds(path: Path, spec: Any) -> None:
    """What a task's kind blocks cannot check alone: registered names, and datasets that
    fit (``spec``: a TaskSpec, whose module imports this one)."""
    for member in spec.supervisor_names:
        if member not in MODELS:
            raise SpecError(f"{path}: `weak_models`: {MODELS.unknown_message(member)}")
        if MODELS.get(member).kind not in ("tfidf", "encoder") or rung_of(member) is not None:
            raise SpecError(f"{path}: `weak_models`: {member!r} is not an embedded tf-idf or "
                            "encoder supervisor (`w2s-bench list models`)")
    _check_member_definitions(path, spec)


def task_probe_config(spec: Any) -> ProbeConfig:
    """The probe recipe the ceiling and every method of the task start from: the task's
    ``training`` block, as its kinds change it (a pairwise task's is antisymmetric, a
    Bradley-Terry scorer)."""
    from benchmark.core.kinds import declared_kinds

    config = ProbeConfig.from_defaults(spec.training)
    for kind in declared_kinds(spec):
        config = kind.probe_config(spec, config)
    return config


def _check_member_definitions(path: Path, spec: Any) -> None:
    """Every member names a definition of its own model, or none does (a legacy task)."""
    members = spec.weak_models or {}
    named = {name: m.supervisor for name, m in members.items() if m.supervisor is not None}
    if named and len(named) != len(members):
        missing = ", ".join(sorted(set(members) - set(named)))
        raise SpecError(f"{path}: `weak_models`: name a `supervisor: NAME@VERSION` for every "
                        f"member or for none (missing: {missing})")
    for member, reference in sorted(named.items()):
        if reference not in SUPERVISORS:
            raise SpecError(f"{path}: `weak_models.{member}.supervisor`: "
                            f"{SUPERVISORS.unknown_message(reference)}")
        if resolve(reference).model != member:
            raise SpecError(f"{path}: `weak_models.{member}.supervisor` {reference} is "
                            f"defined on model {resolve(reference).model!r}; name a "
                            f"definition of {member!r}")
