"""Per-run claim files, so sweeps sharing a results directory never compute a run twice.

Before a run starts, the harness creates ``<record>.claim`` holding the owner's host and pid,
written whole and then hard-linked into place (atomic, and refused when the claim exists, on
local filesystems and NFS). Another sweep that finds the claim skips the run. A claim left by
a process that no longer exists on this host (a sweep killed with SIGKILL) is stale and is
taken over; a claim from another host is honoured until its file is deleted. A claim read
whole that still holds no owner ``TORN_CLAIM_AGE_S`` after it was written (on a filesystem
without hard links, its owner killed between creating and writing it) is taken over too; one
that cannot be read at all is left to its owner. A stale claim is taken over under a lock on
its file and replaced by the new owner's in one step, so the name never goes missing and two
sweeps taking the same dead claim over cannot both win.

A run sent to a cluster engine whose jobs outlive the driver (Slurm) has its job handle
written into the claim; whoever takes a stale claim over inherits that handle and adopts the
job instead of submitting the run a second time.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.core.storage import UMASK, atomic_write_text

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


def inspect_claim(path: Path) -> tuple[dict[str, Any] | None, bool]:
    """(owner, stale) of the claim at ``path``. Stale: its owner was a process on
    this host that no longer exists, or the file was read whole and holds no owner long
    after a live owner would have written one (a driver killed between creating and writing
    it, where claims cannot be linked into place whole). A claim that cannot be read
    (permissions, I/O) is never stale: its owner may well be alive. Gone: (None, False)."""
    try:
        with open(path, "rb") as handle:
            return _judge(handle.fileno())
    except OSError:
        return None, False


def _judge(fd: int) -> tuple[dict[str, Any] | None, bool]:
    """(owner, stale) of the claim open at ``fd``, read from its start."""
    info = os.fstat(fd)
    data = os.pread(fd, max(info.st_size, 1) + 4096, 0)
    try:
        owner = json.loads(data)
        host, pid = str(owner["host"]), int(owner["pid"])
    except (ValueError, KeyError, TypeError):
        return None, time.time() - info.st_mtime > TORN_CLAIM_AGE_S
    return owner, host == HOST and not pid_alive(pid)


def try_claim(record: Path) -> Claim | None:
    """Claim ``record``'s run for this process; None if a live sweep holds it."""
    path = claim_path(record)
    if not path.parent.is_dir():  # a stat: mkdir on an existing folder costs a file create
        path.parent.mkdir(parents=True, exist_ok=True)
    if _create_whole(path, _content(None)):
        return Claim(record)
    dead = _take_over_stale(path)
    if dead is None:
        return None
    job = dead.get("job")
    return Claim(record, job if isinstance(job, dict) else None)


def _content(job: dict[str, Any] | None) -> bytes:
    return json.dumps(_owner(job)).encode("utf-8")


@contextlib.contextmanager
def _locked_if_stale(path: Path) -> Iterator[dict[str, Any] | None]:
    """Hold a lock on the claim file at ``path`` while it is stale and still the file at
    ``path``; yields its owner ({} for a claim that holds none), else None. Two sweeps
    taking the same dead claim over queue on the lock (the kernel drops it with a killed
    holder; POSIX locks work on NFS), and the second finds the claim replaced."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        yield None  # gone, or not ours to lock: leave it
        return
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        # judged through the locked descriptor: closing any other descriptor of the file
        # (opening it again to read it) would drop this process's lock on it
        owner, stale = _judge(fd)
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        yield (owner or {}) if stale and same else None
    finally:
        os.close(fd)  # releases the lock


def _take_over_stale(path: Path) -> dict[str, Any] | None:
    """Replace a stale claim by ours in one step (``os.replace``: the name never goes
    missing, so no third sweep can create a claim in between, and a dead owner's job passes
    to us whole); returns the dead owner's content, or None when the claim is live or was
    replaced meanwhile."""
    with _locked_if_stale(path) as dead:
        if dead is None:
            return None
        job = dead.get("job")
        with _written_beside(path, _content(job if isinstance(job, dict) else None)) as tmp:
            try:
                os.replace(tmp, path)
            except FileNotFoundError:  # our temp file cleared by a sweep holding the run
                return None
        return dead


@contextlib.contextmanager
def _written_beside(path: Path, content: bytes) -> Iterator[str]:
    """A temp file beside ``path`` holding ``content`` (readable by others: mkstemp's is
    owner-only), named like the run's other torn writes and removed on the way out."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            os.fchmod(fd, 0o644 & ~UMASK)
            os.write(fd, content)
        finally:
            os.close(fd)
        yield tmp
    finally:
        Path(tmp).unlink(missing_ok=True)


def _create_whole(path: Path, content: bytes) -> bool:
    """Create ``path`` holding ``content`` if it does not exist, so that nobody ever sees it
    empty: written to a temp file, then hard-linked into place (atomic, and refused when the
    name exists, on local filesystems and NFS). A driver killed in between leaves only the
    temp file, named like the run's other torn writes and removed with them."""
    with _written_beside(path, content) as tmp:
        try:
            os.link(tmp, path)
        except FileExistsError:  # held, unless NFS retried a link that had succeeded
            return os.stat(tmp).st_nlink == 2
        except FileNotFoundError:  # our temp file cleared by the sweep that just claimed it
            return False
        except OSError as exc:
            if exc.errno not in NO_HARD_LINKS:
                raise
            return _create_exclusive(path, content)
        return True


# a filesystem that cannot hard-link: claims are created exclusively, then written
NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS,
                           errno.EMLINK})


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
    writing the record and releasing the claim), so a finished folder holds no claim; and
    the temp files of claims cut short there, which no sweep would clear (none takes a
    complete run again)."""
    path = claim_path(record)
    with _locked_if_stale(path) as dead:
        if dead is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    for torn in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            if time.time() - torn.stat().st_mtime > TORN_CLAIM_AGE_S:
                torn.unlink()


def release(record: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        claim_path(record).unlink()
