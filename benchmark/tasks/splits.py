"""The example pool of a task and each replicate's draw of splits A / B / test.

The pool depends only on (dataset, pool size, balance, seed), so tasks that share a dataset
share a pool, and features are computed once for all of them. Replicate k permutes the pool
with its own seed into A (weak model's gold), B (student's weak labels) and test.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.assets.catalog import asset_path
from benchmark.core.bwrap import visible_to_methods
from benchmark.core.errors import IntegrityError, SpecError
from benchmark.core.kinds import declared_kinds
from benchmark.core.paths import repo_root
from benchmark.datasets import DATASETS, Example
from benchmark.tasks.spec import TaskSpec

SPLIT_NAMES = ("A", "B", "test")


def load_dataset(name: str) -> list[Example]:
    source = DATASETS.get(name)
    return source.read(asset_path(source.asset))


def dataset_key(spec: TaskSpec) -> tuple[str, ...]:
    """What a task's examples depend on, so tasks sharing a dataset load it once."""
    ref = spec.dataset
    if ref.by_columns:
        return (ref.source, ref.asset or "", str(ref.hashed()), *spec.label_names)
    return (ref.source, ref.name)


def file_path(spec: TaskSpec) -> Path:
    """A declared file: inside its asset's folder, else relative to the checkout root."""
    path = Path(spec.dataset.path or "")
    if spec.dataset.source == "asset":
        folder = asset_path(spec.dataset.asset or "")
        inside = (folder / path).resolve()
        if folder.resolve() not in inside.parents:
            raise SpecError(f"task {spec.id!r}: `dataset.path` {path} leaves the asset's "
                            "folder; name a file inside it")
        return inside
    path = path if path.is_absolute() else repo_root() / path
    if visible_to_methods(path):
        raise SpecError(f"task {spec.id!r}: `dataset.path` {path} is inside a folder the "
                        "method sandbox shows to method code (the system, the Python "
                        "environment, baselines/ or submissions/), so its gold labels would "
                        "be readable by the methods; move the file, e.g. to data/")
    return path


def task_examples(spec: TaskSpec) -> list[Example]:
    """Every example of a (non-hub) task's dataset: a registered asset, or a declared file."""
    ref = spec.dataset
    if ref.by_columns:
        from benchmark.datasets.files import read_file_dataset

        return read_file_dataset(file_path(spec), ref.sha256, spec.label_names,
                                 text=ref.text, template=ref.template, label=ref.label or "",
                                 label_map=ref.label_map, fmt=ref.format)
    return load_dataset(ref.name)


def draw_pool(examples: list[Example], size: int, balance: bool, seed: int,
              num_classes: int = 2) -> list[Example]:
    """``size`` examples (class-balanced if asked), sorted by id so order is canonical."""
    examples = sorted(examples, key=lambda e: e.id)
    rng = np.random.default_rng(seed)
    if not balance:
        if size > len(examples):
            raise SpecError(f"pool of {size} asked for but the dataset has {len(examples)}")
        chosen = [examples[i] for i in rng.choice(len(examples), size, replace=False)]
        return sorted(chosen, key=lambda e: e.id)
    per_class = [size // num_classes + (1 if c < size % num_classes else 0)
                 for c in range(num_classes)]
    chosen = []
    counts = [sum(e.label == c for e in examples) for c in range(num_classes)]
    for label, want in enumerate(per_class):
        members = [e for e in examples if e.label == label]
        if want > len(members):
            raise SpecError(f"a balanced pool of {size} needs {want} examples of class {label}, "
                            f"the dataset has {len(members)}; lower the split sizes to a total "
                            f"of at most {min(counts) * num_classes} (the smallest class × "
                            f"{num_classes}), or set `balance: false`")
        chosen += [members[i] for i in rng.choice(len(members), want, replace=False)]
    return sorted(chosen, key=lambda e: e.id)


_HUB_PARTS: dict[str, tuple[list[Example], list[Example]]] = {}


def hub_parts(spec: TaskSpec) -> tuple[list[Example], list[Example]]:
    """A hub task's pools: A+B drawn from the source's train split, test from its test split
    (as the originals evaluate: e.g. BoolQ and Cosmos QA test on validation). A training
    example whose text also appears in the test pool is dropped, so none is in both."""
    if spec.sha256 not in _HUB_PARTS:
        classes = len(spec.label_names)
        test = draw_pool(_hub_split(spec, "test"), spec.splits.test, spec.balance, spec.seed,
                         classes)
        held = {e.id for e in test}
        train = [e for e in _hub_split(spec, "train") if e.id not in held]
        size = spec.splits.weak_train + spec.splits.student_train
        _HUB_PARTS[spec.sha256] = (draw_pool(train, size, spec.balance, spec.seed, classes),
                                   test)
    return _HUB_PARTS[spec.sha256]


def _hub_split(spec: TaskSpec, split: str) -> list[Example]:
    """A hub task's examples of one split: by its registered formatter, or by the columns
    its YAML declares."""
    from benchmark.datasets.hub import declared_examples, load_examples

    ref = spec.dataset
    if not ref.by_columns:
        return load_examples(ref.name, split, seed=spec.seed, revision=ref.revision)
    return declared_examples(name=ref.name, hub_id=ref.hub_id or "", revision=ref.revision or "",
                             config=ref.config, splits=ref.hub_splits, split=split,
                             label_names=tuple(spec.label_names), text=ref.text,
                             template=ref.template, label=ref.label or "",
                             label_map=ref.label_map)


def task_pool(spec: TaskSpec, examples: list[Example] | None = None) -> list[Example]:
    """The task's examples in canonical order. A shift task's pool is its source pool then
    its target pool (each sorted by id; a target text also in the source is dropped); a
    pairwise task's pool is drawn from the pairs made of the dataset's responses."""
    if spec.dataset.source == "hub":
        train, test = hub_parts(spec)
        return sorted(train + test, key=lambda e: e.id)
    if examples is None:
        examples = task_examples(spec)
    for kind in declared_kinds(spec):   # e.g. a pairwise task's pairs of responses
        examples = kind.pool_examples(spec, examples)
    pool = draw_pool(examples, spec.pool_size, spec.balance, spec.pool_seed,
                     len(spec.label_names))
    for kind in declared_kinds(spec):   # e.g. a shift task's target pool after its own
        pool = kind.extend_pool(spec, pool)
    return pool


@dataclass
class ExamplePool:
    """A task's pool in canonical order with its texts and gold labels (harness-side only),
    and the lookup from the ids a frozen file names to rows of the pool and its features."""

    task: str
    examples: list[Example]
    texts: list[str] = field(init=False, repr=False)
    labels: np.ndarray = field(init=False, repr=False)
    row_of: dict[str, int] = field(init=False, repr=False)
    _rows_memo: dict[tuple[str, ...], tuple[int, ...]] = field(init=False, repr=False,
                                                               default_factory=dict)

    def __post_init__(self) -> None:
        self.texts = [e.text for e in self.examples]  # example_pool() may derive them
        self.labels = np.array([e.label for e in self.examples])
        self.row_of = {e.id: i for i, e in enumerate(self.examples)}

    def rows(self, ids: Sequence[str]) -> list[int]:
        """The pool rows of ``ids`` (memoised per id tuple: a sweep asks for the same
        replicate's splits once per method, 2,400 times in the default job)."""
        key = ids if isinstance(ids, tuple) else None
        if key is not None and key in self._rows_memo:
            return list(self._rows_memo[key])
        try:
            rows = [self.row_of[i] for i in ids]
        except KeyError as exc:
            raise IntegrityError(
                f"frozen weak labels of task {self.task!r} name example {exc.args[0]} that "
                "the dataset no longer yields; the asset or formatter changed.") from None
        if key is not None:
            if len(self._rows_memo) >= 64:
                self._rows_memo.clear()
            self._rows_memo[key] = tuple(rows)
        return rows

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)


def example_pool(spec: TaskSpec, examples: list[Example] | None = None) -> ExamplePool:
    """The task's pool (``examples``: the dataset, when the caller already loaded it). The
    texts of a shift or pairwise pool say how their features are made from cached entries
    (:class:`~benchmark.models.features.DerivedTexts`)."""
    pool = ExamplePool(spec.id, task_pool(spec, examples))
    for kind in declared_kinds(spec):   # e.g. a pair's responses, a shift's two pools
        pool.texts = kind.pool_texts(spec, pool.texts)
    return pool


def replicate_seed(spec: TaskSpec, replicate: int) -> int:
    return spec.seed + replicate


def method_seed(spec: TaskSpec, replicate: int) -> int:
    """The seed a method's run gets: the split seed's, unless the task names ``run_seed``."""
    return (spec.seed if spec.run_seed is None else spec.run_seed) + replicate


def draw_splits(spec: TaskSpec, pool: list[Example], replicate: int) -> dict[str, list[str]]:
    """Ids of A, B and test for one replicate (each list sorted by id)."""
    rng = np.random.default_rng([spec.seed, replicate, 1])
    if spec.dataset.source == "hub":  # test is the source's test split; A and B permute
        test_ids = {e.id for e in hub_parts(spec)[1]}
        train = [e for e in pool if e.id not in test_ids]
        order = rng.permutation(len(train))
        cut = spec.splits.weak_train
        return {"A": sorted(train[i].id for i in order[:cut]),
                "B": sorted(train[i].id for i in order[cut:]), "test": sorted(test_ids)}
    sizes = spec.splits
    # the source part (the whole pool unless shifted); a declared larger pool is permuted
    # whole and its first `total` examples split, the same draw as before pools existed
    order = rng.permutation(spec.pool_size)[:sizes.total]
    cuts = [sizes.weak_train, sizes.weak_train + sizes.student_train, sizes.total]
    parts = np.split(order, cuts[:2])
    splits = {name: sorted(pool[i].id for i in part) for name, part in zip(SPLIT_NAMES, parts,
                                                                           strict=True)}
    for kind in declared_kinds(spec):   # e.g. a shift task's shifted test set
        splits |= kind.draw_splits(spec, pool, replicate)
    return splits
