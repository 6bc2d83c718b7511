"""Local workers each get CPUs of their own where they fit (a run's fresh fork then starts on
warm caches instead of being moved between CPUs), and none where they do not."""

from __future__ import annotations

import os
import time

import pytest

from benchmark.run import pool
from benchmark.run.pool import WorkerPool, worker_cpus


def test_each_slot_gets_its_own_cpus_from_this_process_affinity(monkeypatch):
    monkeypatch.setattr(pool.os, "sched_getaffinity", lambda pid: {2, 3, 5, 7})
    assert [worker_cpus(slot, 2, 2) for slot in range(2)] == [(2, 3), (5, 7)]
    assert [worker_cpus(slot, 4, 1) for slot in range(4)] == [(2,), (3,), (5,), (7,)]


def test_no_pinning_where_the_workers_do_not_fit(monkeypatch):
    monkeypatch.setattr(pool.os, "sched_getaffinity", lambda pid: {0, 1})
    assert worker_cpus(0, 3, 1) is None  # three one-thread workers on two CPUs
    assert worker_cpus(1, 2, 2) is None  # two two-thread workers on two CPUs


def _affinity_once_set(pid: int, wanted: set[int], seconds: float = 60) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = os.sched_getaffinity(pid)
        if found == wanted:
            break
        time.sleep(0.1)
    return found


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_started_workers_are_pinned_each_to_its_own_cpu():
    cpus = sorted(os.sched_getaffinity(0))
    workers = WorkerPool(2, 1)
    try:
        workers.start()
        pids = [w.process.pid for w in workers._workers]
        assert [_affinity_once_set(pid, {cpus[k]}) for k, pid in enumerate(pids)] == \
            [{cpus[0]}, {cpus[1]}]
    finally:
        workers.close()
    unpinned = WorkerPool(2, 1, pin=False)
    try:
        unpinned.start()
        time.sleep(1)
        assert all(os.sched_getaffinity(w.process.pid) == set(cpus)
                   for w in unpinned._workers)
    finally:
        unpinned.close()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_a_worker_for_two_cpu_runs_is_pinned_to_two_cpus():
    """One worker whose runs declare 2 CPUs (a finetune task): pinned to one core, its runs'
    two torch threads would share it (a finetune run measured 354 s on one core)."""
    cpus = sorted(os.sched_getaffinity(0))
    workers = WorkerPool(1, 1, pin_width=2)
    try:
        workers.start()
        pid = workers._workers[0].process.pid
        assert _affinity_once_set(pid, set(cpus[:2])) == set(cpus[:2])
    finally:
        workers.close()
