"""The library entry point: :func:`evaluate` runs methods on a suite's tasks through what
``w2s-bench run`` uses (the plan, the freeze stage's preparation, the sandboxed harness and
its records), and returns the records. The command line is a thin layer over this."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.core.errors import W2SBenchError

if TYPE_CHECKING:   # the CLI imports this module for --help: keep it light
    from benchmark.results.records import RunRecord

DEFAULT_SUITE = "mini"
FINETUNE_SUITE = "mini-finetune"


@dataclass(frozen=True)
class SweepPlan:
    suite: str
    specs: list            # TaskSpec
    runs: list             # RunSpec
    results: Path

    @property
    def tasks(self) -> dict:
        return {s.id: s for s in self.specs}


def plan_sweep(suite: str | None = None, tasks: Sequence[str] | None = None,
               methods: Sequence[str] | None = None, replicates: int | None = None,
               results_dir: str | Path | None = None, default_suite: str = DEFAULT_SUITE,
               regime: str | None = None, say: Callable[[str], None] = print) -> SweepPlan:
    """The runs of suite × tasks × methods × replicates, each method left out (``say``
    tells why, once per reason) where a task lacks what it needs."""
    from benchmark.core.paths import default_results_dir
    from benchmark.methods.applicable import Skips, skip_reason
    from benchmark.methods.catalog import METHODS, select_methods
    from benchmark.run.spec import RunSpec
    from benchmark.tasks.suites import select_tasks, suite_replicates

    default = FINETUNE_SUITE if regime == "finetune" and suite is None else default_suite
    suite, specs = select_tasks(suite, list(tasks) if tasks else None, default)
    if regime:
        specs = [s for s in specs if s.regime == regime]
        if not specs:
            raise W2SBenchError(f"suite {suite!r} has no {regime}-regime tasks; the embedded "
                                f"finetune suite is {FINETUNE_SUITE!r}")
    chosen = select_methods(list(methods) if methods else None)
    runs = []
    skips = Skips()
    for spec in specs:
        usable = []
        for method in chosen:
            reason = skip_reason(METHODS.get(method), spec)
            if reason is None:
                usable.append(method)
            else:
                skips.add(method, spec.id, reason)
        count = suite_replicates(suite, spec) if replicates is None else replicates
        if not 1 <= count <= spec.replicates:
            raise W2SBenchError(f"--replicates {count}: task {spec.id!r} has "
                                f"{spec.replicates} replicates (choose 1..{spec.replicates})")
        runs += [RunSpec(suite, spec.id, m, k) for m in usable for k in range(count)]
    for note in skips.notes():
        say(note)
    results = Path(results_dir) if results_dir else default_results_dir()
    return SweepPlan(suite, specs, runs, results)


def sweep_assets(plan: SweepPlan) -> list[str]:
    """What the sweep opens: each task's dataset and strong model, and the intermediate
    models of the tasks a method that needs them (``needs_rungs``) runs on."""
    from benchmark.labels.rungs import intermediate_rungs
    from benchmark.methods.catalog import METHODS
    from benchmark.tasks.requirements import model_assets, required_assets

    names = set(required_assets(plan.specs))
    chained = {run.task for run in plan.runs
               if METHODS.get(run.method).needs_rungs}
    for task in chained:
        for rung in intermediate_rungs(plan.tasks[task]):
            names.update(model_assets(rung))
    return sorted(names)


def missing_to_rebuild(plan: SweepPlan, resume: bool = True) -> dict[str, list[int]]:
    """The replicates, by task, whose frozen cache files (a sandbagging task's locked
    students) the runs still to do start from and this machine lacks (a run with a current
    record needs none)."""
    from benchmark.labels.cached import missing_replicates
    from benchmark.run.state import record_state

    by_task: dict[str, list] = {}
    for run in plan.runs:
        by_task.setdefault(run.task, []).append(run)
    wanted: dict[str, list[int]] = {}
    for task, runs in sorted(by_task.items()):
        spec = plan.tasks[task]
        missing = set(missing_replicates(spec, sorted({run.replicate for run in runs})))
        needed = {run.replicate for run in runs if run.replicate in missing and not (
            resume and record_state(run.path(plan.results), spec, run)[0] == "done")}
        if needed:
            wanted[task] = sorted(needed)
    return wanted


def rebuild_missing_files(plan: SweepPlan, progress: bool, resume: bool = True) -> None:
    """The freeze stage's part of a sweep: what those runs start from is rebuilt first, so
    that building a run's input never trains a model."""
    wanted = missing_to_rebuild(plan, resume)
    if not wanted:
        return   # freezing's imports (scikit-learn among them) stay out of the driver
    from benchmark.labels.freeze import rebuild_missing

    for task, replicates in wanted.items():
        rebuild_missing(plan.tasks[task], replicates, progress)


def prepare_sweep(plan: SweepPlan, progress: bool, resume: bool = True) -> None:
    """What a sweep needs before any run's input is built: its assets fetched (pinned and
    hash-checked) and the locked students of its runs still to do in the cache."""
    from benchmark.assets.catalog import ensure_fetched

    ensure_fetched(sweep_assets(plan), progress)
    rebuild_missing_files(plan, progress, resume)


def evaluate(methods: str | Sequence[str] | None = None, suite: str | None = None, *,
             tasks: str | Sequence[str] | None = None, replicates: int | None = None,
             results_dir: str | Path | None = None, workers: int | None = None,
             resume: bool = True, progress: bool = False, trust_code: bool | None = None
             ) -> list[RunRecord]:
    """Run ``methods`` (default: every reference baseline) on ``suite``'s tasks (default:
    the default suite) as ``w2s-bench run`` runs them (sandboxed, under the suite's time and
    memory limits), and return the current records of the planned runs: the ones made now
    and, with ``resume``, the ones found current. Notes on skipped methods print with
    ``progress``."""
    from benchmark.results.records import read_record
    from benchmark.run.harness import Harness
    from benchmark.run.pool import Limits
    from benchmark.run.state import record_state
    from benchmark.tasks.suites import suite_limits

    names = [methods] if isinstance(methods, str) else methods
    chosen = [tasks] if isinstance(tasks, str) else tasks
    plan = plan_sweep(suite, chosen, names, replicates, results_dir,
                      say=print if progress else _silent)
    prepare_sweep(plan, progress, resume)
    declared = suite_limits(plan.suite)
    Harness(plan.results, workers=workers, resume=resume, progress=progress,
            trust_code=trust_code,
            limits=Limits(timeout_s=declared.timeout_s, memory_mb=declared.memory_mb)
            ).run(plan.runs, plan.tasks)
    return [read_record(run.path(plan.results)) for run in plan.runs
            if record_state(run.path(plan.results), plan.tasks[run.task], run)[0] == "done"]


def _silent(_: str) -> None:
    return None
