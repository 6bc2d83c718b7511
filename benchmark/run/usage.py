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
    run_tasks: int      # processes and threads below the worker: its run's, as the kernel counts


def tree_usage(pid: int) -> TreeUsage | None:
    """Resident set size (MB) of a worker's process tree and the tasks of the run it holds
    (Linux): the tree is the sandbox's bwrap processes, then the worker's interpreter, then
    the run's fork and whatever it started. None without /proc."""
    total, run_tasks, seen = 0, 0, set()
    todo = [(pid, False)]  # (process, whether it belongs to the run)
    while todo:
        current, in_run = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/statm", encoding="ascii") as statm:
                total += int(statm.read().split()[1])
            threads = os.listdir(f"/proc/{current}/task")
            if in_run:
                run_tasks += len(threads)
            # below the sandbox's own processes (named bwrap), the worker: its children run
            below = in_run or _comm(current) != "bwrap"
            for task in threads:
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as kids:
                    todo += [(int(k), below) for k in kids.read().split()]
        except (OSError, ValueError, IndexError):
            if current == pid:
                return None
    return TreeUsage(total * os.sysconf("SC_PAGE_SIZE") / 2**20, run_tasks)


def _comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as comm:
        return comm.read().strip()


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


def log_tail(scratch: Path) -> str:
    if (scratch / LOG_FILE).is_symlink():  # written by the run: never follow where it points
        return ""
    try:
        lines = (scratch / LOG_FILE).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])
