"""EnsemW2S's boosted supervisors: AdaBoost's rounds on worked examples with known answers, the
out-of-fold error that a memorising supervisor cannot fool, and the frozen files a method
receives (B rows only, locked, in its record's provenance)."""

from __future__ import annotations

import math

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


def test_the_method_gets_the_boosted_labels_on_B_and_its_record_names_them(
        ensemble_world, tmp_path):  # noqa: F811
    from benchmark.core.errors import IntegrityError
    from benchmark.labels.boosting import (
        BOOSTING,
        boosted_file,
        load_boosted,
        load_boosting,
    )
    from benchmark.labels.frozen import load_lock, load_weak_labels, task_frozen_dir
    from benchmark.results.records import iter_records
    from benchmark.run.harness import Harness, RunSpec
    from benchmark.run.inputs import TaskContexts, build_input

    with ensemble_world.frozen_task("tiny-ensemble", ensemble_yaml("tiny-ensemble")) as spec:
        lock = load_lock(spec)
        assert BOOSTING in lock.files and boosted_file(1) in lock.files
        info = load_boosting(spec).replicates[0]
        assert info.members[0] in spec.supervisor_names and len(info.alphas) >= 1
        assert set(info.in_sample_errors) == set(spec.supervisor_names)
        # round one is the plain fit: its labels on B are that supervisor's frozen ones
        weak = load_weak_labels(spec, 0)
        inp, _ = build_input(TaskContexts().get(spec), 0, tmp_path / "scratch")
        assert inp.boosted is not None and inp.boosted.probs.shape[1] == len(weak.ids_B)
        np.testing.assert_array_equal(inp.boosted.probs[0], weak.supervisors[info.members[0]])
        assert inp.boosted.alphas == tuple(info.alphas)

        results = tmp_path / "results"
        summary = Harness(results, workers=1, progress=False).run(
            [RunSpec("s", spec.id, "ensemw2s-crossfit", 0)], {spec.id: spec})
        assert summary.done == 1 and not summary.failed
        record = next(iter_records(results))
        assert record.provenance.boosting_sha256 == lock.files[boosted_file(0)]

        path = task_frozen_dir(spec.id) / boosted_file(0)
        path.write_bytes(path.read_bytes()[:-4] + b"\0\0\0\1")   # tampered after the lock
        with pytest.raises(IntegrityError):
            load_boosted(spec, 0, len(weak.ids_B))


def test_ensemw2s_is_skipped_where_nothing_is_boosted(tiny_task):
    from benchmark.methods.applicable import skip_reason
    from benchmark.methods.catalog import METHODS

    reason = skip_reason(METHODS.get("ensemw2s-crossfit"), tiny_task)
    assert reason is not None and "boosted" in reason
