"""``reproduce burns2023``: the published-numbers file, the dry-run plan, the comparison."""

from __future__ import annotations

import json

import pytest

from benchmark.cli.main import main
from benchmark.core.errors import UnknownNameError
from benchmark.paper.records import ReproRecord, write_repro_record
from benchmark.paper.study import compare, load_study, plan, record_path


def write_accuracy(results, run, value: float) -> None:
    """A record of ``run`` holding only its test accuracy (what the comparison reads)."""
    write_repro_record(record_path(results, run), ReproRecord(
        key=run.key, dataset=run.dataset, kind=run.kind, strong=run.strong, weak=run.weak,
        loss=run.loss, seed=run.seed, recipe={}, accuracy=value, n_train=1, n_test=1,
        compute={}, wall_s=0.0, provenance={}))


def test_published_numbers_file_has_its_source_and_every_rung() -> None:
    study = load_study("burns2023")
    assert "openai/weak-to-strong" in study["source"]
    assert all(len(v) == len(study["ladder"]) == 7
               for v in study["ground_truth_accuracy"].values())
    assert study["ground_truth_accuracy"]["sciq"][0] == 0.636
    assert study["median_pgr"]["boolq"]["logconf"] == -0.355
    with pytest.raises(UnknownNameError, match="known: burns2023"):
        load_study("burns2024")


def test_dry_run_lists_runs_gpu_hours_and_what_is_cached(tmp_path, capsys) -> None:
    study = load_study("burns2023")
    runs = plan(study)
    assert len(runs) == 5 * (7 + 21 * 2)  # per dataset: 7 rungs, 21 pairs x 2 losses
    cached = record_path(tmp_path, runs[0])
    cached.parent.mkdir(parents=True)
    cached.write_text(json.dumps({"accuracy": 0.6}))
    assert main(["reproduce", "burns2023", "--dry-run", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "245 runs (1 cached" in out
    assert "cached  sciq/ground-truth/gpt2/xent/seed0" in out
    assert "to run  sciq/ground-truth/gpt2-medium/xent/seed0" in out
    sciq = next(line for line in out.splitlines() if line.startswith("sciq "))
    # 6·N·tokens summed over sciq's runs, at 100 TFLOP/s
    hours = sum(r.flops for r in runs if r.dataset == "sciq") / 1e14 / 3600
    assert sciq.split()[1:] == ["7", "42", "1", f"{hours:.1f}"]


def test_comparison_table_gives_deltas_and_verdicts(tmp_path, capsys) -> None:
    study = load_study("burns2023")
    runs = plan(study)
    accuracy = {"gpt2": 0.64, "gpt2-medium": 0.70, "gpt2-large": 0.80}  # large: +0.074
    for run in runs:
        if run.dataset != "sciq":
            continue
        if run.kind == "ground-truth" and run.strong in accuracy:
            value = accuracy[run.strong]
        elif run.kind == "transfer" and run.weak == "gpt2" and run.strong == "gpt2-medium":
            value = 0.67 if run.loss == "xent" else 0.69  # PGR 0.5 / ~0.833
        else:
            continue
        write_accuracy(tmp_path, run, value)
    rows = {r["quantity"]: r for r in compare(study, runs, tmp_path)}
    assert rows["sciq accuracy gpt2"]["result"] == "pass"
    assert rows["sciq accuracy gpt2-large"]["result"] == "FAIL"
    assert rows["sciq accuracy gpt2-large"]["delta"] == pytest.approx(0.074)
    assert rows["sciq median PGR xent"]["ours"] == pytest.approx(0.5)
    assert rows["sciq median PGR xent"]["result"] == "FAIL"       # 0.5 vs 0.332 ± 0.15
    assert rows["sciq median PGR logconf"]["ours"] == pytest.approx(0.05 / 0.06)
    assert rows["boolq accuracy gpt2"]["result"] == "missing"
    assert main(["reproduce", "burns2023", "--compare-only", "--results-dir",
                 str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "sciq accuracy gpt2-large" in out and "+0.074" in out and "FAIL" in out


def test_each_seed_is_scored_against_its_own_ground_truth(tmp_path) -> None:
    """Two seeds whose ceilings differ: each transfer run's PGR is 0.5 against its own
    seed's weak and strong runs (keyed without the seed, the last seed's ceilings scored
    both: 0.35 and 0.5), and a rung's accuracy is the mean over its seeds."""
    study = load_study("burns2023")
    study["recipe"]["seeds"] = [0, 1]
    runs = [r for r in plan(study, models=["gpt2", "gpt2-medium"], datasets=["sciq"])]
    ground = {(0, "gpt2"): 0.64, (0, "gpt2-medium"): 0.70,
              (1, "gpt2"): 0.60, (1, "gpt2-medium"): 0.80}
    transfer = {0: 0.67, 1: 0.70}
    for run in runs:
        if run.kind == "ground-truth":
            value = ground[(run.seed, run.strong)]
        elif run.loss == "xent":
            value = transfer[run.seed]
        else:
            continue
        write_accuracy(tmp_path, run, value)
    rows = {r["quantity"]: r for r in compare(study, runs, tmp_path)}
    assert rows["sciq median PGR xent"]["ours"] == pytest.approx(0.5)
    assert rows["sciq accuracy gpt2-medium"]["ours"] == pytest.approx(0.75)
