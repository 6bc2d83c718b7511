"""A pool of long-lived worker processes, one run at a time each, that the harness can kill.

``concurrent.futures`` cannot stop one task: a run that hangs or eats memory would hold its
worker forever, and a dead worker breaks the whole pool without saying which run killed it.
Here every worker has its own pipe, so the harness knows which run each worker holds; a run
over its wall-clock limit or its memory limit (resident set size, polled from /proc on
Linux) gets its worker killed and replaced, and a worker that dies fails only its own run.

Workers are started with ``spawn``: they inherit nothing from the harness (no gold labels).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from benchmark.core.bwrap import RUN_AREA_RUN
from benchmark.core.exiting import exit_now
from benchmark.run.sandbox import SPAWN_LOCK, RunSandbox, move_in, move_out
from benchmark.run.worker import LOG_FILE, LOG_TAIL_LINES, failed_output, init_worker

POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Limits:
    """Per-run limits; None means unlimited."""

    timeout_s: float | None = None
    memory_mb: float | None = None


NO_LIMITS = Limits()


def _worker_main(conn: Connection, threads: int, sandboxed: bool,
                 cpus: tuple[int, ...] | None = None) -> None:
    from multiprocessing.reduction import recv_handle

    from benchmark.run.worker import run_area_input, run_forked, with_worker_features

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the harness's to handle
    if cpus:
        os.sched_setaffinity(0, cpus)  # its runs' forks inherit it
    init_worker(threads)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:  # all done: skip the interpreter's teardown (0.5 s with torch)
            exit_now(0)
        plugin, config, inp, run_threads, with_fd = job
        feature_fd = recv_handle(conn) if with_fd else None
        if sandboxed:
            inp = run_area_input(inp, Path(RUN_AREA_RUN), feature_fd)
        inp = with_worker_features(inp)
        try:
            run_forked(plugin, config, inp, run_threads, conn.send)
        finally:
            if feature_fd is not None:
                os.close(feature_fd)


def passes_features(inp: Any) -> bool:
    """Probe-regime runs read a feature file; the sandbox gets it as a descriptor (where
    this machine has it: a Ray input may carry its arrays to a node without the cache)."""
    return bool(inp.feature_file) and inp.regime == "probe" and os.path.isfile(inp.feature_file)


def rss_mb(pid: int) -> float | None:
    """Resident set size of a process and all its descendants in MB (Linux): a worker runs
    each job in a fork, inside a sandbox process where there is one. None without /proc."""
    total, seen, todo = 0, set(), [pid]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/statm", encoding="ascii") as statm:
                total += int(statm.read().split()[1])
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as kids:
                    todo += [int(k) for k in kids.read().split()]
        except (OSError, ValueError, IndexError):
            if current == pid:
                return None
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def log_tail(scratch: Path) -> str:
    if (scratch / LOG_FILE).is_symlink():  # written by the run: never follow where it points
        return ""
    try:
        lines = (scratch / LOG_FILE).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])


def worker_cpus(slot: int, size: int, threads: int) -> tuple[int, ...] | None:
    """The CPUs of worker ``slot`` of ``size``: its own ``threads`` of them where every
    worker's fit in this process's CPUs, else None (the scheduler places them).

    A run is a fresh fork, and the scheduler tends to place a new process on another CPU
    than its parent's, then move it back: its first tenth of a second ran on cold caches.
    Pinned, the 2-worker warm default job ran ~10% faster on 2 cores (docs/performance.md).
    """
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if threads < 1 or size * threads > len(available):
        return None
    return tuple(available[slot * threads:(slot + 1) * threads])


class _Worker:
    def __init__(self, context: Any, threads: int, sandbox: RunSandbox | None,
                 cpus: tuple[int, ...] | None = None) -> None:
        self.conn, child = context.Pipe()
        self.sandbox = sandbox
        self.area = sandbox.new_area() if sandbox else None
        self.process = context.Process(target=_worker_main,
                                       args=(child, threads, sandbox is not None, cpus),
                                       daemon=True)
        if sandbox is not None and self.area is not None:
            with sandbox.executable(self.area, context):
                self.process.start()
        else:
            with SPAWN_LOCK:  # never while another thread has the launcher set
                self.process.start()
        child.close()
        self.job: tuple[Any, Path, float] | None = None  # (key, scratch dir, start time)

    def send(self, plugin: Any, config: dict[str, Any], inp: Any, threads: int | None) -> None:
        """Hand over one job; in a sandbox, the run's scratch folder moves into this
        worker's run area and its feature file goes over the pipe as a descriptor."""
        if self.area is None:
            self.conn.send((plugin, config, inp, threads, False))
            return
        from multiprocessing.reduction import send_handle

        move_in(inp.scratch_dir, self.area)
        with_fd = passes_features(inp)
        self.conn.send((plugin, config, inp, threads, with_fd))
        if with_fd:
            fd = os.open(inp.feature_file, os.O_RDONLY)
            try:
                send_handle(self.conn, fd, self.process.pid)
            finally:
                os.close(fd)

    def finish(self) -> None:
        """The run is over (reported, killed or dead): its scratch folder moves back."""
        if self.area is not None and self.job is not None:
            move_out(self.area, self.job[1])

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)
        self.conn.close()


class WorkerPool:
    """``submit(key, method, config, inp)`` then ``collect()`` the finished ``(key, output)``."""

    def __init__(self, size: int, threads: int, limits: Limits = NO_LIMITS,
                 sandbox: RunSandbox | None = None, pin: bool = True) -> None:
        self.size = max(1, size)
        self.pin = pin
        self.threads = threads
        self.limits = limits
        self.sandbox = sandbox
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []

    def start(self) -> None:
        """Start every worker now, so they import torch while the caller prepares inputs
        (a job sent to a worker that is still starting blocks the sender)."""
        while len(self._workers) < self.size:
            self._workers.append(self._new_worker(len(self._workers)))

    def _new_worker(self, slot: int) -> _Worker:
        cpus = worker_cpus(slot, self.size, self.threads) if self.pin else None
        return _Worker(self._context, self.threads, self.sandbox, cpus)

    def idle(self) -> int:
        return self.size - sum(1 for w in self._workers if w.job is not None)

    def busy(self) -> int:
        return self.size - self.idle()

    def submit(self, key: Any, plugin: Any, config: dict[str, Any], inp: Any,
               threads: int | None = None) -> None:
        worker = next((w for w in self._workers if w.job is None), None)
        if worker is None:
            if len(self._workers) >= self.size:
                raise RuntimeError("no idle worker: check idle() before submit()")
            worker = self._new_worker(len(self._workers))
            self._workers.append(worker)
        worker.job = (key, inp.scratch_dir, time.monotonic())
        worker.send(plugin, config, inp, threads)

    def collect(self, timeout: float = POLL_SECONDS) -> list[tuple[Any, dict[str, Any]]]:
        """Wait up to ``timeout`` s; return finished runs, including killed and dead ones."""
        busy = [w for w in self._workers if w.job is not None]
        if not busy:
            return []
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                         timeout=timeout))
        done: list[tuple[Any, dict[str, Any]]] = []
        for worker in busy:
            output = None
            if worker.conn in ready:
                try:
                    output = worker.conn.recv()
                except (EOFError, OSError):
                    output = None
            if output is None and (worker.conn in ready or worker.process.sentinel in ready
                                   or not worker.process.is_alive()):
                output = self._failure(worker, "WorkerDied", self._death(worker))
            elif output is None:
                output = self._check_limits(worker)
            if output is not None:
                if worker.job is not None:  # a failure already moved it back
                    worker.finish()
                    done.append((worker.job[0], output))
                worker.job = None
        return done

    def _check_limits(self, worker: _Worker) -> dict[str, Any] | None:
        elapsed = time.monotonic() - worker.job[2]
        if self.limits.timeout_s is not None and elapsed > self.limits.timeout_s:
            return self._failure(worker, "Timeout", f"the run exceeded its wall-clock limit of "
                                 f"{self.limits.timeout_s:g} s; its worker was stopped")
        if self.limits.memory_mb is not None:
            used = rss_mb(worker.process.pid)
            if used is not None and used > self.limits.memory_mb:
                return self._failure(worker, "MemoryLimitExceeded", f"the run's worker reached "
                                     f"{used:.0f} MB resident, over its limit of "
                                     f"{self.limits.memory_mb:g} MB; it was stopped")
        return None

    @staticmethod
    def _death(worker: _Worker) -> str:
        worker.process.join(timeout=5)
        code = worker.process.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            hint = " (killed: by the kernel for memory, or by a user)" if code == -9 else ""
            return f"the worker process died from signal {name}{hint} while running this"
        return f"the worker process exited with status {code} while running this (crash or " \
               "os._exit in the method)"

    def _failure(self, worker: _Worker, kind: str, message: str) -> dict[str, Any]:
        """Kill and replace ``worker``; its run becomes a failure with its log's last lines."""
        scratch = worker.job[1]
        worker.kill()
        worker.finish()
        tail = log_tail(scratch)  # the folder stays: a finetune's checkpoints resume the rerun
        index = self._workers.index(worker)
        self._workers[index] = self._new_worker(index)
        return failed_output(kind, message, tail)

    def close(self) -> None:
        """Ask idle workers to exit (all at once, then wait); kill busy ones."""
        for worker in self._workers:
            if worker.job is None and worker.process.is_alive():
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
        deadline = time.monotonic() + 5
        for worker in self._workers:
            if worker.job is None:
                worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            worker.kill()
            worker.finish()
        self._workers = []
        if self.sandbox is not None:
            self.sandbox.close()
