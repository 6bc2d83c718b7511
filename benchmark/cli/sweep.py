"""CLI verbs for sweeps: ``run`` (on any executor, or ``--dry-run`` for the plan) and
``status`` (where a sweep stands, from the results directory alone)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmark import library
from benchmark.cli.common import build_leaderboard, csv_list, print_plugin_problems
from benchmark.core.errors import W2SBenchError
from benchmark.core.kinds import rebuilt_noun
from benchmark.library import FINETUNE_SUITE, SweepPlan, prepare_sweep, sweep_assets
from benchmark.library.sweeps import missing_to_rebuild


def plan_sweep(args: argparse.Namespace) -> SweepPlan:
    """The runs ``run`` and ``status`` talk about: suite × tasks × methods × replicates."""
    return library.plan_sweep(args.suite, args.tasks, args.methods, args.replicates,
                              args.results_dir, default_suite=args.default_suite,
                              regime=getattr(args, "regime", None))


def _slurm_options(pairs: list[str] | None) -> dict[str, str]:
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise W2SBenchError(f"--slurm-option {pair!r}: write KEY=VALUE, e.g. "
                                "--slurm-option account=my-lab")
        options[key.strip().replace("-", "_")] = value.strip()
    return options


def make_harness(args: argparse.Namespace, plan: SweepPlan):
    from benchmark.run.executors import EXECUTORS, ExecutorOptions
    from benchmark.run.harness import Harness
    from benchmark.run.pool import Limits
    from benchmark.tasks.suites import suite_limits

    EXECUTORS.get(args.executor)  # an unknown name fails here, with suggestions
    declared = suite_limits(plan.suite)
    limits = Limits(timeout_s=args.timeout_s or declared.timeout_s,
                    memory_mb=args.memory_mb or declared.memory_mb)
    options = ExecutorOptions(
        workers=args.workers, limits=limits,
        folder=Path(args.jobs_dir) if args.jobs_dir else plan.results / ".jobs",
        slurm_partition=args.slurm_partition, slurm_array=args.slurm_array,
        slurm_options=_slurm_options(args.slurm_option), ray_address=args.ray_address)
    return Harness(plan.results, resume=not args.no_resume, progress=not args.no_progress,
                   trust_code=args.trust_code or None,
                   executor=args.executor, options=options,
                   resource_overrides={"cpus": args.cpus, "gpus": args.gpus})


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark.core.paths import leaderboard_dir

    plan = plan_sweep(args)
    print_plugin_problems()
    harness = make_harness(args, plan)
    if args.dry_run:
        from benchmark.assets.catalog import is_fetched
        from benchmark.run.plan_report import render_plan

        missing = [a for a in sweep_assets(plan) if not is_fetched(a)]
        print(render_plan(plan.runs, plan.tasks, plan.results, harness, args.executor,
                          missing))
        for task, replicates in missing_to_rebuild(plan, not args.no_resume).items():
            noun = rebuilt_noun(plan.tasks[task])
            print(f"before the sweep: {len(replicates)} {noun}(s) of {task} to rebuild "
                  f"(replicates {', '.join(map(str, replicates))}; not in the estimate "
                  "above)")
        return 0
    prepare_sweep(plan, not args.no_progress, resume=not args.no_resume)
    summary = harness.run(plan.runs, plan.tasks)
    print(f"{summary.done} run(s) done, {summary.skipped} already complete (skipped), "
          f"{len(summary.failed)} failed; records in {plan.results}")
    if summary.adopted:
        print(f"  {summary.adopted} job(s) left running by an earlier driver were collected, "
              "not resubmitted")
    if summary.claimed:
        print(f"  {summary.claimed} run(s) left to another sweep writing to the same folder "
              "(rerun after it ends to pick up anything it did not finish)")
    for run, why in summary.failed:
        print(f"  FAILED {run.task} / {run.method} / replicate {run.replicate}: {why}")
    methods = {run.method for run in plan.runs}
    build_leaderboard(board_results(plan.results, methods), Path(args.leaderboard_dir)
                      if args.leaderboard_dir else leaderboard_dir())
    return 1 if summary.failed else 0


def board_results(results: Path, methods: set[str]) -> Path:
    """The records folder the board is built from after a run of ``methods`` into
    ``results``: a submission's run into its own results folder (which the main board
    reads) adds to the main board (``results/`` and every submission's records), it never
    replaces it; any other run or folder is a board of its own."""
    from benchmark.core.paths import default_results_dir, submissions_dir

    folder = results.resolve()
    own = folder.name == "results" and folder.parent.parent == submissions_dir().resolve() \
        and methods == {folder.parent.name}
    return default_results_dir() if own else results


def cmd_status(args: argparse.Namespace) -> int:
    from benchmark.run.plan_report import render_status

    plan = plan_sweep(args)
    print(render_status(plan.runs, plan.tasks, plan.results, now=time.time()))
    return 0


def add_sweep_selection(p: argparse.ArgumentParser, default_suite: str) -> None:
    p.add_argument("--suite", help=f"a suite of tasks/suites.yaml or tasks/suites/*.yaml "
                   f"(default: {default_suite}; tasks given with --tasks that are not all in "
                   "it run as a suite of their own)")
    p.set_defaults(default_suite=default_suite)
    p.add_argument("--regime", choices=["probe", "finetune"],
                   help="only tasks of this regime; `--regime finetune` alone runs the "
                   f"embedded finetune suite ({FINETUNE_SUITE}: MiniLM students finetuned "
                   "on CPU)")
    p.add_argument("--tasks", type=csv_list, help="only these tasks (comma list)")
    p.add_argument("--methods", type=csv_list,
                   help="comma list of methods (default: every reference baseline)")
    p.add_argument("--replicates", type=int,
                   help="the first N replicates (default: those the suite ranks, else all)")
    p.add_argument("--results-dir", help="where records go (default: results/)")


def add_parsers(sub: argparse._SubParsersAction, default_suite: str) -> None:
    p = sub.add_parser("run", help="run methods on a suite, write records and the leaderboard")
    add_sweep_selection(p, default_suite)
    p.add_argument("--leaderboard-dir", help="where the leaderboard goes (default: leaderboard/)")
    p.add_argument("--dry-run", action="store_true",
                   help="list the runs, what is cached, what will run and the estimated "
                   "compute per executor; run nothing")
    p.add_argument("--no-resume", action="store_true", help="recompute finished records too")
    p.add_argument("--trust-code", action="store_true",
                   help="where no sandbox can be made (no bubblewrap, macOS), run plugin code "
                   "outside baselines/ anyway; its records say sandbox: none")
    p.add_argument("--no-progress", action="store_true")
    g = p.add_argument_group("where runs execute")
    g.add_argument("--executor", default="local",
                   help="local (process pool, default), slurm, ray, or submitit-local "
                   "(submitit's local processes: Slurm's code path without a cluster)")
    g.add_argument("--workers", type=int,
                   help="local: worker processes (default: as many as cores and memory fit); "
                   "slurm/ray: runs in flight at once")
    g.add_argument("--timeout-s", type=float,
                   help="per-run wall-clock limit (default: the suite's `limits`; the Slurm "
                   "time limit)")
    g.add_argument("--memory-mb", type=float,
                   help="per-run memory limit (default: the suite's `limits`; the Slurm "
                   "memory request)")
    g.add_argument("--cpus", type=int, help="CPUs per run (default: each task's resources)")
    g.add_argument("--gpus", type=int, help="GPUs per run (default: each task's resources)")
    g.add_argument("--jobs-dir", help="submitit job folder, on a disk the nodes share "
                   "(default: RESULTS/.jobs)")
    g.add_argument("--slurm-partition")
    g.add_argument("--slurm-array", action="store_true",
                   help="submit each batch of runs as one Slurm job array")
    g.add_argument("--slurm-option", action="append", metavar="KEY=VALUE",
                   help="any other #SBATCH option, e.g. account=my-lab or qos=high "
                   "(repeatable)")
    g.add_argument("--ray-address", help="an existing Ray cluster (e.g. auto, "
                   "ray://head:10001); default: start a local Ray instance")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="queued / running / done / failed runs of a sweep, "
                       "from the results directory")
    add_sweep_selection(p, default_suite)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("heldout", help="maintainers: score methods on fresh split draws of a "
                       "suite seeded by a secret (W2S_BENCH_HELDOUT_SECRET or --secret-file), "
                       "in a folder outside the repository")
    p.add_argument("suite", help="the public suite whose tasks are drawn afresh")
    p.add_argument("--out", required=True, help="the held-out world (outside the repository; "
                   "its records land in OUT/results)")
    p.add_argument("--methods", type=csv_list, help="comma list (default: every baseline)")
    p.add_argument("--secret-file", help="a file outside the repository holding the secret")
    p.add_argument("--workers", type=int)
    p.set_defaults(func=cmd_heldout)


def cmd_heldout(args: argparse.Namespace) -> int:
    from benchmark.core.suite_names import heldout_of
    from benchmark.library.heldout import read_secret, run_heldout

    secret = read_secret(Path(args.secret_file) if args.secret_file else None)
    extra = ["--no-progress"] + (["--workers", str(args.workers)] if args.workers else [])
    code = run_heldout(args.suite, Path(args.out), secret, args.methods or [], extra)
    if code == 0:
        print(f"held-out records of {heldout_of(args.suite)} in {Path(args.out) / 'results'}; "
              f"publish them beside the public scores with `w2s-bench leaderboard "
              f"--heldout-dir {Path(args.out) / 'results'}`")
    return code
