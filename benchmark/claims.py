"""Per-run claim files, so sweeps sharing a results directory never compute a run twice.

Before a run starts, the harness creates ``<record>.claim`` with ``O_CREAT | O_EXCL`` (atomic
on local filesystems and NFSv3+), holding the owner's host and pid. Another sweep that finds
the claim skips the run. A claim left by a process that no longer exists on this host (a
sweep killed with SIGKILL) is stale and is taken over; a claim from another host is honoured
until its file is deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

HOST = socket.gethostname()


def claim_path(record: Path) -> Path:
    return record.parent / (record.name + ".claim")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(path: Path) -> bool:
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
        return owner["host"] == HOST and not _alive(int(owner["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return False  # being written right now, or unreadable: leave it to its owner


def try_claim(record: Path) -> bool:
    """Claim ``record``'s run for this process; False if a live sweep holds it."""
    path = claim_path(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if not _stale(path):
                return False
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"host": HOST, "pid": os.getpid()}, out)
        return True
    return False


def release(record: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        claim_path(record).unlink()
