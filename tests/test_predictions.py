"""Per-example predictions: stored with every record, hashed, rescored exactly; diagnostics
from them on hand-made examples; ceiling predictions added to an old freeze without
touching its weak labels."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from benchmark.core.diagnostics import diagnostics
from benchmark.results.records import load_predictions, read_record
from benchmark.run.harness import Harness, RunSpec
from tests.conftest import TINY_SUITE, TINY_TASK


def probs(p1: list[float]) -> np.ndarray:
    return np.array([[1 - p, p] for p in p1])


def test_diagnostics_on_hand_made_predictions() -> None:
    gold = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    weak = probs([.9, .8, .3, .4, .2, .6, .1, .7])      # right, right, wrong, wrong, right,
    #                                                     wrong, right, wrong
    ceiling = probs([.9, .3, .8, .9, .1, .2, .9, .8])   # right, wrong, right, right, right,
    #                                                     right, wrong, wrong
    student = probs([.6, .7, .9, .2, .4, .7, .3, .4])   # right, right, right, wrong, right,
    #                                                     wrong, right, right
    d = diagnostics(student, weak, gold, ceiling)
    # argmax agreement on 0, 1, 3, 4, 5, 6: 6 of 8
    assert d["agreement"] == pytest.approx(6 / 8)
    # weak wrong on 2, 3, 5, 7: the student fixes 2 and 7; weak right on 0, 1, 4, 6: all kept
    assert (d["fixed"], d["kept"]) == (pytest.approx(0.5), pytest.approx(1.0))
    assert d["copied"] == pytest.approx(0.5)  # 3 and 5: the weak model's own mistakes
    # squared distance on probability vectors (both classes): 2·(Δp1)², averaged
    assert d["misfit"] == pytest.approx(2 * np.mean(np.square(
        [.3, .1, .6, .2, .2, .1, .2, .3])))
    assert d["weak_error"] == pytest.approx(2 * np.mean(np.square(
        [.1, .2, .7, .6, .2, .6, .1, .7])))
    assert d["gain"] == pytest.approx(d["weak_error"] - d["student_error"])
    regions = d["regions"]
    # SK = ceiling right: 0, 2, 3, 4, 5; WK = weak right: 0, 1, 4, 6
    assert {k: v["share"] for k, v in regions.items()} == {
        "sk_wk": 2 / 8, "sk_wu": 3 / 8, "su_wk": 2 / 8, "su_wu": 1 / 8}
    assert regions["sk_wk"]["student_accuracy"] == 1.0          # 0, 4
    assert regions["sk_wu"]["student_accuracy"] == pytest.approx(1 / 3)   # 2 right; 3, 5 not
    assert regions["su_wk"]["student_accuracy"] == 1.0          # 1, 6
    assert regions["su_wu"]["student_accuracy"] == 1.0          # 7
    # deception: errors on SK ∩ WU (3 and 5) over its 3 examples; all SK errors are there
    assert d["deception_error"] == pytest.approx(2 / 3)
    assert d["deception_share"] == 1.0
    # without a ceiling there are no regions, and empty conditions give None, not a number
    plain = diagnostics(weak, weak, gold)
    assert "regions" not in plain and plain["agreement"] == 1.0 and plain["misfit"] == 0.0
    assert diagnostics(probs([.9]), probs([.8]), np.array([1]))["fixed"] is None


def test_gain_is_at_least_misfit_for_a_projection() -> None:
    """Charikar et al.'s inequality on a case that meets its assumptions: the student is the
    projection of the weak predictions onto a convex set containing the target."""
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 200)
    truth = np.eye(2)[gold]
    weak = np.clip(truth + rng.normal(0, 0.4, (200, 1)) * [1, -1], 0, 1)
    # convex class: mixtures of the target and the uniform prediction; project weak onto it
    uniform = np.full_like(truth, 0.5)
    direction = truth - uniform
    t = np.clip(((weak - uniform) * direction).sum() / (direction ** 2).sum(), 0, 1)
    student = uniform + t * direction
    d = diagnostics(student, weak, gold)
    assert d["gain"] >= d["misfit"] - 1e-12


def _sweep(results, tiny_task, methods=("naive",)):
    runs = [RunSpec(TINY_SUITE, TINY_TASK, m, k) for m in methods for k in range(2)]
    return Harness(results, workers=1, progress=False).run(runs, {TINY_TASK: tiny_task})


def test_records_store_predictions_that_rescore_exactly(tiny_world, tiny_task, tmp_path,
                                                        capsys) -> None:
    from benchmark.cli.main import main
    from benchmark.labels.frozen import load_weak_labels
    from benchmark.run.rescore import rescore

    results = tmp_path / "results"
    assert _sweep(results, tiny_task).done == 2
    path = results / TINY_SUITE / TINY_TASK / "naive" / "replicate-0.json"
    record = read_record(path)
    stored = load_predictions(path, record)
    n_test = len(load_weak_labels(tiny_task, 0).ids_test)
    assert stored.dtype == np.float16 and stored.shape == (n_test, 2)
    assert record.predictions.file == \
        f"replicate-0.{record.predictions.sha256[:16]}.predictions.npy"
    # the record's numbers are those of the stored float16 predictions
    assert record.metrics.accuracy == pytest.approx(
        float((stored.argmax(1) == _gold(tiny_task, 0)).mean()), abs=0)
    assert record.diagnostics.regions is not None  # the tiny task froze its ceilings
    report = rescore(results)
    assert (report.checked, report.agreed, report.ok) == (2, 2, True)
    assert main(["rescore", "--results-dir", str(results)]) == 0
    assert "OK: 2 of 2 record(s) reproduced exactly" in capsys.readouterr().out

    # an edited number disagrees, field by field
    data = json.loads(path.read_text())
    data["metrics"]["accuracy"] = min(1.0, data["metrics"]["accuracy"] + 0.01)
    path.write_text(json.dumps(data))
    report = rescore(results)
    assert not report.ok and [p.kind for p in report.problems] == ["disagrees"]
    assert "metrics.accuracy: recorded" in report.problems[0].detail

    # a tampered predictions file is refused, naming both hashes
    _sweep(results, tiny_task)  # the edited record is current: restore it by hand
    data["metrics"]["accuracy"] = record.metrics.accuracy
    path.write_text(json.dumps(data))
    sidecar = path.parent / record.predictions.file
    flipped = stored.copy()
    flipped[0] = flipped[0, ::-1]
    np.save(sidecar, flipped)
    report = rescore(results)
    refused = [p for p in report.problems if p.kind == "refused"]
    assert len(refused) == 1 and record.predictions.sha256 in refused[0].detail
    from benchmark.core.storage import sha256_file

    assert sha256_file(sidecar) in refused[0].detail
    assert main(["rescore", "--results-dir", str(results)]) == 1
    assert "refused:" in capsys.readouterr().out

    # a record whose predictions file is gone is rerun (stale), and the rerun restores it
    sidecar.unlink()
    again = _sweep(results, tiny_task)
    assert (again.done, again.skipped) == (1, 1) and rescore(results).ok


def _gold(spec, replicate: int) -> np.ndarray:
    from benchmark.labels.frozen import load_weak_labels
    from benchmark.tasks.splits import example_pool

    pool = example_pool(spec)
    return pool.labels[np.asarray(pool.rows(load_weak_labels(spec, replicate).ids_test))]


def test_a_record_without_predictions_is_rerun(tiny_world, tiny_task, tmp_path) -> None:
    results = tmp_path / "results"
    _sweep(results, tiny_task)
    path = results / TINY_SUITE / TINY_TASK / "naive" / "replicate-1.json"
    data = json.loads(path.read_text())
    del data["predictions"], data["diagnostics"]  # as written before they were kept
    path.write_text(json.dumps(data))
    assert read_record(path).predictions is None  # still a valid, readable record
    summary = _sweep(results, tiny_task)
    assert (summary.done, summary.skipped) == (1, 1)
    assert read_record(path).predictions is not None


def test_add_ceilings_leaves_the_weak_labels_alone(tiny_world, tiny_task, tmp_path,
                                                    monkeypatch) -> None:
    from benchmark.core.errors import IntegrityError
    from benchmark.labels import freeze
    from benchmark.labels.frozen import ceiling_file, has_ceilings, load_ceiling, load_lock

    frozen = tiny_world.frozen
    backup = tmp_path / "frozen"
    shutil.copytree(frozen, backup)
    try:
        before = json.loads((frozen / "lock.json").read_text())
        ceilings = {k: v for k, v in before["files"].items() if k.startswith("ceiling-")}
        assert sorted(ceilings) == [ceiling_file(k) for k in range(tiny_task.replicates)]
        # an old freeze: no ceiling files in the folder or the lock
        old = {**before, "files": {k: v for k, v in before["files"].items()
                                   if k not in ceilings}}
        (frozen / "lock.json").write_text(json.dumps(old))
        for name in ceilings:
            (frozen / name).unlink()
        assert not has_ceilings(tiny_task) and load_ceiling(tiny_task, 0) is None

        lock = freeze.freeze_ceilings(tiny_task, progress=False)
        after = json.loads((frozen / "lock.json").read_text())
        assert after == before  # the same ceilings, and every other hash and field as it was
        assert lock.files == load_lock(tiny_task).files and has_ceilings(tiny_task)

        # a machine that does not reproduce the frozen ceiling is refused, not believed
        real = freeze.ceiling_predictions
        monkeypatch.setattr(freeze, "ceiling_predictions",
                            lambda *a, **k: real(*a, **k)[:, ::-1].copy())
        with pytest.raises(IntegrityError, match="does not reproduce the freeze"):
            freeze.freeze_ceilings(tiny_task, progress=False)
        assert json.loads((frozen / "lock.json").read_text()) == before
    finally:
        shutil.rmtree(frozen)
        shutil.copytree(backup, frozen)
