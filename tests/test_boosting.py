"""EnsemW2S's boosted supervisors: AdaBoost's rounds on worked examples with known answers, the
out-of-fold error that a memorising supervisor cannot fool, and the frozen files a method
receives (B rows only, locked, in its record's provenance)."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from benchmark.labels.boosting import adaboost_alpha, alpha_vote, boost, boosting_folds
from tests.test_beyond_ensemble import ensemble_world, ensemble_yaml  # noqa: F401

N = 100
GOLD = np.array([i % 2 for i in range(N)])


def fixed_members(wrong: dict[str, range]):
    """Supervisors that ignore their training (and weights): one-hot on the gold class,
    except on their own ``wrong`` rows."""
    def fit(member, rows, targets, weights):
        def predict(at):
            labels = GOLD[at].copy()
            bad = np.isin(at, list(wrong[member]))
            labels[bad] = 1 - labels[bad]
            return np.eye(2)[labels]
        return predict
    return fit


def test_alpha_is_adaboosts_with_sammes_term_for_more_classes():
    assert adaboost_alpha(0.25, 2) == pytest.approx(0.5 * math.log(3))
    assert adaboost_alpha(0.25, 3) == pytest.approx(0.5 * (math.log(3) + math.log(2)))
    assert adaboost_alpha(0.5, 2) == pytest.approx(0.0)
    assert adaboost_alpha(0.0, 2) == pytest.approx(0.5 * math.log((1 - 1e-10) / 1e-10))


def test_rounds_follow_adaboosts_reweighting_on_a_worked_example():
    """Three supervisors, each wrong on its own fifth: round one takes the first of the tied
    (ε = .2, α = ½ ln 4); its mistakes now hold half the weight, so round two's best is
    ε = .125 (α = ½ ln 7) and round three's 1/14 (α = ½ ln 13). Every row is wrong for one
    supervisor at most, so the α-weighted vote is right everywhere."""
    fit = fixed_members({"a": range(0, 20), "b": range(20, 40), "c": range(40, 60)})
    rows = np.arange(N)
    kept = boost(["a", "b", "c"], fit, rows, GOLD, 2, folds=None)
    assert [r.member for r in kept] == ["a", "b", "c"]
    np.testing.assert_allclose([r.error for r in kept], [0.2, 0.125, 1 / 14])
    np.testing.assert_allclose([r.alpha for r in kept],
                               [0.5 * math.log(4), 0.5 * math.log(7), 0.5 * math.log(13)])
    vote = alpha_vote(np.stack([r.predict(rows) for r in kept]), [r.alpha for r in kept])
    assert (vote.argmax(axis=1) == GOLD).all()


def test_a_memorising_supervisor_ends_in_sample_boosting_but_not_the_out_of_fold_one():
    """A supervisor that recalls its training rows and says class 0 elsewhere has in-sample
    error 0: AdaBoost stops with it alone. Out of fold its error is one half, so the honest
    supervisor (wrong on a fifth) is chosen instead."""
    def fit(member, rows, targets, weights):
        seen = dict(zip(rows.tolist(), targets.tolist(), strict=True))
        if member == "memo":
            return lambda at: np.eye(2)[[seen.get(i, 0) for i in at.tolist()]]
        return fixed_members({"honest": range(0, 20)})(member, rows, targets, weights)

    rows = np.arange(N)
    in_sample = boost(["honest", "memo"], fit, rows, GOLD, 2, folds=None)
    assert [r.member for r in in_sample] == ["memo"] and in_sample[0].error == 0.0
    crossfit = boost(["honest", "memo"], fit, rows, GOLD, 2, folds=boosting_folds(N, 0))
    assert crossfit[0].member == "honest"
    assert crossfit[0].error == pytest.approx(0.2)


def test_boosting_refuses_supervisors_no_better_than_chance():
    from benchmark.core.errors import SpecError

    fit = fixed_members({"coin": range(0, 50), "worse": range(0, 60)})
    with pytest.raises(SpecError, match="no supervisor beats chance"):
        boost(["coin", "worse"], fit, np.arange(N), GOLD, 2, folds=None)


def test_only_a_method_that_declares_it_gets_the_boosted_labels_and_only_on_B(
        ensemble_world, tmp_path):  # noqa: F811
    from benchmark.labels.boosting import BOOSTING, boosted_file, load_boosting
    from benchmark.labels.frozen import load_lock, load_weak_labels
    from benchmark.run.harness import Harness, RunSpec

    with ensemble_world.frozen_task("tiny-ensemble", ensemble_yaml("tiny-ensemble")) as spec:
        lock = load_lock(spec)
        assert BOOSTING in lock.files and boosted_file(1) in lock.files
        harness = Harness(tmp_path / "results", workers=1, progress=False)
        naive, _ = harness.prepare(RunSpec("s", spec.id, "naive", 0), {spec.id: spec})
        assert naive.boosted_probs is None            # undeclared: nothing of the boosting
        for k in range(spec.replicates):
            inp, weak = harness.prepare(RunSpec("s", spec.id, "ensemw2s-crossfit", k),
                                        {spec.id: spec})
            assert inp.boosted_probs.shape == (len(weak.ids_B), 2)   # B rows, nothing else
            assert weak.boosted_sha256 == lock.files[boosted_file(k)]
            info = load_boosting(spec).replicates[k]
            assert set(info.in_sample_errors) == set(spec.supervisor_names)
            if len(info.members) == 1:   # one round: the plain fit, the frozen supervisor
                np.testing.assert_array_equal(
                    inp.boosted_probs, load_weak_labels(spec, k).supervisors[info.members[0]])


def test_boosting_again_gives_the_same_bytes_and_a_changed_file_reruns_the_method(
        ensemble_world, tmp_path):  # noqa: F811
    from benchmark.core.errors import IntegrityError
    from benchmark.labels.boosting import BOOSTING_FILES, boosted_file, boosting_files
    from benchmark.labels.fitting import supervisor_features, weighted_fit
    from benchmark.labels.frozen import add_files, load_lock, replicate_file, task_frozen_dir
    from benchmark.results.records import iter_records
    from benchmark.run.harness import Harness, RunSpec
    from benchmark.run.state import record_state
    from benchmark.tasks.splits import example_pool

    with ensemble_world.frozen_task("tiny-ensemble", ensemble_yaml("tiny-ensemble")) as spec:
        pool = example_pool(spec)
        fit = weighted_fit(spec, pool, supervisor_features(spec, pool, False))
        before = load_lock(spec).files
        again = boosting_files(spec, pool, fit)
        for name, data in again.items():   # same seed, same machine: the same bytes
            if name.endswith(".npy"):
                assert (task_frozen_dir(spec.id) / name).read_bytes() == data

        results = tmp_path / "results"
        run = RunSpec("s", spec.id, "ensemw2s-crossfit", 0)
        summary = Harness(results, workers=1, progress=False).run([run], {spec.id: spec})
        assert summary.done == 1 and not summary.failed
        record = next(iter_records(results))
        assert record.provenance.boosting_sha256 == before[boosted_file(0)]
        path = results / "s" / spec.id / "ensemw2s-crossfit" / "replicate-0.json"
        assert record_state(path, spec, run)[0] == "done"

        changed = (task_frozen_dir(spec.id) / boosted_file(0)).read_bytes()[:-4] + b"\0" * 4
        add_files(spec, {boosted_file(0): changed}, replace=BOOSTING_FILES)
        after = load_lock(spec).files
        assert {n: d for n, d in after.items() if n != boosted_file(0)} == \
            {n: d for n, d in before.items() if n != boosted_file(0)}
        assert record_state(path, spec, run)[0] == "stale"
        with pytest.raises(IntegrityError, match="already locked"):
            add_files(spec, {replicate_file(0): b"x"}, replace=BOOSTING_FILES)


def test_a_machine_that_does_not_reproduce_the_supervisors_cannot_add_boosting(
        ensemble_world):  # noqa: F811
    from benchmark.core.errors import IntegrityError
    from benchmark.labels.boosting import add_boosting
    from benchmark.labels.fitting import supervisor_features, weighted_fit
    from benchmark.tasks.splits import example_pool

    with ensemble_world.frozen_task("tiny-ensemble", ensemble_yaml("tiny-ensemble")) as spec:
        pool = example_pool(spec)
        fit = weighted_fit(spec, pool, supervisor_features(spec, pool, False))

        def drifted(seed):   # another machine: the same fit, one part in a million off
            plain = fit(seed)
            return lambda *a: (lambda rows: plain(*a)(rows) * (1 + 1e-6))

        with pytest.raises(IntegrityError, match="does not reproduce the freeze"):
            add_boosting(spec, pool, drifted)


def test_a_failed_boosting_leaves_the_task_unfrozen(ensemble_world, monkeypatch):  # noqa: F811
    from benchmark.core.errors import SpecError
    from benchmark.labels import freeze
    from benchmark.labels.frozen import is_frozen

    def refuse(*args):
        raise SpecError("boosting: no supervisor beats chance on split A")

    from benchmark.tasks.spec import TASKS

    monkeypatch.setattr(freeze, "add_boosting", refuse)
    path = ensemble_world.root / "tasks" / "tiny-ensemble.yaml"
    path.write_text(ensemble_yaml("tiny-ensemble"))
    TASKS.reset()
    try:
        with pytest.raises(SpecError, match="beats chance"):
            freeze.freeze_task(TASKS.get("tiny-ensemble"), force=True, progress=False,
                               legacy=True)
        assert not is_frozen("tiny-ensemble")   # the next freeze is not skipped
    finally:
        path.unlink()
        shutil.rmtree(ensemble_world.root / "tasks" / "frozen" / "tiny-ensemble",
                      ignore_errors=True)
        TASKS.reset()


def test_weights_move_both_kinds_of_supervisor_fit():
    """Upweighting class-1 rows tenfold raises the mean class-1 probability of the probe and
    of the logistic regression, so neither ignores its weights."""
    from benchmark.labels.supervisors import fit_probe_supervisor, fit_weak_supervisor
    from benchmark.tasks.supervisors import ProbeRecipe

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    features = rng.normal(size=(400, 8)) + 0.3 * labels[:, None]
    rows = np.arange(400)
    weights = np.where(labels == 1, 10.0, 1.0)
    weights *= len(weights) / weights.sum()
    recipe = ProbeRecipe(epochs=5, batch_size=64, lr=0.01, weight_decay=0.0)
    for fit in (lambda w: fit_probe_supervisor(features, rows, labels, recipe, 0, weights=w),
                lambda w: fit_weak_supervisor("minilm-l6-layer1", rows, labels, 1.0, [],
                                              features, 0, weights=w)):
        plain, weighted = fit(None)(rows)[:, 1].mean(), fit(weights)(rows)[:, 1].mean()
        assert weighted > plain + 0.05


def test_ensemw2s_is_skipped_where_nothing_is_boosted(tiny_task, ensemble_world):  # noqa: F811
    from benchmark.core.storage import atomic_write_json
    from benchmark.labels.boosting import BOOSTING_FILES
    from benchmark.labels.frozen import LOCK, load_lock, task_frozen_dir
    from benchmark.methods.applicable import skip_reason
    from benchmark.methods.catalog import METHODS

    method = METHODS.get("ensemw2s-crossfit")
    assert "no ensemble" in skip_reason(method, tiny_task)
    with ensemble_world.frozen_task("tiny-ensemble", ensemble_yaml("tiny-ensemble")) as spec:
        assert skip_reason(method, spec) is None
        lock = load_lock(spec)   # as frozen before boosting existed
        files = {n: d for n, d in lock.files.items() if not BOOSTING_FILES.fullmatch(n)}
        atomic_write_json(task_frozen_dir(spec.id) / LOCK,
                          lock.model_copy(update={"files": files}).model_dump(mode="json"))
        assert "--add-boosting" in skip_reason(method, spec)


def test_add_boosting_from_the_command_line(ensemble_world, capsys):  # noqa: F811
    from benchmark.cli.main import main
    from benchmark.labels.boosting import BOOSTING
    from benchmark.labels.frozen import load_lock
    from tests.conftest import TINY_TASK

    assert main(["freeze", "--add-boosting", TINY_TASK, "--no-progress"]) == 2
    assert "no supervisors to boost" in capsys.readouterr().err
    with ensemble_world.frozen_task("tiny-ensemble", ensemble_yaml("tiny-ensemble")) as spec:
        before = load_lock(spec).files
        assert main(["freeze", "--add-boosting", spec.id, "--no-progress"]) == 0
        assert "already" in capsys.readouterr().out
        assert main(["freeze", "--add-boosting", "--force", spec.id, "--no-progress"]) == 0
        assert "added boosted supervisors" in capsys.readouterr().out
        assert load_lock(spec).files == before   # boosted again here: the same bytes
        assert BOOSTING in before
        assert main(["freeze", "--add-boosting", "--add-ceilings", spec.id]) == 2
        assert "one at a time" in capsys.readouterr().err
        assert main(["freeze", "--rebuild-locked", "--force", spec.id]) == 2
        assert "one at a time" in capsys.readouterr().err
    from benchmark.tasks.spec import TASKS

    path = ensemble_world.root / "tasks" / "tiny-unfrozen.yaml"
    path.write_text(ensemble_yaml("tiny-unfrozen"))
    TASKS.reset()
    try:
        assert main(["freeze", "--add-boosting", "tiny-unfrozen", "--no-progress"]) == 2
        assert "is not frozen" in capsys.readouterr().err
    finally:
        path.unlink()
        TASKS.reset()


def test_a_malformed_boosted_file_is_refused_and_weights_reach_the_task_fit(
        ensemble_world):  # noqa: F811
    from benchmark.core.arrays import npy_bytes
    from benchmark.core.errors import IntegrityError
    from benchmark.labels.boosting import BOOSTING_FILES, boosted_file, load_boosted
    from benchmark.labels.fitting import supervisor_features, weighted_fit
    from benchmark.labels.frozen import add_files, load_weak_labels
    from benchmark.tasks.splits import example_pool

    with ensemble_world.frozen_task("tiny-ensemble", ensemble_yaml("tiny-ensemble")) as spec:
        weak = load_weak_labels(spec, 0)
        pool = example_pool(spec)
        rows = np.asarray(pool.rows(weak.ids_A))
        gold = pool.labels[rows]
        fit = weighted_fit(spec, pool, supervisor_features(spec, pool, False))(0)
        up = np.where(gold == 1, 10.0, 1.0)
        up *= len(up) / up.sum()
        for member in spec.supervisor_names:   # through the task's own fit, weights count
            plain = fit(member, rows, gold, None)(rows)[:, 1].mean()
            assert fit(member, rows, gold, up)(rows)[:, 1].mean() > plain + 0.02

        wrong = np.full((3, len(weak.ids_B), 2), 0.5, np.float32)   # the earlier 3-D format
        add_files(spec, {boosted_file(0): npy_bytes(wrong)}, replace=BOOSTING_FILES)
        with pytest.raises(IntegrityError, match="not probabilities"):
            load_boosted(spec, 0, len(weak.ids_B))
