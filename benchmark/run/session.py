"""A reference baseline's session: one fork of a worker that runs its runs one after another.

A fork and its exit cost more than a probe run's own work, so a worker keeps one fork for a
reference baseline (an existing file of ``baselines/``: our code, reviewed, bound by the same
import rules) while that baseline's probe runs come, and forks anew when another method
comes. A submission or an entry point never shares a process between runs: each of its runs
is a session of one run, a fresh fork, killed with all it started before the worker replies.
Runs that shared a process could carry what one saw (the weak labels of examples
that are another replicate's test rows, say) into the next, which would make a submission's
runs dependent measurements; the baselines keep no state between runs, and every record of
the default job (3,520) equals a fresh fork's bit for bit.

The boundary between the method's process and the harness is a fresh fork's: the session closes
every channel it inherited but its two pipes, reads jobs from the worker (pickles only in that
direction: the worker is harness code), and writes one report per run, numbered and
length-prefixed, which the worker parses as data (:mod:`benchmark.run.report`). A malformed or
misnumbered frame, or bytes after it seen before the session is paused, fails the run; bytes
seen later, before the next job, end the session. Between runs the session (in a sandbox,
with everything it started) is stopped with SIGSTOP while the harness moves the run's folder
out and the next one in, empties /tmp and /dev/shm and checks the worker: a safeguard for
our own code, not a barrier against hostile code (a process can arrange to be continued,
and io_uring's workers are not stopped), which is why only reference baselines get it. Per
run stay the log and scratch folder, the global generators (torch's, numpy's and Python's,
seeded from the run's seed), torch's thread count, the compute meter and peak memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import resource
import select
import signal
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmark.api.method import MethodInput
from benchmark.core.bwrap import BWRAP, ENV_SWITCH
from benchmark.core.compute import reset_peak_rss
from benchmark.core.confine import (
    PR_SET_DUMPABLE,
    _prctl,
    clear_run_leftovers,
    close_channels,
    describe_change,
    die_with_parent,
    prevent_tracing,
    reap_strays,
    worker_state,
)
from benchmark.core.paths import baselines_dir
from benchmark.methods.catalog import PluginRef
from benchmark.run.forked import RunLimits, apply_run_limits, frame_of, parse_report
from benchmark.run.report import RunOutput, encode, failed_output, max_frame_bytes
from benchmark.run.worker import run_light, worker_hidden

HEAD = struct.Struct(">QQ")  # a report on the pipe: its run's number, its length, then itself
LENGTH = struct.Struct(">Q")  # a job on the pipe: its length, then the pickle


@dataclass(frozen=True)
class SessionKey:
    """What runs must share to run in one session."""

    plugin: PluginRef
    config: str                     # the method's options as canonical JSON (compared only)
    threads: int | None
    limits: RunLimits
    hidden: tuple[int, ...] | None  # the feature file and layer the session holds in memory


def reference_code(plugin: PluginRef) -> bool:
    """Whether the method is a reference baseline: its origin is an existing ``.py`` file of
    ``baselines/`` itself, resolved strictly (an entry point's origin is free text that a
    lenient resolve could bring there with enough ``..``; a link is followed to where it
    really points)."""
    origin = plugin.origin
    if plugin.refusal is not None or not origin.endswith(".py") or not os.path.isabs(origin):
        return False
    try:
        path = Path(origin).resolve(strict=True)
        return path.is_file() and path.parent == baselines_dir().resolve(strict=True)
    except (OSError, RuntimeError):
        return False


class Session:
    """One fork of this worker running one method's runs; :meth:`run` one at a time."""

    def __init__(self, key: SessionKey, first: MethodInput, config: dict[str, Any],
                 shared: bool, hidden: Any = None) -> None:
        self.key = key
        self.shared = shared  # False: this session takes one run
        prevent_tracing()  # a run cannot read or write this process's memory
        if hidden is not None:  # the worker's copy of the run's hidden state
            first = first.with_cached_features(hidden)  # the fork inherits the arrays
        jobs_read, self.jobs = os.pipe()
        self.reports, reports_write = os.pipe()
        try:
            self.pid = os.fork()
        except OSError:
            for fd in (jobs_read, self.jobs, self.reports, reports_write):
                os.close(fd)
            raise
        if self.pid == 0:  # the session's process
            code = 1
            try:
                os.close(self.jobs)
                os.close(self.reports)
                close_channels(keep=(jobs_read, reports_write))
                die_with_parent()
                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file, anywhere
                if shared:  # its own /proc files, to reset its peak memory between runs
                    _prctl(PR_SET_DUMPABLE, 1)
                apply_run_limits(key.limits)
                box = [first]  # handed on, so that no frame here holds its arrays
                del first
                _serve(key, box, config, hidden, jobs_read, reports_write)
                code = 0
            finally:
                os._exit(code)
        os.close(jobs_read)
        os.close(reports_write)
        self.runs = 0  # runs handed to it (the first went with the fork)
        self.alive = True

    def run(self, inp: MethodInput, config: dict[str, Any], before: dict[str, object]
            ) -> tuple[RunOutput, bool]:
        """Run ``inp`` here; the output, and whether this session may take another run.
        ``before``: the worker's state as it started, which no run may change."""
        rows, classes = len(inp.test_ids), inp.num_classes
        if self.runs:
            self._signal(signal.SIGCONT)
            with contextlib.suppress(OSError):  # it is gone: reading the report says how
                _send(self.jobs, pickle.dumps((inp, config), protocol=pickle.HIGHEST_PROTOCOL))
        number, self.runs = self.runs, self.runs + 1
        data, status, extra = _read_frame(self.reports, self.pid, number,
                                          max_frame_bytes(rows, classes))
        if status is not None:
            self.alive = False
        output, well_formed = parse_report(data, status or 0, rows, classes, self.key.limits,
                                           _log_tail(inp))
        if extra and well_formed:
            output = failed_output("InvalidReport", "the run wrote more than its one report; "
                                   "its method's session was ended")
        keep = self.shared and self.alive and well_formed and not extra
        if keep:
            self.pause()  # our own code stops while its folder moves and /tmp empties
            keep = self.alive
        if not keep:
            self.close()
        kept = clear_run_leftovers()
        if (after := worker_state()) != before or kept:
            what = describe_change(before, after) or f"{', '.join(kept)} could not be emptied"
            output = failed_output("WorkerTampered", f"the run changed its worker process "
                                   f"({what}), which every later run would inherit; the worker "
                                   "was replaced")
            keep = False
            self.close()
        return output, keep

    def pause(self) -> None:
        """Stop the session and everything it started (in a sandbox, every process but its
        worker) until its next run."""
        self._signal(signal.SIGSTOP)
        try:
            _, status = os.waitpid(self.pid, os.WUNTRACED)  # stopped, or ended meanwhile
        except ChildProcessError:
            status = 0
        if not os.WIFSTOPPED(status):
            self.alive = False

    def usable(self) -> bool:
        """Whether this paused session can take the next run: still there, and nothing
        written to its report pipe since its last report (a late write would otherwise be
        read as the next run's)."""
        if not self.alive:
            return False
        try:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            done = self.pid
        if done:
            self.alive = False
            return False
        return not _more(self.reports)

    def close(self) -> None:
        """End the session: it and every process it left (in a sandbox, all but its worker),
        then empty /tmp and /dev/shm of what they left."""
        if self.jobs < 0:
            return
        for fd in (self.jobs, self.reports):
            os.close(fd)
        self.jobs = self.reports = -1
        if os.environ.get(ENV_SWITCH) == BWRAP:
            reap_strays()
        elif self.alive:
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # reaped already (with the strays)
            os.waitpid(self.pid, 0)
        self.alive = False
        clear_run_leftovers()

    def _signal(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1 if os.environ.get(ENV_SWITCH) == BWRAP else self.pid, number)


class SessionHolder:
    """A worker's current session, replaced when a run of another method comes."""

    def __init__(self) -> None:
        self.session: Session | None = None
        self.before = worker_state()  # what no run may change, from the worker's start

    def run(self, plugin: PluginRef, config: dict[str, Any], inp: MethodInput,
            threads: int | None, token: str, limits: RunLimits) -> bytes:
        """Run one job in this worker's session for its method; the report to send on."""
        config_text = _canonical(config)
        if self.session is not None and (self.session.key.plugin, self.session.key.config,
                                         self.session.key.threads, self.session.key.limits) \
                != (plugin, config_text, threads, limits):
            self.close()  # before this run's features load: another method's
        found = worker_hidden(inp)
        key = SessionKey(plugin, config_text, threads, limits,
                         found[0] if found is not None else None)
        if self.session is not None and (self.session.key != key or not self.session.usable()):
            self.close()
        if self.session is None:
            shared = reference_code(plugin) and key.hidden is not None
            self.session = Session(key, inp, config, shared,
                                   found[1] if found is not None else None)
        output, keep = self.session.run(inp, config, self.before)
        if not keep:
            self.close()
        from benchmark.core.provenance import hardware

        return encode(output.but(token=token, hardware=hardware()))

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None


def _canonical(config: dict[str, Any]) -> str:
    """The options as text to compare sessions by (the run gets the options themselves)."""
    try:
        return json.dumps(config, sort_keys=True, default=repr)
    except (TypeError, ValueError):  # keys of mixed types: no sorted form
        return repr(config)


def _log_tail(inp: MethodInput) -> str:
    """The end of the run's log, for a run whose process ended without a report."""
    from benchmark.run.usage import log_tail

    return log_tail(inp.scratch_dir)


def _serve(key: SessionKey, box: list[MethodInput], config: dict[str, Any], hidden: Any,
           jobs: int, reports: int) -> None:
    """The session's loop: run, report, take the next job, until the worker closes it."""
    import torch

    from benchmark.run.worker import keep_freed_memory, set_threads

    keep_freed_memory()
    inp: MethodInput | None = box.pop()
    assert inp is not None
    feature_file = inp.feature_file  # the descriptor this process holds
    number = 0
    while inp is not None:
        reset_peak_rss()
        if torch.get_num_threads() != (key.threads or 1):  # an earlier run changed it
            set_threads(key.threads or 1)
        frame = frame_of(run_light(key.plugin, config, inp, key.threads, own_output=True))
        inp = None  # its arrays are not carried into the next run
        _send(reports, frame, number)
        number += 1
        data = _read_job(jobs)
        if data is None:
            return
        job, config = pickle.loads(data)  # from the worker, harness code: never from a run
        inp = replace(job, feature_file=feature_file) if hidden is not None else job
        if hidden is not None:
            inp = inp.with_cached_features(hidden)


def _send(fd: int, data: bytes, number: int | None = None) -> None:
    head = LENGTH.pack(len(data)) if number is None else HEAD.pack(number, len(data))
    view = memoryview(head + data)
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


def _read_frame(fd: int, pid: int, number: int, cap: int
                ) -> tuple[bytes | None, int | None, bool]:
    """Report ``number`` from the session: (the frame, or b"" when it ended without one,
    or None when what came is not that report or is over ``cap`` bytes; its exit status
    once it has ended; whether more bytes were waiting after the frame). A session that
    sends anything else is killed."""
    buffer = bytearray()
    need: int | None = None
    status: int | None = None
    while True:
        if need is None and len(buffer) >= HEAD.size:
            sent, size = HEAD.unpack(buffer[:HEAD.size])
            if sent != number or size > cap:
                if status is None:
                    os.kill(pid, signal.SIGKILL)
                    status = os.waitpid(pid, 0)[1]
                return None, status, False
            need = HEAD.size + size
        if need is not None and len(buffer) >= need:
            extra = len(buffer) > need or (status is None and _more(fd))
            return bytes(buffer[HEAD.size:need]), status, extra
        if status is not None:
            return b"", status, False  # it ended before its report was whole
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 1 << 20)
            if chunk:
                buffer += chunk
            else:  # every writer is gone: it has ended, or is about to
                status = os.waitpid(pid, 0)[1]
            continue
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
            os.set_blocking(fd, False)
            with contextlib.suppress(BlockingIOError):  # written before it ended, up to cap
                while len(buffer) <= cap + HEAD.size and (chunk := os.read(fd, 1 << 20)):
                    buffer += chunk
            os.set_blocking(fd, True)


def _more(fd: int) -> bool:
    """Whether anything was written after the report (the session's end alone is not)."""
    if not select.select([fd], [], [], 0)[0]:
        return False
    os.set_blocking(fd, False)
    try:
        return bool(os.read(fd, 1))
    except BlockingIOError:
        return False
    finally:
        os.set_blocking(fd, True)
