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
from benchmark.paper.execute import RunOptions, execute, weak_labels_path
from benchmark.paper.study import compare, load_study, plan, record_path
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


REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture()
def fake_hub(tmp_path, monkeypatch):
    """``HfApi`` uploads into a local hub cache at REVISION; downloads are served offline
    from that cache, exactly as ``HF_HUB_OFFLINE=1`` serves a cached snapshot."""
    import shutil

    import huggingface_hub.constants as hub_constants

    from benchmark.paper import labels as reproduce_labels

    cache = tmp_path / "hub"

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, *args, **kwargs):
            pass

        def upload_folder(self, folder_path, path_in_repo, repo_id, **kwargs):
            snapshot = (cache / f"datasets--{repo_id.replace('/', '--')}" / "snapshots"
                        / REVISION / path_in_repo)
            shutil.copytree(folder_path, snapshot)
            return type("Commit", (), {"oid": REVISION})()

    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(reproduce_labels, "DATA", tmp_path / "reproductions")
    (tmp_path / "reproductions").mkdir()
    return cache


def test_shared_weak_labels_round_trip_through_the_hub(study_and_mirror, fake_hub,
                                                        tmp_path) -> None:
    from benchmark.core.errors import IntegrityError
    from benchmark.paper.labels import pin_path, pull_labels, push_labels

    study, mirror = study_and_mirror
    runs = plan(study)
    opts = RunOptions.from_study(study, mirror=mirror)
    first = tmp_path / "first"
    assert execute(study, runs[:2], first, opts, log=lambda *_: None) == (2, 0, [])
    pin = push_labels(first, "burns2023", runs, "lab/w2s-labels")
    assert pin.revision == REVISION and len(pin.files) == 4  # 2 records + 2 label files
    assert pin_path("burns2023").is_file()

    # another machine: pull, then only the transfer runs train, on the pushed labels
    second = tmp_path / "second"
    assert pull_labels(second, "burns2023") == 2
    assert execute(study, runs, second, opts, log=lambda *_: None) == (2, 2, [])
    pushed = json.loads(record_path(first, runs[0]).read_text())["weak_labels"]["sha256"]
    assert json.loads(record_path(second, runs[2]).read_text())["weak_labels_sha256"] == pushed

    # a tampered cache is refused before anything is installed
    cached = next((fake_hub).rglob("weak_labels/*.csv.gz"))
    cached.write_bytes(cached.read_bytes() + b"x")
    third = tmp_path / "third"
    with pytest.raises(IntegrityError, match="nothing was installed"):
        pull_labels(third, "burns2023")
    assert not third.exists()
