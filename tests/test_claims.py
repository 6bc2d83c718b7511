"""Claim files: whole when seen, readable by other users, and a stale one taken over without
deleting a live claim that replaced it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from benchmark.run.claims import (
    HOST,
    TORN_CLAIM_AGE_S,
    _remove_stale,
    claim_path,
    inspect_claim,
    try_claim,
)


def _dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout)


def test_a_claim_is_whole_and_readable_by_other_users(tmp_path) -> None:
    record = tmp_path / "s" / "t" / "m" / "replicate-0.json"
    claim = try_claim(record)
    assert claim is not None
    path = claim_path(record)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644 & ~mask
    owner = json.loads(path.read_text())
    assert (owner["host"], owner["pid"]) == (HOST, os.getpid())
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    assert try_claim(record) is None  # ours, and we are alive


def test_only_a_claim_read_whole_without_an_owner_ages_into_stale(tmp_path) -> None:
    path = tmp_path / "replicate-0.json.claim"
    path.write_bytes(b"")
    assert inspect_claim(path)[1] is False  # fresh: its owner may be writing it
    old = time.time() - TORN_CLAIM_AGE_S - 1
    os.utime(path, (old, old))
    assert inspect_claim(path)[1] is True
    folder = tmp_path / "unreadable.claim"
    folder.mkdir()  # cannot be read as a file: never judged abandoned
    os.utime(folder, (old, old))
    assert inspect_claim(folder) == (None, False, None)


def test_taking_over_a_stale_claim_never_deletes_the_live_one_that_replaced_it(tmp_path):
    path = tmp_path / "replicate-0.json.claim"
    path.write_text(json.dumps({"host": HOST, "pid": _dead_pid()}))
    owner, stale, judged = inspect_claim(path)
    assert stale and owner is not None
    # meanwhile another sweep took the run over and wrote its own, live, claim
    path.unlink()
    live = json.dumps({"host": HOST, "pid": os.getppid()})
    path.write_text(live)
    assert _remove_stale(path, judged) is False
    assert path.read_text() == live
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    # the stale one itself is removed
    assert not inspect_claim(path)[1]
    path.write_text(json.dumps({"host": HOST, "pid": _dead_pid()}))
    _, stale, judged = inspect_claim(path)
    assert stale and _remove_stale(path, judged) is True and not path.exists()
