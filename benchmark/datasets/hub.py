"""Hugging Face hub datasets: a pinned source, a formatter, and a loader with a local mirror.

A :class:`HubDataset` names the hub repo, its config, how our split names map onto the
source's, and a formatter ``(row, rng) -> (text, label) | None`` written the way the original
code (openai/weak-to-strong, EleutherAI/w2s) formats that source: rows are formatted in source
order with one ``random.Random(seed)``, so "correct answer or a random distractor" draws are
reproducible. Classes are then undersampled to 50/50 where the source code does, and every
example's id is the hash of its formatted text, so weak-label files join by id.

The hub cannot be reached from every machine, so :func:`load_rows` also reads a *mirror*: a
folder holding ``<hub_id with / as __>[/<config>]/<split>.{parquet,jsonl,json}``, written by
:func:`write_mirror` (or by hand from a download elsewhere). Both paths go through the
``datasets`` library, so a row has the same types whichever way it arrived.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.errors import AssetError, SpecError
from benchmark.core.registry import Registry
from benchmark.datasets.base import Example, example_id

Row = dict[str, Any]
Formatter = Callable[[Row, random.Random], "tuple[str, int] | None"]
MIRROR_ENV = "W2S_BENCH_HF_MIRROR"
MIRROR_SUFFIXES = (".parquet", ".jsonl", ".json")
COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class HubDataset:
    """A hub dataset as a task uses it: where it lives and how to turn a row into text."""

    name: str
    hub_id: str
    formatter: Formatter
    label_names: tuple[str, str]
    description: str
    origin: str                     # whose formatting this reproduces
    config: str | None = None
    splits: dict[str, str] = field(default_factory=lambda: {"train": "train", "test": "test"})
    balance: bool = True            # undersample the majority class to 50/50
    revision: str | None = None     # a 40-hex commit, when pinned here; else the task pins it
    fields: tuple[str, ...] = ()    # source columns the formatter reads (checked on load)
    pairs: bool = False             # texts are response pairs (``base.pair_text``)

    def source_split(self, split: str) -> str:
        if split not in self.splits:
            raise SpecError(f"dataset {self.name!r} has no split {split!r}; it has "
                            + ", ".join(sorted(self.splits)))
        return self.splits[split]


HUB_DATASETS: Registry[HubDataset] = Registry("hub dataset")


def register_hub(dataset: HubDataset) -> HubDataset:
    HUB_DATASETS.add(dataset.name, dataset, origin=dataset.formatter.__module__)
    return dataset


def mirror_root(mirror: str | Path | None = None) -> Path | None:
    """The mirror folder: the argument, else ``$W2S_BENCH_HF_MIRROR``, else none (use the hub)."""
    value = mirror if mirror is not None else os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None


def mirror_folder(root: Path, dataset: HubDataset) -> Path:
    folder = root / dataset.hub_id.replace("/", "__")
    return folder / dataset.config if dataset.config else folder


def _mirror_file(root: Path, dataset: HubDataset, source_split: str) -> Path:
    folder = mirror_folder(root, dataset)
    for suffix in MIRROR_SUFFIXES:
        path = folder / f"{source_split}{suffix}"
        if path.is_file():
            return path
    raise AssetError(f"dataset {dataset.name!r}: the mirror has no split {source_split!r}; "
                     f"expected {folder}/{source_split}.parquet (or .jsonl/.json). Write it with "
                     f"`datasets.load_dataset({dataset.hub_id!r}"
                     + (f", {dataset.config!r}" if dataset.config else "")
                     + f", split={source_split!r}).to_parquet(...)` on a machine with hub access.")


def check_revision(dataset: HubDataset, revision: str | None) -> str:
    """The commit to load: pinned revisions only (a branch name would drift)."""
    from benchmark.assets.hub_pins import pinned_revision

    revision = (revision or dataset.revision
                or pinned_revision("datasets", dataset.name, dataset.hub_id))
    if not revision or not COMMIT.match(revision):
        raise SpecError(f"dataset {dataset.name!r} ({dataset.hub_id}): revision {revision!r} is "
                        "not a pinned 40-hex commit; pin one in the task's `dataset.revision`, "
                        f"or run `w2s-bench pin {dataset.name}` on a machine with hub access")
    return revision


def load_rows(dataset: HubDataset, split: str, *, revision: str | None = None,
              mirror: str | Path | None = None, limit: int | None = None) -> list[Row]:
    """The source rows of one split, in source order (the first ``limit``, if given), from
    the mirror or the hub."""
    import datasets

    source_split = dataset.source_split(split)
    root = mirror_root(mirror)
    if root is not None:
        path = _mirror_file(root, dataset, source_split)
        kind = "parquet" if path.suffix == ".parquet" else "json"
        table = datasets.load_dataset(kind, data_files={source_split: str(path)},
                                      split=source_split)
    else:
        pinned = check_revision(dataset, revision)
        try:
            table = datasets.load_dataset(dataset.hub_id, dataset.config, split=source_split,
                                          revision=pinned)
        except (ConnectionError, OSError) as exc:   # the hub unreachable, nothing cached
            raise AssetError(
                f"dataset {dataset.name!r}: cannot load {dataset.hub_id}@{pinned[:12]} from "
                f"the hub ({type(exc).__name__}). On a machine without hub access, point "
                f"${MIRROR_ENV} at a mirror folder holding "
                f"{dataset.hub_id.replace('/', '__')}/{source_split}.parquet (written where "
                "the hub is reachable: `datasets.load_dataset(...).to_parquet(...)`).") from None
    missing = [f for f in dataset.fields if f not in table.column_names]
    if missing:
        raise AssetError(f"dataset {dataset.name!r} split {source_split!r} lacks the columns "
                         f"{missing} its formatter reads; found {table.column_names}")
    if limit is not None and limit < len(table):
        table = table.select(range(limit))
    return list(table)


def format_rows(dataset: HubDataset, rows: Iterable[Row], seed: int = 0) -> list[Example]:
    """Format in source order with one ``Random(seed)``, drop empty texts and texts seen with
    two labels, then balance 50/50 if the source does; ids are hashes of the texts."""
    rng = random.Random(seed)
    labels: dict[str, set[int]] = {}
    order: list[str] = []
    for row in rows:
        out = dataset.formatter(row, rng)
        if out is None or not out[0].strip():
            continue
        text, label = out
        if text not in labels:
            labels[text] = set()
            order.append(text)
        labels[text].add(int(label))
    examples = [Example(example_id(t), t, next(iter(labels[t]))) for t in order
                if len(labels[t]) == 1]
    return undersample(examples, seed) if dataset.balance else examples


def undersample(examples: list[Example], seed: int) -> list[Example]:
    """Keep every minority example and an equal, seeded sample of the majority (in order)."""
    by_label = {c: [i for i, e in enumerate(examples) if e.label == c] for c in (0, 1)}
    if not all(by_label.values()):
        raise SpecError(f"cannot balance {len(examples)} examples to 50/50: one class is "
                        "absent (a wrong split, or a mirror file holding one class)")
    keep = min(len(v) for v in by_label.values())
    major = max(by_label, key=lambda c: len(by_label[c]))
    rng = np.random.default_rng(seed)
    chosen = set(by_label[1 - major])
    chosen.update(rng.choice(by_label[major], keep, replace=False).tolist())
    return [e for i, e in enumerate(examples) if i in chosen]


def load_examples(name: str, split: str, *, seed: int = 0, revision: str | None = None,
                  mirror: str | Path | None = None, first: int | None = None) -> list[Example]:
    """Formatted examples of one split. ``first``: only the first rows of the source, as
    openai/weak-to-strong takes its ``n_docs`` (for sources balanced by undersampling, the
    whole split is formatted and balanced first, then cut)."""
    dataset = HUB_DATASETS.get(name)
    rows = load_rows(dataset, split, revision=revision, mirror=mirror,
                     limit=None if dataset.balance else first)
    examples = format_rows(dataset, rows, seed)
    return examples if first is None else examples[:first]


def write_mirror(root: Path, dataset: HubDataset, split: str, rows: list[Row]) -> Path:
    """Write rows as a mirror split (JSON lines); tests and offline set-ups use this."""
    import json

    folder = mirror_folder(root, dataset)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dataset.source_split(split)}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _declared_formatter(row: Row, rng: random.Random) -> None:  # pragma: no cover
    raise AssertionError("a dataset declared by columns is read by column_examples")


def declared_examples(*, name: str, hub_id: str, revision: str, config: str | None,
                      splits: dict[str, str] | None, split: str, label_names: tuple[str, ...],
                      text: str | None, template: str | None, label: str,
                      label_map: dict[str, str | None] | None,
                      mirror: str | Path | None = None) -> list[Example]:
    """One split of any hub dataset, read by the column mapping of a task's YAML (no
    registered formatter): the same loader, revision pinning and mirror as the paper's
    datasets, the same column rules as a local file."""
    from benchmark.datasets.files import column_examples, template_fields

    used = (*(template_fields(template) if template else [text or ""]), label)
    dataset = HubDataset(name=name, hub_id=hub_id, formatter=_declared_formatter,
                         label_names=label_names, description="declared in a task's YAML",
                         origin="task YAML", config=config,
                         splits=dict(splits or {"train": "train", "test": "test"}),
                         balance=False, revision=revision, fields=tuple(used))
    rows = load_rows(dataset, split, revision=revision, mirror=mirror)
    return column_examples(rows, list(rows[0]) if rows else list(used), label_names,
                           text=text, template=template, label=label, label_map=label_map,
                           where=f"hub dataset {hub_id} ({dataset.source_split(split)})")
