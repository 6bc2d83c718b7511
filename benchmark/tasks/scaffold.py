"""``w2s-bench new-task``: a task YAML from a data file and a weak → strong pair, with the
data checked on the spot (columns, classes and their counts, the split sizes that fit).

What it writes is an ordinary task file (``source: file``, pinned by the file's sha256):
edit it freely, then ``w2s-bench freeze`` it. Nothing here trains anything.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmark.core.errors import SpecError
from benchmark.core.paths import repo_root, tasks_dir
from benchmark.core.schema import validate
from benchmark.core.storage import sha256_file
from benchmark.datasets.files import column_examples, file_format, read_table
from benchmark.tasks.spec import TASKS, TaskSpec
from benchmark.tasks.supervisors import SUPERVISORS, latest_definition

MAX_POOL = 10_000   # the embedded pools' size


@dataclass(frozen=True)
class DataCheck:
    """What the file holds, as the task would see it."""

    rows: int
    columns: tuple[str, ...]
    classes: dict[str, int]      # class name → examples after dedup, in label order
    largest_pool: int            # the biggest class-balanced pool: smallest class × classes

    @property
    def dropped(self) -> int:
        """Rows that became no example: empty, duplicate or conflicting texts, or labels
        mapped to null."""
        return self.rows - sum(self.classes.values())

    def summary(self) -> str:
        counts = ", ".join(f"{name} {count:,}" for name, count in self.classes.items())
        return (f"{self.rows:,} rows ({self.dropped:,} dropped: empty, duplicate or "
                f"conflicting texts, or labels mapped to null); columns "
                f"{', '.join(self.columns)}; classes: {counts}; largest balanced pool "
                f"{self.largest_pool:,}")


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(repo_root()).as_posix()
    except ValueError:
        return str(path.resolve())


def check_data(path: Path, text: str | None, template: str | None, label: str,
               label_map: dict[str, str | None] | None, fmt: str | None = None
               ) -> tuple[DataCheck, list[str]]:
    """The file's check and its class names (the label map's targets, else the values)."""
    if not path.is_file():
        raise SpecError(f"{path}: no such file")
    frame = read_table(path, file_format(path, fmt))
    columns = list(map(str, frame.columns))
    if label in columns and label_map is None:
        names = sorted(Counter(frame[label].tolist()))
    else:
        names = list(dict.fromkeys(v for v in (label_map or {}).values() if v is not None))
    examples = column_examples(frame.to_dict("records"), columns, names, text=text,
                               template=template, label=label, label_map=label_map,
                               where=str(path))
    if len(names) < 2:
        raise SpecError(f"{path}: column {label!r} holds {len(names)} class(es) "
                        f"({', '.join(names) or 'none'}); a task needs at least two")
    counts = Counter(e.label for e in examples)
    per_class = {name: counts.get(i, 0) for i, name in enumerate(names)}
    return (DataCheck(len(frame), tuple(map(str, frame.columns)), per_class,
                      min(per_class.values()) * len(names)), names)


def default_splits(pool: int) -> dict[str, int]:
    """A : B : test = 1 : 1 : 2 in the largest pool that fits: the supervisor and the
    ceiling learn from as much gold (the paper's protocol), and half the pool tests."""
    total = min(pool, MAX_POOL)
    gold = total // 4
    return {"weak_train": gold, "student_train": gold, "test": total - 2 * gold}


def scaffold_task(task_id: str, path: Path, *, text: str | None, template: str | None,
                  label: str, label_map: dict[str, str | None] | None, weak_model: str,
                  strong_model: str, fmt: str | None = None, replicates: int = 5,
                  splits: dict[str, int] | None = None, description: str | None = None,
                  force: bool = False) -> tuple[Path, DataCheck]:
    """Write ``tasks/<task_id>.yaml`` (validated like any task file) and say what it holds."""
    target = tasks_dir() / f"{task_id}.yaml"
    if target.exists() and not force:
        raise SpecError(f"{target} exists; pass --force to overwrite it (and bump its "
                        "`version` if it was frozen)")
    check, names = check_data(path, text, template, label, label_map, fmt)
    sizes = splits or default_splits(check.largest_pool)
    if sizes["weak_train"] != sizes["student_train"]:
        raise SpecError(f"splits {sizes}: the supervisor (A) and the ceiling (B) must learn "
                        "from as much gold, the paper's protocol; give WEAK_TRAIN = "
                        "STUDENT_TRAIN, e.g. --splits 500,500,1000")
    if sum(sizes.values()) > check.largest_pool:
        fit = default_splits(check.largest_pool)
        raise SpecError(f"splits {sizes} need a balanced pool of {sum(sizes.values()):,}, but "
                        f"the smallest class ({min(check.classes, key=check.classes.get)}) "
                        f"allows {check.largest_pool:,}; sizes that fit: {fit}")
    definition = latest_definition(weak_model)
    if definition is None:
        raise SpecError(f"no supervisor definition is named {weak_model!r} in "
                        "tasks/supervisors/; add one there (its model, learner and settings) "
                        f"or choose one of: {', '.join(sorted(SUPERVISORS))}")
    dataset: dict = {"source": "file", "name": task_id, "path": _relative(path),
                     "sha256": sha256_file(path)}
    dataset.update({"text": text} if template is None else {"template": template})
    dataset["label"] = label
    if label_map is not None:
        dataset["label_map"] = label_map
    if fmt:
        dataset["format"] = fmt
    body = {"id": task_id, "version": 1,
            "description": description or f"{weak_model} supervises {strong_model} on "
                                          f"{path.name} ({len(names)} classes)",
            "dataset": dataset, "label_names": names, "balance": True, "splits": sizes,
            "weak_model": weak_model, "weak_supervisor": definition,
            "strong_model": strong_model, "regime": "probe",
            "replicates": replicates, "seed": draw_seed(task_id),
            "training": {"epochs": 5, "batch_size": 64, "lr": 0.001}}
    validate(TaskSpec, body, str(target))
    text_out = yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    target.write_text(f"# written by `w2s-bench new-task`; {check.summary()}\n{text_out}")
    TASKS.reset()
    TASKS.get(task_id)  # parses as every task does (models registered, names checked)
    return target, check


def draw_seed(task_id: str) -> int:
    """A task's own seed for its split draws, from its id: two tasks written for one file
    would otherwise draw the same splits every replicate, while their records (each task
    names its own dataset) counted as separate blocks."""
    return int(hashlib.sha256(task_id.encode("utf-8")).hexdigest()[:8], 16) % 1_000_000
