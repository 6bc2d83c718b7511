"""What a process that runs plugin code does to itself, and what its sandbox's worker does
after each run: no tracing, dying with its parent, no channel but its own answer, nothing
left running or lying about once the run is over.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil

from benchmark.core.bwrap import BWRAP, ENV_SWITCH, TMP_ENV, TMPFS

PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4


def _prctl(option: int, value: int) -> None:
    with contextlib.suppress(OSError, AttributeError):

        libc().prctl(option, value, 0, 0, 0)


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
    if os.getpid() == 1:  # the namespace's init: every orphan is ours to reap, so wait for
        while True:       # all of them, and nothing of the run is alive when we go on
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                break


def close_channels(keep: int | tuple[int, ...]) -> None:
    """Close every pipe and socket this process inherited except ``keep`` (its own pipes):
    whatever connects its parent to the harness (a connection, the sentinel a worker's exit
    is watched by, the resource tracker's pipe, an examiner's answer). Plugin code then has
    no channel out but its own. Standard input becomes /dev/null."""
    kept = (keep,) if isinstance(keep, int) else keep
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd <= 2 or fd in kept:
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


def clear_run_leftovers() -> list[str]:
    """Inside a sandbox, after a run: empty /tmp and /dev/shm and remove System V IPC
    objects, so what a run left there neither reaches the next run nor holds memory after
    it (POSIX message queues cannot be listed without their filesystem: docs/integrity.md).
    Returns the folders that could not be emptied."""
    if os.environ.get(ENV_SWITCH) != BWRAP:
        return []
    kept = [folder for folder in TMPFS if not empty_folder(folder)]
    _remove_sysv_objects()
    return kept


def empty_folder(folder: str | os.PathLike[str]) -> bool:
    """Remove everything in ``folder`` without following a link or entering a mount point,
    opening up folders a run closed (without CAP_DAC_OVERRIDE even their owner cannot empty
    a mode-0500 folder). The folders the sandbox made to hold its mounts stay. True when
    nothing else is left."""
    skeleton = _mount_skeleton(os.fspath(folder))
    for _ in range(2):
        left = _empty(os.fspath(folder), skeleton)
        if not left:
            return True
    return False


def _empty(folder: str, skeleton: set[str]) -> int:
    """Remove what is not skeleton below ``folder``; how many entries are left over."""
    left = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    except OSError:
        return 1
    for entry in entries:
        if entry.path in skeleton:
            if not os.path.ismount(entry.path):
                left += _empty(entry.path, skeleton)
            continue
        if entry.is_dir(follow_symlinks=False):
            _open_up(entry.path)
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
        left += os.path.lexists(entry.path)
    return left


def _mount_skeleton(folder: str) -> set[str]:
    """The mount points below ``folder`` and the folders that lead to them."""
    prefix = folder.rstrip("/") + "/"
    found: set[str] = set()
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as table:
            points = [line.split()[4] for line in table if len(line.split()) > 4]
    except OSError:
        return found
    for point in points:
        point = point.encode().decode("unicode_escape")  # \040 for a space
        while point.startswith(prefix):
            found.add(point)
            point = os.path.dirname(point)
    return found


def _open_up(folder: str) -> None:
    """Give the owner back every right on ``folder`` and the folders below it (no links)."""
    todo = [folder]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError):
            os.chmod(current, 0o700, follow_symlinks=False)
        with contextlib.suppress(OSError), os.scandir(current) as entries:
            todo += [e.path for e in entries if e.is_dir(follow_symlinks=False)]


def _remove_sysv_objects() -> None:
    """Every System V shared-memory segment, message queue and semaphore set of this
    sandbox's IPC namespace (a run's leftovers: memory no process holds, or a channel)."""
    c = libc()
    removers = {"shm": lambda i: c.shmctl(i, 0, None),
                "msg": lambda i: c.msgctl(i, 0, None),
                "sem": lambda i: c.semctl(i, 0, 0)}  # IPC_RMID is 0 for all three
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
    memory (same user: prlimit, sched_setaffinity, setpriority, sched_setscheduler,
    ioprio_set, /proc/<pid>/{timerslack_ns,autogroup,oom_score_adj}) and every later run
    would inherit, plus whether /tmp and /dev/shm are empty."""
    import resource

    state: dict[str, object] = {
        name: resource.getrlimit(getattr(resource, name))
        for name in sorted(dir(resource)) if name.startswith("RLIMIT_")}
    state["cpus"] = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    state["priority"] = os.getpriority(os.PRIO_PROCESS, 0)
    with contextlib.suppress(OSError, AttributeError):
        state["scheduler"] = (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority)
    state["ioprio"] = _ioprio()
    for name in ("timerslack_ns", "autogroup", "oom_score_adj"):
        try:
            with open(f"/proc/self/{name}", encoding="utf-8") as value:
                state[name] = value.read().strip()
        except OSError:
            state[name] = None
    return state


IOPRIO_GET = {"x86_64": 252, "aarch64": 31}  # syscall numbers; IOPRIO_WHO_PROCESS is 1


def _ioprio() -> int | None:
    import platform

    number = IOPRIO_GET.get(platform.machine())
    return None if number is None else int(libc().syscall(number, 1, 0))


@functools.cache
def libc():  # type: ignore[no-untyped-def]
    """The C library, loaded once (each ``CDLL(None)`` is a dlopen)."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def describe_change(before: dict[str, object], after: dict[str, object]) -> str:
    changed = [f"{key}: {before.get(key)} -> {after.get(key)}" for key in after
               if before.get(key) != after.get(key)]
    return "; ".join(changed)[:500]
