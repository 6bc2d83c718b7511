"""The scoring harness: plan runs, feed methods in worker processes, score, write records.

Gold labels live only in this process (in :class:`TaskContext`); a worker receives a
:class:`~benchmark.methods.MethodInput` built from the frozen weak labels and the feature
cache. A run whose method raises, or whose worker dies, is recorded as failed and the sweep
goes on; finished records are skipped on a rerun unless ``resume=False``. Runs execute on an
:class:`~benchmark.executors.Executor` (the local worker pool, Slurm via submitit, or Ray);
whichever it is, records are scored and written here, atomically, one per run.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.claims import Claim, record_job, release, try_claim
from benchmark.datasets import Example
from benchmark.errors import IntegrityError, W2SBenchError
from benchmark.executors import Executor, ExecutorOptions, Job, make_executor
from benchmark.finetune.trainer import FinetuneConfig
from benchmark.methods import METHODS, MethodInput, StrongModelInfo, build_method
from benchmark.models.encoders import checkpoint_of
from benchmark.models.features import all_layer_features, cache_path
from benchmark.models.hub_ladder import rung_of
from benchmark.models.ladder import ENCODERS, MODELS, hidden_layer
from benchmark.plugins import method_options
from benchmark.pool import NO_LIMITS, Limits
from benchmark.progress import SweepProgress
from benchmark.records import RunRecord, is_complete, record_path, write_record
from benchmark.scoring import build_record
from benchmark.splits import load_dataset, replicate_seed, task_pool
from benchmark.tasks import Resources, TaskSpec
from benchmark.training import ProbeConfig
from benchmark.weak_labels import (
    load_lock,
    load_references,
    load_weak_labels,
    replicate_file,
    verify_frozen,
)

POLL_SECONDS = 0.1
READ_AHEAD = 8  # inputs prepared ahead of free slots (a cluster may have hundreds of slots)


@dataclass(frozen=True)
class RunSpec:
    """One unit of work (frozen, like HELM's run specs)."""

    suite: str
    task: str
    method: str
    replicate: int

    def path(self, results_dir: Path) -> Path:
        return record_path(results_dir, self.suite, self.task, self.method, self.replicate)


@dataclass
class TaskContext:
    """Harness-side state of one task: its pool, gold labels and cached features."""

    spec: TaskSpec
    pool: list[Example]
    row_of: dict[str, int]
    labels: np.ndarray
    feature_file: Path
    layer: int
    strong: StrongModelInfo

    def gold(self, ids: tuple[str, ...]) -> np.ndarray:
        return self.labels[self.rows(ids)]

    def rows(self, ids: tuple[str, ...]) -> list[int]:
        try:
            return [self.row_of[i] for i in ids]
        except KeyError as exc:
            raise IntegrityError(
                f"frozen weak labels of task {self.spec.id!r} name example {exc.args[0]} that "
                "the dataset no longer yields; the asset or formatter changed.") from None


@dataclass
class Summary:
    done: int = 0
    skipped: int = 0
    claimed: int = 0  # left to another sweep running on the same results directory
    adopted: int = 0  # jobs a dead driver had submitted, collected instead of resubmitted
    failed: list[tuple[RunSpec, str]] = field(default_factory=list)


SCRATCH = ".scratch"  # under the results folder: a run's working files until it succeeds


class TaskContexts:
    """Loads each task's context once (datasets are shared between tasks)."""

    def __init__(self, progress: bool = False) -> None:
        self._datasets: dict[str, list[Example]] = {}
        self._contexts: dict[str, TaskContext] = {}
        self.progress = progress

    def get(self, spec: TaskSpec) -> TaskContext:
        if spec.id not in self._contexts:
            if spec.dataset.source == "hub":
                pool = task_pool(spec)  # cached per task definition in splits
            else:
                if spec.dataset.name not in self._datasets:
                    self._datasets[spec.dataset.name] = load_dataset(spec.dataset.name)
                pool = task_pool(spec, self._datasets[spec.dataset.name])
            texts = [e.text for e in pool]
            model = MODELS.get(spec.strong_model)
            encoder = ENCODERS.get(model.encoder or "")
            if spec.regime == "probe":  # finetuning reads texts, not cached features
                all_layer_features(encoder.name, texts, progress=self.progress)
            self._contexts[spec.id] = TaskContext(
                spec=spec, pool=pool, row_of={e.id: i for i, e in enumerate(pool)},
                labels=np.array([e.label for e in pool]),
                feature_file=cache_path(encoder, texts), layer=hidden_layer(model),
                strong=StrongModelInfo(model.name, model.family, model.params,
                                       encoder.hidden_size, encoder.num_layers,
                                       hidden_layer(model)))
        return self._contexts[spec.id]


def build_input(ctx: TaskContext, replicate: int, scratch: Path) -> tuple[MethodInput, Any]:
    """The method's view of one replicate (no gold labels), plus the weak-label set.

    The input is light: its feature arrays stay in the feature cache and the process that
    runs the method reads them (:meth:`MethodInput.with_cached_features`). The driver then
    neither copies nor pickles ~14 MB per run, which is what bounded a 2-worker sweep.
    """
    spec = ctx.spec
    weak = load_weak_labels(spec, replicate)
    finetune: dict[str, Any] = {}
    if spec.regime == "finetune":
        assert spec.finetune is not None
        checkpoint, revision = checkpoint_of(ENCODERS.get(MODELS.get(spec.strong_model).encoder))
        rung = rung_of(spec.strong_model)
        finetune = dict(
            regime="finetune", finetune_config=FinetuneConfig.from_settings(spec.finetune),
            checkpoint=checkpoint, checkpoint_revision=revision, pooling=spec.finetune.pooling,
            trust_remote_code=bool(rung and rung.trust_remote_code),
            train_texts=tuple(ctx.pool[r].text for r in ctx.rows(weak.ids_B)),
            test_texts=tuple(ctx.pool[r].text for r in ctx.rows(weak.ids_test)))
    inp = MethodInput(
        task=spec.id, replicate=replicate, seed=replicate_seed(spec, replicate),
        label_names=tuple(spec.label_names), strong_model=ctx.strong,
        train_ids=weak.ids_B, train_features=None, train_weak_probs=weak.probs_B,
        test_ids=weak.ids_test, test_features=None,
        probe_config=ProbeConfig.from_defaults(spec.training),
        scratch_dir=scratch, feature_file=str(ctx.feature_file),
        train_rows=tuple(ctx.rows(weak.ids_B)), test_rows=tuple(ctx.rows(weak.ids_test)),
        **finetune)
    return inp, weak


def expected_provenance(spec: TaskSpec, method: str, replicate: int) -> dict[str, Any]:
    """Provenance a record must carry to count as current: task, weak labels, method."""
    lock = load_lock(spec)
    expected: dict[str, Any] = {
        "task_sha256": spec.sha256,
        "weak_labels_sha256": lock.files[replicate_file(replicate)],
        "method_version": str(METHODS.get(method).version)}
    try:
        expected["method_config"] = build_method(method, method_options(method)).config
    except W2SBenchError:
        expected["method_config"] = None  # a broken plugin: never current, always rerun
    return expected


class Harness:
    def __init__(self, results_dir: Path, workers: int | None = None, resume: bool = True,
                 progress: bool = True, limits: Limits = NO_LIMITS, executor: str = "local",
                 options: ExecutorOptions | None = None,
                 resource_overrides: dict[str, Any] | None = None) -> None:
        # absolute: a worker moves into its scratch folder before it opens its log there
        self.results_dir = Path(results_dir).resolve()
        self.resume = resume
        self.progress = progress
        self.executor_name = executor
        self.options = options or ExecutorOptions(workers=workers, limits=limits)
        self.resource_overrides = {k: v for k, v in (resource_overrides or {}).items()
                                   if v is not None}
        self.contexts = TaskContexts(progress=progress)

    def resources(self, spec: TaskSpec) -> Resources:
        """The task's resource hints with the command line's overrides applied."""
        return spec.resources.model_copy(update=self.resource_overrides)

    def run(self, runs: list[RunSpec], tasks: dict[str, TaskSpec]) -> Summary:
        summary = Summary()
        todo: deque[RunSpec] = deque()
        for run in runs:
            if self.resume and is_complete(run.path(self.results_dir),
                                           self._expected(run, tasks[run.task])):
                summary.skipped += 1
            else:
                todo.append(run)
        executor = make_executor(self.executor_name, self.options,
                                 [self.resources(s) for s in tasks.values()])
        started = bool(todo)
        if started:
            executor.start()
        capacity = executor.capacity if started else 1
        bar = SweepProgress(self.results_dir, executor.name, len(todo), self.progress)
        in_flight: dict[RunSpec, tuple[MethodInput, Any]] = {}
        ready: deque[tuple[RunSpec, MethodInput, Any]] = deque()  # inputs built ahead

        def take() -> RunSpec | None:
            """The next run to submit (claimed), or None when none is left. A run whose job a
            dead driver left running is adopted here, straight into ``in_flight``."""
            while todo:
                run = todo.popleft()
                path = run.path(self.results_dir)
                claim = try_claim(path)
                if claim is None:
                    summary.claimed += 1  # another live sweep is computing it
                    continue
                for torn in path.parent.glob(f".{path.name}.*.tmp"):
                    torn.unlink(missing_ok=True)  # a write cut short by a crash; ours now
                if self.resume and is_complete(path, self._expected(run, tasks[run.task])):
                    release(path)  # finished by another sweep since we planned
                    summary.skipped += 1
                    continue
                if self._adopt(executor, run, claim, tasks, in_flight):
                    summary.adopted += 1
                    continue
                return run
            return None

        def submit_while_idle() -> None:
            batch: list[Job] = []
            while len(in_flight) < capacity and (ready or todo):
                if ready:
                    run, inp, weak = ready.popleft()
                elif (run := take()) is not None:
                    inp, weak = self._prepare(run, tasks)
                else:
                    break
                batch.append(self._job(run, tasks[run.task], inp))
                in_flight[run] = (inp, weak)
            if batch:
                try:
                    handles = executor.submit(batch)
                except Exception as exc:  # sbatch refused, the Ray cluster went away, ...
                    for job in batch:
                        del in_flight[job.key]
                        release(job.key.path(self.results_dir))
                    raise W2SBenchError(f"executor {executor.name!r} could not submit "
                                        f"{len(batch)} run(s): {type(exc).__name__}: {exc}"
                                        ) from exc
                for run, handle in handles.items():
                    if handle:
                        record_job(run.path(self.results_dir), handle)

        def show(done: int = 0, failed: int = 0) -> None:
            counts = executor.counts() if todo or in_flight or ready else None
            bar.update(queued=len(todo) + len(ready) + (counts.queued if counts else 0),
                       running=counts.running if counts else 0, done=done, failed=failed)

        try:
            while todo or in_flight or ready:
                submit_while_idle()
                finished = executor.collect(POLL_SECONDS)
                submit_while_idle()  # keep workers busy while this process scores
                ok = failed = 0
                for run, output in finished:
                    inp, weak = in_flight.pop(run)
                    output["executor"] = executor.name  # provenance: who ran it
                    record = self._score(run, tasks[run.task], inp, weak, output)
                    write_record(self.results_dir, record)
                    release(run.path(self.results_dir))
                    if record.status == "ok":
                        summary.done += 1
                        ok += 1
                    else:
                        summary.failed.append((run, f"{record.error.type}: "
                                                    f"{record.error.message}"))
                        failed += 1
                show(ok, failed)
                while todo and len(ready) < capacity and len(ready) < READ_AHEAD:
                    if (run := take()) is not None:
                        ready.append((run, *self._prepare(run, tasks)))
        finally:
            bar.close()
            if started:
                executor.close()
            # Jobs of an engine that outlives the driver keep their claims (with the job
            # handle), so the next sweep adopts them; everything else is released.
            keep = set(in_flight) if executor.reattachable else set()
            for run in [*in_flight, *(item[0] for item in ready)]:
                if run not in keep:
                    release(run.path(self.results_dir))
        return summary

    def _job(self, run: RunSpec, spec: TaskSpec, inp: MethodInput) -> Job:
        return Job(key=run, name=f"{run.task}.{run.method}.r{run.replicate}",
                   method=run.method, config=method_options(run.method), inp=inp,
                   resources=self.resources(spec))

    def _adopt(self, executor: Executor, run: RunSpec, claim: Claim,
               tasks: dict[str, TaskSpec], in_flight: dict) -> bool:
        """Take over the job a dead driver submitted for ``run``, if the engine can."""
        if not (claim.inherited_job and executor.reattachable):
            return False
        inp, weak = self._prepare(run, tasks)  # rebuilt (deterministic) for scoring
        if not executor.reattach(self._job(run, tasks[run.task], inp), claim.inherited_job):
            return False
        record_job(run.path(self.results_dir), claim.inherited_job)
        in_flight[run] = (inp, weak)
        return True

    @staticmethod
    def _expected(run: RunSpec, spec: TaskSpec) -> dict[str, Any]:
        return expected_provenance(spec, run.method, run.replicate)

    def _prepare(self, run: RunSpec, tasks: dict[str, TaskSpec]) -> tuple[MethodInput, Any]:
        METHODS.get(run.method)  # unknown method: fail the sweep early, with suggestions
        ctx = self.contexts.get(tasks[run.task])
        # one folder per run, stable across reruns and kept when the run fails or is killed,
        # so a finetune method's checkpoints let the rerun resume where it stopped
        scratch = (self.results_dir / SCRATCH / run.suite / run.task / run.method
                   / f"r{run.replicate}")
        return build_input(ctx, run.replicate, scratch)

    def _score(self, run: RunSpec, spec: TaskSpec, inp: MethodInput, weak: Any,
               output: dict[str, Any]) -> RunRecord:
        verify_frozen(spec)  # a run must not have touched the frozen files
        ctx = self.contexts.get(spec)
        references = load_references(spec)
        return build_record(run.suite, spec, run.method, run.replicate, inp, weak,
                            references, ctx.gold(weak.ids_test), output)
