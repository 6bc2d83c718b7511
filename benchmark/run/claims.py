"""Per-run claim files, so sweeps sharing a results directory never compute a run twice.

Before a run starts, the harness creates ``<record>.claim`` with ``O_CREAT | O_EXCL`` (atomic
on local filesystems and NFSv3+), holding the owner's host and pid. Another sweep that finds
the claim skips the run. A claim left by a process that no longer exists on this host (a
sweep killed with SIGKILL) is stale and is taken over; a claim from another host is honoured
until its file is deleted.

A run sent to a cluster engine whose jobs outlive the driver (Slurm) has its job handle
written into the claim; whoever takes a stale claim over inherits that handle and adopts the
job instead of submitting the run a second time.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.core.storage import atomic_write_text

HOST = socket.gethostname()


@dataclass(frozen=True)
class Claim:
    record: Path
    inherited_job: dict[str, Any] | None = None  # a dead owner's job for this run, if any


def claim_path(record: Path) -> Path:
    return record.parent / (record.name + ".claim")


def pid_alive(pid: int) -> bool:
    """A process that exists on this host and is not a zombie (an exited orphan nobody has
    reaped yet, such as a job a killed driver had started)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        pass  # no /proc (not Linux), or no such process: ask the kernel
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_owner(path: Path) -> dict[str, Any] | None:
    """The claim file's content, or None while it is being written or gone."""
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def is_stale(owner: dict[str, Any] | None) -> bool:
    """The claim's owner was a process on this host that no longer exists."""
    try:
        return owner is not None and owner["host"] == HOST and not pid_alive(int(owner["pid"]))
    except (KeyError, TypeError, ValueError):
        return False  # unreadable: leave it to its owner


def try_claim(record: Path) -> Claim | None:
    """Claim ``record``'s run for this process; None if a live sweep holds it."""
    path = claim_path(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    inherited = None
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = read_owner(path)
            if not is_stale(owner):
                return None
            inherited = owner.get("job") if owner else None
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(_owner(inherited), out)
        return Claim(record, inherited if isinstance(inherited, dict) else None)
    return None


def _owner(job: dict[str, Any] | None) -> dict[str, Any]:
    owner: dict[str, Any] = {"host": HOST, "pid": os.getpid(), "since": time.time()}
    if job:
        owner["job"] = job
    return owner


def record_job(record: Path, job: dict[str, Any]) -> None:
    """Write the job now computing our claimed run into the claim (atomically: the claim
    file never disappears, so nobody else can take the run meanwhile)."""
    atomic_write_text(claim_path(record), json.dumps(_owner(job)), durable=True)


def clear_stale(record: Path) -> None:
    """Remove a dead sweep's claim on a run that is already complete (it was killed between
    writing the record and releasing the claim), so a finished folder holds no claim."""
    path = claim_path(record)
    if path.exists() and is_stale(read_owner(path)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def release(record: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        claim_path(record).unlink()
