"""Executors: the local pool, submitit (its local processes and Slurm, faked at the sbatch /
srun / sacct boundary) and Ray run the same code path and write the same records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.results.records import TIMING_FIELDS, iter_records
from benchmark.run.executors import ExecutorOptions
from benchmark.run.harness import Harness, RunSpec
from tests.conftest import REPO, TINY_SUITE, TINY_TASK, unconfined
from tests.spy_plugin import SPY_SOURCE, assert_spy_found_no_gold
from tests.test_harness import gold_by_id

METHODS = ["naive", "logconf", "product"]


def runs(methods=METHODS, replicates=2):
    return [RunSpec(TINY_SUITE, TINY_TASK, m, k) for m in methods for k in range(replicates)]


def sweep(results: Path, tiny_task, executor="local", workers=1, methods=METHODS,
          replicates=2, **options):
    options = ExecutorOptions(workers=workers, folder=results / ".jobs", **options)
    harness = Harness(results, progress=False, executor=executor, options=options)
    return harness.run(runs(methods, replicates), {TINY_TASK: tiny_task})


def comparable(results: Path) -> dict:
    """Records minus what legitimately differs between executors (timing, who ran it, and in
    what: a test whose spy must write outside its sandbox runs unconfined)."""
    out = {}
    for record in iter_records(results):
        data = record.model_dump(mode="json")
        for key in TIMING_FIELDS:
            data["compute"].pop(key)
        for key in ("torch_threads", "executor"):
            data["provenance"]["hardware"].pop(key, None)
        data["provenance"].pop("sandbox")
        data["provenance"].pop("sandbox_binary", None)
        out[record.method, record.replicate] = data
    return out


def executors_of(results: Path) -> set:
    return {r.provenance.hardware.get("executor") for r in iter_records(results)}


@pytest.fixture
def serial(tiny_world, tiny_task, tmp_path):
    """The reference: a serial local sweep."""
    summary = sweep(tmp_path / "serial", tiny_task)
    assert summary.done == len(runs()) and not summary.failed
    return comparable(tmp_path / "serial")


def assert_no_leftovers(results: Path) -> None:
    assert not list(results.rglob("*.claim")), "claims left behind"
    assert not list(results.rglob("*.tmp")), "torn writes left behind"


def test_two_local_workers_write_the_records_of_a_serial_run(serial, tiny_task, tmp_path):
    summary = sweep(tmp_path / "pool", tiny_task, workers=2)
    assert (summary.done, summary.failed) == (len(runs()), [])
    assert comparable(tmp_path / "pool") == serial
    assert executors_of(tmp_path / "pool") == {"local"}
    assert_no_leftovers(tmp_path / "pool")


def test_submitit_local_runs_the_real_job_path(serial, tiny_task, tmp_path):
    results = tmp_path / "submitit"
    summary = sweep(results, tiny_task, executor="submitit-local", workers=3)
    assert (summary.done, summary.failed) == (len(runs()), [])
    assert comparable(results) == serial
    assert executors_of(results) == {"submitit-local"}
    ledger = [json.loads(line) for line in (results / ".jobs" / "submissions.jsonl")
              .read_text().splitlines()]
    assert sorted(e["run"] for e in ledger) == sorted(
        f"{TINY_TASK}.{r.method}.r{r.replicate}" for r in runs())
    assert len({e["job_id"] for e in ledger}) == len(runs())  # one process per run
    # Each job ran in its own process (job id = its pid), never the driver's.
    assert str(os.getpid()) not in {e["job_id"] for e in ledger}
    leftover = [p for p in (results / ".jobs").iterdir() if p.name != "submissions.jsonl"]
    assert leftover == [], "finished jobs' pickles are not cleaned up"
    assert_no_leftovers(results)


def test_slurm_through_submitit_against_a_fake_cluster(serial, tiny_task, tmp_path,
                                                       monkeypatch):
    """The real Slurm code path up to the sbatch/srun/sacct boundary: directives from the
    task's hints and the command line, job ids, polling, results."""
    from tests.fake_slurm import install

    for key, value in install(tmp_path / "bin", tmp_path / "slurm").items():
        monkeypatch.setenv(key, value)
    results = tmp_path / "slurm-results"
    from benchmark.run.pool import Limits

    summary = sweep(results, tiny_task, executor="slurm", workers=4,
                    limits=Limits(timeout_s=600, memory_mb=3000),
                    slurm_partition="gpu-a100", slurm_options={"account": "w2s-lab"})
    assert (summary.done, summary.failed) == (len(runs()), [])
    assert comparable(results) == serial
    assert executors_of(results) == {"slurm"}
    scripts = sorted((tmp_path / "slurm" / "scripts").glob("*.sh"))
    assert len(scripts) == len(runs())
    text = scripts[0].read_text()
    for line in ("#SBATCH --partition=gpu-a100", "#SBATCH --account=w2s-lab",
                 "#SBATCH --time=10", "#SBATCH --mem=3GB", "#SBATCH --cpus-per-task=1"):
        assert line in text, f"{line!r} missing from the sbatch script:\n{text}"
    assert "--gpus-per-node" not in text  # the tiny task asks for no GPU
    assert "#SBATCH --job-name=w2s:tiny-tfidf-to-bert." in text
    assert_no_leftovers(results)


def test_slurm_requests_follow_task_hints_and_overrides(tiny_world, tiny_task):
    from benchmark.run.executors import make_executor
    from benchmark.run.pool import Limits

    hints = tiny_task.resources.model_copy(update={"cpus": 4, "gpus": 2, "memory_mb": 20000})
    options = ExecutorOptions(limits=Limits(timeout_s=5400, memory_mb=8192))
    params = make_executor("slurm", options, [hints]).parameters(hints)
    assert (params["cpus_per_task"], params["gpus_per_node"], params["timeout_min"]) == \
        (4, 2, 90)
    assert params["mem_gb"] == pytest.approx(19.6)  # the task needs more than the suite cap
    harness = Harness(Path("unused"), resource_overrides={"gpus": 1, "cpus": None})
    assert harness.resources(tiny_task).gpus == 1
    assert harness.resources(tiny_task).cpus == tiny_task.resources.cpus


@pytest.mark.parametrize("executor", ["submitit-local", "slurm"])
def test_killing_the_driver_mid_sweep_then_rerunning_adopts_its_jobs(serial, tiny_world,
                                                                     tmp_path, monkeypatch,
                                                                     executor):
    """Jobs outlive a SIGKILLed driver; the rerun collects them instead of resubmitting."""
    from tests.fake_slurm import install

    for key, value in install(tmp_path / "bin", tmp_path / "slurm").items():
        monkeypatch.setenv(key, value)  # inherited by both drivers (used by "slurm" only)
    results = tmp_path / "killed"
    ledger = results / ".jobs" / "submissions.jsonl"
    spec = {"root": str(tiny_world.root), "cache": str(tiny_world.cache),
            "wheel": str(tiny_world.wheel), "bert_dir": str(tiny_world.bert_dir),
            "results": str(results), "methods": METHODS, "replicates": 2,
            "executor": executor, "workers": 2}
    command = [sys.executable, "-m", "tests.sweep_child", json.dumps(spec)]
    driver = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    def claims_with_jobs() -> int:
        """Claims that hold a submitted job's handle (read-ahead runs hold none yet)."""
        found = 0
        for path in results.rglob("*.claim"):
            try:
                found += "job" in json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # created, not yet written, or just released
        return found

    deadline = time.monotonic() + 120
    while claims_with_jobs() < 2:
        assert driver.poll() is None and time.monotonic() < deadline, "no job was submitted"
        time.sleep(0.05)
    os.kill(driver.pid, signal.SIGKILL)  # the driver only: its jobs run on, as on a cluster
    driver.wait()
    assert claims_with_jobs() >= 1  # left for the next driver to adopt

    rerun = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert summary["adopted"] >= 1 and summary["failed"] == 0
    submitted = [json.loads(line)["run"] for line in ledger.read_text().splitlines()]
    assert sorted(submitted) == sorted(set(submitted)), "a run was submitted twice"
    assert len(submitted) == len(runs())
    assert comparable(results) == serial
    assert_no_leftovers(results)


def test_ray_runs_the_real_task_path_and_never_sees_gold(serial, tiny_world, tiny_task,
                                                         tmp_path, monkeypatch):
    pytest.importorskip("ray", reason="ray is the optional extra w2s-bench[ray]; "
                        "pip install 'w2s-bench[ray]' to run this test")
    monkeypatch.setenv("W2S_SPY_OUT", str(tmp_path))
    unconfined(monkeypatch)  # the spy writes what it saw outside its scratch folder
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    tiny_world.add_submission("spy", SPY_SOURCE)
    results = tmp_path / "ray"
    summary = sweep(results, tiny_task, executor="ray", workers=2, methods=[*METHODS, "spy"])
    assert (summary.done, summary.failed) == (len(runs([*METHODS, "spy"])), [])
    reference = comparable(results)
    assert {k: v for k, v in reference.items() if k[0] != "spy"} == serial
    assert executors_of(results) == {"ray"}
    assert_spy_found_no_gold(tmp_path, gold_by_id(tiny_world), spec=tiny_task)  # in Ray
    assert_no_leftovers(results)


def test_a_mixed_suite_shares_the_cores_by_cpu_count(tiny_world, tiny_task, tmp_path,
                                                      monkeypatch):
    """Probe runs (1 CPU) go two at a time on two cores; a run asking for 2 CPUs (a locked
    student's finetune in the frontier suite) has them to itself: never more CPUs asked
    for than the machine has, and no single-worker suite because one task is heavy."""
    from benchmark.run import sweep as sweep_module
    from tests.conftest import TASK_YAML

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    seen: list[tuple[int, int]] = []
    original = sweep_module.Sweep._submit_while_idle

    def watched(self):
        original(self)
        seen.append((len(self.in_flight), sum(map(self._cpus, self.in_flight))))

    monkeypatch.setattr(sweep_module.Sweep, "_submit_while_idle", watched)
    heavy_yaml = TASK_YAML.format(id="tiny-heavy") + "resources:\n  cpus: 2\n"
    with tiny_world.frozen_task("tiny-heavy", heavy_yaml) as heavy:
        runs = [RunSpec("tiny", t, m, k) for t in (TINY_TASK, "tiny-heavy")
                for m in ("naive", "logconf") for k in range(2)]
        summary = Harness(tmp_path / "results", progress=False).run(
            runs, {TINY_TASK: tiny_task, "tiny-heavy": heavy})
    assert summary.done == 8 and not summary.failed
    assert max(cpus for _, cpus in seen) == 2          # never oversubscribed
    assert (2, 2) in seen                              # two 1-CPU runs side by side
    assert (1, 2) in seen                              # a 2-CPU run alone


def test_a_freed_worker_gets_its_next_run_before_the_driver_scores(tiny_world, tiny_task,
                                                                   tmp_path, monkeypatch):
    """One worker: run k+1 is submitted before run k's record is written (scoring and
    writing took ~10 ms a run, during which the worker sat idle: 5 core-s of the default
    job)."""
    from benchmark.run import writer as writer_module
    from benchmark.run.executors import EXECUTORS
    from benchmark.run.executors.local import LocalExecutor

    events: list[tuple[str, str]] = []

    @EXECUTORS.register("spy-local")
    class SpyLocal(LocalExecutor):
        name = "spy-local"

        def submit(self, jobs):
            events.extend(("submit", job.name) for job in jobs)
            return super().submit(jobs)

    def spied_write(results, record, predictions):
        events.append(("write", f"{record.task}.{record.method}.r{record.replicate}"))
        return write_record(results, record, predictions)

    write_record = writer_module.write_record  # records are written on the writer's thread
    monkeypatch.setattr(writer_module, "write_record", spied_write)
    try:
        summary = sweep(tmp_path / "spy", tiny_task, executor="spy-local", workers=1,
                        methods=["naive", "product"])
    finally:
        EXECUTORS.remove("spy-local")
    assert summary.done == 4
    labels = [run.label for run in runs(["naive", "product"])]
    order = [f"{kind} {label}" for kind, label in events]
    for this, following in zip(labels[:-1], labels[1:], strict=True):
        assert order.index(f"submit {following}") < order.index(f"write {this}"), order


def test_local_sweeps_of_gpu_tasks_run_one_at_a_time() -> None:
    """Workers are not given a device each: a sweep with a task asking for a GPU gets one
    worker by default (a second would train on the same device), unless --workers says."""
    from benchmark.run.executors.local import LocalExecutor
    from benchmark.tasks.spec import Resources

    cpu_only = LocalExecutor(ExecutorOptions(), [Resources(cpus=1, memory_mb=16)])
    with_gpu = LocalExecutor(ExecutorOptions(), [Resources(cpus=1, memory_mb=16),
                                                 Resources(cpus=1, gpus=1, memory_mb=16)])
    assert with_gpu.capacity == 1
    assert cpu_only.capacity == (os.cpu_count() or 1)   # cores, as before
    assert LocalExecutor(ExecutorOptions(workers=3), [Resources(gpus=1)]).capacity == 3
