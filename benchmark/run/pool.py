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
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from benchmark.run.worker import LOG_FILE, LOG_TAIL_LINES, failed_output, init_worker

POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Limits:
    """Per-run limits; None means unlimited."""

    timeout_s: float | None = None
    memory_mb: float | None = None


NO_LIMITS = Limits()


def _worker_main(conn: Connection, threads: int) -> None:
    from benchmark.run.worker import run_light

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the harness's to handle
    init_worker(threads)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        conn.send(run_light(*job))


def rss_mb(pid: int) -> float | None:
    """Resident set size of a process in MB (Linux); None where /proc is not available."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def log_tail(scratch: Path) -> str:
    try:
        lines = (scratch / LOG_FILE).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])


class _Worker:
    def __init__(self, context: Any, threads: int) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, threads), daemon=True)
        self.process.start()
        child.close()
        self.job: tuple[Any, Path, float] | None = None  # (key, scratch dir, start time)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=10)
        self.conn.close()


class WorkerPool:
    """``submit(key, method, config, inp)`` then ``collect()`` the finished ``(key, output)``."""

    def __init__(self, size: int, threads: int, limits: Limits = NO_LIMITS) -> None:
        self.size = max(1, size)
        self.threads = threads
        self.limits = limits
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []

    def start(self) -> None:
        """Start every worker now, so they import torch while the caller prepares inputs
        (a job sent to a worker that is still starting blocks the sender)."""
        while len(self._workers) < self.size:
            self._workers.append(_Worker(self._context, self.threads))

    def idle(self) -> int:
        return self.size - sum(1 for w in self._workers if w.job is not None)

    def busy(self) -> int:
        return self.size - self.idle()

    def submit(self, key: Any, method: str, config: dict[str, Any], inp: Any,
               threads: int | None = None) -> None:
        worker = next((w for w in self._workers if w.job is None), None)
        if worker is None:
            if len(self._workers) >= self.size:
                raise RuntimeError("no idle worker: check idle() before submit()")
            worker = _Worker(self._context, self.threads)
            self._workers.append(worker)
        worker.job = (key, inp.scratch_dir, time.monotonic())
        worker.conn.send((method, config, inp, threads))

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
        tail = log_tail(scratch)  # the folder stays: a finetune's checkpoints resume the rerun
        index = self._workers.index(worker)
        self._workers[index] = _Worker(self._context, self.threads)
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
        self._workers = []
