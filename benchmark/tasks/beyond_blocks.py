"""Task kinds beyond one supervisor, one distribution and one label (the ``beyond`` track),
as strict YAML blocks of a task:

- ``shift``: the task's dataset is the source domain (A and B are drawn there: the weak
  supervisor and the student learn there); a second registered dataset with the same classes
  is the target domain, where a shifted test set is drawn and scored beside the
  in-distribution one, and from which unlabelled inputs may be shown to the method (RAVEN,
  Jeon et al. 2025).
- ``weak_models`` (with ``weak_model: ensemble``): several weak supervisors by name, each
  with its own regularisation and frozen on its own; the method gets each one's soft labels
  by name beside their average.
- ``pairwise``: each example is a pair of responses with a preference; the supervisor is a
  weak reward model and the student a Bradley-Terry scorer (reward modelling).

Each block is hashed only where set, so no task frozen before them changed its hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, model_validator

from benchmark.core.controls import ENSEMBLE
from benchmark.core.errors import SpecError
from benchmark.datasets.base import DATASETS, Example, pair_text
from benchmark.models import MODELS
from benchmark.models.hub_ladder import rung_of
from benchmark.tasks.supervisors import SUPERVISORS, resolve
from benchmark.training.probe import ProbeConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Shift(_Strict):
    """A shifted test set from ``target``, a registered embedded dataset whose classes match
    the task's by position (e.g. critics' rotten/fresh and tweets' negative/positive)."""

    target: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)
    pool: PositiveInt = Field(le=1_000_000)  # target examples drawn (like a task's pool)
    test: PositiveInt = Field(le=1_000_000)  # the shifted test set, per replicate
    unlabelled: NonNegativeInt = Field(default=0, le=1_000_000)  # shown to methods, no label

    @model_validator(mode="after")
    def _fits(self) -> Shift:
        if self.test + self.unlabelled > self.pool:
            raise ValueError(f"`shift`: test ({self.test}) + unlabelled ({self.unlabelled}) "
                             f"exceeds the target pool ({self.pool}); raise `pool`")
        return self


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


class Pairwise(_Strict):
    """Pairs of responses with a preference. From a dataset with ordinal classes
    (``levels``, least preferred first, exactly the dataset's classes in order): a pair holds
    two responses of different levels, the one of the higher level preferred, and every
    response is in one pair at most, so splits never share a response. Without ``levels``,
    from a hub dataset whose examples are pairs already (``anthropic_hh_pairs``). The task's
    ``label_names`` are ``[second, first]``: class 1 means the first response is preferred."""

    levels: list[str] | None = Field(default=None, min_length=2, max_length=100)


PAIR_LABELS = ["second", "first"]


def make_pairs(examples: Sequence[Example], seed: int) -> list[Example]:
    """Responses paired across levels, each used once, in a canonical seeded order.

    Walk the responses in a seeded permutation; a response pairs with the oldest waiting one
    of another level (the level with most waiting first), else waits. Which of the two comes
    first is a fair coin, so the labels are balanced in expectation."""
    ordered = sorted(examples, key=lambda e: e.id)
    rng = np.random.default_rng([seed, 7])
    waiting: dict[int, list[Example]] = {}
    pairs: list[Example] = []
    for index in rng.permutation(len(ordered)):
        example = ordered[index]
        others = [level for level, queue in waiting.items()
                  if level != example.label and queue]
        if not others:
            waiting.setdefault(example.label, []).append(example)
            continue
        partner = waiting[max(others, key=lambda level: (len(waiting[level]), -level))].pop(0)
        first, second = (example, partner) if rng.random() < 0.5 else (partner, example)
        digest = hashlib.sha256(f"{first.id}|{second.id}".encode()).hexdigest()[:16]
        pairs.append(Example(id=digest, text=pair_text(first.text, second.text),
                             label=int(first.label > second.label)))
    return sorted(pairs, key=lambda e: e.id)


def check_kind_fields(spec: Any, frontier: Sequence[str]) -> None:
    """ValueError where a task's kind blocks do not fit together or with the rest of it (a
    TaskSpec validator; ``frontier``: the names of its frontier blocks)."""
    if (spec.weak_model == ENSEMBLE) != (spec.weak_models is not None):
        raise ValueError(f"several weak supervisors are declared as `weak_model: {ENSEMBLE}` "
                         "with `weak_models: {a: {}, b: {weak_c: 0.1}}`, the one with the other")
    if spec.strong_model in (spec.weak_models or {}):
        raise ValueError("`weak_models` names the strong model")
    if spec.pairwise is not None:
        if spec.label_names != PAIR_LABELS:
            raise ValueError(f"a pairwise task's `label_names` are {PAIR_LABELS} (class 1: "
                             "the first response is preferred)")
        if spec.regime != "probe" or spec.shift or any(
                getattr(spec, name) is not None for name in frontier):
            raise ValueError("`pairwise:` tasks are probe-regime Bradley-Terry tasks, "
                             "without `shift` or the adversarial blocks")


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
    embedded = spec.dataset.source == "asset" and not spec.dataset.by_columns
    if spec.pairwise is not None:
        _check_pairs(path, spec, embedded)
    shift = spec.shift
    if shift is None:
        return
    if not embedded:
        raise SpecError(f"{path}: `shift:` needs a registered embedded dataset as the source")
    if shift.target not in DATASETS:
        raise SpecError(f"{path}: `shift.target`: {DATASETS.unknown_message(shift.target)}")
    if shift.target == spec.dataset.name:
        raise SpecError(f"{path}: `shift.target` is the source dataset itself")
    classes = DATASETS.get(shift.target).label_names
    if len(classes) != len(spec.label_names):
        raise SpecError(f"{path}: `shift.target` {shift.target!r} has classes {list(classes)}; "
                        f"the task has {len(spec.label_names)} ({spec.label_names})")


def _check_pairs(path: Path, spec: Any, embedded: bool) -> None:
    from benchmark.datasets.hub import HUB_DATASETS

    declared = spec.pairwise.levels
    if embedded:
        levels = list(DATASETS.get(spec.dataset.name).label_names)
        if declared != levels:
            raise SpecError(f"{path}: `pairwise.levels` must be dataset "
                            f"{spec.dataset.name!r}'s classes in order: {levels}")
        return
    hub = spec.dataset.source == "hub" and not spec.dataset.by_columns
    if declared is not None or not (hub and HUB_DATASETS.get(spec.dataset.name).pairs):
        raise SpecError(f"{path}: a pairwise task reads an embedded dataset with ordered "
                        "classes (`levels: [...]`), or, without `levels`, a hub dataset of "
                        "pairs (`name: anthropic_hh_pairs`)")


def task_probe_config(spec: Any) -> ProbeConfig:
    """The probe recipe the ceiling and every method of the task start from: the task's
    ``training`` block, antisymmetric (a Bradley-Terry scorer) for a pairwise task."""
    config = ProbeConfig.from_defaults(spec.training)
    return replace(config, antisymmetric=True) if spec.pairwise is not None else config


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
