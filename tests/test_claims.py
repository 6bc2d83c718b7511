"""Claim files: whole when seen, readable by other users, and a stale one taken over in one
step, never deleting a live claim that replaced it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from benchmark.run import claims
from benchmark.run.claims import HOST, TORN_CLAIM_AGE_S, claim_path, inspect_claim, try_claim


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
    assert inspect_claim(folder) == (None, False)


def test_a_dead_sweeps_claim_is_replaced_in_one_step_and_its_job_inherited(tmp_path):
    record = tmp_path / "replicate-0.json"
    path = claim_path(record)
    job = {"engine": "slurm", "id": "42"}
    path.write_text(json.dumps({"host": HOST, "pid": _dead_pid(), "job": job}))
    claim = try_claim(record)
    assert claim is not None and claim.inherited_job == job
    owner = json.loads(path.read_text())
    assert (owner["pid"], owner["job"]) == (os.getpid(), job)  # the handle passes on whole
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_stale_claim_replaced_while_waiting_for_its_lock_is_left_to_its_new_owner(
        tmp_path, monkeypatch) -> None:
    """Two sweeps take the same dead claim over: the second waits on the lock while the
    first replaces the claim; it must find the live claim and leave it (before, it deleted
    whatever lay under the name, and both computed the run)."""
    record = tmp_path / "replicate-0.json"
    path = claim_path(record)
    path.write_text(json.dumps({"host": HOST, "pid": _dead_pid()}))
    live = json.dumps({"host": HOST, "pid": os.getppid()})
    lockf = claims.fcntl.lockf

    def the_other_sweep_wins(fd, op):
        replacement = tmp_path / "other"
        replacement.write_text(live)
        os.replace(replacement, path)  # the first sweep's takeover, done while we waited
        lockf(fd, op)

    monkeypatch.setattr(claims.fcntl, "lockf", the_other_sweep_wins)
    assert try_claim(record) is None
    assert path.read_text() == live
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_the_lock_is_still_held_when_the_stale_claim_is_replaced(tmp_path, monkeypatch):
    """POSIX locks belong to the process and die with any descriptor of the file it closes:
    judging the claim by opening it again would drop the lock before the replacement, and two
    sweeps could both take the run over. Another process must find the claim locked then."""
    record = tmp_path / "replicate-0.json"
    path = claim_path(record)
    path.write_text(json.dumps({"host": HOST, "pid": _dead_pid()}))
    probe = ("import fcntl, os, sys\n"
             "fd = os.open(sys.argv[1], os.O_RDWR)\n"
             "try:\n    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n    print('free')\n"
             "except OSError:\n    print('locked')\n")
    seen = []
    replace = claims.os.replace

    def replace_and_look(src, dst):
        seen.append(subprocess.run([sys.executable, "-c", probe, str(path)],
                                   capture_output=True, text=True).stdout.strip())
        replace(src, dst)

    monkeypatch.setattr(claims.os, "replace", replace_and_look)
    assert try_claim(record) is not None
    assert seen == ["locked"]
