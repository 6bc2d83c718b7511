"""``reproduce`` end to end on the main pipeline: tiny GPT-2 and Qwen2 rungs from local
folders, SciQ rows from a local mirror. The study's task and suite are written, the freeze
stage freezes the pair, both losses run sandboxed into ordinary records, a rerun does
nothing, the comparison reads what was recorded, the released code's logconf schedule runs as
a named variant, an unpinned rung is refused with the pin command, and a frozen set shared
through the hub is pulled and trained on instead of freezing again."""

from __future__ import annotations

import copy
import shutil

import pytest

from benchmark.datasets.hub import HUB_DATASETS, write_mirror
from benchmark.models.hub_ladder import LadderRung, register_rung, unregister_rung
from benchmark.paper.study import RunOptions, load_study
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
def study(tiny_world, tmp_path, tiny_ladder):
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
    yield study, str(mirror)
    for path in (tiny_world.root / "tasks").glob("burns2023*.yaml"):
        path.unlink()
    for path in (tiny_world.root / "tasks" / "suites").glob("burns2023*.yaml"):
        path.unlink()
    for path in (tiny_world.root / "tasks" / "frozen").glob("burns2023*"):
        shutil.rmtree(path)
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.suites import SUITES

    TASKS.reset()
    SUITES.reset()


TASK = "burns2023-sciq-tiny-gpt2-to-tiny-qwen2"


def _silent(_: str) -> None:
    return None


def test_a_study_freezes_runs_records_and_compares_on_the_main_pipeline(study, tmp_path,
                                                                        tiny_world) -> None:
    from benchmark.labels.frozen import load_weak_labels
    from benchmark.library.reproduce import reproduce
    from benchmark.results.records import read_record, record_path
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.suites import SUITES

    study, mirror = study
    opts = RunOptions.from_study(study, mirror=mirror)
    results = tmp_path / "results"
    done = reproduce(study, opts, results, say=_silent)
    assert done.suite == "burns2023" and done.frozen == [TASK] and not done.failed
    assert done.finetunes == 2   # the weak rung on A, the strong rung on B
    assert (tiny_world.root / "tasks" / f"{TASK}.yaml").is_file()
    assert list(SUITES.get("burns2023").tasks) == [TASK]
    spec = TASKS.get(TASK)
    weak = load_weak_labels(spec, 0)
    assert (len(weak.ids_A), len(weak.ids_B), len(weak.ids_test)) == (20, 20, 24)
    naive = read_record(record_path(results, "burns2023", TASK, "naive", 0))
    logconf = read_record(record_path(results, "burns2023", TASK, "logconf", 0))
    assert naive.status == logconf.status == "ok" and done.recorded == 2
    assert naive.provenance.sandbox and naive.provenance.task_sha256 == spec.sha256
    assert naive.provenance.weak_labels_sha256 == weak.sha256
    assert logconf.provenance.method_config["schedule"] == "paper"
    assert naive.compute.train_flops > 0
    rows = {r["quantity"]: r for r in done.rows}
    assert rows["sciq accuracy tiny-qwen2"]["ours"] == pytest.approx(
        naive.metrics.ceiling_accuracy)
    assert rows["sciq accuracy tiny-gpt2"]["ours"] == pytest.approx(naive.metrics.weak_accuracy)

    # a rerun finds the task frozen and every record current: nothing trains
    stamp = record_path(results, "burns2023", TASK, "naive", 0).stat().st_mtime_ns
    again = reproduce(study, opts, results, say=_silent)
    assert again.frozen == [] and again.recorded == 2 and not again.failed
    assert record_path(results, "burns2023", TASK, "naive", 0).stat().st_mtime_ns == stamp
    assert spec.resources.gpus == 1 and SUITES.get("burns2023").limits.timeout_s >= 1800

    # a task file written with other resources (an older recipe of them) gets the study's
    # again; resources are not in its hash, so nothing is frozen or run again
    path = tiny_world.root / "tasks" / f"{TASK}.yaml"
    path.write_text(path.read_text().replace("gpus: 1", "gpus: 0"))
    TASKS.reset()
    assert TASKS.get(TASK).resources.gpus == 0
    again = reproduce(study, opts, results, say=_silent)
    assert TASKS.get(TASK).resources.gpus == 1 and again.frozen == [] and again.recorded == 2

    # the released code's schedule: the same tasks (nothing refreezes), the loss a variant
    openai = RunOptions.from_study(study, mirror=mirror, logconf_schedule="openai")
    variant = reproduce(study, openai, results, say=_silent)
    assert variant.suite == "burns2023" and variant.frozen == [] and not variant.failed
    record = read_record(record_path(results, "burns2023", TASK, "logconf-openai-schedule", 0))
    assert record.status == "ok" and record.provenance.method_config["schedule"] == "openai"
    assert record.method_info.summary.startswith("A variant of logconf")
    assert record.provenance.weak_labels_sha256 == weak.sha256


def test_the_pairs_of_a_dataset_share_each_rungs_training(study, tmp_path) -> None:
    """Three rungs, three pairs: each rung trains once on A (where it supervises) and once
    on B (where it is a student), four finetunes instead of six, and pairs with one weak
    rung freeze the same weak labels (one split draw, one training)."""
    from benchmark.labels.frozen import load_weak_labels
    from benchmark.library.reproduce import reproduce
    from benchmark.tasks.spec import TASKS
    from tests.tiny_lms import build_tiny_lm

    study, mirror = study
    third = LadderRung(name="tiny-gpt2-wide", family="tiny", params=24_000, layers=1,
                       hidden=24, lr=1e-3, eval_batch_size=16, max_ctx=64,
                       hub_id=str(build_tiny_lm(tmp_path / "wide", "gpt2", layers=1, width=24)),
                       recipe_source="test", description="tiny-gpt2-wide (test)")
    register_rung(third)
    try:
        study["ladder"] = [study["ladder"][0], "tiny-gpt2-wide", study["ladder"][1]]
        study["ground_truth_accuracy"] = {"sciq": [0.6, 0.65, 0.7]}
        study["recipe"]["losses"] = ["xent"]
        done = reproduce(study, RunOptions.from_study(study, mirror=mirror), tmp_path,
                         say=_silent)
        assert len(done.frozen) == 3 and not done.failed and done.finetunes == 4
        one, two = (load_weak_labels(TASKS.get(f"burns2023-sciq-tiny-gpt2-to-{s}"), 0)
                    for s in ("tiny-gpt2-wide", "tiny-qwen2"))
        assert one.ids_A == two.ids_A and one.sha256 == two.sha256
    finally:
        unregister_rung("tiny-gpt2-wide")


def test_an_unpinned_rung_is_refused_with_the_pin_command(study, tmp_path) -> None:
    from benchmark.library.reproduce import reproduce

    study, mirror = study
    register_rung(LadderRung(name="unpinned-lm", family="tiny", hub_id="org/unpinned-lm",
                             params=10, layers=1, hidden=8, lr=1e-3, eval_batch_size=2,
                             recipe_source="test", description="unpinned"))
    try:
        study["ladder"] = [study["ladder"][0], "unpinned-lm"]
        study["ground_truth_accuracy"] = {"sciq": [0.6, 0.7]}
        done = reproduce(study, RunOptions.from_study(study, mirror=mirror), tmp_path,
                         say=_silent)
        (what, why), = done.failed
        assert what.startswith("freeze ") and "w2s-bench pin unpinned-lm" in why
        assert done.recorded == 0
    finally:
        unregister_rung("unpinned-lm")


REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture()
def fake_hub(tmp_path, monkeypatch):
    """``HfApi`` uploads into a local hub cache at REVISION; downloads are served offline
    from that cache, exactly as ``HF_HUB_OFFLINE=1`` serves a cached snapshot."""
    import huggingface_hub.constants as hub_constants

    cache = tmp_path / "hub"

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, *args, **kwargs):
            pass

        def upload_folder(self, folder_path, path_in_repo, repo_id, **kwargs):
            snapshot = (cache / f"datasets--{repo_id.replace('/', '--')}" / "snapshots"
                        / REVISION / path_in_repo)
            shutil.copytree(folder_path, snapshot, ignore=shutil.ignore_patterns("hub.json"))
            return type("Commit", (), {"oid": REVISION})()

    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_a_shared_frozen_set_is_pulled_and_trained_on_instead_of_freezing(
        study, fake_hub, tmp_path, tiny_world) -> None:
    from benchmark.core.errors import IntegrityError
    from benchmark.labels.frozen import task_frozen_dir
    from benchmark.library.reproduce import reproduce
    from benchmark.results.records import read_record, record_path

    study, mirror = study
    opts = RunOptions.from_study(study, mirror=mirror)
    first = reproduce(study, opts, tmp_path / "first", push="lab/w2s-labels", say=_silent)
    assert first.frozen == [TASK] and not first.failed
    folder = task_frozen_dir(TASK)
    pushed = read_record(record_path(tmp_path / "first", "burns2023", TASK, "naive", 0))

    # another machine: only the pin is committed; pull, then run on the pushed labels
    for path in folder.iterdir():
        if path.name != "hub.json":
            path.unlink()
    second = reproduce(study, opts, tmp_path / "second", pull=True, say=_silent)
    assert second.frozen == [] and second.recorded == 2 and not second.failed
    pulled = read_record(record_path(tmp_path / "second", "burns2023", TASK, "naive", 0))
    assert pulled.provenance.weak_labels_sha256 == pushed.provenance.weak_labels_sha256

    # a tampered cache is refused before anything is installed
    cached = next(fake_hub.rglob("replicate-0.csv.gz"))
    cached.write_bytes(cached.read_bytes() + b"x")
    with pytest.raises(IntegrityError, match="nothing was installed"):
        reproduce(study, opts, tmp_path / "third", pull=True, say=_silent)
