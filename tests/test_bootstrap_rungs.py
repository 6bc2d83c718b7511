"""``bootstrap``: the paper's chain through intermediate models, chosen by measured strength
from frozen references, handed to the method as features of split B, skipped where none is."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from benchmark.labels.rungs import MARGIN, intermediate_rungs, measured_strength
from benchmark.methods.applicable import skip_reason
from benchmark.methods.catalog import METHODS, build_method
from benchmark.models.ladder import MODELS
from benchmark.tasks.spec import TASKS
from benchmark.tasks.suites import suite_tasks
from tests.test_baselines import RecordingInput


def test_the_chain_goes_through_each_rung_in_order_with_out_of_fold_labels():
    from baselines.bootstrap import fold_ids

    n = 8
    # feature value = 1000·rung + row: each probe call shows which rung and rows it saw
    rungs = {name: (1000.0 * k + np.arange(n)[:, None] + np.zeros((n, 2))).astype(np.float32)
             for k, name in ((1, "small"), (2, "medium"))}
    student = (3000.0 + np.arange(n)[:, None] + np.zeros((n, 2))).astype(np.float32)
    inp = RecordingInput(n, {6: student}, np.tile([0.3, 0.7], (n, 1)).astype(np.float32))
    inp.rung_features, inp.task = rungs, "t"
    build_method("bootstrap").fit_predict(inp)
    folds = fold_ids(n, 2, 0)
    trained_on = [np.flatnonzero(folds != f).tolist() for f in (0, 1)]
    seen = [(int(c[0][0, 0] // 1000), (c[0][:, 0] % 1000).astype(int).tolist(), c[1][:, 1])
            for c in inp.calls]
    assert [(rung, rows) for rung, rows, _ in seen] == [
        (1, trained_on[0]), (1, trained_on[1]), (2, trained_on[0]), (2, trained_on[1]),
        (3, list(range(n)))]
    assert np.allclose(seen[0][2], 0.7)                       # the weak labels start it
    small = np.where(folds == 0, 0.1, 0.2)                     # its out-of-fold outputs
    assert np.allclose(seen[2][2], small[folds != 0])
    assert np.allclose(seen[4][2], np.where(folds == 0, 0.3, 0.4))   # the student: medium's


def test_a_cleaner_intermediate_model_passes_on_cleaner_labels(tmp_path):
    """Planted: the weak labels are wrong on 35% of split B at random; the intermediate
    model's features separate the classes. Its out-of-fold labels are mostly right, so the
    student trained on them beats the student trained on the weak labels."""
    from tests.test_baselines import blobs, make_input

    n, m = 600, 400
    x, y = blobs(n + m, dim=6, shift=0.6, seed=3)           # the student: weakly separated
    clean, _ = blobs(n + m, dim=6, shift=4.0, seed=3)        # the rung: well separated
    clean = clean[:, ::-1].copy()                            # same rows, its own view
    flip = np.random.default_rng(4).random(n) < 0.35
    weak1 = np.where(flip, 1 - y[:n], y[:n]) * 0.8 + 0.1
    inp = replace(make_input(x[:n], weak1, x[n:], tmp_path, epochs=30),
                  rung_features={"clean": clean[:n]})
    naive = build_method("naive").fit_predict(inp)
    chained = build_method("bootstrap").fit_predict(inp)
    acc = {name: float(np.mean(p.argmax(1) == y[n:])) for name, p in
           (("naive", naive), ("bootstrap", chained))}
    assert acc["bootstrap"] > acc["naive"] + 0.02, acc


def test_without_a_rung_the_method_refuses_rather_than_running_as_naive(tmp_path):
    from tests.test_baselines import blobs, make_input

    x, _ = blobs(60, dim=4)
    inp = make_input(x[:40], np.full(40, 0.7), x[40:], tmp_path)
    with pytest.raises(ValueError, match="no intermediate model"):
        build_method("bootstrap").fit_predict(inp)


def test_rungs_are_separate_networks_measured_between_supervisor_and_student():
    for dataset in ("rotten_tomatoes", "tweet_sentiment"):
        measured = measured_strength(dataset)
        assert measured is not None and measured.budget == 1000
        assert {"minilm-l6", "paraphrase-minilm-l3", "tfidf-logreg"} <= set(measured.strength)
    seen_any = False
    for spec in suite_tasks("mini") + suite_tasks("mini-large") + suite_tasks("ladder"):
        chain = intermediate_rungs(spec)
        strength = measured_strength(spec.dataset.name).strength   # type: ignore[union-attr]
        encoders = [MODELS.get(name).encoder for name in chain]
        supervisors = {MODELS.get(m).encoder for m in (spec.weak_model, spec.strong_model,
                                                       *spec.supervisor_names)}
        assert len(set(encoders)) == len(encoders) and not supervisors & set(encoders), spec.id
        steps = [strength.get(spec.weak_model)] + [strength[n] for n in chain] + \
            [strength[spec.strong_model]]
        known = [s for s in steps if s is not None]
        if chain:   # each link clearly stronger than the one before
            assert all(b - a >= MARGIN for a, b in zip(known[:-1], known[1:], strict=True))
        seen_any |= bool(chain)
    assert seen_any
    # rt: paraphrase-MiniLM-L3 (.716 at 1,000 gold) sits between tf-idf (.678) and
    # MiniLM-L6 (.740); above MiniLM-L6's layer 1 (.720) there is only MiniLM-L6's own encoder
    assert intermediate_rungs(TASKS.get("rt-tfidf-logreg-to-minilm-l6-g1000")) == \
        ("paraphrase-minilm-l3",)
    assert intermediate_rungs(TASKS.get("rt-minilm-l6-layer1-to-minilm-l6-g1000")) == ()


def test_a_task_at_another_gold_budget_gets_no_chain():
    """The rungs were measured at 1,000 gold labels each: at 250 or 2,000 the order may
    differ (tweets' layer 1 scores .733 at 250 against .782 at 1,000), so no chain."""
    for budget in (250, 500, 2000):
        spec = TASKS.get(f"rt-tfidf-logreg-to-minilm-l6-g{budget}")
        assert spec.splits.weak_train == budget and intermediate_rungs(spec) == ()


def test_a_record_made_with_another_chain_is_rerun():
    from benchmark.run.state import expected_provenance

    spec = TASKS.get("rt-tfidf-logreg-to-minilm-l6-g1000")
    assert expected_provenance(spec, "bootstrap", 0)["rungs"] == ["paraphrase-minilm-l3"]
    assert "rungs" not in expected_provenance(spec, "naive", 0)


def test_a_task_without_rungs_skips_the_method_with_the_reason():
    method = METHODS.get("bootstrap")
    assert skip_reason(method, TASKS.get("rt-tfidf-logreg-to-minilm-l6-g1000")) is None
    reason = skip_reason(method, TASKS.get("rt-minilm-l6-layer1-to-minilm-l6-g1000"))
    assert reason is not None and "intermediate models" in reason
    assert skip_reason(METHODS.get("naive"),
                       TASKS.get("rt-minilm-l6-layer1-to-minilm-l6-g1000")) is None


@pytest.fixture(scope="module")
def fetched():
    from benchmark.assets.catalog import assets_for_tier, fetch

    return fetch(assets_for_tier(large=False), progress=False)


@pytest.mark.assets
def test_the_harness_hands_over_the_rungs_features_of_split_b_only(fetched, tmp_path):
    from benchmark.models.features import all_layer_features
    from benchmark.models.ladder import ENCODERS, hidden_layer
    from benchmark.run.harness import Harness
    from benchmark.run.spec import RunSpec

    spec = TASKS.get("rt-tfidf-logreg-to-minilm-l6-g1000")
    harness = Harness(tmp_path, progress=False)
    tasks = {spec.id: spec}
    plain, _ = harness.prepare(RunSpec("mini", spec.id, "naive", 0), tasks)
    chained, _ = harness.prepare(RunSpec("mini", spec.id, "bootstrap", 0), tasks)
    assert plain.rung_features == {}
    assert list(chained.rung_features) == ["paraphrase-minilm-l3"]
    model = MODELS.get("paraphrase-minilm-l3")
    ctx = harness.contexts.get(spec)
    hidden = all_layer_features(ENCODERS.get(model.encoder).name, ctx.pool.texts)
    expected = np.asarray(hidden[hidden_layer(model)][list(chained.train_rows)], np.float32)
    got = chained.rung_features["paraphrase-minilm-l3"]
    assert got.shape == (spec.splits.student_train, 384) and np.array_equal(got, expected)


@pytest.mark.assets
def test_the_record_names_the_chain_it_was_run_through(fetched, tmp_path):
    from benchmark.results.records import iter_records
    from benchmark.run.harness import Harness
    from benchmark.run.spec import RunSpec

    spec = TASKS.get("rt-tfidf-logreg-to-minilm-l6-g1000")
    runs = [RunSpec("mini", spec.id, method, 0) for method in ("bootstrap", "naive")]
    summary = Harness(tmp_path, workers=1, progress=False).run(runs, {spec.id: spec})
    assert summary.failed == [] and summary.done == 2
    chains = {r.method: r.provenance.rungs for r in iter_records(tmp_path)}
    assert chains == {"bootstrap": ["paraphrase-minilm-l3"], "naive": None}


def test_a_sweep_fetches_the_intermediate_models_it_hands_over(tmp_path):
    """On an empty cache the default job stopped at bootstrap's first run: the run fetched
    the student's assets only, not paraphrase-MiniLM-L3's, which the chain reads."""
    from benchmark.cli.sweep import SweepPlan, sweep_assets
    from benchmark.run.spec import RunSpec

    specs = suite_tasks("mini")
    plain = SweepPlan("mini", specs, [RunSpec("mini", s.id, "naive", 0) for s in specs],
                      tmp_path)
    chained = SweepPlan("mini", specs, plain.runs + [
        RunSpec("mini", "rt-tfidf-logreg-to-minilm-l6-g1000", "bootstrap", 0)], tmp_path)
    assert "paraphrase-minilm-l3-v2-onnx" not in sweep_assets(plain)
    assert set(sweep_assets(chained)) - set(sweep_assets(plain)) == \
        {"paraphrase-minilm-l3-v2-onnx"}
