from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.cli.main import main
from benchmark.methods.catalog import METHODS, select_methods
from benchmark.results.records import iter_records
from tests.conftest import TINY_SUITE, TINY_TASK


def test_list_shows_the_embedded_suite(capsys) -> None:
    assert main(["list", "suites"]) == 0
    assert "mini" in capsys.readouterr().out
    assert main(["list", "methods"]) == 0
    assert "naive" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["run", "--suite", "mnii"], "unknown suite 'mnii'. Did you mean 'mini'"),
    (["run", "--methods", "naiv"], "unknown method 'naiv'. Did you mean 'naive'"),
    (["run", "--tasks", "rt-tfidf-to-minilm-l6"], "unknown task 'rt-tfidf-to-minilm-l6'. "
                                                   "Did you mean 'rt-tfidf-logreg-to-"),
    (["run", "--suite", "mini", "--tasks", "rt-tfidf-logreg-to-mpnet-base"],
     "task 'rt-tfidf-logreg-to-mpnet-base' is not in suite 'mini'"),
    (["freeze", "rt-tfidf-to-minilm-l6"], "Did you mean 'rt-tfidf-logreg-to-minilm-l6'"),
])
def test_bad_names_exit_2_with_a_suggestion(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_run_writes_records_and_leaderboard_then_refuses_tampering(tiny_world, tmp_path, capsys):
    results, board = tmp_path / "results", tmp_path / "board"
    argv = ["run", "--suite", TINY_SUITE, "--results-dir", str(results), "--leaderboard-dir",
            str(board), "--workers", "1", "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    from benchmark.methods.applicable import skip_reason
    from benchmark.tasks.spec import TASKS

    probe = [m for m in select_methods(None)
             if skip_reason(METHODS.get(m), TASKS.get(TINY_TASK)) is None]
    assert len(probe) < len(select_methods(None))  # the prompting controls are finetune-only
    assert f"{2 * len(probe)} run(s) done, 0 already" in out
    # and each skip says why, once per method
    assert f"note: ensemble-agreement skipped on {TINY_TASK!r}: it uses several weak " in out
    assert {r.method for r in iter_records(results)} >= {"naive", "logconf"}
    assert f"leaderboard: {(board / 'index.html').resolve().as_uri()}" in out
    assert (board / "leaderboard.md").is_file() and (board / "leaderboard.json").is_file()
    from benchmark.core.metrics import small_gap

    naive = [r for r in iter_records(results) if r.method == "naive"]
    # a replicate whose gap is under two standard errors of its test accuracy has no PGR
    kept = [r.metrics.pgr for r in naive if r.metrics.pgr is not None and not small_gap(
        r.metrics.weak_accuracy, r.metrics.ceiling_accuracy, r.predictions.shape[0])]
    csv = pd.read_csv(board / "leaderboard.csv")
    task_row = csv[(csv.level == "task") & (csv.method == "naive")].iloc[0]
    assert task_row.pgr_small_gap == len(naive) - len(kept)
    if kept:
        assert task_row.pgr_mean == pytest.approx(sum(kept) / len(kept), rel=1e-5)  # %.6g
    else:
        assert np.isnan(task_row.pgr_mean)

    assert main([*argv, "--replicates", "3"]) == 2
    assert "choose 1..2" in capsys.readouterr().err

    frozen = tiny_world.frozen / "replicate-0.csv.gz"
    original = frozen.read_bytes()
    try:
        frozen.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        assert main([*argv, "--no-resume"]) == 2
        assert "does not match its lock" in capsys.readouterr().err
    finally:
        frozen.write_bytes(original)
