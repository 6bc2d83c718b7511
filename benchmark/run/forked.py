"""A run in a fork of its worker: one pipe for its one report, its limits, nothing else.

The worker forks; the fork closes every channel it inherited (the driver's connection, the
sentinel, the resource tracker's pipe), sets the kernel limits of its task, runs the method
and writes its report (:mod:`benchmark.run.report`) to a pipe of its own. The worker reads
that pipe as data, refuses anything but one well-formed report, names the limit a failed
run ran into, clears what the run left in the sandbox, and hands the report on.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import signal
from dataclasses import dataclass
from typing import Any

from benchmark.api.method import MethodInput
from benchmark.core.bwrap import BWRAP, ENV_SWITCH
from benchmark.core.confine import (
    clear_run_leftovers,
    close_channels,
    describe_change,
    die_with_parent,
    full_tmpfs,
    prevent_tracing,
    reap_strays,
    tmp_size_mb,
    worker_state,
)
from benchmark.methods.catalog import PluginRef
from benchmark.run.report import (
    TEXT_MAX,
    ReportError,
    RunOutput,
    decode,
    encode,
    failed_output,
    max_frame_bytes,
)
from benchmark.run.worker import run_light


@dataclass(frozen=True)
class RunLimits:
    """What one run's process may use besides memory and time (those are the pool's):
    bytes written to its scratch folder, and processes and threads at once (None: no cap)."""

    disk_mb: float | None = None
    processes: int | None = None


NO_RUN_LIMITS = RunLimits()


def run_forked(plugin: PluginRef, config: dict[str, Any], inp: MethodInput,
               threads: int | None, token: str, limits: RunLimits = NO_RUN_LIMITS) -> bytes:
    """Run one job in a fork of this worker; return the report this worker sends on.

    The run gets a pipe of its own for its one report and nothing else: before plugin code
    runs, the fork closes every pipe and socket it inherited, the worker's connection to
    the driver among them. What comes back through the pipe is parsed as data
    (:mod:`benchmark.run.report`), one frame exactly; a run that dies without reporting is
    reported as WorkerDied. The worker itself never imports plugin code."""
    rows, classes = len(inp.test_ids), inp.num_classes
    prevent_tracing()  # a run cannot read or write this process's memory
    before = worker_state()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the run's process
        code = 1
        try:
            os.close(read_end)
            close_channels(keep=write_end)
            die_with_parent()
            apply_run_limits(limits)
            _write_all(write_end, frame_of(run_light(plugin, config, inp, threads,
                                                     own_output=True)))
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        data, status = _read_report(read_end, pid, max_frame_bytes(rows, classes))
    finally:
        os.close(read_end)
    reap_strays()
    output = _parse(data, status, rows, classes, limits)  # before /tmp is emptied: is it full?
    kept = clear_run_leftovers()
    if (after := worker_state()) != before or kept:  # it reached into its worker: replace it
        what = describe_change(before, after) or f"{', '.join(kept)} could not be emptied"
        output = failed_output("WorkerTampered", f"the run changed its worker process "
                               f"({what}), which every later run would inherit; the worker "
                               "was replaced")
    from benchmark.core.provenance import hardware

    return encode(output.but(token=token, hardware=hardware()))


def frame_of(output: RunOutput) -> bytes:
    """``output`` as a report; one that cannot be encoded becomes the run's failure."""
    try:
        return encode(output)
    except (ReportError, ValueError, TypeError) as exc:
        return encode(failed_output("InvalidOutput", f"the run's output cannot be reported "
                                    f"as data: {str(exc)[:1000]}"))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.close(fd)


def _read_report(fd: int, pid: int, cap: int) -> tuple[bytes | None, int]:
    """Everything the run writes to its report pipe (None past ``cap`` bytes), and its exit
    status. Reading goes on while it runs (a report is larger than a pipe's buffer); once
    it has exited, whatever it left holding the pipe is not waited for."""
    chunks: list[bytes] = []
    size, status = 0, None
    os.set_blocking(fd, False)
    while True:
        ready, _, _ = select.select([fd], [], [], 0.1)
        chunk = _read_some(fd) if ready else None
        if chunk == b"":  # end of file: every writer is gone
            break
        if chunk:
            size += len(chunk)
            if size > cap:
                break
            chunks.append(chunk)
            continue
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
            while size <= cap and (chunk := _read_some(fd)):  # written before it exited
                size += len(chunk)
                chunks.append(chunk)
            break
    if status is None:
        if size > cap:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    return (None if size > cap else b"".join(chunks)), status


def _read_some(fd: int) -> bytes | None:
    try:
        return os.read(fd, 1 << 20)
    except BlockingIOError:
        return None


def _parse(data: bytes | None, status: int, rows: int, classes: int,
           limits: RunLimits) -> RunOutput:
    """The run's report as data, or the failure that says why there is none."""
    if data is None:
        return failed_output("InvalidReport", f"the run sent more than "
                             f"{max_frame_bytes(rows, classes)} bytes as its report")
    if not data:
        if os.WIFSIGNALED(status):
            why = f"signal {signal.Signals(os.WTERMSIG(status)).name}"
        else:
            why = f"status {os.WEXITSTATUS(status)}"
        return failed_output("WorkerDied", f"the run's process died ({why}) before "
                             "reporting (a crash, os._exit or a kill in the method)")
    try:
        output = decode(data, rows, classes)
    except ReportError as exc:
        return failed_output("InvalidReport", str(exc))
    return _name_the_limit(output, limits)


def _name_the_limit(output: RunOutput, limits: RunLimits) -> RunOutput:
    """A run stopped by a kernel-enforced limit fails with its own error (ENOSPC, EFBIG,
    EAGAIN); say which limit that was."""
    error = output.error
    if error is None:
        return output
    text = f"{error.get('type')}: {error.get('message')}"
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
    return output.but(error={**error, "type": kind,
                             "message": f"{note}: {error.get('message', '')}"[:TEXT_MAX]})


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
