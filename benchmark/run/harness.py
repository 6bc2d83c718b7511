"""The scoring harness: plan runs, feed methods in worker processes, score, write records.

Gold labels live only in this process (in :class:`~benchmark.run.inputs.TaskContext`); a
worker receives a :class:`~benchmark.api.MethodInput` built from the frozen weak labels and
the feature cache. A run whose method raises, or whose worker dies, is recorded as failed
and the sweep goes on; finished records are skipped on a rerun unless ``resume=False``.
Runs execute on an :class:`~benchmark.run.executors.Executor` (the local worker pool, Slurm
via submitit, or Ray); whichever it is, records are scored and written here, atomically,
one per run. The pipeline itself is :class:`~benchmark.run.sweep.Sweep`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.api.method import MethodInput
from benchmark.core.bwrap import code_trusted
from benchmark.labels.frozen import (
    WeakLabelSet,
    load_ceiling,
    load_references,
    scored_ids,
    verify_frozen,
)
from benchmark.methods.catalog import METHODS, method_options, plugin_ref
from benchmark.run.claims import Claim, record_job
from benchmark.run.executors import Executor, ExecutorOptions, Job
from benchmark.run.inputs import (
    TaskContexts,
    build_input,
    with_boosted_labels,
    with_rung_features,
)
from benchmark.run.pool import NO_LIMITS, Limits
from benchmark.run.report import RunOutput
from benchmark.run.scoring import Scored, build_record, further_tests, scored_parts
from benchmark.run.spec import RunSpec
from benchmark.run.sweep import Summary, Sweep
from benchmark.tasks.spec import Resources, TaskSpec

__all__ = ["Harness", "RunSpec", "Summary", "TaskContexts"]


class Harness:
    """Where and how runs execute (results folder, executor, limits, resume), and the three
    harness-side steps of every run: prepare its input, turn it into a job, score it."""

    def __init__(self, results_dir: Path, workers: int | None = None, resume: bool = True,
                 progress: bool = True, limits: Limits = NO_LIMITS, executor: str = "local",
                 options: ExecutorOptions | None = None,
                 resource_overrides: dict[str, Any] | None = None,
                 trust_code: bool | None = None) -> None:
        # absolute: a worker moves into its scratch folder before it opens its log there
        self.results_dir = Path(results_dir).resolve()
        self.resume = resume
        self.progress = progress
        self.executor_name = executor
        if options is not None and (workers is not None or limits is not NO_LIMITS):
            raise ValueError("Harness: give workers and limits inside `options` "
                             "(ExecutorOptions), not beside it; beside it they were ignored")
        self.options = options or ExecutorOptions(workers=workers, limits=limits)
        self.resource_overrides = {k: v for k, v in (resource_overrides or {}).items()
                                   if v is not None}
        self.contexts = TaskContexts(progress=progress)
        # run plugin code outside baselines/ even where no sandbox can be made
        self.trust_code = trust_code if trust_code is not None else \
            code_trusted()

    def resources(self, spec: TaskSpec) -> Resources:
        """The task's resource hints with the command line's overrides applied."""
        return spec.resources.model_copy(update=self.resource_overrides)

    def run(self, runs: list[RunSpec], tasks: dict[str, TaskSpec]) -> Summary:
        """Score every run that has no complete, current record (all of them without
        resume); see :class:`~benchmark.run.sweep.Sweep` for the pipeline."""
        return Sweep(self, runs, tasks).execute()

    def prepare(self, run: RunSpec, tasks: dict[str, TaskSpec]
                ) -> tuple[MethodInput, WeakLabelSet]:
        method = METHODS.get(run.method)  # unknown method: fail the sweep early, with suggestions
        ctx = self.contexts.get(tasks[run.task])
        inp, weak = build_input(ctx, run.replicate, run.scratch(self.results_dir))
        if method.needs_rungs:
            inp = with_rung_features(inp, ctx)
        if method.needs_boosting:
            inp, weak = with_boosted_labels(inp, weak, ctx.spec)
        return inp, weak

    def job(self, run: RunSpec, spec: TaskSpec, inp: MethodInput) -> Job:
        return Job(key=run, name=run.label, plugin=plugin_ref(run.method),
                   config=method_options(run.method), inp=inp, resources=self.resources(spec))

    def adopt(self, executor: Executor, run: RunSpec, claim: Claim,
              tasks: dict[str, TaskSpec]) -> tuple[MethodInput, WeakLabelSet] | None:
        """Take over the job a dead driver submitted for ``run``, if the engine can; returns
        what its output will be scored against."""
        if not (claim.inherited_job and executor.reattachable):
            return None
        prepared = self.prepare(run, tasks)  # rebuilt (deterministic) for scoring
        if not executor.reattach(self.job(run, tasks[run.task], prepared[0]),
                                 claim.inherited_job):
            return None
        record_job(run.path(self.results_dir), claim.inherited_job)
        return prepared

    def score(self, run: RunSpec, spec: TaskSpec, inp: MethodInput, weak: WeakLabelSet,
              output: RunOutput) -> Scored:
        verify_frozen(spec, run.replicate)  # a run must not have touched its frozen files
        ctx = self.contexts.get(spec)
        return build_record(run.suite, spec, run.method, run.replicate, inp, weak,
                            load_references(spec), ctx.gold(scored_ids(spec, weak)),
                            output, load_ceiling(spec, run.replicate),
                            scored_parts(spec, lambda: ctx.texts(weak.ids_test)),
                            further_tests(spec, weak))
