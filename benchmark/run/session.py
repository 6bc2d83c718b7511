"""A method's session: one fork of a worker that runs that method's runs one after another.

Runs of one method (one plugin, configuration, thread count, limits and feature file) belong
to one trust domain: nothing one of them could learn or leave behind reaches another
method's run or the harness. So a worker keeps one fork per method while it is handed that
method's runs, and forks a new one when another method comes (a fork and its exit cost more
than a probe run's own work). The boundary between method and harness stays where it was:
the session closes every channel it inherited but its two pipes, reads its jobs from the
worker (pickles only in that direction: the worker is harness code), and writes one
length-prefixed report per run, which the worker parses as data exactly as before
(:mod:`benchmark.run.report`).

What stays per run: the log and scratch folder, the global generators (torch's, numpy's and
Python's, seeded from the run's seed, so a run gives the bits a fresh process gives), the
compute meter and peak memory, and the worker's checks after it (its limits and CPUs
unchanged, /tmp and /dev/shm emptied). What a run leaves in the session's memory, and any
process it leaves running, reaches only later runs of its own method; the session's whole
process tree is killed when it ends. Finetune runs get a session of one run.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import select
import signal
import struct
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from benchmark.api.method import MethodInput
from benchmark.core.bwrap import BWRAP, ENV_SWITCH
from benchmark.core.compute import reset_peak_rss
from benchmark.core.confine import (
    clear_run_leftovers,
    close_channels,
    describe_change,
    die_with_parent,
    prevent_tracing,
    reap_strays,
    worker_state,
)
from benchmark.methods.catalog import PluginRef
from benchmark.run.forked import RunLimits, apply_run_limits, frame_of, parse_report
from benchmark.run.report import RunOutput, encode, failed_output, max_frame_bytes
from benchmark.run.worker import run_light, worker_hidden

LENGTH = struct.Struct(">Q")  # each message on a session's pipes: its length, then itself


@dataclass(frozen=True)
class SessionKey:
    """What runs must share to run in one session."""

    plugin: PluginRef
    config: str                     # the method's options as canonical JSON
    threads: int | None
    limits: RunLimits
    hidden: tuple[int, ...] | None  # the feature file and layer the session holds in memory


class Session:
    """One fork of this worker running one method's runs; :meth:`run` one at a time."""

    def __init__(self, key: SessionKey, first: MethodInput) -> None:
        self.key = key
        self.before = worker_state()
        prevent_tracing()  # a run cannot read or write this process's memory
        found = worker_hidden(first) if key.hidden is not None else None
        if found is not None:
            first = first.with_cached_features(found[1])  # the fork inherits the arrays
        jobs_read, self.jobs = os.pipe()
        self.reports, reports_write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the session's process
            code = 1
            try:
                os.close(self.jobs)
                os.close(self.reports)
                close_channels(keep=(jobs_read, reports_write))
                die_with_parent()
                apply_run_limits(key.limits)
                _serve(key, first, None if found is None else found[1], jobs_read,
                       reports_write)
                code = 0
            finally:
                os._exit(code)
        os.close(jobs_read)
        os.close(reports_write)
        self.started = False  # the first run's input went with the fork
        self.alive = True

    def run(self, inp: MethodInput) -> tuple[RunOutput, bool]:
        """Run ``inp`` here; the output, and whether this session may take another run."""
        rows, classes = len(inp.test_ids), inp.num_classes
        if self.started:
            with contextlib.suppress(OSError):  # it is gone: reading the report says how
                _send(self.jobs, pickle.dumps(inp, protocol=pickle.HIGHEST_PROTOCOL))
        self.started = True
        cap = max_frame_bytes(rows, classes)
        data, status, extra = _read_frame(self.reports, self.pid, cap)
        if status is not None:
            self.alive = False
        output, well_formed = parse_report(data, status or 0, rows, classes, self.key.limits,
                                           _log_tail(inp))
        if extra and well_formed:
            output = failed_output("InvalidReport", "the run wrote more than its one report; "
                                   "its method's session was ended")
        keep = self.alive and well_formed and not extra
        if not keep:
            self.close()
        kept = clear_run_leftovers()
        if (after := worker_state()) != self.before or kept:
            what = describe_change(self.before, after) or \
                f"{', '.join(kept)} could not be emptied"
            output = failed_output("WorkerTampered", f"the run changed its worker process "
                                   f"({what}), which every later run would inherit; the worker "
                                   "was replaced")
            keep = False
        return output, keep and self.key.hidden is not None

    def stray_bytes(self) -> bool:
        """Whether anything was written to the report pipe since the last report (a run's
        thread writing late, say): the next run must not read it as its own."""
        return self.alive and _more(self.reports)

    def close(self) -> None:
        """End the session: it and every process it left (in a sandbox, all but its worker)."""
        if self.jobs >= 0:
            os.close(self.jobs)
            os.close(self.reports)
            self.jobs = self.reports = -1
        if os.environ.get(ENV_SWITCH) == BWRAP:
            reap_strays()
        elif self.alive:
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # reaped already (with the strays)
            os.waitpid(self.pid, 0)
        self.alive = False


class SessionHolder:
    """A worker's current session, replaced when a run of another method comes."""

    def __init__(self) -> None:
        self.session: Session | None = None

    def run(self, plugin: PluginRef, config: dict[str, Any], inp: MethodInput,
            threads: int | None, token: str, limits: RunLimits) -> bytes:
        """Run one job in this worker's session for its method; the report to send on."""
        found = worker_hidden(inp)
        key = SessionKey(plugin, json.dumps(config, sort_keys=True, default=str), threads,
                         limits, found[0] if found is not None else None)
        if self.session is not None and (self.session.key != key
                                         or self.session.stray_bytes()):
            self.close()
        if self.session is None:
            self.session = Session(key, inp)
        output, keep = self.session.run(inp)
        if not keep:
            self.close()
        from benchmark.core.provenance import hardware

        return encode(output.but(token=token, hardware=hardware()))

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def _log_tail(inp: MethodInput) -> str:
    """The end of the run's log, for a run whose process ended without a report."""
    from benchmark.run.usage import log_tail

    return log_tail(inp.scratch_dir)


def _serve(key: SessionKey, first: MethodInput, hidden: np.ndarray | None, jobs: int,
           reports: int) -> None:
    """The session's loop: run, report, take the next job, until the worker closes it."""
    inp: MethodInput | None = first
    while inp is not None:
        reset_peak_rss()  # the run seeds the global generators itself (run_light)
        _send(reports, frame_of(run_light(key.plugin, json.loads(key.config), inp,
                                          key.threads, own_output=True)))
        data = _read_job(jobs)
        if data is None:
            return
        inp = pickle.loads(data)  # from the worker, harness code: never from a run
        if hidden is not None:  # the feature file descriptor this process holds
            inp = replace(inp, feature_file=first.feature_file).with_cached_features(hidden)


def _send(fd: int, data: bytes) -> None:
    view = memoryview(LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_job(fd: int) -> bytes | None:
    """The worker's next job, or None when it has closed the session."""
    head = _read_exactly(fd, LENGTH.size)
    if head is None:
        return None
    return _read_exactly(fd, LENGTH.unpack(head)[0])


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, pid: int, cap: int) -> tuple[bytes | None, int | None, bool]:
    """One length-prefixed report from the session: (the frame, or b"" when it ended
    without one, or None past ``cap`` bytes; its exit status once it has ended; whether
    more bytes were waiting after the frame). A session sending too much is killed."""
    buffer = bytearray()
    need: int | None = None
    while True:
        if need is None and len(buffer) >= LENGTH.size:
            need = LENGTH.size + LENGTH.unpack(buffer[:LENGTH.size])[0]
            if need - LENGTH.size > cap:
                os.kill(pid, signal.SIGKILL)
                return None, os.waitpid(pid, 0)[1], False
        if need is not None and len(buffer) >= need:
            return bytes(buffer[LENGTH.size:need]), None, len(buffer) > need or _more(fd)
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 1 << 20)
            if chunk:
                buffer += chunk
                continue
            return b"", os.waitpid(pid, 0)[1], False  # every writer is gone: it ended
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            os.set_blocking(fd, False)
            try:
                while chunk := os.read(fd, 1 << 20):  # written before it ended
                    buffer += chunk
            except BlockingIOError:
                pass
            os.set_blocking(fd, True)
            whole = need is not None and len(buffer) >= need
            return (bytes(buffer[LENGTH.size:need]) if whole else b""), status, False


def _more(fd: int) -> bool:
    """Whether the session wrote anything after its report (its end alone is not that)."""
    if not select.select([fd], [], [], 0)[0]:
        return False
    os.set_blocking(fd, False)
    try:
        return bool(os.read(fd, 1))
    except BlockingIOError:
        return False
    finally:
        os.set_blocking(fd, True)
