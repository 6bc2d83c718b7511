"""Atomic file writes and hashing: a crash never leaves a half-written file under a real name."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _read_umask() -> int:
    """The process's umask, read once: setting it to read it is a race with any thread that
    creates a file meanwhile (and with another reader, which could leave it at 0)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _read_umask()


def atomic_write_via(path: Path, write: Callable[[BinaryIO], None],
                     durable: bool = True) -> None:
    """Write through ``write(handle)`` into a temp file beside ``path``, fsync, rename.

    Readers see the old file or the new one, never a partial one; the file gets ordinary
    permissions (mkstemp's are owner-only). ``durable=False`` skips the fsync, for files
    that are cheap to regenerate (the leaderboard site): still atomic, not crash-durable.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~UMASK)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    atomic_write_via(path, lambda handle: handle.write(data), durable=durable)


def atomic_write_text(path: Path, text: str, durable: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def canonical_json(obj: Any) -> str:
    """Stable JSON (sorted keys, fixed separators) so equal content hashes equally."""
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, canonical_json(obj))
