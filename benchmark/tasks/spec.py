"""Task definitions: one small strict YAML file per task in ``tasks/``, plus named suites.

Modelled on MTEB's task metadata: a pydantic declaration with ``extra="forbid"``, so a typo
is an error rather than a silently ignored key, and a version that records-and-locks carry.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, create_model, model_validator

from benchmark.core.controls import ENSEMBLE
from benchmark.core.errors import SpecError
from benchmark.core.kind_fields import block_fields
from benchmark.core.kinds import declared_kinds, task_members
from benchmark.core.paths import tasks_dir
from benchmark.core.registry import Registry
from benchmark.core.schema import read_yaml, validate
from benchmark.datasets import DATASETS
from benchmark.datasets.hub import HUB_DATASETS
from benchmark.models import MODELS
from benchmark.models.hub_ladder import rung_of
from benchmark.tasks.dataset_ref import SLUG, DatasetRef
from benchmark.tasks.supervisors import check_task_definition, resolve
from benchmark.training.probe import ProbeConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SplitSizes(_Strict):
    """A: gold labels for the weak model; B: the student's (weakly labelled) set; test."""

    weak_train: PositiveInt = Field(le=1_000_000)
    student_train: PositiveInt = Field(le=1_000_000)
    test: PositiveInt = Field(le=1_000_000)

    @property
    def total(self) -> int:
        return self.weak_train + self.student_train + self.test


class PoolSpec(_Strict):
    """The pool the splits are drawn from, when it is larger than the splits: every task of
    a dataset that names the same pool shares its examples (and their cached features) while
    drawing its own splits from it with its own seed."""

    size: PositiveInt = Field(le=10_000_000)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class TrainingDefaults(_Strict):
    """Shared probe-training defaults (the ceiling and every method start from these)."""

    epochs: PositiveInt = Field(default=10, le=1000)
    batch_size: PositiveInt = Field(default=128, le=65536)
    lr: float = Field(default=1e-2, gt=0, le=10)
    weight_decay: float = Field(default=0.0, ge=0, le=10)
    weak_c: float = Field(default=1.0, gt=0)  # inverse L2 strength of the weak supervisor


class FinetuneSettings(_Strict):
    """Finetune-regime recipe shared by the ceiling and every method (the shared trainer's
    settings; see :class:`benchmark.finetune.trainer.FinetuneConfig`)."""

    epochs: PositiveInt = Field(default=2, le=100)
    batch_size: PositiveInt = Field(default=32, le=4096)
    eval_batch_size: PositiveInt = Field(default=64, le=4096)
    lr: float = Field(default=1e-5, gt=0, le=1)
    weight_decay: float = Field(default=0.0, ge=0, le=10)
    warmup_steps: int = Field(default=0, ge=0)
    max_ctx: PositiveInt = Field(default=512, le=32768)
    bf16: bool | None = None             # None: on GPU, or a CPU with native bf16
    freeze_embeddings: bool = False
    gradient_checkpointing: bool = False
    lora_rank: PositiveInt | None = None
    train_last_blocks: PositiveInt | None = None  # only the last N blocks (and the head) train
    pooling: Literal["last", "mean"] = "last"


class Resources(_Strict):
    """What one run of the task needs: every executor requests these (Slurm job size, Ray
    task resources, how many local workers fit in memory) and ``run --dry-run`` sums them.

    Hints, not science: they are left out of the task's content hash, so tuning them never
    invalidates frozen weak labels or records.
    """

    cpus: PositiveInt = Field(default=1, le=256)
    gpus: int = Field(default=0, ge=0, le=64)
    memory_mb: PositiveInt = Field(default=2048, le=2**24)
    minutes: float = Field(default=1.0, gt=0, le=7 * 24 * 60)  # expected wall time per run
    # limits every executor's sandbox holds a run to (a run over one fails, naming it):
    disk_mb: PositiveInt = Field(default=4096, le=2**24)   # written to its scratch folder
    tmp_mb: PositiveInt = Field(default=512, le=2**20)     # its in-memory /tmp and /dev/shm, each
    processes: PositiveInt = Field(default=512, le=2**16)  # processes and threads at once


PROTOCOL = ("weak_supervisor", "gap_exception", "pool")   # added with the equal-gold protocol


class TaskDefinition(_Strict):
    """A task's fields but its kinds' blocks (:data:`TaskSpec` adds one per registered kind,
    :mod:`benchmark.core.kinds`)."""

    kind_keys: ClassVar[tuple[str, ...]] = ()   # the kinds' blocks, as TaskSpec was built

    id: str = Field(pattern=SLUG, max_length=80)
    version: PositiveInt
    description: str = Field(max_length=500)
    dataset: DatasetRef
    label_names: list[str] = Field(min_length=2, max_length=1000)
    balance: bool = True
    splits: SplitSizes
    pool: PoolSpec | None = None   # hashed only where set; None: a pool of the splits' total
    weak_model: str
    # the supervisor's one definition (tasks/supervisors/*.yaml), NAME@VERSION; hashed as
    # resolved, and only where set
    weak_supervisor: str | None = Field(default=None, max_length=90)
    strong_model: str
    regime: Literal["probe", "finetune"]
    finetune: FinetuneSettings | None = None  # required by (and only for) the finetune regime
    replicates: PositiveInt = Field(default=5, le=100)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    # the seed a method's runs get (+ the replicate), where it must not be the split seed:
    # a held-out world gives methods the public seed, never its secret one; hashed only
    # where set
    run_seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    training: TrainingDefaults = TrainingDefaults()
    resources: Resources = Resources()
    # why a task whose capability gap is not clearly positive is kept (freeze refuses it
    # otherwise; the board marks it); hashed only where set
    gap_exception: str | None = Field(default=None, min_length=10, max_length=500)
    # the same task without its adversarial setting, shown beside it on the site (not hashed)
    compare_with: str | None = Field(default=None, pattern=SLUG, max_length=80)

    @model_validator(mode="after")
    def _distinct_models(self) -> TaskDefinition:
        if self.weak_model == self.strong_model:
            raise ValueError("weak_model and strong_model must differ")
        if (self.regime == "finetune") != (self.finetune is not None):
            raise ValueError("a `finetune:` block goes with `regime: finetune`, and only there")
        return self

    @model_validator(mode="after")
    def _kinds_fit(self) -> TaskDefinition:
        declared = list(declared_kinds(self))
        if self.weak_model == ENSEMBLE and not task_members(self):
            raise ValueError(f"`weak_model: {ENSEMBLE}` is the average of several weak "
                             "supervisors a task kind names, e.g. `weak_models: {a: {}, "
                             "b: {weak_c: 0.1}}`")
        for kind in declared:
            clash = [other.key for other in declared if other.key in kind.excludes]
            if clash:
                raise ValueError(f"`{kind.key}:` does not combine with `{clash[0]}:`")
            kind.check(self)
        return self

    @property
    def pool_size(self) -> int:
        """How many examples the source pool holds (the splits are drawn from it)."""
        return self.pool.size if self.pool is not None else self.splits.total

    @property
    def pool_seed(self) -> int:
        """Draws the pool, a pairwise task's pairs, a shift task's target pool."""
        return self.pool.seed if self.pool is not None else self.seed

    @model_validator(mode="after")
    def _pool_holds_splits(self) -> TaskDefinition:
        if self.pool is not None and self.dataset.source == "hub":
            raise ValueError("`pool:` is for asset and file datasets; a hub task draws A and B "
                             "from the source's train split and tests on its test split")
        if self.pool is not None and self.pool.size < self.splits.total:
            raise ValueError(f"`pool.size` {self.pool.size} is smaller than the splits' total "
                             f"{self.splits.total}")
        return self

    @property
    def supervisor_names(self) -> list[str]:
        """A task's several weak supervisors (as a kind defines them) in canonical (sorted)
        order, the order of their frozen labels; empty for a task with one."""
        return sorted(task_members(self))

    def weak_c_of(self, model: str) -> float:
        member = task_members(self).get(model)
        return member.weak_c if member and member.weak_c is not None else self.training.weak_c

    def definition_reference(self, model: str) -> str | None:
        """The ``NAME@VERSION`` defining ``model`` here (None: a task from before it)."""
        member = task_members(self).get(model)
        if member is not None:
            return member.supervisor
        return self.weak_supervisor if model == self.weak_model else None

    @property
    def under_protocol(self) -> bool:
        """It names every supervisor's definition: frozen with equal gold and controls."""
        members = task_members(self)
        if members:
            return all(m.supervisor is not None for m in members.values())
        return self.weak_supervisor is not None

    @property
    def sha256(self) -> str:
        """Content hash of the definition (resource hints excluded): frozen labels are tied
        to it. Memoised per task object and the supervisor definition and model pins it
        covers (the harness asks several times a run; the task itself is immutable)."""
        definition = resolve(self.weak_supervisor) if self.weak_supervisor is not None else None
        declared = list(declared_kinds(self))
        members = [kind.hash_inputs(self) for kind in declared]
        # a hub-ladder model is pinned by the ladder, not the task: hash the pin too, so
        # re-pinning a model invalidates labels frozen with the old weights
        pins = {role: rung.revision for role, rung in (("weak", rung_of(self.weak_model)),
                                                       ("strong", rung_of(self.strong_model)))
                if rung is not None}
        cached = _DIGESTS.get(id(self))
        if cached is not None and cached[0] is self and cached[1] == (definition, members) \
                and cached[2] == pins:
            return cached[3]
        # a probe task's absent `finetune` block is left out too, so adding the finetune
        # regime did not change the hash of any task frozen before it
        skip = {"resources", "compare_with"} | {
            name for name in ("finetune", "run_seed", *PROTOCOL, *self.kind_keys)
            if getattr(self, name) is None}
        content = self.model_dump(mode="json", exclude=skip)
        content["dataset"] = self.dataset.hashed()
        if definition is not None:
            content["weak_supervisor"] = {"name": self.weak_supervisor, **definition.hashed()}
        for kind in declared:   # e.g. several supervisors' definitions, as resolved
            content[kind.key] = kind.hashed(self, content[kind.key])
        if self.finetune is not None and self.finetune.train_last_blocks is None:
            del content["finetune"]["train_last_blocks"]  # added later: old hashes hold
        if pins:
            content["model_revisions"] = pins
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
        if len(_DIGESTS) >= DIGESTS_KEPT:
            _DIGESTS.clear()
        _DIGESTS[id(self)] = (self, (definition, members), pins, digest)  # holds the task
        return digest


def _with_kind_blocks() -> Any:
    """The task definition with one optional block per registered kind (hashed only where
    set, so a task that declares none keeps the hash it had before the kind existed)."""
    blocks = block_fields(TaskDefinition)
    model = create_model("TaskSpec", __base__=TaskDefinition, __module__=__name__, **blocks)
    model.kind_keys = tuple(sorted(blocks))
    return model


def task_probe_config(spec: TaskDefinition) -> ProbeConfig:
    """The probe recipe the ceiling and every method of the task start from: the task's
    ``training`` block, as its kinds change it (a pairwise task's is antisymmetric, a
    Bradley-Terry scorer)."""
    config = ProbeConfig.from_defaults(spec.training)
    for kind in declared_kinds(spec):
        config = kind.probe_config(spec, config)
    return config


if TYPE_CHECKING:
    TaskSpec = TaskDefinition
else:
    TaskSpec = _with_kind_blocks()

DIGESTS_KEPT = 4096
_DIGESTS: dict[int, tuple[TaskDefinition, object, dict[str, str], str]] = {}


def parse_task(path: Path) -> TaskSpec:
    """Read and validate one task file, including that the names it uses are registered."""
    spec = validate(TaskSpec, read_yaml(path), str(path))
    if spec.id != path.stem:
        raise SpecError(f"{path}: `id` is {spec.id!r} but the file is named {path.name}; "
                        f"rename the file to {spec.id}.yaml or fix the id.")
    checks = [("weak_model", MODELS), ("strong_model", MODELS)]
    if not spec.dataset.by_columns:  # a dataset read by columns is declared here
        checks.insert(0, ("dataset.name",
                          HUB_DATASETS if spec.dataset.source == "hub" else DATASETS))
    for field, registry in checks:
        value = spec.dataset.name if field == "dataset.name" else getattr(spec, field)
        if value not in registry:
            raise SpecError(f"{path}: `{field}`: {registry.unknown_message(value)}")
    if spec.dataset.source == "hub" and not spec.dataset.by_columns:
        expected = HUB_DATASETS.get(spec.dataset.name).hub_id
        if spec.dataset.hub_id != expected:
            raise SpecError(f"{path}: `dataset.hub_id` is {spec.dataset.hub_id!r}, but hub "
                            f"dataset {spec.dataset.name!r} is {expected!r}.")
        if spec.regime != "finetune" and not any(k.probe_on_hub for k in declared_kinds(spec)):
            raise SpecError(f"{path}: hub datasets are paper-scale; use `regime: finetune`.")
    if spec.dataset.source == "asset" and spec.dataset.by_columns:
        from benchmark.assets.catalog import ASSETS

        if spec.dataset.asset not in ASSETS:
            raise SpecError(f"{path}: `dataset.asset`: {ASSETS.unknown_message(spec.dataset.asset)}"
                            " (declare your own in tasks/assets/*.yaml)")
    elif spec.dataset.source == "asset":
        expected = DATASETS.get(spec.dataset.name).asset
        if spec.dataset.asset != expected:
            raise SpecError(f"{path}: `dataset.asset` is {spec.dataset.asset!r}, but dataset "
                            f"{spec.dataset.name!r} is read from asset {expected!r}.")
    weak_kind = MODELS.get(spec.weak_model).kind
    for kind in declared_kinds(spec):
        kind.check_registered(path, spec)
    if spec.weak_supervisor is not None:
        check_task_definition(path, spec)
    if weak_kind == "rule" and not any(k.makes_supervisor(spec) for k in declared_kinds(spec)):
        raise SpecError(f"{path}: `weak_model: {spec.weak_model}` is a rule, which a task kind "
                        "makes (a keyword rule: `supervisor: {keywords: ...}`)")
    if spec.compare_with is not None and not (tasks_dir() / f"{spec.compare_with}.yaml").is_file():
        raise SpecError(f"{path}: `compare_with` names {spec.compare_with!r}, which has no "
                        f"file in {tasks_dir()}")
    if MODELS.get(spec.strong_model).kind != "encoder":
        raise SpecError(f"{path}: `strong_model` {spec.strong_model!r} has no features to probe; "
                        "choose an encoder model (`w2s-bench list models`).")
    return spec


def _load_tasks(registry: Registry[TaskSpec]) -> None:
    for path in sorted(tasks_dir().glob("*.yaml")):
        if path.name == "suites.yaml":
            continue
        spec = parse_task(path)
        registry.add(spec.id, spec, origin=str(path))


TASKS: Registry[TaskSpec] = Registry("task", loader=_load_tasks)
