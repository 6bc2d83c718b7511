"""What a process that runs plugin code does to itself, and what its sandbox's worker does
after each run: no tracing, dying with its parent, no channel but its own answer, nothing
left running or lying about once the run is over.
"""

from __future__ import annotations

import contextlib
import os
import shutil

from benchmark.core.bwrap import BWRAP, ENV_SWITCH, TMP_ENV, TMPFS

PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4


def _prctl(option: int, value: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def prevent_tracing() -> None:
    """Plugin code forked from this process cannot read or write its memory or open its
    descriptors through ``/proc`` (it is no longer dumpable)."""
    _prctl(PR_SET_DUMPABLE, 0)


def die_with_parent() -> None:
    """This process is killed when the one that forked it dies."""
    import signal

    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def reap_strays() -> None:
    """Inside a sandbox (its own PID namespace), kill everything but its init and this
    process: whatever plugin code left running never outlives its run or examination.
    One ``kill(-1)``: the kernel signals every process of the namespace while no new one
    can be forked, so a process that keeps forking cannot slip between two passes."""
    if os.environ.get(ENV_SWITCH) != BWRAP:
        return
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)


def close_channels(keep: int) -> None:
    """Close every pipe and socket this process inherited except ``keep`` (its own answer's
    pipe): whatever connects its parent to the harness (a connection, the sentinel a worker's
    exit is watched by, the resource tracker's pipe, an examiner's answer). Plugin code then
    has no channel out but its own pipe. Standard input becomes /dev/null."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd <= 2 or fd == keep:
            continue
        try:
            kind = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if kind.startswith(("pipe:", "socket:", "anon_inode:")):
            with contextlib.suppress(OSError):
                os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)


def full_tmpfs() -> list[str]:
    """Inside a sandbox: which of its bounded in-memory filesystems are (nearly) full."""
    if os.environ.get(ENV_SWITCH) != BWRAP:
        return []
    full = []
    for path in TMPFS:
        with contextlib.suppress(OSError):
            stat = os.statvfs(path)
            if stat.f_bavail * stat.f_frsize < 2**20:
                full.append(path)
    return full


def tmp_size_mb() -> float:
    """Inside a sandbox: the size of its /tmp and /dev/shm, each, in MB."""
    try:
        return float(os.environ.get(TMP_ENV, ""))
    except ValueError:
        return float("nan")


def clear_run_leftovers() -> None:
    """Inside a sandbox, after a run: empty /tmp and /dev/shm and remove System V IPC
    objects, so what a run left there neither reaches the next run nor holds memory after
    it (POSIX message queues cannot be listed without their filesystem: docs/integrity.md)."""
    if os.environ.get(ENV_SWITCH) != BWRAP:
        return
    for folder in TMPFS:
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
    _remove_sysv_objects()


def _remove_sysv_objects() -> None:
    """Every System V shared-memory segment, message queue and semaphore set of this
    sandbox's IPC namespace (a run's leftovers: memory no process holds, or a channel)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    removers = {"shm": lambda i: libc.shmctl(i, 0, None),
                "msg": lambda i: libc.msgctl(i, 0, None),
                "sem": lambda i: libc.semctl(i, 0, 0)}  # IPC_RMID is 0 for all three
    for kind, remove in removers.items():
        try:
            with open(f"/proc/sysvipc/{kind}", encoding="ascii") as table:
                ids = [int(line.split()[1]) for line in table.read().splitlines()[1:] if line]
        except (OSError, ValueError, IndexError):
            continue
        for ident in ids:
            remove(ident)


def worker_state() -> dict[str, object]:
    """What a run in the same sandbox can change about this process without touching its
    memory (same user: prlimit, sched_setaffinity, setpriority) and every later run would
    inherit: its resource limits, CPUs and priority."""
    import resource

    limits = {name: resource.getrlimit(getattr(resource, name))
              for name in sorted(dir(resource)) if name.startswith("RLIMIT_")}
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return {**limits, "cpus": cpus, "priority": os.getpriority(os.PRIO_PROCESS, 0)}


def describe_change(before: dict[str, object], after: dict[str, object]) -> str:
    changed = [f"{key}: {before.get(key)} -> {after.get(key)}" for key in after
               if before.get(key) != after.get(key)]
    return "; ".join(changed)[:500]
