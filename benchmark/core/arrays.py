"""Probability arrays as files: deterministic ``.npy`` bytes, read back without pickle.

Per-example predictions (a run's test probabilities, a ceiling's) are stored this way next
to the file that hashes them (a run record, a task's lock). ``.npy`` is numpy's own
format, readable anywhere without W2S-Bench, and its header is fixed for a given dtype and
shape, so the same array always gives the same bytes and the same sha256.
"""

from __future__ import annotations

import io

import numpy as np

from benchmark.core.errors import IntegrityError
from benchmark.core.storage import sha256_bytes


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def read_npy(data: bytes, source: str) -> np.ndarray:
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise IntegrityError(f"{source}: not a readable .npy array ({exc})") from None


def checked_npy(data: bytes, expected_sha256: str, source: str, fix: str) -> np.ndarray:
    """The array in ``data`` if its sha256 is the one recorded, else IntegrityError naming
    both hashes and ``fix``."""
    actual = sha256_bytes(data)
    if actual != expected_sha256:
        raise IntegrityError(f"{source} does not match the sha256 recorded for it: expected "
                             f"{expected_sha256}, got {actual}. The file was modified; {fix}")
    return read_npy(data, source)
