"""Frozen weak-label sets and reference numbers: file format, lock, and verified loading.

Per task, ``tasks/frozen/<task>/`` holds one ``replicate-<k>.csv.gz`` per replicate (example
id, split, weak class probabilities; A rows carry no probabilities, since A is where the weak
model was trained), ``references.json`` (weak accuracy and strong ceiling per replicate),
``ceiling-<k>.npy`` (the ceiling's test probabilities), some kinds' files, and ``lock.json``
(each file's sha256, the task's hash). Every load checks the hash: a changed byte is an
error, never a silent regeneration. No text and no gold label is stored here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model

from benchmark.core.arrays import npy_bytes, read_npy
from benchmark.core.controls import Controls
from benchmark.core.errors import IntegrityError, SpecError
from benchmark.core.kind_fields import reference_fields
from benchmark.core.kinds import BASE_SPLITS, declared_kinds
from benchmark.core.memo import BoundedMemo
from benchmark.core.paths import frozen_dir
from benchmark.core.schema import validate
from benchmark.core.storage import atomic_write_bytes, atomic_write_json, sha256_bytes, sha256_file
from benchmark.labels.replicate_csv import decode_replicate
from benchmark.tasks.spec import TaskSpec

LOCK = "lock.json"
REFERENCES = "references.json"


def replicate_file(replicate: int) -> str:
    return f"replicate-{replicate}.csv.gz"


def ceiling_file(replicate: int) -> str:
    return f"ceiling-{replicate}.npy"


def supervisors_file(replicate: int) -> str:
    """An ensemble task's per-supervisor soft labels: float32 ``[supervisors, rows,
    classes]`` (supervisors in sorted name order, ``TaskSpec.supervisor_names``; rows: B,
    test, then a shifted test set)."""
    return f"supervisors-{replicate}.npy"


CEILING_DTYPE = np.float32


def stored_ceiling(probs: np.ndarray) -> np.ndarray:
    """The ceiling's test probabilities as frozen (and as its accuracy is computed)."""
    return np.asarray(probs).astype(CEILING_DTYPE)


class ReplicateReferenceCommon(BaseModel):
    """One replicate's references (:data:`ReplicateReference` adds each kind's fields, e.g. a
    sandbagging task's locked student)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    replicate: int = Field(ge=0)
    seed: int
    weak_accuracy: float = Field(ge=0, le=1)
    weak_auroc: float | None = Field(default=None, ge=0, le=1)
    ceiling_accuracy: float = Field(ge=0, le=1)
    ceiling_auroc: float | None = Field(default=None, ge=0, le=1)
    n_A: int
    n_B: int
    n_test: int
    controls: Controls | None = None   # frozen under the equal-gold protocol only


def _with_kind_fields() -> Any:
    return create_model("ReplicateReference", __base__=ReplicateReferenceCommon,
                        __module__=__name__, **reference_fields(ReplicateReferenceCommon))


if TYPE_CHECKING:
    ReplicateReference = ReplicateReferenceCommon
else:
    ReplicateReference = _with_kind_fields()


class LayerChoice(BaseModel):
    """The strong model's hidden state chosen at freeze time on held-out gold labels of split
    B (never the test split), for rungs that declare ``layer_search: ceiling``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    layer: int                        # index into the stacked hidden states (0 = embeddings)
    accuracy: dict[int, float]        # each candidate's held-out accuracy
    n_fit: int
    n_held_out: int
    # where the gold came from: examples outside the task's pool, which no replicate ever
    # tests on (None: replicate 0's split B, as tasks frozen before it were chosen)
    source: Literal["outside-pool"] | None = None


class References(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    task: str
    weak_model: str
    strong_model: str
    replicates: list[ReplicateReference]
    strong_layer: LayerChoice | None = None


class Lock(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    task: str
    task_version: int
    task_sha256: str
    weak_model: str
    strong_model: str
    seed: int
    replicates: int
    files: dict[str, str]
    packages: dict[str, str]
    hardware: dict[str, str | int]
    created_with: str


@dataclass(frozen=True)
class WeakLabelSet:
    """One replicate's supervision: what the student trains on, and what it is tested on."""

    task: str
    replicate: int
    sha256: str
    ids_A: tuple[str, ...]
    ids_B: tuple[str, ...]
    ids_test: tuple[str, ...]
    train_weak_probs: np.ndarray   # [n_B, classes] B's weak soft labels, as a method reads them
    test_weak_probs: np.ndarray    # [n_test, classes] weak predictions (for weak accuracy)
    # a kind's splits beyond A, B and test, by name (a shift task's shifted test set and its
    # unlabelled target inputs), and the weak predictions on those that are test sets;
    # several supervisors: each one's soft labels on B, by name, and the locked sha256 of the
    # boosted labels a method was given (benchmark.labels.boosting)
    further_ids: dict[str, tuple[str, ...]] = field(default_factory=dict)
    further_probs: dict[str, np.ndarray] = field(default_factory=dict)
    supervisors: dict[str, np.ndarray] | None = None
    boosted_sha256: str | None = None


def scored_ids(spec: TaskSpec, weak: WeakLabelSet) -> tuple[str, ...]:
    """Every row a run of the replicate is scored on, in the order its predictions come:
    the test set, then each of the task's kinds' further test splits."""
    further = [s for kind in declared_kinds(spec) for s in kind.further_splits]
    return weak.ids_test + tuple(i for s in further for i in weak.further_ids.get(s, ()))


def task_frozen_dir(task_id: str) -> Path:
    return _child(frozen_dir(), task_id)


@lru_cache(maxsize=1024)
def _child(folder: Path, name: str) -> Path:
    return folder / name


def write_frozen(spec: TaskSpec, replicate_blobs: dict[int, bytes], references: References,
                 packages: dict[str, str], hardware: dict[str, str | int], created_with: str,
                 ceilings: dict[int, np.ndarray] | None = None,
                 extras: dict[str, np.ndarray] | None = None) -> Lock:
    folder = task_frozen_dir(spec.id)
    files: dict[str, str] = {}
    named = {replicate_file(k): blob for k, blob in sorted(replicate_blobs.items())}
    named |= {ceiling_file(k): npy_bytes(stored_ceiling(p))
              for k, p in sorted((ceilings or {}).items())}
    named |= {name: npy_bytes(np.asarray(array, np.float32))   # shifted ceilings, supervisors
              for name, array in sorted((extras or {}).items())}
    for name, data in named.items():
        atomic_write_bytes(folder / name, data)
        files[name] = sha256_bytes(data)
    # no key for an absent layer choice: tasks frozen before it keep byte-identical files
    atomic_write_json(folder / REFERENCES, references.model_dump(mode="json",
                                                                 exclude_none=True))
    files[REFERENCES] = sha256_file(folder / REFERENCES)
    lock = Lock(task=spec.id, task_version=spec.version, task_sha256=spec.sha256,
                weak_model=spec.weak_model, strong_model=spec.strong_model, seed=spec.seed,
                replicates=spec.replicates, files=files, packages=packages, hardware=hardware,
                created_with=created_with)
    atomic_write_json(folder / LOCK, lock.model_dump(mode="json"))
    _cached_lock.cache_clear()
    return lock


def add_ceilings(spec: TaskSpec, ceilings: dict[int, np.ndarray]) -> Lock:
    return add_files(spec, {ceiling_file(k): npy_bytes(stored_ceiling(p))
                            for k, p in ceilings.items()})


def add_files(spec: TaskSpec, named: dict[str, bytes], replace: re.Pattern | None = None
              ) -> Lock:
    """Add files to a frozen task, changing nothing else that is locked. A locked file is
    replaced only where its name matches ``replace`` (a crash before the lock is rewritten
    leaves it failing its check, never passing with other bytes)."""
    lock = load_lock(spec)
    folder = task_frozen_dir(spec.id)
    files = dict(lock.files)
    taken = [n for n in named if n in files and not (replace and replace.fullmatch(n))]
    if taken:
        raise IntegrityError(f"task {spec.id!r}: {', '.join(sorted(taken))} already locked; "
                             "adding files never replaces what the freeze wrote")
    for name, data in sorted(named.items()):
        atomic_write_bytes(folder / name, data)
        files[name] = sha256_bytes(data)
    updated = lock.model_copy(update={"files": dict(sorted(files.items()))})
    atomic_write_json(folder / LOCK, updated.model_dump(mode="json"))
    _cached_lock.cache_clear()
    return updated


def is_frozen(task_id: str) -> bool:
    return (task_frozen_dir(task_id) / LOCK).is_file()


@lru_cache(maxsize=256)
def _cached_lock(path: Path, mtime_ns: int) -> Lock:
    from benchmark.core.schema import read_yaml  # JSON is YAML

    return validate(Lock, read_yaml(path), str(path))


def load_lock(spec: TaskSpec) -> Lock:
    """The task's lock, checked against the current task definition."""
    path = task_frozen_dir(spec.id) / LOCK
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    if info is None or not S_ISREG(info.st_mode):
        raise SpecError(f"task {spec.id!r} has no frozen weak labels ({path} is missing). "
                        f"Run `w2s-bench freeze {spec.id}` to create them.")
    lock = _cached_lock(path, info.st_mtime_ns)
    if lock.task_sha256 != spec.sha256:
        raise IntegrityError(
            f"tasks/{spec.id}.yaml changed since its weak labels were frozen (lock has task "
            f"sha256 {lock.task_sha256[:12]}…, the file now hashes to {spec.sha256[:12]}…). "
            "Undo the change, or bump `version` and run "
            f"`w2s-bench freeze {spec.id} --force` to re-freeze deliberately.")
    return lock


def verified_bytes(spec: TaskSpec, name: str) -> tuple[bytes, str]:
    """A frozen file's bytes, checked against the lock's sha256. Bytes that hashed to the
    locked digest are kept (a few hundred files) and returned again while the file's stamp
    (inode, size, mtime, ctime) is unchanged: a sweep reads the same files for every method,
    and any write to one moves its ctime, which no unprivileged process can set back."""
    lock = load_lock(spec)
    path = task_frozen_dir(spec.id) / name
    if name not in lock.files:
        raise IntegrityError(f"{path} is not listed in {LOCK}; re-freeze the task with --force")
    expected = lock.files[name]
    try:
        stamp = _stamp(path)  # taken before the read: a write in between re-reads next time
    except FileNotFoundError:
        return _read_verified(spec, path, expected), expected  # says it is missing
    return _VERIFIED_BYTES.get_or_make((path, stamp, expected),
                                       lambda: _read_verified(spec, path, expected)), expected


def _read_verified(spec: TaskSpec, path: Path, expected: str) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IntegrityError(f"{path} is missing but {LOCK} lists it; restore it with "
                             f"`git checkout -- {path}`") from None
    actual = sha256_bytes(data)
    if actual != expected:
        raise IntegrityError(
            f"{path} does not match its lock: expected sha256 {expected}, got {actual}. "
            f"The frozen file was modified; restore it with `git checkout -- {path}` (or re-freeze "
            f"deliberately with `w2s-bench freeze {spec.id} --force`).")
    return data


# frozen files kept verified in memory: the default job reads ~330 (20 MB); 512 of the
# largest (250 KB) would be 130 MB
_VERIFIED_BYTES: BoundedMemo[tuple[Path, tuple[int, ...], str], bytes] = BoundedMemo(512)


def verify_frozen(spec: TaskSpec, replicate: int | None = None) -> None:
    """Check the frozen files of ``spec`` against its lock: all of them, or those a run of
    ``replicate`` is scored against (the task's own and that replicate's). The harness
    checks a run's files after it runs: a method that wrote into ``tasks/`` stops the sweep
    before anything is scored against altered files. A file is re-hashed unless its inode,
    size, mtime and ctime are those it had when it last hashed to the locked digest: any
    write, rename or ``touch`` moves ctime, which no unprivileged process can set back."""
    for name in load_lock(spec).files:
        if replicate is None or _replicate_of(name) in (None, replicate):
            verified_bytes(spec, name)


def _replicate_of(name: str) -> int | None:
    """The replicate a frozen file belongs to (``ceiling-3.npy``: 3), None for the task's."""
    found = re.fullmatch(r"[a-z-]+-(\d+)\.[a-z.]+", name)
    return int(found.group(1)) if found else None


def _stamp(path: Path) -> tuple[int, ...]:
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def load_weak_labels(spec: TaskSpec, replicate: int) -> WeakLabelSet:
    if not 0 <= replicate < spec.replicates:
        raise SpecError(f"task {spec.id!r} has replicates 0..{spec.replicates - 1}, "
                        f"not {replicate}")
    name = replicate_file(replicate)
    data, digest = verified_bytes(spec, name)
    ids, cached = _decoded(digest, data, str(task_frozen_dir(spec.id) / name))
    probs = {split: array.copy() for split, array in cached.items()}  # callers may write
    supervisors = None
    if spec.supervisor_names:
        stacked = load_array(spec, supervisors_file(replicate))
        supervisors = {name: np.array(stacked[i, :len(ids["B"])])
                       for i, name in enumerate(spec.supervisor_names)}
    return WeakLabelSet(spec.id, replicate, digest, tuple(ids["A"]), tuple(ids["B"]),
                        tuple(ids["test"]), probs["B"], probs["test"],
                        further_ids={s: tuple(v) for s, v in ids.items()
                                     if s not in BASE_SPLITS},
                        further_probs={s: probs[s] for s in ids
                                       if s in probs and s not in BASE_SPLITS},
                        supervisors=supervisors)


def load_array(spec: TaskSpec, name: str) -> np.ndarray:
    """A frozen ``.npy`` file of the task (checked against the lock)."""
    data, _ = verified_bytes(spec, name)
    return read_npy(data, str(task_frozen_dir(spec.id) / name))


DECODED_KEPT = 128  # weak-label files kept decoded (a sweep orders its runs in chunks of this)


@lru_cache(maxsize=DECODED_KEPT)
def _decoded(digest: str, data: bytes, source: str) -> tuple[dict[str, list[str]],
                                                             dict[str, np.ndarray]]:
    """Decoded weak labels, memoised on the verified bytes' sha256: every method of a sweep
    reads the same replicate files, so each is parsed once.
    Callers get copies of the arrays, so none can alter what the next one receives."""
    return decode_replicate(data, source)


def has_ceilings(spec: TaskSpec) -> bool:
    files = load_lock(spec).files
    return all(ceiling_file(k) in files for k in range(spec.replicates))


def load_ceiling(spec: TaskSpec, replicate: int) -> np.ndarray | None:
    """The ceiling's test probabilities for ``replicate``, checked against the lock; None for
    a task frozen before they were kept (``w2s-bench freeze --add-ceilings`` adds them)."""
    name = ceiling_file(replicate)
    if name not in load_lock(spec).files:
        return None
    return load_array(spec, name)


def load_references(spec: TaskSpec) -> References:
    data, digest = verified_bytes(spec, REFERENCES)
    return _parsed_references(digest, data, str(task_frozen_dir(spec.id) / REFERENCES))


@lru_cache(maxsize=64)
def _parsed_references(digest: str, data: bytes, source: str) -> References:
    """References parsed once per verified content (the harness reads them for every run's
    record; they are frozen, so every caller may share one)."""
    import json

    return validate(References, json.loads(data), source)

