"""What a method receives: its :class:`~benchmark.api.MethodInput`, built harness-side from
the frozen weak labels and the feature cache, never from a gold label.

Gold labels live only in this process, in :class:`TaskContext` (the task's example pool);
the input a worker gets carries ids, rows into the feature cache, weak soft labels and, in
the finetune regime, the texts, and is scored back here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from benchmark.api.method import MethodInput, StrongModelInfo
from benchmark.core.errors import SpecError
from benchmark.core.kinds import TaskKind, declared_kinds
from benchmark.datasets import Example
from benchmark.finetune.classifier import Checkpoint
from benchmark.finetune.trainer import FinetuneConfig
from benchmark.labels.boosting import load_boosted
from benchmark.labels.frozen import (
    WeakLabelSet,
    load_references,
    load_weak_labels,
    scored_ids,
)
from benchmark.labels.rungs import intermediate_rungs
from benchmark.models.features import all_layer_features, cache_path
from benchmark.models.ladder import ENCODERS, MODELS, hidden_layer
from benchmark.tasks.checkpoints import model_checkpoint
from benchmark.tasks.spec import TaskSpec, task_probe_config
from benchmark.tasks.splits import (
    ExamplePool,
    dataset_key,
    example_pool,
    method_seed,
    task_examples,
)


@dataclass
class TaskContext:
    """Harness-side state of one task: its pool (with gold labels) and cached features."""

    spec: TaskSpec
    pool: ExamplePool
    feature_file: Path
    strong: StrongModelInfo

    @property
    def labels(self) -> np.ndarray:
        return self.pool.labels

    def gold(self, ids: tuple[str, ...]) -> np.ndarray:
        """Gold labels of ``ids`` (harness-side only: scoring)."""
        return self.pool.labels[self.pool.rows(ids)]

    def texts(self, ids: tuple[str, ...]) -> list[str]:
        return [self.pool.texts[r] for r in self.pool.rows(ids)]


class TaskContexts:
    """Loads each task's context once (datasets are shared between tasks)."""

    def __init__(self, progress: bool = False) -> None:
        self._datasets: dict[tuple[str, ...], list[Example]] = {}
        self._contexts: dict[str, TaskContext] = {}
        self.progress = progress

    def _examples(self, spec: TaskSpec) -> list[Example] | None:
        if spec.dataset.source == "hub":
            return None  # drawn per task definition (and cached) in splits
        key = dataset_key(spec)
        if key not in self._datasets:
            self._datasets[key] = task_examples(spec)
        return self._datasets[key]

    def get(self, spec: TaskSpec) -> TaskContext:
        if spec.id not in self._contexts:
            pool = example_pool(spec, self._examples(spec))
            model = MODELS.get(spec.strong_model)
            encoder = ENCODERS.get(model.encoder or "")
            if spec.regime == "probe":  # finetuning reads texts, not cached features
                all_layer_features(encoder.name, pool.texts, progress=self.progress)
            # a rung with layer_search: the hidden state chosen on the ceiling at freeze
            chosen = load_references(spec).strong_layer if model.layer_search else None
            layer = chosen.layer if chosen is not None else hidden_layer(model)
            self._contexts[spec.id] = TaskContext(
                spec=spec, pool=pool, feature_file=cache_path(encoder, pool.texts),
                strong=StrongModelInfo(model.name, model.family, model.params,
                                       encoder.hidden_size, encoder.num_layers, layer))
        return self._contexts[spec.id]


@functools.lru_cache(maxsize=16)
def opaque_ids(n: int) -> tuple[str, ...]:
    """The ids a method sees: positions in this run's split. Stable example ids are a hash of
    the text, so a copy of the corpus anywhere would map them to gold labels; the harness
    keeps them (the weak-label set) and scores by them, the method never holds one."""
    return tuple(str(i) for i in range(n))


@dataclass(frozen=True)
class UnlabelledPool:
    """What a kind's method-input hook reads of the task's pool: each example's row and
    text, never its label."""

    row_of: Mapping[str, int]
    texts: Sequence[str]

    def rows(self, ids: Sequence[str]) -> list[int]:
        return [self.row_of[i] for i in ids]


def strong_checkpoint(ctx: TaskContext, replicate: int) -> Checkpoint:
    """The weights a finetune-regime method starts from: the strong model, or a kind's
    replacement (a sandbagging task's password-locked copy, from the cache where the freeze
    stage put it: building a run's input never trains a model)."""
    spec = ctx.spec
    kinds = [kind for kind in declared_kinds(spec)
             if type(kind).strong_checkpoint is not TaskKind.strong_checkpoint]
    if kinds:
        reference = load_references(spec).replicates[replicate]
        for kind in kinds:
            found = kind.strong_checkpoint(spec, replicate, reference)
            if found is not None:
                return found
    return model_checkpoint(spec.strong_model)


def build_input(ctx: TaskContext, replicate: int, scratch: Path
                ) -> tuple[MethodInput, WeakLabelSet]:
    """The method's view of one replicate (no gold labels), plus the weak-label set.

    The input is light: its feature arrays stay in the feature cache and the process that
    runs the method reads them (:meth:`MethodInput.with_cached_features`). The driver, which
    feeds every worker, then neither copies nor pickles ~14 MB per run.
    """
    spec = ctx.spec
    weak = load_weak_labels(spec, replicate)
    rows_B = ctx.pool.rows(weak.ids_B)
    rows_test = ctx.pool.rows(scored_ids(spec, weak))   # a shift task: both test sets
    finetune: dict[str, Any] = {}
    if spec.regime == "finetune":
        assert spec.finetune is not None
        finetune = dict(
            regime="finetune", finetune_config=FinetuneConfig.from_settings(spec.finetune),
            checkpoint=strong_checkpoint(ctx, replicate), pooling=spec.finetune.pooling,
            train_texts=tuple(ctx.pool.texts[r] for r in rows_B),
            test_texts=tuple(ctx.pool.texts[r] for r in rows_test))
    kinds = {kind.key: extra for kind in declared_kinds(spec)
             if (extra := kind.method_input(spec, weak, UnlabelledPool(
                 MappingProxyType(ctx.pool.row_of), ctx.pool.texts))) is not None}
    inp = MethodInput(
        task=spec.id, replicate=replicate, seed=method_seed(spec, replicate),
        label_names=tuple(spec.label_names), strong_model=ctx.strong,
        train_ids=opaque_ids(len(rows_B)), train_features=None,
        train_weak_probs=weak.train_weak_probs, test_ids=opaque_ids(len(rows_test)),
        test_features=None,
        probe_config=task_probe_config(spec),
        scratch_dir=scratch, feature_file=str(ctx.feature_file),
        train_rows=tuple(rows_B), test_rows=tuple(rows_test), kinds=kinds, **finetune)
    return inp, weak


def with_boosted_labels(inp: MethodInput, weak: WeakLabelSet, spec: TaskSpec
                        ) -> tuple[MethodInput, WeakLabelSet]:
    """``inp`` with split B's boosted labels, for a method that declares ``needs_boosting``
    (and ``weak`` with their file's locked sha256, for its record)."""
    frozen = load_boosted(spec, inp.replicate, len(inp.train_rows))
    if frozen is None:
        raise SpecError(f"task {spec.id!r} has no boosted supervisors frozen; run "
                        f"`w2s-bench freeze {spec.id} --add-boosting`")
    labels, digest = frozen
    return replace(inp, boosted_probs=labels), replace(weak, boosted_sha256=digest)


def with_rung_features(inp: MethodInput, ctx: TaskContext) -> MethodInput:
    """``inp`` with split B's features from each intermediate model of the task (computed
    into the feature cache on a miss): unlabelled inputs, as the method's own features are."""
    rungs: dict[str, np.ndarray] = {}
    for name in intermediate_rungs(ctx.spec):
        model = MODELS.get(name)
        hidden = all_layer_features(ENCODERS.get(model.encoder or "").name, ctx.pool.texts)
        rungs[name] = np.asarray(hidden[hidden_layer(model)][list(inp.train_rows)],
                                 dtype=np.float32)
    return replace(inp, rung_features=rungs)
