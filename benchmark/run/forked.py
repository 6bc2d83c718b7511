"""What a run's process is held to and what its report may be: the kernel limits of its
task, its report as one frame, and the failure that names the limit a run ran into.

The process itself is a method's session (:mod:`benchmark.run.session`), a fork of its
worker; the worker reads each report as data (:mod:`benchmark.run.report`) and refuses
anything but one well-formed frame.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
from dataclasses import dataclass

from benchmark.core.bwrap import BWRAP, ENV_SWITCH
from benchmark.core.confine import (
    full_tmpfs,
    tmp_size_mb,
)
from benchmark.run.report import (
    TEXT_MAX,
    ReportError,
    RunOutput,
    decode,
    encode,
    failed_output,
    max_frame_bytes,
)


@dataclass(frozen=True)
class RunLimits:
    """What one run's process may use besides memory and time (those are the pool's):
    bytes written to its scratch folder, and processes and threads at once (None: no cap)."""

    disk_mb: float | None = None
    processes: int | None = None


NO_RUN_LIMITS = RunLimits()


def frame_of(output: RunOutput) -> bytes:
    """``output`` as a report; one that cannot be encoded becomes the run's failure."""
    try:
        return encode(output)
    except (ReportError, ValueError, TypeError) as exc:
        return encode(failed_output("InvalidOutput", f"the run's output cannot be reported "
                                    f"as data: {str(exc)[:1000]}"))


def parse_report(data: bytes | None, status: int, rows: int, classes: int,
                 limits: RunLimits, log_tail: str = "") -> tuple[RunOutput, bool]:
    """The run's report as data, or the failure that says why there is none; and whether
    the report was a well-formed frame (its process may then take another run)."""
    if data is None:
        return failed_output("InvalidReport", f"the run sent more than "
                             f"{max_frame_bytes(rows, classes)} bytes as its report, or wrote "
                             "into its report pipe what is not one report"), False
    if not data:
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            try:
                why = f"signal {signal.Signals(number).name}"
            except ValueError:  # a real-time signal has no name
                why = f"signal {number}"
        else:
            why = f"status {os.WEXITSTATUS(status)}"
        return failed_output("WorkerDied", f"the run's process died ({why}) before "
                             "reporting (a crash, os._exit or a kill in the method)",
                             log_tail), False
    try:
        output = decode(data, rows, classes)
    except ReportError as exc:
        return failed_output("InvalidReport", str(exc)), False
    return _name_the_limit(output, limits), True


def _name_the_limit(output: RunOutput, limits: RunLimits) -> RunOutput:
    """A run stopped by a kernel-enforced limit fails with its own error (ENOSPC, EFBIG,
    EAGAIN); say which limit that was."""
    error = output.error
    if error is None:
        return output
    text = f"{error.type}: {error.message}"
    if any(full_tmpfs()) and "No space left on device" in text:
        kind, note = "TmpLimitExceeded", (f"its in-memory /tmp and /dev/shm hold at most "
                                          f"{tmp_size_mb():g} MB each (resources.tmp_mb)")
    elif "File too large" in text and limits.disk_mb is not None:
        kind, note = "DiskLimitExceeded", (f"a run may write at most {limits.disk_mb:g} MB "
                                           "(resources.disk_mb)")
    elif limits.processes is not None and ("Resource temporarily unavailable" in text
                                           or "can't start new thread" in text):
        kind, note = "ProcessLimitExceeded", (f"a run may have at most {limits.processes} "
                                              "processes and threads (resources.processes)")
    else:
        return output
    return output.but(error=error.model_copy(update={
        "type": kind, "message": f"{note}: {error.message}"[:TEXT_MAX]}))


def apply_run_limits(limits: RunLimits) -> None:
    """Kernel limits on the run's process (it cannot raise them: no capabilities): no file
    larger than its disk limit and, in a sandbox, no more processes and threads than its
    limit (the kernel does not apply that one to root; the pool also polls both)."""
    if limits.disk_mb is not None:
        size = int(limits.disk_mb * 2**20)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    if limits.processes is not None and os.environ.get(ENV_SWITCH) == BWRAP:
        tasks = limits.processes + _tasks_here()
        resource.setrlimit(resource.RLIMIT_NPROC, (tasks, tasks))


def _tasks_here() -> int:
    """Processes and threads in this sandbox's PID namespace (the worker and its init)."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                count += len(os.listdir(f"/proc/{entry}/task"))
    return count
