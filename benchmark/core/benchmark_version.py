"""The benchmark's version: a name for one set of frozen tasks, bumped by any re-freeze.

``tasks/versions/benchmark.yaml`` names the version, the suites it covers and the sha256 of their
frozen tasks (every covered task's ``lock.json``, which hashes each of its frozen files, in
task order). ``tests/test_benchmark_version.py`` recomputes it, so a re-freeze that is not
announced (a new version, and its ``CHANGELOG.md`` entry with its measured effect) fails CI.
The site prints the version on every page and in every export; where this checkout's frozen
tasks differ from the declared ones it says so beside it. Read as plain files: the site
imports no label code."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from benchmark.core.errors import SpecError
from benchmark.core.paths import frozen_dir, tasks_dir
from benchmark.core.schema import read_yaml, validate

VERSION_FILE = "versions/benchmark.yaml"   # under tasks/


class DeclaredVersion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str = Field(pattern=r"^\d+\.\d+$")
    released: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    suites: list[str] = Field(min_length=1)
    frozen_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class BenchmarkVersion:
    version: str
    frozen_sha256: str    # as declared
    matches: bool         # this checkout's frozen tasks are the declared ones

    @property
    def label(self) -> str:
        """As pages and exports print it."""
        mark = "" if self.matches else " (frozen tasks here differ from it)"
        return f"{self.version} @ {self.frozen_sha256[:12]}{mark}"


def declared() -> DeclaredVersion:
    path = tasks_dir() / VERSION_FILE
    if not path.is_file():
        raise SpecError(f"{path} is missing: it names the benchmark version")
    return validate(DeclaredVersion, read_yaml(path), str(path))


def covered_tasks(suites: list[str]) -> list[str]:
    """The tasks of ``suites``, from the suite files as plain YAML (sorted, once each)."""
    files = [tasks_dir() / "suites.yaml", *sorted((tasks_dir() / "suites").glob("*.yaml"))]
    found: dict[str, list[str]] = {}
    for path in files:
        for name, body in (read_yaml(path) or {}).items():
            found[name] = list(body.get("tasks", []))
    missing = [s for s in suites if s not in found]
    if missing:
        raise SpecError(f"{tasks_dir() / VERSION_FILE} covers suite {missing[0]!r}, which no "
                        "suite file declares")
    return sorted({task for suite in suites for task in found[suite]})


def frozen_sha256(tasks: list[str], root: Path | None = None) -> str:
    """The sha256 of the tasks' locks, in task order (a task not frozen counts as absent)."""
    root = root or frozen_dir()
    digest = hashlib.sha256()
    for task in tasks:
        lock = root / task / "lock.json"
        digest.update(task.encode() + b"\0")
        digest.update(hashlib.sha256(lock.read_bytes()).digest() if lock.is_file() else b"-")
    return digest.hexdigest()


def benchmark_version() -> BenchmarkVersion:
    """The declared version, and whether this checkout's frozen tasks are its."""
    found = declared()
    here = frozen_sha256(covered_tasks(found.suites))
    return BenchmarkVersion(found.version, found.frozen_sha256, here == found.frozen_sha256)


def version_label() -> str:
    """The version as pages and exports print it ("unversioned" where a checkout of tasks
    declares none, e.g. a folder of one's own tasks)."""
    try:
        return benchmark_version().label
    except SpecError as exc:
        return f"unversioned ({str(exc)[:120]})"
