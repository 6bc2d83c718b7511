"""A pool of long-lived worker processes, one run at a time each, that the harness can kill.

``concurrent.futures`` cannot stop one task: a run that hangs or eats memory would hold its
worker forever, and a dead worker breaks the whole pool without saying which run killed it.
Here every worker has its own pipe, so the harness knows which run each worker holds; a run
over its wall-clock limit or its memory limit (resident set size, polled from /proc on
Linux) gets its worker killed and replaced, and a worker that dies fails only its own run.

Workers are started with ``spawn``: they inherit nothing from the harness (no gold labels).
What a worker sends back is bytes parsed as a report (:mod:`benchmark.run.report`), never
unpickled: one report per job, carrying the job's token. A report for another job, a second
one, or one that is not a report fails the job it arrived during and replaces the worker;
nothing else's record is touched. Besides wall time and resident memory, each run's disk
writes (its run area) and its processes and threads are polled against its task's limits.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import secrets
import shutil
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from benchmark.core.bwrap import RUN_AREA, RUN_AREA_RUN
from benchmark.core.errors import W2SBenchError
from benchmark.core.exiting import exit_now
from benchmark.run.claims import pid_alive
from benchmark.run.forked import NO_RUN_LIMITS, RunLimits
from benchmark.run.report import ReportError, RunOutput, decode, failed_output, max_frame_bytes
from benchmark.run.sandbox import SPAWN_LOCK, RunSandbox, move_in, move_out, startup_log
from benchmark.run.usage import MAX_FILES, disk_mb, log_tail, tail_lines, tree_pids, tree_usage
from benchmark.run.worker import init_worker

POLL_SECONDS = 0.1
DISK_LIMIT = "DiskLimitExceeded"
TAMPERED = "WorkerTampered"  # a run changed its worker (limits, CPUs, priority)


@dataclass(frozen=True)
class Limits:
    """Per-run limits; None means unlimited."""

    timeout_s: float | None = None
    memory_mb: float | None = None


NO_LIMITS = Limits()


def _worker_main(conn: Connection, threads: int, sandboxed: bool,
                 cpus: tuple[int, ...] | None = None) -> None:
    from multiprocessing.reduction import recv_handle

    from benchmark.run.session import SessionHolder
    from benchmark.run.worker import run_area_input

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the harness's to handle
    if cpus:
        os.sched_setaffinity(0, cpus)  # its runs' forks inherit it
    if sandboxed:  # not the driver's directory, which may lie in the /tmp runs empty
        os.chdir(RUN_AREA)
    init_worker(threads)
    sessions = SessionHolder()  # one fork per method, kept while its runs come
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:  # all done: skip the interpreter's teardown (slow with torch)
            sessions.close()
            exit_now(0)
        plugin, config, inp, run_threads, with_fd, token, limits = job
        feature_fd = recv_handle(conn) if with_fd else None
        if sandboxed:
            inp = run_area_input(inp, Path(RUN_AREA_RUN), feature_fd)
        try:
            report = sessions.run(plugin, config, inp, run_threads, token, limits)
        finally:
            if feature_fd is not None:
                os.close(feature_fd)
        conn.send_bytes(report)


def passes_features(inp: Any) -> bool:
    """Probe-regime runs read a feature file; the sandbox gets it as a descriptor (where
    this machine has it: a Ray input may carry its arrays to a node without the cache)."""
    return bool(inp.feature_file) and inp.regime == "probe" and os.path.isfile(inp.feature_file)


def worker_cpus(slot: int, size: int, threads: int) -> tuple[int, ...] | None:
    """The CPUs of worker ``slot`` of ``size``: its own ``threads`` of them where every
    worker's fit in this process's CPUs, else None (the scheduler places them).

    A run is a fresh fork, and the scheduler tends to place a new process on another CPU
    than its parent's, then move it back, so the run starts on cold caches; a pinned worker's
    forks stay on its CPU (docs/performance.md).
    """
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if threads < 1 or size * threads > len(available):
        return None
    return tuple(available[slot * threads:(slot + 1) * threads])


@dataclass(frozen=True)
class InFlight:
    """The job a worker holds: what its one report must match."""

    key: Any
    scratch: Path
    started: float
    token: str
    rows: int
    classes: int
    limits: RunLimits


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
        self.job: InFlight | None = None

    def send(self, plugin: Any, config: dict[str, Any], inp: Any, threads: int | None,
             job: InFlight) -> None:
        """Hand over one job; in a sandbox, the run's scratch folder moves into this
        worker's run area and its feature file goes over the pipe as a descriptor."""
        self.job = job
        if self.area is None or self.sandbox is None:
            self.conn.send((plugin, config, inp, threads, False, job.token, job.limits))
            return
        from multiprocessing.reduction import send_handle

        move_in(inp.scratch_dir, self.area)
        with_fd = passes_features(inp)
        self.conn.send((plugin, config, inp, threads, with_fd, job.token, job.limits))
        if with_fd:
            send_handle(self.conn, self.sandbox.sealed(inp.feature_file), self.process.pid)

    def finish(self) -> None:
        """The run is over (reported, killed or dead): its scratch folder moves back."""
        if self.area is not None and self.job is not None:
            move_out(self.area, self.job.scratch)

    def written(self) -> Path | None:
        """Where the current run writes on disk: its run area, or (unsandboxed) its folder."""
        if self.job is None:
            return None
        return self.area if self.area is not None else self.job.scratch

    def last_words(self) -> str:
        """The end of a sandboxed worker's standard error (empty unsandboxed: it shares the
        driver's)."""
        if self.area is None:
            return ""
        lines = tail_lines(startup_log(self.area), 3).strip().splitlines()
        return "; its last words: " + " | ".join(lines)[-600:] if lines else ""

    def stale(self) -> bool:
        """Whether this idle worker has sent something no job asked for."""
        try:
            return self.conn.poll(0)
        except (OSError, EOFError):
            return True

    def kill(self) -> None:
        """Kill the worker and everything in its sandbox, and wait until all of it is gone:
        a run's folder moves out only once nothing of the run is left to swap a link into
        it. (The worker is its namespace's init; once it is gone, so is the namespace.)"""
        pids = tree_pids(self.process.pid) if self.process.is_alive() else []
        if self.process.is_alive():
            self.process.kill()
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self.process.join(timeout=10)
        deadline = time.monotonic() + 10
        while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.conn.close()


class WorkerPool:
    """``submit(key, method, config, inp)`` then ``collect()`` the finished ``(key, output)``."""

    def __init__(self, size: int, threads: int, limits: Limits = NO_LIMITS,
                 sandbox: RunSandbox | None = None, pin: bool = True,
                 pin_width: int | None = None) -> None:
        self.size = max(1, size)
        self.pin = pin
        self.threads = threads
        # CPUs each worker is pinned to: as many as its widest run uses (a run of a task
        # declaring 2 CPUs pinned to one would get one core whatever its thread count)
        self.pin_width = max(threads, pin_width or threads)
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
        cpus = worker_cpus(slot, self.size, self.pin_width) if self.pin else None
        return _Worker(self._context, self.threads, self.sandbox, cpus)

    def idle(self) -> int:
        return self.size - sum(1 for w in self._workers if w.job is not None)

    def busy(self) -> int:
        return self.size - self.idle()

    def submit(self, key: Any, plugin: Any, config: dict[str, Any], inp: Any,
               threads: int | None = None, limits: RunLimits = NO_RUN_LIMITS) -> None:
        worker = next((w for w in self._workers if w.job is None), None)
        if worker is None:
            if len(self._workers) >= self.size:
                raise RuntimeError("no idle worker: check idle() before submit()")
            worker = self._new_worker(len(self._workers))
            self._workers.append(worker)
        elif worker.stale():  # it spoke out of turn: never let that reach this job
            worker = self._replace(worker)
        job = InFlight(key, inp.scratch_dir, time.monotonic(), secrets.token_hex(16),
                       len(inp.test_ids), len(inp.label_names), limits)
        why = ""
        for _ in range(2):  # a worker that died starting is replaced once
            try:
                worker.send(plugin, config, inp, threads, job)
                return
            except (BrokenPipeError, ConnectionResetError, EOFError):
                why = self._death(worker) + worker.last_words()
                worker.finish()  # the run's folder, if it had moved in, comes back
                worker.job = None
                worker = self._replace(worker)
        raise W2SBenchError(f"a worker could not start ({why}); see docs/integrity.md")

    def _replace(self, worker: _Worker) -> _Worker:
        """Kill ``worker`` (and all of its sandbox) and start a new one in its slot."""
        worker.kill()
        index = self._workers.index(worker)
        self._workers[index] = self._new_worker(index)
        return self._workers[index]

    def collect(self, timeout: float = POLL_SECONDS) -> list[tuple[Any, RunOutput]]:
        """Wait up to ``timeout`` s; return finished runs, including killed and dead ones."""
        busy = [w for w in self._workers if w.job is not None]
        if not busy:
            return []
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                         timeout=timeout))
        done: list[tuple[Any, RunOutput]] = []
        for worker in busy:
            job = worker.job
            assert job is not None
            output = None
            if worker.conn in ready:
                output = self._receive(worker, job)
            if output is None and (worker.conn in ready or worker.process.sentinel in ready
                                   or not worker.process.is_alive()):
                output = self._failure(worker, "WorkerDied",
                                       self._death(worker) + worker.last_words())
            elif output is None:
                output = self._check_limits(worker, job)
            if output is not None:
                if worker.job is not None:  # a failure already moved it back
                    worker.finish()
                worker.job = None
                if output.error is not None and output.error.type == DISK_LIMIT:
                    shutil.rmtree(job.scratch, ignore_errors=True)  # not kept for a rerun
                if output.error is not None and output.error.type == TAMPERED \
                        and worker in self._workers:
                    self._replace(worker)
                done.append((job.key, output))
        return done

    def _receive(self, worker: _Worker, job: InFlight) -> RunOutput | None:
        """The worker's report as data: bytes read up to the most this job can need, parsed
        strictly, bound to this job by its token. None when the worker is gone."""
        try:
            data = worker.conn.recv_bytes(max_frame_bytes(job.rows, job.classes))
        except (EOFError, ConnectionResetError):
            return None
        except OSError as exc:  # "bad message length": more than a report can be
            return self._failure(worker, "InvalidReport", f"the run's report was refused "
                                 f"({exc}); its worker was replaced")
        try:
            output = decode(data, job.rows, job.classes)
        except ReportError as exc:
            return self._failure(worker, "InvalidReport", f"{exc}; its worker was replaced")
        if output.token != job.token:
            return self._failure(worker, "InvalidReport", "the report is not for this run "
                                 "(its token is another job's); its worker was replaced")
        return output

    def _check_limits(self, worker: _Worker, job: InFlight) -> RunOutput | None:
        elapsed = time.monotonic() - job.started
        if self.limits.timeout_s is not None and elapsed > self.limits.timeout_s:
            return self._failure(worker, "Timeout", f"the run exceeded its wall-clock limit of "
                                 f"{self.limits.timeout_s:g} s; its worker was stopped")
        usage = tree_usage(worker.process.pid, worker.area is not None)
        if usage is not None and self.limits.memory_mb is not None \
                and usage.rss_mb > self.limits.memory_mb:
            return self._failure(worker, "MemoryLimitExceeded", f"the run's worker reached "
                                 f"{usage.rss_mb:.0f} MB resident, over its limit of "
                                 f"{self.limits.memory_mb:g} MB; it was stopped")
        limit = job.limits.processes
        if usage is not None and limit is not None and usage.run_tasks > limit:
            return self._failure(worker, "ProcessLimitExceeded", f"the run had "
                                 f"{usage.run_tasks} processes and threads, over its limit of "
                                 f"{limit} (resources.processes); it was stopped")
        written = worker.written()
        if job.limits.disk_mb is not None and written is not None:
            used = disk_mb(written)
            if used is None or used > job.limits.disk_mb:
                shown = f"more than {MAX_FILES} files" if used is None else f"{used:.0f} MB"
                return self._failure(worker, DISK_LIMIT, f"the run wrote {shown} to its "
                                     f"scratch folder, over its limit of "
                                     f"{job.limits.disk_mb:g} MB (resources.disk_mb); it was "
                                     "stopped and its folder deleted")
        return None

    @staticmethod
    def _death(worker: _Worker) -> str:
        """Why ``worker`` is gone. Its exit is polled, never waited on: a readable sentinel
        alone proves nothing about a process that is still alive."""
        deadline = time.monotonic() + 5
        while worker.process.exitcode is None and time.monotonic() < deadline:
            time.sleep(0.01)
        code = worker.process.exitcode
        if code is None:
            return "the worker process stopped answering while running this; it was stopped"
        if code < 0:
            name = signal.Signals(-code).name
            hint = " (killed: by the kernel for memory, or by a user)" if code == -9 else ""
            return f"the worker process died from signal {name}{hint} while running this"
        return f"the worker process exited with status {code} while running this (crash or " \
               "os._exit in the method)"

    def _failure(self, worker: _Worker, kind: str, message: str) -> RunOutput:
        """Kill and replace ``worker``; its run becomes a failure with its log's last lines."""
        assert worker.job is not None
        scratch = worker.job.scratch
        self._replace(worker)
        worker.finish()
        worker.job = None
        tail = log_tail(scratch)  # the folder stays: a finetune's checkpoints resume the rerun
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
