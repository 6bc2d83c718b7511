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

    Unsandboxed, ``pid`` is the worker; sandboxed, ``pid`` is bubblewrap and its one child
    the worker, which is the sandbox's init (``--as-pid-1``), so whatever a run starts, left
    running or orphaned, is below the worker. Every task below the worker is the run's,
    whatever it is named. None without /proc."""
    total, run_tasks = 0, 0
    todo = [(pid, "plumbing" if sandboxed else "worker")]
    below = {"plumbing": "worker", "worker": "run", "run": "run"}
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
            for task in threads:
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as out:
                    todo += [(int(kid), below[role]) for kid in out.read().split()]
        except (OSError, ValueError, IndexError):
            if current == pid:
                return None
            continue
        if role == "run":
            run_tasks += len(threads)
    return TreeUsage(total * os.sysconf("SC_PAGE_SIZE") / 2**20, run_tasks)


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
