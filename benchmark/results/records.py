"""Run records: one JSON file per (suite, task, method, replicate), written atomically.

A record carries the scores, the compute, and the provenance needed to trust and reproduce
them. Only the harness writes records; the leaderboard reads nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from benchmark.core.schema import read_json_model
from benchmark.core.storage import atomic_write_json

SCHEMA_VERSION = 1
TIMING_FIELDS = ("wall_s", "cpu_s", "peak_rss_mb")  # vary run to run; everything else must not


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metrics(_Strict):
    accuracy: float = Field(ge=0, le=1)
    auroc: float | None = Field(default=None, ge=0, le=1)
    pgr: float | None
    pgr_note: str = ""
    weak_accuracy: float = Field(ge=0, le=1)
    ceiling_accuracy: float = Field(ge=0, le=1)


class Compute(_Strict):
    train_flops: float = Field(ge=0)
    infer_flops: float = Field(ge=0)
    examples_seen: int = Field(ge=0)
    trained_params: int = Field(ge=0)
    strong_model_params: int | None = None
    wall_s: float = Field(ge=0)
    cpu_s: float = Field(ge=0)
    peak_rss_mb: float = Field(ge=0)


class RunError(_Strict):
    type: str
    message: str
    log_tail: str = ""


class MethodInfo(_Strict):
    """Who made a method and where to read about it, as the leaderboard shows it."""

    kind: Literal["baseline", "submission", "plugin"]
    summary: str
    description: str = ""
    authors: list[str] = Field(default_factory=list)
    paper: str | None = None
    code: str | None = None
    licence: str | None = None


class Provenance(_Strict):
    task_version: int
    dataset: str = ""  # empty in records written before the field existed
    task_sha256: str
    weak_labels_sha256: str
    references_sha256: str
    weak_model: str
    strong_model: str
    method_version: str
    method_config: dict[str, Any]
    method_origin: str
    packages: dict[str, str]
    git_commit: str
    hardware: dict[str, str | int]
    sandbox: str = ""  # what the method ran in: bwrap, or none; empty in older records


class RunRecord(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    suite: str
    task: str
    method: str
    replicate: int = Field(ge=0)
    seed: int
    status: Literal["ok", "failed"]
    error: RunError | None = None
    metrics: Metrics | None = None
    compute: Compute | None = None
    provenance: Provenance
    method_info: MethodInfo | None = None  # absent in records written before it existed


def record_path(results_dir: Path, suite: str, task: str, method: str, replicate: int) -> Path:
    return results_dir / suite / task / method / f"replicate-{replicate}.json"


def write_record(results_dir: Path, record: RunRecord) -> Path:
    path = record_path(results_dir, record.suite, record.task, record.method, record.replicate)
    atomic_write_json(path, record.model_dump(mode="json"))
    return path


def read_record(path: Path) -> RunRecord:
    return read_json_model(RunRecord, path, "run record",
                           "delete it and rerun `w2s-bench run` to recompute it")


def iter_records(results_dir: Path) -> Iterator[RunRecord]:
    for path in sorted(results_dir.glob("*/*/*/replicate-*.json")):
        yield read_record(path)


def submission_results_dir(name: str) -> Path:
    """Where a submission's committed records live (same layout as ``results/``)."""
    from benchmark.core.paths import submissions_dir

    return submissions_dir() / name / "results"


def collect_records(results_dir: Path) -> list[RunRecord]:
    """Records in ``results_dir`` plus those committed under ``submissions/<name>/results/``.

    A submission folder contributes records of its own method only. When both places hold
    a record for the same (suite, task, method, replicate), the one in ``results_dir`` wins.
    """
    from benchmark.core.paths import submissions_dir

    found: dict[tuple[str, str, str, int], RunRecord] = {}
    for folder in sorted(submissions_dir().glob("*/results")):
        if folder.resolve() == results_dir.resolve():
            continue
        for record in iter_records(folder):
            if record.method == folder.parent.name:
                found[(record.suite, record.task, record.method, record.replicate)] = record
    if results_dir.is_dir():
        for record in iter_records(results_dir):
            found[(record.suite, record.task, record.method, record.replicate)] = record
    return [found[key] for key in sorted(found)]
