"""What a worker's current run uses, read from outside its sandbox: resident memory and
tasks of its process tree, and bytes and files in its run area; the last lines of its log."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from benchmark.run.worker import LOG_FILE, LOG_TAIL_LINES

MAX_FILES = 100_000  # entries a run area may hold (a disk walk past it stops and fails the run)


@dataclass(frozen=True)
class TreeUsage:
    rss_mb: float       # the whole tree's resident set
    run_tasks: int      # processes and threads of the run the worker holds, however started


def tree_usage(pid: int, sandboxed: bool) -> TreeUsage | None:
    """Resident set size (MB) of a worker's process tree and the tasks of its run (Linux).

    Unsandboxed, ``pid`` is the worker and everything below it is the run's. Sandboxed,
    ``pid`` is bubblewrap, its one child the sandbox's init, and the init's children the
    worker and whatever a run left to it: the worker is the oldest of them (no run can start
    a process before its worker), and every task under the init but the worker's own
    threads is the run's, whatever it is named. None without /proc."""
    total, run_tasks = 0, 0
    todo = [(pid, "plumbing" if sandboxed else "worker")]
    seen: set[int] = set()
    while todo:
        current, role = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/statm", encoding="ascii") as statm:
                total += int(statm.read().split()[1])
            threads = os.listdir(f"/proc/{current}/task")
            kids: list[int] = []
            for task in threads:
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as out:
                    kids += [int(k) for k in out.read().split()]
        except (OSError, ValueError, IndexError):
            if current == pid:
                return None
            continue
        if role == "run":
            run_tasks += len(threads)
        if role == "plumbing" and current != pid:  # the init: its oldest child is the worker
            kids.sort(key=_started)
            todo += [(kid, "worker" if i == 0 else "run") for i, kid in enumerate(kids)]
        else:
            todo += [(kid, "plumbing" if role == "plumbing" else "run") for kid in kids]
    return TreeUsage(total * os.sysconf("SC_PAGE_SIZE") / 2**20, run_tasks)


def _started(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def disk_mb(folder: Path, max_files: int = MAX_FILES) -> float | None:
    """Bytes allocated under ``folder`` in MB (blocks, so a sparse file counts what it
    holds), never following links; None once it holds more than ``max_files`` entries."""
    total, entries, todo = 0, 0, [str(folder)]
    while todo:
        try:
            scan = os.scandir(todo.pop())
        except OSError:
            continue
        with scan:
            for entry in scan:
                entries += 1
                if entries > max_files:
                    return None
                try:
                    stat = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                total += stat.st_blocks * 512
                if entry.is_dir(follow_symlinks=False):
                    todo.append(entry.path)
    return total / 2**20


LOG_BYTES = 65536  # of a run's log, read from its end


def log_tail(scratch: Path) -> str:
    """The last lines of a run's log (see :func:`tail_lines`)."""
    return tail_lines(scratch / LOG_FILE, LOG_TAIL_LINES)


def tail_lines(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a file a run could write: opened without following a
    link or waiting on a pipe, read only if it is a plain file, and only its end."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return ""
        os.lseek(fd, max(0, info.st_size - LOG_BYTES), os.SEEK_SET)
        data = os.read(fd, LOG_BYTES)
    except OSError:
        return ""
    finally:
        os.close(fd)
    return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-lines:])


def tree_pids(pid: int) -> list[int]:
    """``pid`` and every process below it, as the tree is now."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as out:
                    todo += [int(k) for k in out.read().split()]
        except (OSError, ValueError):
            continue
    return found
