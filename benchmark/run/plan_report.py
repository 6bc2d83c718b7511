"""Text views of a sweep: the plan (``run --dry-run``) and the report (``status``).

Estimates come from each task's resource hints (``resources.minutes`` per run, CPUs, GPUs);
they are hints, so the plan says "about" and shows how it got each number.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from tabulate import tabulate

from benchmark.run.executors import EXECUTORS, make_executor
from benchmark.run.harness import Harness
from benchmark.run.progress import read_sweeps
from benchmark.run.spec import RunSpec
from benchmark.run.state import RunState, survey, tally
from benchmark.tasks.spec import TaskSpec

REASONS = {"missing": "no record", "stale": "record out of date", "failed": "failed before",
           "orphaned": "driver died", "done": "recompute (--no-resume)"}


def _replicates(states: list[RunState]) -> str:
    """Replicate numbers as compact ranges: 0-2,4."""
    numbers = sorted(s.run.replicate for s in states)
    parts, start = [], None
    for i, n in enumerate(numbers):
        start = n if start is None else start
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(f"{start}" if start == n else f"{start}-{n}")
            start = None
    return ",".join(parts) or "-"


def _hours(minutes: float) -> str:
    if minutes >= 60:
        return f"{minutes / 60:.2f} h"
    return f"{minutes:.1f} min" if minutes >= 1 else f"{minutes * 60:.0f} s"


def render_plan(runs: list[RunSpec], tasks: dict[str, TaskSpec], results: Path,
                harness: Harness, selected: str, missing_assets: list[str]) -> str:
    states = survey(runs, tasks, results)
    if not harness.resume:
        states = [RunState(s.run, "missing") if s.state == "done" else s for s in states]
    todo = [s for s in states if s.will_run]
    by_pair: dict[tuple[str, str], list[RunState]] = defaultdict(list)
    for s in states:
        by_pair[s.run.task, s.run.method].append(s)
    rows = []
    for (task, method), group in by_pair.items():
        run = [s for s in group if s.will_run]
        reasons = sorted({REASONS[s.state] + (" (adopt its job)" if s.adoptable_job else "")
                          for s in run})
        rows.append([task, method, _replicates([s for s in group if s.state == "done"]),
                     _replicates(run), _replicates([s for s in group if s.state == "running"]),
                     "; ".join(reasons)])
    counts = tally(states)
    cached = counts["done"] if harness.resume else 0
    lines = [f"sweep: {len(runs)} runs ({len(tasks)} tasks), records in {results}",
             f"cached (complete and current): {cached}   will run: {len(todo)}   "
             f"held by another live sweep: {counts['running']}", "",
             tabulate(rows, headers=["task", "method", "cached", "will run", "other sweep",
                                     "why it runs"], tablefmt="simple"), ""]
    lines.append(f"assets: {len(missing_assets)} to fetch first: {', '.join(missing_assets)}"
                 if missing_assets else "assets: all fetched")
    lines += ["", _estimates(todo, tasks, harness, selected)]
    return "\n".join(lines)


def _estimates(todo: list[RunState], tasks: dict[str, TaskSpec], harness: Harness,
               selected: str) -> str:
    """Estimated compute of the runs to do, on each executor (from the resource hints)."""
    resources = [harness.resources(tasks[s.run.task]) for s in todo]
    minutes = sum(r.minutes for r in resources)
    cpu_h = sum(r.cpus * r.minutes for r in resources) / 60
    gpu_h = sum(r.gpus * r.minutes for r in resources) / 60
    longest = max((r.minutes for r in resources), default=0.0)
    shapes = sorted({r for r in {harness.resources(t) for t in tasks.values()}},
                    key=lambda r: (r.gpus, r.cpus, r.memory_mb))
    rows = []
    for name in EXECUTORS.names():
        executor = make_executor(name, harness.options, shapes)
        slots = executor.capacity
        wall = max(minutes / slots, longest) if todo else 0.0
        request = "; ".join(executor.describe_job(r) for r in shapes)
        rows.append([("* " if name == selected else "  ") + name, slots,
                     math.ceil(len(todo) / slots) if todo else 0, f"~{_hours(wall)}", request])
    return (f"estimated compute for {len(todo)} runs: ~{_hours(minutes)} of run time, "
            f"{cpu_h:.2f} CPU-hours, {gpu_h:.2f} GPU-hours (task hints `resources.minutes`)\n"
            + tabulate(rows, headers=["executor", "slots", "waves", "wall time",
                                      "request per run"], tablefmt="simple")
            + "\n(* = --executor; slots: --workers, else local cores/memory, Ray cores, "
              "256 Slurm jobs in flight; wall time assumes every slot is granted)")


def render_status(runs: list[RunSpec], tasks: dict[str, TaskSpec], results: Path,
                  now: float) -> str:
    from benchmark.run.claims import HOST, pid_alive

    states = survey(runs, tasks, results)
    counts = tally(states)
    queued = counts["missing"] + counts["stale"] + counts["orphaned"]
    lines = [f"{results}: {len(runs)} runs in this sweep",
             f"queued {queued}, running {counts['running']}, done {counts['done']}, "
             f"failed {counts['failed']}"
             + (f"   ({counts['stale']} stale records and {counts['orphaned']} runs of a "
                "dead driver counted as queued)" if counts["stale"] or counts["orphaned"]
                else ""), ""]
    per_task: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    column = {"missing": 0, "stale": 0, "orphaned": 0, "running": 1, "done": 2, "failed": 3}
    for s in states:
        per_task[s.run.task][column[s.state]] += 1
    lines.append(tabulate([[t, *c] for t, c in per_task.items()],
                          headers=["task", "queued", "running", "done", "failed"],
                          tablefmt="simple"))
    lines.append("(running: claimed by a live sweep, in flight or having its input prepared)")
    for sweep in read_sweeps(results):
        alive = sweep.get("host") != HOST or pid_alive(int(sweep.get("pid", 0)))
        who = f"sweep {sweep.get('host')}:{sweep.get('pid')} ({sweep.get('executor')})"
        age = max(0.0, now - float(sweep.get("updated", now)))
        lines.append(f"\n{who}, updated {age:.0f} s ago: queued {sweep.get('queued')}, running "
                     f"{sweep.get('running')}, done {sweep.get('done')}, failed "
                     f"{sweep.get('failed')} of {sweep.get('total')}"
                     + ("" if alive else "  -- its driver is gone; `w2s-bench run` resumes"))
    failed = [s for s in states if s.state == "failed"]
    if failed:
        lines.append("\nfailed runs (rerun with `w2s-bench run`):")
        lines += [f"  {s.run.task} / {s.run.method} / replicate {s.run.replicate}: "
                  f"{s.error[:160]}" for s in failed[:20]]
        if len(failed) > 20:
            lines.append(f"  ... and {len(failed) - 20} more")
    return "\n".join(lines)
