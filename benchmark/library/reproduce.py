"""Reproduce a published study on the main pipeline: its tasks and suite written to
``tasks/`` (:mod:`benchmark.paper.study`), each task frozen by the freeze stage (or its
frozen set pulled from the hub where someone shared it), every loss run sandboxed through
:func:`~benchmark.library.sweeps.evaluate` into ordinary records, and the comparison read
from those (:mod:`benchmark.paper.compare`). A failed freeze or run is reported and the rest
go on; a rerun freezes and runs only what is missing."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.core.errors import SpecError, W2SBenchError


@dataclass
class Reproduction:
    """What one ``reproduce`` did, and the comparison it ends with."""

    suite: str
    methods: dict[str, str]
    frozen: list[str] = field(default_factory=list)      # frozen now
    failed: list[tuple[str, str]] = field(default_factory=list)   # (what, why)
    recorded: int = 0                                    # current records of the chosen runs
    finetunes: int = 0                                   # trainings the freezes ran
    rows: list[dict[str, Any]] = field(default_factory=list)


def study_specs(study: dict[str, Any], opts: Any, tasks: list[Any], write: bool
                ) -> dict[str, Any]:
    """The TaskSpecs of the study's ``tasks`` (all of them: the suite lists every pair) by
    id: written to ``tasks/`` with their suite (``write``), or built in memory (a dry run
    writes nothing). A task file that exists with another
    definition is refused: frozen labels and records belong to the old one."""
    from benchmark.paper.study import study_limits
    from benchmark.tasks.grid import GridTask, write_grid
    from benchmark.tasks.spec import TASKS, TaskSpec

    specs = {t.id: TaskSpec.model_validate(t.body) for t in tasks}
    for task_id, spec in specs.items():
        if task_id in TASKS and TASKS.get(task_id).sha256 != spec.sha256:
            raise SpecError(f"task {task_id!r} exists ({TASKS.origin(task_id)}) with another "
                            "definition than the study gives it now (a recipe or a pin "
                            "changed); move its file and frozen folder aside to reproduce "
                            "afresh")
    if not write:
        return specs
    suite = opts.tag(study)
    # a task file is kept where it exists, unless its (unhashed) resources are another
    # recipe's: those are rewritten, the definition (and its hash) the same
    kept = {task_id for task_id, spec in specs.items()
            if task_id in TASKS and TASKS.get(task_id).resources == spec.resources}
    write_grid([GridTask(spec, spec.id in kept) for spec in specs.values()], suite,
               f"{study['name']} reproduced: every pair of its ladder on each dataset "
               f"(recipe {suite})", written_by="w2s-bench reproduce",
               limits=study_limits(tasks))
    return {task_id: TASKS.get(task_id) for task_id in specs}


def reproduce(study: dict[str, Any], opts: Any, results: Path, *,
              models: list[str] | None = None, datasets: list[str] | None = None,
              pull: bool = False, push: str | None = None, compare_only: bool = False,
              workers: int | None = None, say: Callable[[str], None] = print) -> Reproduction:
    """Freeze and run what the chosen part of the study lacks, then compare."""
    from benchmark.datasets.hub import MIRROR_ENV
    from benchmark.labels.freeze import freeze_task
    from benchmark.labels.frozen import is_frozen, task_frozen_dir
    from benchmark.labels.hub import HUB_PIN
    from benchmark.labels.hub import pull as pull_frozen
    from benchmark.labels.hub import push as push_frozen
    from benchmark.labels.shared_fits import fits_run, shared_finetunes
    from benchmark.library.sweeps import evaluate
    from benchmark.paper.compare import compare
    from benchmark.paper.study import chosen, study_tasks

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise SpecError("reproduce runs its tasks through the sandboxed harness, which does "
                        "not yet run one run data-parallel across torchrun ranks (every rank "
                        "would run every run); launch it as one process, `w2s-bench reproduce "
                        "…`, and each run uses one device")
    if opts.mirror:
        os.environ[MIRROR_ENV] = str(opts.mirror)
    done = Reproduction(opts.tag(study), opts.methods(study))
    every = study_tasks(study, opts)
    specs = study_specs(study, opts, every, write=not compare_only)
    tasks = chosen(every, study, models, datasets)
    if pull:
        for task in tasks:
            if (task_frozen_dir(task.id) / HUB_PIN).is_file():
                pull_frozen(task.id)
                say(f"{task.id}: pulled its shared frozen set (every file sha256-checked)")
    if not compare_only:
        with shared_finetunes():   # a rung's training on A or B is the same in every pair
            for task in tasks:
                if is_frozen(task.id):
                    continue
                try:   # no controls: see benchmark.paper.study
                    freeze_task(specs[task.id], legacy=True, progress=False)
                    done.frozen.append(task.id)
                    say(f"{task.id}: frozen")
                except W2SBenchError as exc:
                    done.failed.append((f"freeze {task.id}", str(exc)))
                    say(f"{task.id}: freeze FAILED: {exc}")
            done.finetunes = fits_run()
        ready = [t.id for t in tasks if is_frozen(t.id)]
        if ready:
            records = evaluate(list(done.methods.values()), done.suite, tasks=ready,
                               results_dir=results, workers=workers)
            done.recorded = len(records)
            done.failed += _failed_runs(results, done.suite, [specs[t] for t in ready],
                                        list(done.methods.values()))
    if push:
        for task in tasks:
            if is_frozen(task.id):
                pin = push_frozen(task.id, push)
                say(f"{task.id}: pushed to {pin.repo_id}@{pin.revision[:12]} (commit "
                    f"{task_frozen_dir(task.id) / HUB_PIN})")
    done.rows = compare(study, tasks, specs, current_records(results, done.suite),
                        done.methods)
    return done


def current_records(results: Path, suite: str) -> Callable[[Any, str], list[Any]]:
    """The current ok records of a method on a task of ``suite``: those the harness would
    not rerun (:func:`benchmark.run.state.record_state` ``done``)."""
    from benchmark.results.records import read_record
    from benchmark.run.spec import RunSpec
    from benchmark.run.state import record_state

    def records_of(spec: Any, method: str) -> list[Any]:
        runs = [RunSpec(suite, spec.id, method, k) for k in range(spec.replicates)]
        return [read_record(run.path(results)) for run in runs
                if record_state(run.path(results), spec, run)[0] == "done"]

    return records_of


def _failed_runs(results: Path, suite: str, specs: list[Any], methods: list[str]
                 ) -> list[tuple[str, str]]:
    """The planned runs whose record says they failed, and why."""
    from benchmark.results.records import read_record, record_path

    failed = []
    for spec in specs:
        for method in methods:
            for k in range(spec.replicates):
                path = record_path(results, suite, spec.id, method, k)
                if not path.is_file():
                    continue
                record = read_record(path)
                if record.status != "ok":
                    why = f"{record.error.type}: {record.error.message}" if record.error \
                        else "failed"
                    failed.append((f"run {spec.id}/{method}/r{k}", why))
    return failed
