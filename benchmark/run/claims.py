"""Per-run claim files, so sweeps sharing a results directory never compute a run twice.

Before a run starts, the harness creates ``<record>.claim`` holding the owner's host and pid,
written whole and then hard-linked into place (atomic, and refused when the claim exists, on
local filesystems and NFS). Another sweep that finds the claim skips the run. A claim left by
a process that no longer exists on this host (a sweep killed with SIGKILL) is stale and is
taken over; a claim from another host is honoured until its file is deleted. A claim read
whole that still holds no owner ``TORN_CLAIM_AGE_S`` after it was written (on a filesystem
without hard links, its owner killed between creating and writing it) is taken over too; one
that cannot be read at all is left to its owner. A stale claim is moved aside before it is
removed, so a live claim that replaced it meanwhile is put back, never deleted.

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

from benchmark.core.storage import _umask, atomic_write_text

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
    """The claim's owner (host, pid, maybe a job), or None: gone, unreadable or not one."""
    return inspect_claim(path)[0]


ClaimIdentity = tuple[int, int, bytes]  # inode, mtime, content: which file was judged


def inspect_claim(path: Path) -> tuple[dict[str, Any] | None, bool, ClaimIdentity | None]:
    """(owner, stale, identity) of the claim at ``path``. Stale: its owner was a process on
    this host that no longer exists, or the file was read whole and holds no owner long
    after a live owner would have written one (a driver killed between creating and writing
    it, where claims cannot be linked into place whole). A claim that cannot be read
    (permissions, I/O) is never stale: its owner may well be alive. Gone: (None, False,
    None)."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            data = handle.read()
    except OSError:
        return None, False, None
    try:
        owner = json.loads(data)
        host, pid = str(owner["host"]), int(owner["pid"])
    except (ValueError, KeyError, TypeError):
        owner, stale = None, time.time() - info.st_mtime > TORN_CLAIM_AGE_S
    else:
        stale = host == HOST and not pid_alive(pid)
    return owner, stale, (info.st_ino, info.st_mtime_ns, data)


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
        owner, stale, identity = inspect_claim(path)
        if not stale or not _remove_stale(path, identity):
            return None
        inherited = owner.get("job") if owner else None
    return None


def _remove_stale(path: Path, judged: ClaimIdentity | None) -> bool:
    """Remove the claim judged stale, and only it: another sweep may have replaced it with
    its own live claim since it was read, which a plain unlink would delete. The claim is
    moved aside first (atomic) and removed only if it is the file judged stale; otherwise it
    is put back and the run left to its new owner. The file is recognised by inode, mtime
    and content (an inode alone is reused at once by the next file created)."""
    aside = path.with_name(f".{path.name}.stale-{os.getpid()}-{time.monotonic_ns()}.tmp")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True  # someone else removed it: try to create ours
    try:
        info = os.stat(aside)
        if judged is not None and (info.st_ino, info.st_mtime_ns) == judged[:2] \
                and Path(aside).read_bytes() == judged[2]:
            return True
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)  # a live sweep's fresh claim: give it back
        return False
    finally:
        Path(aside).unlink(missing_ok=True)


def _create_whole(path: Path, content: bytes) -> bool:
    """Create ``path`` holding ``content`` if it does not exist, so that nobody ever sees it
    empty: written to a temp file, then hard-linked into place (atomic, and refused when the
    name exists, on local filesystems and NFS). A driver killed in between leaves only the
    temp file, named like the run's other torn writes and removed with them."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644 & ~_umask())  # mkstemp's is owner-only; others read claims
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
    if inspect_claim(path)[1]:  # unlinked outright: a claim that replaced it meanwhile is on
        with contextlib.suppress(FileNotFoundError):  # a complete run, released unused
            path.unlink()


def release(record: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        claim_path(record).unlink()
