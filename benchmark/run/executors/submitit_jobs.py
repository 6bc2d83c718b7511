"""``--executor slurm`` (and ``submitit-local``): one submitit job per run, or job arrays.

submitit pickles :func:`benchmark.run.node.run_job` with the run's gold-free input into a job
folder, submits it (``sbatch`` on Slurm; a detached local process for ``submitit-local``,
which runs the very same code path without a cluster) and pickles the output back there. A
job outlives the driver: its handle (job id and folder) goes into the run's claim file, so a
restarted driver adopts the job instead of submitting it again.

Per job: CPUs, GPUs and memory come from the task's resource hints; the time limit from the
suite's per-run ``timeout_s``, and the memory request is at least the suite's ``memory_mb``
(Slurm enforces both). Partition, array and any other ``#SBATCH`` option come from the
command line.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from benchmark.core.bwrap import sandbox_kind
from benchmark.core.errors import W2SBenchError
from benchmark.core.paths import cache_dir
from benchmark.run.claims import pid_alive
from benchmark.run.executors.base import Counts, Executor, Job
from benchmark.run.executors.registry import EXECUTORS
from benchmark.run.node import read_node_result, run_job
from benchmark.run.report import RunOutput, failed_output
from benchmark.run.worker import LOG_TAIL_LINES
from benchmark.tasks.spec import Resources

LEDGER = "submissions.jsonl"
DEFAULT_IN_FLIGHT = 256  # jobs submitted and not yet collected; --workers changes it
STATE_FAILURES = {"TIMEOUT": "Timeout", "OUT_OF_MEMORY": "MemoryLimitExceeded",
                  "PREEMPTED": "Preempted", "NODE_FAIL": "NodeFailed",
                  "CANCELLED": "Cancelled"}


class SubmititExecutor(Executor):
    """Shared by the Slurm and submitit-local executors (submitit's job API)."""

    cluster = "slurm"
    needs = "submitit"
    reattachable = True

    @property
    def capacity(self) -> int:
        return max(1, self.options.workers or DEFAULT_IN_FLIGHT)

    @property
    def folder(self) -> Path:
        return (self.options.folder or cache_dir() / "submitit").resolve()

    def start(self) -> None:
        try:
            import submitit
        except ImportError:
            raise W2SBenchError(f"--executor {self.name} needs the submitit package: "
                                "pip install submitit") from None
        self._submitit = submitit
        self.sandbox = sandbox_kind()  # the jobs make it on their nodes (run/node.py)
        try:
            self._executor = submitit.AutoExecutor(folder=self.folder / "%j",
                                                   cluster=self.cluster)
        except RuntimeError as exc:  # no srun on PATH: not a Slurm login node
            raise W2SBenchError(f"--executor {self.name}: {exc} Run the sweep from a machine "
                                "that can sbatch, or try the same code path here with "
                                "--executor submitit-local.") from None
        self._jobs: dict[Hashable, Any] = {}
        self._pids: dict[Hashable, int] = {}  # adopted local jobs: watched by pid
        self._shapes: dict[Hashable, tuple[int, int]] = {}  # what each report must carry

    def parameters(self, resources: Resources) -> dict[str, Any]:
        """submitit parameters for one run (generic names plus ``slurm_*`` ones)."""
        limits = self.options.limits
        minutes = (limits.timeout_s / 60 if limits.timeout_s is not None
                   else resources.minutes * 3)  # no cap given: three times the estimate
        memory_mb = max(resources.memory_mb, limits.memory_mb or 0)
        params: dict[str, Any] = {
            "name": "w2s-bench", "timeout_min": max(1, math.ceil(minutes)),
            "mem_gb": math.ceil(memory_mb / 1024 * 10) / 10, "cpus_per_task": resources.cpus,
            "tasks_per_node": 1, "nodes": 1}
        if resources.gpus:  # no --gpus-per-node=0 line: some clusters refuse GPU flags on CPU
            params["gpus_per_node"] = resources.gpus
        if self.cluster == "slurm":
            params["slurm_array_parallelism"] = self.capacity
            if self.options.slurm_partition:
                params["slurm_partition"] = self.options.slurm_partition
            if self.options.slurm_options:
                params["slurm_additional_parameters"] = dict(self.options.slurm_options)
        return params

    def describe_job(self, resources: Resources) -> str:
        p = self.parameters(resources)
        where = f" on partition {self.options.slurm_partition}" \
            if self.options.slurm_partition and self.cluster == "slurm" else ""
        return (f"{p['cpus_per_task']} CPU, {p.get('gpus_per_node', 0)} GPU, {p['mem_gb']:g} GB, "
                f"{p['timeout_min']} min limit{where}")

    def submit(self, jobs: list[Job]) -> dict[Hashable, dict[str, Any] | None]:
        handles: dict[Hashable, dict[str, Any] | None] = {}
        groups: dict[tuple, list[Job]] = {}
        for job in jobs:  # one parameter set per resource shape
            groups.setdefault(tuple(sorted(job.resources.model_dump().items())), []).append(job)
        for group in groups.values():
            self._executor.update_parameters(**self.parameters(group[0].resources))
            if self.options.slurm_array and self.cluster == "slurm" and len(group) > 1:
                with self._executor.batch():  # one sbatch --array; ids exist after the block
                    submitted = [(job, self._submit_one(job)) for job in group]
            else:
                submitted = []
                for job in group:  # one job per run, named after it (for squeue and sacct)
                    self._executor.update_parameters(name=f"w2s:{job.name}")
                    submitted.append((job, self._submit_one(job)))
            for job, handle in submitted:
                self._jobs[job.key] = handle
                handles[job.key] = {"executor": self.name, "job_id": str(handle.job_id),
                                    "folder": str(self.folder)}
            self._log_submissions([(job.name, str(h.job_id)) for job, h in submitted])
        return handles

    def _log_submissions(self, entries: list[tuple[str, str]]) -> None:
        """Append to ``<jobs dir>/submissions.jsonl``: which job id computes which run (for
        ``sacct``/``scancel``, and the proof that no run was ever submitted twice)."""
        lines = "".join(json.dumps({"run": name, "job_id": job_id, "executor": self.name,
                                    "time": time.time()}) + "\n" for name, job_id in entries)
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / LEDGER, "a", encoding="utf-8") as ledger:
            ledger.write(lines)

    def _submit_one(self, job: Job) -> Any:
        # The input is light (features stay in the shared cache and the job reads them):
        # a job pickle is a few hundred KB instead of a mini task's ~14 MB of arrays.
        self._shapes[job.key] = job.shape
        return self._executor.submit(run_job, job.plugin, job.config, job.inp, job.threads,
                                     self.sandbox, self.readable, job.limits, self.tmp_mb())

    def reattach(self, job: Job, handle: dict[str, Any]) -> bool:
        if handle.get("executor") != self.name or "job_id" not in handle:
            return False
        folder = Path(handle.get("folder", self.folder))
        job_class = self._executor._executor.job_class
        adopted = job_class(folder=folder / "%j", job_id=str(handle["job_id"]))
        if self.cluster == "local":
            pid = int(str(handle["job_id"]))
            if not pid_alive(pid) and not adopted.paths.result_pickle.exists():
                return False  # it died without an answer: run it again
            self._pids[job.key] = pid
        self._jobs[job.key] = adopted
        self._shapes[job.key] = job.shape
        return True

    def _done(self, key: Hashable, job: Any) -> bool:
        if key in self._pids:  # an adopted local job has no process handle; watch its pid
            return not pid_alive(self._pids[key])
        return job.done()

    def collect(self, timeout: float) -> list[tuple[Hashable, RunOutput]]:
        deadline = time.monotonic() + timeout
        while True:
            done = [key for key, job in self._jobs.items() if self._done(key, job)]
            if done or time.monotonic() >= deadline:
                break
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        finished = []
        for key in done:
            job = self._jobs.pop(key)
            self._pids.pop(key, None)
            finished.append((key, self._output(job, self._shapes.pop(key))))
        return finished

    def _output(self, job: Any, shape: tuple[int, int]) -> RunOutput:
        """The run's output, or a failure saying what the engine did to the job."""
        try:
            result = job.result()  # written by the node runner, outside any sandbox
        except Exception as exc:  # UncompletedJobError, FailedJobError, unpickling errors
            state = str(getattr(job, "state", "UNKNOWN")).split()[0]
            kind = STATE_FAILURES.get(state, "JobFailed")
            tail = "\n".join((job.stderr() or "").strip().splitlines()[-LOG_TAIL_LINES:]) \
                if hasattr(job, "stderr") else ""
            return failed_output(kind, f"{self.name} job {job.job_id} ended in state {state} "
                                 f"without a result ({type(exc).__name__}); its logs are in "
                                 f"{job.paths.folder}", tail)
        output = read_node_result(result, *shape)
        if output.ok:  # keep a failed job's folder (logs) for a post-mortem
            shutil.rmtree(job.paths.folder, ignore_errors=True)
        return output

    def counts(self) -> Counts:
        counts = Counts()
        for key, job in self._jobs.items():
            state = "RUNNING" if key in self._pids else str(job.state)
            if state.startswith(("PENDING", "REQUEUED", "CONFIGURING")):
                counts.queued += 1
            else:
                counts.running += 1
        return counts

    def close(self) -> None:
        """Leave submitted jobs alone: they outlive the driver and a rerun adopts them."""
        with contextlib.suppress(OSError):
            (self.folder / "%j").rmdir()  # submitit makes the unexpanded pattern folder too
        self._jobs.clear()
        self._pids.clear()
        self._shapes.clear()


@EXECUTORS.register("slurm")
class SlurmExecutor(SubmititExecutor):
    """Slurm through submitit: an sbatch job per run, or one job array per batch."""

    name = "slurm"
    cluster = "slurm"


@EXECUTORS.register("submitit-local")
class SubmititLocalExecutor(SubmititExecutor):
    """submitit's local executor: detached processes on this machine, Slurm's code path."""

    name = "submitit-local"
    cluster = "local"
