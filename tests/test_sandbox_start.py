"""Sandboxed workers start wherever the driver runs, and say why when they cannot.

A rerun after crashes once failed to start at all: both workers died inside the sandbox in
multiprocessing's spawn (``os.chdir`` to the driver's working directory, which no bind made
exist inside) and the sweep ended with a bare ``BrokenPipeError``.
"""

from __future__ import annotations

import os
import stat

import pytest

from benchmark.core.bwrap import bwrap_works
from benchmark.core.errors import W2SBenchError
from benchmark.results.records import iter_records, read_record
from benchmark.run.harness import Harness, RunSpec
from tests.conftest import TINY_SUITE, TINY_TASK

pytestmark = pytest.mark.skipif(
    bool(bwrap_works()) and not os.environ.get("CI"),
    reason=f"no sandbox on this machine ({bwrap_works()})")


def test_workers_start_from_a_working_directory_no_bind_reaches(
        tiny_world, tiny_task, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("W2S_BENCH_SANDBOX", raising=False)
    elsewhere = tmp_path / "nowhere" / "the-driver-runs-here"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    run = RunSpec(TINY_SUITE, TINY_TASK, "naive", 0)
    summary = Harness(tmp_path / "results", workers=1, progress=False).run(
        [run], {TINY_TASK: tiny_task})
    assert (summary.done, summary.failed) == (1, [])
    record = read_record(run.path(tmp_path / "results"))
    assert record.provenance.sandbox == "bwrap"
    assert record.provenance.sandbox_binary["sha256"]


def test_a_worker_that_cannot_start_is_reported_with_its_cause(
        tiny_world, tiny_task, tmp_path, monkeypatch) -> None:
    """A sandbox that cannot start (here a bwrap that refuses): the sweep says what the
    worker said, never a bare broken pipe, and loses no run's folder."""
    import benchmark.core.bwrap as bwrap

    monkeypatch.delenv("W2S_BENCH_SANDBOX", raising=False)
    broken = tmp_path / "bwrap"
    broken.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\n"
                      "exit 1\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    real = bwrap.SandboxPolicy.argv

    def argv(self):
        return [str(broken), *real(self)[1:]]

    monkeypatch.setattr(bwrap.SandboxPolicy, "argv", argv)
    runs = [RunSpec(TINY_SUITE, TINY_TASK, "naive", k) for k in range(2)]
    results = tmp_path / "results"
    try:
        summary = Harness(results, workers=1, progress=False).run(runs, {TINY_TASK: tiny_task})
    except W2SBenchError as exc:
        message = str(exc)
        assert "Permission denied" in message and "could not start" in message, message
    else:  # the job was handed over before the worker died: each run fails with the cause
        assert summary.done == 0 and len(summary.failed) == 2
        for record in iter_records(results):
            assert record.error.type == "WorkerDied"
            assert "Permission denied" in record.error.message, record.error.message
    assert "BrokenPipeError" not in str(list(iter_records(results)))
