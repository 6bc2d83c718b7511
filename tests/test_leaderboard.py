"""The leaderboard is a pure function of records: check its numbers on hand-made records."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from benchmark.records import Compute, Metrics, Provenance, RunError, RunRecord
from benchmark.site.tables import write_leaderboard

PROV = dict(task_version=1, task_sha256="t", weak_labels_sha256="w", references_sha256="r",
            weak_model="weak", strong_model="strong", method_version="1", method_config={},
            method_origin="x", packages={}, git_commit="c", hardware={})


def record(task: str, method: str, replicate: int, pgr: float | None, ok: bool = True):
    weak, ceiling = 0.6, 0.8
    acc = weak + (pgr or 0.0) * (ceiling - weak)
    if not ok:
        return RunRecord(suite="s", task=task, method=method, replicate=replicate, seed=replicate,
                         status="failed", error=RunError(type="ValueError", message="nope"),
                         provenance=Provenance(**PROV))
    return RunRecord(
        suite="s", task=task, method=method, replicate=replicate, seed=replicate, status="ok",
        metrics=Metrics(accuracy=acc, pgr=pgr, weak_accuracy=weak, ceiling_accuracy=ceiling),
        compute=Compute(train_flops=100.0, infer_flops=1.0, examples_seen=10, trained_params=2,
                        wall_s=0.5, cpu_s=0.5, peak_rss_mb=10.0),
        provenance=Provenance(**PROV))


def test_ranks_means_and_intervals(tmp_path) -> None:
    records = ([record("t1", "good", k, p) for k, p in enumerate([0.5, 0.6, 0.7])]
               + [record("t2", "good", k, p) for k, p in enumerate([0.3, 0.3, 0.3])]
               + [record("t1", "meh", k, p) for k, p in enumerate([0.1, 0.2, 0.3])]
               + [record("t2", "meh", 0, None), record("t2", "meh", 1, 0.0),
                  record("t2", "meh", 2, None, ok=False)])
    paths = write_leaderboard(records, tmp_path)
    csv = pd.read_csv(paths["csv"])
    suite = csv[csv.level == "suite"].set_index("method")
    assert list(csv[csv.level == "suite"].method) == ["good", "meh"]  # ranked by mean PGR
    assert suite.loc["good", "rank"] == 1 and suite.loc["meh", "rank"] == 2
    assert suite.loc["good", "pgr_mean"] == pytest.approx(np.mean([0.6, 0.3]))
    assert suite.loc["meh", "pgr_mean"] == pytest.approx(np.mean([0.2, 0.0]))
    assert suite.loc["meh", "failed"] == 1
    task = csv[csv.level == "task"].set_index(["task", "method"])
    row = task.loc[("t1", "good")]
    half = 4.302653 * 0.1 / np.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert row.pgr_mean == pytest.approx(0.6)
    assert (row.pgr_ci_low, row.pgr_ci_high) == pytest.approx((0.6 - half, 0.6 + half), rel=1e-4)
    assert task.loc[("t2", "meh")].pgr_undefined == 1
    markdown = paths["markdown"].read_text()
    assert "| 1      | good" in markdown and "## Failed runs" in markdown
    assert "(1 undefined)" in markdown and "gold ceiling (reference)" in markdown


def test_same_records_give_identical_files(tmp_path) -> None:
    records = [record("t1", "a", k, 0.1 * k) for k in range(3)]
    first = {k: p.read_bytes() for k, p in write_leaderboard(records, tmp_path / "x").items()}
    second = {k: p.read_bytes() for k, p in write_leaderboard(records[::-1], tmp_path / "y")
              .items()}
    assert first == second
    assert pd.read_csv(io.BytesIO(first["csv"])).shape[0] == 2
