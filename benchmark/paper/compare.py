"""A reproduction beside the published numbers, and its plan before anything runs.

Both read only what the main pipeline keeps: the study's tasks, their frozen references and
the current run records of the study's suite (current as the harness judges them: made
against the task's present definition and weak labels and the method's present version and
options; :func:`benchmark.library.reproduce.current_records` finds them). A rung's accuracy
on gold is its ceiling where it is a student (trained on B; the smallest rung, never a
student, by its weak accuracy, trained on A), the mean over its tasks and replicates; a
loss's PGR is the median over that loss's records (pairs × replicates) whose PGR is defined,
each measured against its own replicate's references, with how many were left out (no gap)
said in the row.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmark.paper.study import ACHIEVED_FLOPS, RunOptions, StudyTask, fit_flops

# the current ok records of one method on one frozen task (a TaskSpec): made against its
# present definition, weak labels and the method's present version and options
RecordsOf = Callable[[Any, str], list[Any]]


def compare(study: dict[str, Any], tasks: list[StudyTask], specs: dict[str, Any],
            records_of: RecordsOf, methods: dict[str, str]) -> list[dict[str, Any]]:
    """Rows of (quantity, published, ours, delta, tolerance, result, n) for the chosen
    ``tasks`` (``specs``: their TaskSpecs by id); ``n`` says what a number is made of, and
    how many records a median leaves out because their PGR is undefined (no gap)."""
    from benchmark.labels.frozen import is_frozen, load_references

    tol, ladder = study["tolerance"], list(study["ladder"])
    frozen = {t.id: load_references(specs[t.id]).replicates for t in tasks if is_frozen(t.id)}
    rows = []
    for dataset, published in study["ground_truth_accuracy"].items():
        mine = [t for t in tasks if t.dataset == dataset]
        for rung, value in zip(ladder, published, strict=True):
            if not any(rung in (t.weak, t.strong) for t in mine):
                continue
            as_student = [r.ceiling_accuracy for t in mine if t.strong == rung
                          for r in frozen.get(t.id, [])]
            as_weak = [r.weak_accuracy for t in mine if t.weak == rung
                       for r in frozen.get(t.id, [])]
            seen = as_student or as_weak
            made = f"{len(seen)} {'ceilings' if as_student else 'weak runs'}" if seen else ""
            rows.append(_row(f"{dataset} accuracy {rung}", value,
                             statistics.fmean(seen) if seen else None, tol["accuracy"], made))
    for dataset, per_loss in study["median_pgr"].items():
        mine = [t for t in tasks if t.dataset == dataset]
        if not mine:
            continue
        for loss, value in per_loss.items():
            if loss not in methods:
                continue   # a loss this run of the study leaves out
            records = [r for t in mine if t.id in frozen
                       for r in records_of(specs[t.id], methods[loss])]
            pgrs = [r.metrics.pgr for r in records if r.metrics.pgr is not None]
            undefined = len(records) - len(pgrs)
            made = f"{len(pgrs)} records" + (f", {undefined} left out (no gap)"
                                             if undefined else "") if records else ""
            ours = statistics.median(pgrs) if pgrs else None
            rows.append(_row(f"{dataset} median PGR {loss}", value, ours, tol["pgr"], made))
    return rows


def _row(name: str, published: float, ours: float | None, tolerance: float,
         made: str) -> dict[str, Any]:
    delta = None if ours is None else ours - published
    verdict = "missing" if delta is None else ("pass" if abs(delta) <= tolerance else "FAIL")
    return {"quantity": name, "published": published, "ours": ours, "delta": delta,
            "tolerance": tolerance, "result": verdict, "n": made}


def render_table(rows: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    def fmt(x: float | None) -> str:
        return "—" if x is None else f"{x:+.3f}" if x < 0 else f"{x:.3f}"

    return tabulate([[r["quantity"], fmt(r["published"]), fmt(r["ours"]),
                      "—" if r["delta"] is None else f"{r['delta']:+.3f}",
                      f"±{r['tolerance']}", r["result"], r["n"]] for r in rows],
                    headers=["quantity", "published", "ours", "delta", "tolerance", "result",
                             "from"])


def render_plan(study: dict[str, Any], opts: RunOptions, tasks: list[StudyTask],
                specs: dict[str, Any], records_of: RecordsOf, results: Path, suite: str,
                methods: dict[str, str]) -> str:
    """Per dataset: the tasks (frozen or not), the runs (recorded or not) and the GPU-hours
    left and in all, estimated as 6·N·tokens at :data:`ACHIEVED_FLOPS` on one H100: freezing
    finetunes each rung once on A (where it supervises) and once on B (where it is a
    student) per replicate, shared by every pair that names it when the freezes run in one
    ``reproduce`` (:mod:`benchmark.labels.shared_fits`); each run finetunes the strong rung
    once."""
    from benchmark.labels.frozen import is_frozen

    replicates = len(study["recipe"]["seeds"])
    lines = [f"reproduce {study['name']}: {len(tasks)} tasks in suite {suite!r} × "
             f"{replicates} replicate(s) × {len(methods)} losses "
             f"({', '.join(f'{loss}: {m}' for loss, m in methods.items())}); results in "
             f"{results / suite}; GPU-hours estimated as 6·N·tokens at "
             f"{ACHIEVED_FLOPS / 1e12:.0f} TFLOP/s on one H100", "",
             f"{'dataset':<16} {'tasks':>6} {'frozen':>7} {'runs':>6} {'recorded':>9} "
             f"{'GPU-h left':>11} {'GPU-h all':>10}"]
    status: list[tuple[str, str]] = []
    total_left = total_all = 0.0
    for dataset in dict.fromkeys(t.dataset for t in tasks):
        mine = [t for t in tasks if t.dataset == dataset]
        n_frozen = n_runs = n_recorded = 0
        left = every = 0.0
        trained: dict[tuple[str, str], bool] = {}   # (rung, A or B) -> needed by a task left
        for task in mine:
            for fit in ((task.weak, "A"), (task.strong, "B")):
                trained[fit] = trained.get(fit, False) or not is_frozen(task.id)
        for (rung, _), needed in trained.items():
            freeze = replicates * fit_flops(study, opts, dataset, rung)
            every, left = every + freeze, left + (freeze if needed else 0.0)
        for task in mine:
            run = fit_flops(study, opts, dataset, task.strong)
            done = is_frozen(task.id)
            recorded = sum(len(records_of(specs[task.id], m))
                           for m in methods.values()) if done else 0
            runs = replicates * len(methods)
            n_frozen, n_runs, n_recorded = n_frozen + done, n_runs + runs, n_recorded + recorded
            every += runs * run
            left += (runs - recorded) * run
            status.append((task.id, f"{'frozen' if done else 'to freeze'}, "
                                    f"{recorded}/{runs} runs recorded"))
        hours = 1 / ACHIEVED_FLOPS / 3600
        total_left, total_all = total_left + left * hours, total_all + every * hours
        lines.append(f"{dataset:<16} {len(mine):>6} {n_frozen:>7} {n_runs:>6} {n_recorded:>9} "
                     f"{left * hours:>11.1f} {every * hours:>10.1f}")
    lines.append(f"{'total':<16} {'':>6} {'':>7} {'':>6} {'':>9} {total_left:>11.1f} "
                 f"{total_all:>10.1f}")
    lines += ["", f"tasks (the first 10 of {len(tasks)}):"]
    lines += [f"  {task}: {what}" for task, what in status[:10]]
    return "\n".join(lines)
