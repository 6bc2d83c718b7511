"""``run --dry-run`` (the plan) and ``status`` (the report) on the miniature world."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from benchmark.cli.main import main
from benchmark.results.records import iter_records
from tests.conftest import TINY_SUITE, TINY_TASK

BOOM = '''
from benchmark.api.method import Method, register

@register("boom")
class Boom(Method):
    """Always raises (tests)."""
    def fit_predict(self, inp):
        raise RuntimeError("boom on purpose")
'''


def base(results) -> list[str]:
    return ["--suite", TINY_SUITE, "--results-dir", str(results)]


def counts(out: str) -> dict[str, int]:
    line = next(line for line in out.splitlines() if line.startswith("queued "))
    return {k: int(v) for k, v in re.findall(r"(queued|running|done|failed) (\d+)", line)}


def test_dry_run_lists_cached_and_pending_runs_with_estimates(tiny_world, tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["run", *base(results), "--methods", "naive", "--workers", "1",
                 "--no-progress", "--leaderboard-dir", str(tmp_path / "board")]) == 0
    capsys.readouterr()
    assert main(["run", *base(results), "--methods", "naive,logconf", "--dry-run",
                 "--workers", "2", "--slurm-partition", "gpu"]) == 0
    out = capsys.readouterr().out
    assert "cached (complete and current): 2   will run: 2" in out
    rows = {tuple(line.split()[:2]): line for line in out.splitlines()
            if line.startswith(TINY_TASK)}
    assert rows[TINY_TASK, "naive"].split()[2:4] == ["0-1", "-"]
    assert rows[TINY_TASK, "logconf"].split()[2:4] == ["-", "0-1"]
    assert "no record" in rows[TINY_TASK, "logconf"]
    # The tiny task has the default hints: 1 CPU, 0 GPU, 2 GB, 1 min per run.
    assert "estimated compute for 2 runs: ~2.0 min of run time, 0.03 CPU-hours, 0.00 GPU-h" \
        in out
    executors = {line.split()[1]: line for line in out.splitlines() if line.startswith("* ")}
    assert list(executors) == ["local"]
    slurm = next(line for line in out.splitlines() if line.strip().startswith("slurm"))
    assert "on partition gpu" in slurm and "min limit" in slurm
    assert {r.method for r in iter_records(results)} == {"naive"}  # nothing ran
    assert not list(results.rglob("*.claim"))


def test_status_reports_queued_running_done_failed_from_disk(tiny_world, tmp_path, capsys):
    from benchmark.run.claims import HOST, claim_path
    from benchmark.run.harness import RunSpec
    from benchmark.run.progress import sweeps_dir

    tiny_world.add_submission("boom", BOOM)
    results = tmp_path / "results"
    main(["run", *base(results), "--methods", "naive,boom", "--workers", "1", "--no-progress",
          "--leaderboard-dir", str(tmp_path / "board")])
    live = claim_path(RunSpec(TINY_SUITE, TINY_TASK, "logconf", 0).path(results))
    live.parent.mkdir(parents=True)
    live.write_text(json.dumps({"host": HOST, "pid": os.getpid()}))  # a live sweep's run
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout)
    sweeps_dir(results).mkdir(exist_ok=True)
    (sweeps_dir(results) / f"{HOST}-{dead}.json").write_text(json.dumps(
        {"host": HOST, "pid": dead, "executor": "slurm", "updated": 0, "queued": 3,
         "running": 1, "done": 4, "failed": 0, "total": 8}))
    capsys.readouterr()
    assert main(["status", *base(results), "--methods", "naive,boom,logconf"]) == 0
    out = capsys.readouterr().out
    assert counts(out) == {"queued": 1, "running": 1, "done": 2, "failed": 2}
    assert "boom / replicate 0: RuntimeError: boom on purpose" in out
    assert f"sweep {HOST}:{dead} (slurm)" in out and "its driver is gone" in out


@pytest.mark.parametrize("argv, message", [
    (["run", "--executor", "slrum", "--dry-run"], "unknown executor 'slrum'. Did you mean "
                                                  "'slurm'"),
    (["run", "--slurm-option", "account", "--dry-run"], "write KEY=VALUE"),
])
def test_bad_executor_options_exit_2_with_the_fix(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_slurm_without_a_cluster_says_what_to_do_instead(tiny_world, tmp_path, capsys,
                                                         monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun anywhere
    assert main(["run", *base(tmp_path / "r"), "--methods", "naive", "--executor", "slurm",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "srun" in err and "--executor submitit-local" in err
    assert not list((tmp_path / "r").rglob("*.claim"))


def test_a_refused_submission_fails_the_sweep_cleanly(tiny_world, tmp_path, capsys,
                                                      monkeypatch):
    from tests.fake_slurm import install

    for key, value in install(tmp_path / "bin", tmp_path / "slurm").items():
        monkeypatch.setenv(key, value)
    sbatch = tmp_path / "bin" / "sbatch"
    sbatch.write_text("#!/bin/sh\necho 'sbatch: error: invalid partition specified' >&2\n"
                      "exit 1\n")
    results = tmp_path / "r"
    assert main(["run", *base(results), "--methods", "naive", "--executor", "slurm",
                 "--slurm-partition", "nope", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "executor 'slurm' could not submit 2 run(s)" in err and "invalid partition" in err
    assert not list(results.rglob("*.claim")) and not list(results.rglob("replicate-*.json"))


def test_a_relative_results_dir_works_from_the_checkout_root(tiny_world, monkeypatch, capsys):
    """README's submit flow passes ``--results-dir submissions/NAME/results``: a relative path.
    Workers move into their scratch folder before opening their log there, so the harness
    must not hand them a relative one (every run failed with FileNotFoundError before)."""
    monkeypatch.chdir(tiny_world.root)
    assert main(["run", "--suite", TINY_SUITE, "--methods", "naive", "--workers", "1",
                 "--no-progress", "--results-dir", "submissions/rel/results",
                 "--leaderboard-dir", "board"]) == 0
    records = list(iter_records(tiny_world.root / "submissions" / "rel" / "results"))
    assert len(records) == 2 and {r.status for r in records} == {"ok"}
    assert "0 failed" in capsys.readouterr().out


def test_a_run_into_a_submissions_folder_adds_to_the_main_board(tiny_world, tmp_path, capsys):
    """The submit flow's step 3 (``run --results-dir submissions/NAME/results``) rebuilds the
    board from ``results/`` and every submission's records, so the main board's rows stay;
    a run into any other folder is a board of its own, as before."""
    from benchmark.cli.sweep import board_results
    from benchmark.core.paths import default_results_dir, submissions_dir

    mine = submissions_dir() / "my-method" / "results"
    assert board_results(mine, {"my-method"}) == default_results_dir()
    assert board_results(mine, {"naive"}) == mine   # not the submission's own records
    assert board_results(tmp_path / "scratch", {"my-method"}) == tmp_path / "scratch"
    main_results = default_results_dir()
    assert main(["run", "--suite", TINY_SUITE, "--methods", "naive", "--replicates", "1",
                 "--workers", "1", "--no-progress", "--results-dir", str(main_results),
                 "--leaderboard-dir", str(tmp_path / "board")]) == 0
    tiny_world.add_submission("prior-only", """
import numpy as np
from benchmark.api.method import Method, register


@register("prior-only")
class PriorOnly(Method):
    \"\"\"Predicts the weak labels' class prior (tests).\"\"\"

    def fit_predict(self, inp):
        return np.tile(inp.train_weak_probs.mean(0), (len(inp.test_ids), 1))
""")
    folder = submissions_dir() / "prior-only" / "results"
    assert main(["run", "--suite", TINY_SUITE, "--methods", "prior-only", "--replicates", "1",
                 "--workers", "1", "--no-progress", "--results-dir", str(folder),
                 "--leaderboard-dir", str(tmp_path / "board"), "--trust-code"]) == 0
    board = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    assert {"naive", "prior-only"} <= set(board["methods"])
