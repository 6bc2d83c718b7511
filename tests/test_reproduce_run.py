"""``reproduce`` executing its runs end to end: tiny GPT-2 and Qwen2 rungs from local folders,
SciQ rows from a local mirror, ground-truth runs writing hashed weak labels that transfer runs
read, resume, a tampered label file refused, and the comparison reading the records."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from benchmark.datasets.hub import HUB_DATASETS, write_mirror
from benchmark.models.hub_ladder import LadderRung, register_rung, unregister_rung
from benchmark.reproduce import compare, load_study, plan, record_path
from benchmark.reproduce_run import RunOptions, execute, weak_labels_path
from tests.hub_fixtures import sciq_rows
from tests.tiny_lms import tiny_rungs


@pytest.fixture(scope="module")
def tiny_ladder(tmp_path_factory):
    rungs = tiny_rungs(tmp_path_factory.mktemp("ladder"))
    for rung in rungs:
        register_rung(rung)
    yield [r.name for r in rungs]
    for rung in rungs:
        unregister_rung(rung.name)


@pytest.fixture()
def study_and_mirror(tmp_path, tiny_ladder):
    study = copy.deepcopy(load_study("burns2023"))
    study["ladder"] = tiny_ladder
    study["datasets"] = {"sciq": 20}
    study["recipe"].update(n_docs=40, n_test_docs=24, epochs=1, batch_size=8, max_ctx=64)
    study["ground_truth_accuracy"] = {"sciq": [0.6, 0.7]}
    study["median_pgr"] = {"sciq": {"xent": 0.3, "logconf": 0.3}}
    mirror = tmp_path / "mirror"
    sciq = HUB_DATASETS.get("sciq")
    write_mirror(mirror, sciq, "train", sciq_rows(60, 0))
    write_mirror(mirror, sciq, "test", sciq_rows(30, 1))
    return study, str(mirror)


def test_runs_write_records_weak_labels_and_resume(study_and_mirror, tmp_path) -> None:
    study, mirror = study_and_mirror
    runs = plan(study)
    assert [r.kind for r in runs] == ["ground-truth"] * 2 + ["transfer"] * 2
    opts = RunOptions.from_study(study, mirror=mirror)
    assert opts.tag(study) == "burns2023"  # the study's own recipe
    results = tmp_path / "results"
    done, cached, failed = execute(study, runs, results, opts, log=lambda *_: None)
    assert (done, cached, failed) == (4, 0, [])

    gt = json.loads(record_path(results, runs[0]).read_text())
    transfer = json.loads(record_path(results, runs[2]).read_text())
    assert 0.0 <= gt["accuracy"] <= 1.0 and gt["n_train"] == 20 and gt["n_test"] == 24
    assert transfer["weak"] == "tiny-gpt2" and transfer["method"].startswith("naive@")
    assert transfer["weak_labels_sha256"] == gt["weak_labels"]["sha256"]
    assert transfer["provenance"]["git_commit"] and transfer["compute"]["train_flops"] > 0
    logconf = json.loads(record_path(results, runs[3]).read_text())
    assert logconf["method_config"]["schedule"] == "paper"

    # a rerun finds every record and runs nothing
    assert execute(study, runs, results, opts, log=lambda *_: None) == (0, 4, [])

    # the comparison reads what was recorded
    rows = {r["quantity"]: r for r in compare(study, runs, results)}
    assert rows["sciq accuracy tiny-gpt2"]["ours"] == pytest.approx(gt["accuracy"])

    # a tampered weak-label file is refused; the other runs are untouched
    labels = weak_labels_path(results, "burns2023", "sciq", "tiny-gpt2", 0)
    labels.write_bytes(labels.read_bytes() + b"x")
    record_path(results, runs[2]).unlink()
    done, cached, failed = execute(study, runs, results, opts, log=lambda *_: None)
    assert (done, cached) == (0, 3)
    assert failed[0][0] == runs[2].key and "sha256" in failed[0][1]
    assert not record_path(results, runs[2]).exists()


def test_a_smaller_recipe_is_recorded_apart_from_the_reproduction(study_and_mirror) -> None:
    study, mirror = study_and_mirror
    smoke = RunOptions.from_study(study, mirror=mirror, n_docs=20)
    assert smoke.tag(study).startswith("burns2023-n20-")
    openai = RunOptions.from_study(study, mirror=mirror, logconf_schedule="openai")
    assert openai.tag(study) == "burns2023-openai-logconf"


def test_an_unpinned_rung_is_refused_with_the_pin_command(study_and_mirror, tmp_path) -> None:
    study, mirror = study_and_mirror
    register_rung(LadderRung(name="unpinned-lm", family="tiny", hub_id="org/unpinned-lm",
                             params=10, layers=1, hidden=8, lr=1e-3, eval_batch_size=2,
                             recipe_source="test", description="unpinned"))
    try:
        study["ladder"] = ["unpinned-lm"]
        runs = plan(study)
        _, _, failed = execute(study, runs[:1], Path(tmp_path), RunOptions.from_study(
            study, mirror=mirror), log=lambda *_: None)
        assert "no pinned revision" in failed[0][1]
        assert "w2s-bench pin unpinned-lm" in failed[0][1]
    finally:
        unregister_rung("unpinned-lm")
