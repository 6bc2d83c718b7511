"""Per-run claim files, so sweeps sharing a results directory never compute a run twice.

Before a run starts, the harness creates ``<record>.claim`` holding the owner's host and pid,
written whole and then hard-linked into place (atomic, and refused when the claim exists, on
local filesystems and NFS). Another sweep that finds the claim skips the run. A claim left by
a process that no longer exists on this host (a sweep killed with SIGKILL) is stale and is
taken over; a claim from another host is honoured until its file is deleted. A claim still
unreadable ``TORN_CLAIM_AGE_S`` after it was written (one from a filesystem without hard
links, its owner killed between creating and writing it) is taken over too.

A run sent to a cluster engine whose jobs outlive the driver (Slurm) has its job handle
written into the claim; whoever takes a stale claim over inherits that handle and adopts the
job instead of submitting the run a second time.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.core.storage import atomic_write_text

HOST = socket.gethostname()
TORN_CLAIM_AGE_S = 10.0  # a live owner writes its claim within milliseconds of creating it


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


def is_stale(path: Path, owner: dict[str, Any] | None) -> bool:
    """The claim's owner was a process on this host that no longer exists, or the claim was
    never written whole (its owner killed straight after creating it)."""
    try:
        host, pid = str((owner or {})["host"]), int((owner or {})["pid"])
    except (KeyError, TypeError, ValueError):
        return _abandoned_unwritten(path)
    return host == HOST and not pid_alive(pid)


def _abandoned_unwritten(path: Path) -> bool:
    """Unreadable now, and long past the moment a live owner would have written it."""
    try:
        return time.time() - path.stat().st_mtime > TORN_CLAIM_AGE_S
    except OSError:
        return False  # gone: nothing to take over


def try_claim(record: Path) -> Claim | None:
    """Claim ``record``'s run for this process; None if a live sweep holds it."""
    path = claim_path(record)
    if not path.parent.is_dir():  # a stat: mkdir on an existing folder costs a file create
        path.parent.mkdir(parents=True, exist_ok=True)
    inherited = None
    for _ in range(2):
        content = json.dumps(_owner(inherited)).encode("utf-8")
        if _create_whole(path, content):
            return Claim(record, inherited if isinstance(inherited, dict) else None)
        owner = read_owner(path)
        if not is_stale(path, owner):
            return None
        inherited = owner.get("job") if owner else None
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return None


def _create_whole(path: Path, content: bytes) -> bool:
    """Create ``path`` holding ``content`` if it does not exist, so that nobody ever sees it
    empty: written to a temp file, then hard-linked into place (atomic, and refused when the
    name exists, on local filesystems and NFS). A driver killed in between leaves only the
    temp file, named like the run's other torn writes and removed with them."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.write(fd, content)
        os.close(fd)
        fd = -1
        try:
            os.link(tmp, path)
        except (FileExistsError, FileNotFoundError):  # held; or our temp file cleared by
            return False                              # the sweep that has just claimed it
        except OSError:  # a filesystem without hard links: exclusive create, then write
            return _create_exclusive(path, content)
        return True
    finally:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)


def _create_exclusive(path: Path, content: bytes) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    return True


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
    if path.exists() and is_stale(path, read_owner(path)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def release(record: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        claim_path(record).unlink()
