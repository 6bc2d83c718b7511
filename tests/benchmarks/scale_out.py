"""Scale-out figures: the wall-time speed-up of ``--workers 2`` over serial on the default
suite, and the per-run overhead of each executor. Prints ratios measured side by side in
one process run (these machines are noisy; compare nothing across runs).

    python -m tests.benchmarks.scale_out              # the default job: every baseline on mini
    python -m tests.benchmarks.scale_out --methods naive --rounds 2   # quicker

Speed-up: the real CLI (``w2s-bench run``) in subprocesses, fresh results folders, warm
feature cache, serial and 2-worker sweeps alternated. Overhead: ``runs`` replicates of
``naive`` on one task through each executor with one run in flight at a time, so
(sweep wall time − the method's own wall time, summed) / runs is what the executor adds
per run, start-up (pool spawn, Ray start, ...) included and reported on its own too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OVERHEAD_TASK = "rt-tfidf-logreg-to-minilm-l6"


def timed_cli(results: Path, board: Path, workers: int, methods: list[str] | None) -> float:
    argv = [sys.executable, "-m", "benchmark.cli.main", "run", "--no-progress", "--workers",
            str(workers), "--results-dir", str(results), "--leaderboard-dir", str(board)]
    if methods:
        argv += ["--methods", ",".join(methods)]
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def speed_up(tmp: Path, methods: list[str] | None, rounds: int) -> None:
    times: dict[int, list[float]] = {1: [], 2: []}
    for k in range(rounds):
        for workers in ((1, 2) if k % 2 == 0 else (2, 1)):  # alternate who goes first
            out = tmp / f"speed-{workers}-{k}"
            times[workers].append(timed_cli(out / "r", out / "b", workers, methods))
    runs = len(list((tmp / "speed-1-0" / "r").glob("*/*/*/replicate-*.json")))
    serial, pooled = min(times[1]), min(times[2])
    print(f"default suite, {runs} runs ({'all baselines' if not methods else ','.join(methods)})"
          f", {rounds} round(s), best of each:")
    print(f"  serial (--workers 1): {serial:7.1f} s  {serial / runs:.3f} s/run   all: "
          + ", ".join(f"{t:.1f}" for t in times[1]))
    print(f"  --workers 2:          {pooled:7.1f} s  {pooled / runs:.3f} s/run   all: "
          + ", ".join(f"{t:.1f}" for t in times[2]))
    print(f"  speed-up: {serial / pooled:.2f}x on {os.cpu_count()} cores")


def overheads(tmp: Path, replicates: int, executors: list[str]) -> None:
    from benchmark.results.records import iter_records
    from benchmark.run.executors import ExecutorOptions, make_executor
    from benchmark.run.harness import Harness, RunSpec
    from benchmark.tasks.spec import TASKS

    spec = TASKS.get(OVERHEAD_TASK)
    runs = [RunSpec("mini", spec.id, "naive", k) for k in range(replicates)]
    print(f"\nper-run overhead, {replicates} runs of naive on {spec.id}, one at a time:")
    print(f"  {'executor':<16}{'start-up':>10}{'sweep':>9}{'method':>9}{'overhead/run':>14}")
    for name in executors:
        results = tmp / f"overhead-{name}"
        options = ExecutorOptions(workers=1, folder=results / ".jobs")
        probe = make_executor(name, options, [spec.resources])
        begin = time.perf_counter()
        probe.start()
        startup = time.perf_counter() - begin
        probe.close()
        harness = Harness(results, progress=False, executor=name, options=options)
        harness.contexts.get(spec)  # the task's features, loaded before the clock starts
        begin = time.perf_counter()
        summary = harness.run(runs, {spec.id: spec})
        wall = time.perf_counter() - begin
        assert summary.done == len(runs), summary
        method = sum(r.compute.wall_s for r in iter_records(results))
        print(f"  {name:<16}{startup:9.2f}s{wall:8.2f}s{method:8.2f}s"
              f"{(wall - method) / len(runs):13.2f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", help="comma list (default: every baseline)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--replicates", type=int, default=5)
    parser.add_argument("--skip-speed-up", action="store_true")
    args = parser.parse_args()
    methods = args.methods.split(",") if args.methods else None
    from benchmark.assets.catalog import fetch
    from benchmark.cli.main import required_assets
    from benchmark.tasks.suites import suite_tasks

    fetch(required_assets(suite_tasks("mini")), progress=False)
    executors = ["local", "submitit-local"]
    try:
        import ray  # noqa: F401

        executors.append("ray")
    except ImportError:
        print("ray is not installed: its overhead is not measured (pip install ray)")
    with tempfile.TemporaryDirectory() as tmp:
        from tests.fake_slurm import install

        os.environ.update(install(Path(tmp) / "bin", Path(tmp) / "slurm"))
        executors.append("slurm")  # through the fake sbatch/srun/sacct: submitit's polling
        if not args.skip_speed_up:
            speed_up(Path(tmp), methods, args.rounds)
        overheads(Path(tmp), args.replicates, executors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
