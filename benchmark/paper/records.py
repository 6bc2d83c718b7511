"""A reproduction run's record: strict, typed, written atomically, like a harness record.

Ground-truth runs also carry the weak labels they wrote (a replicate file in the frozen
format of :mod:`benchmark.labels.frozen`: half 1 is split A, half 2 split B); transfer runs
carry the sha256 of the labels they trained on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from benchmark.core.schema import read_json_model
from benchmark.core.storage import atomic_write_json


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeakLabelsFile(_Strict):
    """The label file a ground-truth run wrote (relative to the results folder)."""

    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    accuracy_on_B: float = Field(ge=0, le=1)


class ReproRecord(_Strict):
    schema_version: Literal[1] = 1
    key: str
    dataset: str
    kind: Literal["ground-truth", "transfer"]
    strong: str
    weak: str | None = None
    loss: str
    seed: int
    recipe: dict[str, Any]
    weak_labels: WeakLabelsFile | None = None   # ground-truth runs: the labels they wrote
    method: str | None = None                   # transfer runs: name@version of the loss
    method_config: dict[str, Any] | None = None
    weak_labels_sha256: str | None = None       # transfer runs: the labels they read
    accuracy: float = Field(ge=0, le=1)
    n_train: int = Field(ge=0)
    n_test: int = Field(ge=0)
    compute: dict[str, Any]
    wall_s: float = Field(ge=0)
    provenance: dict[str, Any]


def write_repro_record(path: Path, record: ReproRecord) -> None:
    atomic_write_json(path, record.model_dump(mode="json"))


def read_repro_record(path: Path) -> ReproRecord:
    return read_json_model(ReproRecord, path, "reproduction record",
                           "delete it and rerun `w2s-bench reproduce` to recompute it")
