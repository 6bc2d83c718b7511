"""The paper's protocol: equal gold, supervisors defined once, a measured capability gap,
controls beside PGR and aggregates that survive small gaps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from baselines.prior_match import match_prior
from benchmark.core.controls import Controls
from benchmark.core.errors import SpecError
from benchmark.core.metrics import small_gap
from benchmark.labels.controls import label_free_accuracy, matched_accuracy, self_training_accuracy
from benchmark.labels.frozen import ReplicateReference
from benchmark.labels.protocol import check_capability_gap, check_equal_gold, freeze_report
from benchmark.results.records import Metrics
from benchmark.site.frame import record_rows
from benchmark.site.standings import suite_board
from benchmark.tasks.spec import TASKS, parse_task
from benchmark.training.probe import ProbeConfig
from tests.site_records import make_record

MINI = "rt-minilm-l6-layer1-to-minilm-l6-g1000"


def test_small_gap_is_two_standard_errors_of_a_test_accuracy() -> None:
    # p = .805, n = 4000: se = sqrt(.805 * .195 / 4000) = .00627, so two se = .0125
    assert small_gap(0.80, 0.81, 4000)
    assert not small_gap(0.80, 0.813, 4000)
    assert small_gap(0.80, 0.79, 4000)          # a negative gap too


def _reference(k: int, weak: float, weak_ceiling: float, ceiling: float) -> ReplicateReference:
    return ReplicateReference(replicate=k, seed=k, weak_accuracy=weak, ceiling_accuracy=ceiling,
                              n_A=1000, n_B=1000, n_test=4000,
                              controls=Controls(weak_ceiling_accuracy=weak_ceiling))


def test_freeze_refuses_unequal_gold() -> None:
    spec = TASKS.get(MINI)
    check_equal_gold(spec, 1000, 1000)
    with pytest.raises(SpecError, match="1000 gold labels .* and the ceiling from 6000"):
        check_equal_gold(spec, 1000, 6000)


def test_freeze_refuses_a_gap_that_is_not_clearly_positive_unless_told_why() -> None:
    spec = TASKS.get(MINI)
    clear = [_reference(k, 0.70, 0.70 + 0.002 * k, 0.74) for k in range(5)]
    check_capability_gap(spec, clear)       # capability gaps .040 .. .032: kept
    # the supervisor on gold B is as good as the ceiling: the whole gap is data
    data_only = [_reference(k, 0.70, 0.74 + (0.004 if k % 2 else -0.004), 0.74)
                 for k in range(5)]
    with pytest.raises(SpecError, match="not clearly positive.*gap_exception"):
        check_capability_gap(spec, data_only)
    kept = spec.model_copy(update={"gap_exception": "kept to show a pure data gap"})
    check_capability_gap(kept, data_only)


def test_freeze_report_states_each_replicate_and_flags_small_gaps() -> None:
    spec = TASKS.get(MINI)
    lines = freeze_report(spec, [_reference(0, 0.70, 0.71, 0.74),
                                 _reference(1, 0.735, 0.71, 0.74)])
    text = "\n".join(lines)
    assert "n_A = n_B = 1000, n_test = 4000" in text
    assert "+0.040 (±0.007)" in text and "+0.030" in text and "0.250" in text  # gap, cap, share
    assert lines[3].endswith("under 2 se") and not lines[2].endswith("under 2 se")
    assert "1 of 2 replicates have a gap under two standard errors" in text


def test_matched_accuracy_takes_the_best_cluster_to_class_matching() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert matched_accuracy(np.array([2, 2, 0, 0, 1, 1]), labels, 3) == 1.0
    assert matched_accuracy(np.array([1, 1, 0, 0, 0, 2]), labels, 3) == pytest.approx(5 / 6)


def _blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    features = rng.normal(0, 1, (n, 8)).astype(np.float32)
    features[:, 0] += np.where(labels == 1, 4.0, -4.0)
    return features, labels


def test_controls_on_separable_data() -> None:
    features, labels = _blobs(600, 0)
    rows = {"A": np.arange(0, 200), "B": np.arange(200, 400), "test": np.arange(400, 600)}
    config = ProbeConfig(epochs=30, batch_size=32, lr=5e-2)
    assert self_training_accuracy(features, labels, rows, config, 0, 2) > 0.97
    assert label_free_accuracy(features, labels, rows, 0, 2) > 0.97
    shuffled = features.copy()
    shuffled[:, 0] = np.random.default_rng(1).normal(0, 1, 600)   # no class structure left
    assert label_free_accuracy(shuffled, labels, rows, 0, 2) < 0.65


def test_prior_match_puts_the_prior_share_in_each_class() -> None:
    probs = np.stack([np.linspace(0.05, 0.45, 10), 1 - np.linspace(0.05, 0.45, 10)], 1)[::-1]
    matched = match_prior(probs, np.array([0.5, 0.5]))
    assert (matched.argmax(1) == 1).sum() == 5
    assert np.argsort(matched[:, 1]).tolist() == np.argsort(probs[:, 1]).tolist()  # same order
    rng = np.random.default_rng(0)
    for spread in (0.05, 0.2, 1.0, 3.0):    # close logits once sent every row to one class
        logits = rng.normal(0, spread, (300, 3)) + [0.0, 0.0, spread]
        three = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        matched = match_prior(three, np.full(3, 1 / 3))
        assert np.abs(matched.mean(0) - 1 / 3).max() < 1e-4          # soft shares: the prior
        shares = np.bincount(matched.argmax(1), minlength=3) / 300
        assert np.abs(shares - 1 / 3).max() < 0.1, spread


def _task_file(tmp_path, **changes) -> object:
    raw = yaml.safe_load(Path(f"tasks/{MINI}.yaml").read_text())
    raw.update(changes)
    raw["id"] = "my-task"
    path = tmp_path / "my-task.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_a_task_names_a_definition_of_its_own_model(tmp_path) -> None:
    assert parse_task(_task_file(tmp_path)).weak_supervisor == "minilm-l6-layer1@1"
    with pytest.raises(SpecError, match="defined on model 'tfidf-logreg'"):
        parse_task(_task_file(tmp_path, weak_supervisor="tfidf-logreg@1"))
    with pytest.raises(SpecError, match="minilm-l6-layer1@1"):   # the near miss is offered
        parse_task(_task_file(tmp_path, weak_supervisor="minilm-l6-layer1@9"))
    with pytest.raises(SpecError, match="NAME@VERSION"):
        parse_task(_task_file(tmp_path, weak_supervisor="minilm-l6-layer1"))


def test_a_definition_edited_in_place_changes_the_task_hash(monkeypatch) -> None:
    import benchmark.tasks.spec as spec_module

    spec = TASKS.get(MINI)
    before = spec.sha256
    edited = spec_module.resolve(spec.weak_supervisor)
    edited = edited.model_copy(update={"probe": edited.probe.model_copy(update={"lr": 0.01})})
    monkeypatch.setattr(spec_module, "resolve", lambda reference: edited)
    assert spec.sha256 != before


def _protocol_record(task: str, method: str, k: int, pgr: float, ceiling: float = 0.8):
    record = make_record(task, method, k, 0.0)
    m = record.metrics
    metrics = Metrics(**{**m.model_dump(), "ceiling_accuracy": ceiling, "n_test": 4000,
                         "pgr": pgr,
                         "accuracy": 0.6 + pgr * (ceiling - 0.6),
                         "controls": Controls(weak_ceiling_accuracy=0.62,
                                              self_training_accuracy=0.75,
                                              label_free_accuracy=0.65)})
    return record.model_copy(update={"metrics": metrics})


def test_board_leaves_small_gaps_out_and_reports_median_pgr_of_means_and_controls() -> None:
    records = [_protocol_record("t", method, k, pgr)
               for method, pgrs in (("naive", (0.2, 0.4, 0.9)), ("other", (0.1, 0.1, 0.1)))
               for k, pgr in enumerate(pgrs)]
    # replicate 3: the ceiling is .605 against a weak .6 (a gap of 5 test examples in 1,000)
    records += [_protocol_record("t", m, 3, 5.0, ceiling=0.605) for m in ("naive", "other")]
    board = suite_board("s", record_rows(records))
    naive = next(r for r in board.tasks[0].results if r.method == "naive")
    assert naive.small_gaps == 1 and naive.pgr_undefined == 0
    assert naive.pgr.mean == pytest.approx(0.5) and naive.pgr.n == 3   # 5.0 left out
    assert naive.pgr_median == pytest.approx(0.4)
    # of means over all four replicates: accuracies .64 .68 .78 .625 vs weak .6, ceiling .75125
    assert naive.pgr_of_means == pytest.approx((0.68125 - 0.6) / (0.75125 - 0.6))
    entry = next(e for e in board.ranked if e.method == "naive")
    # over a suite, the notebook's median: over tasks of each task's PGR of means
    assert entry.pgr_median == pytest.approx(naive.pgr_of_means)
    assert entry.above_floor == pytest.approx(np.mean([0.64, 0.68, 0.78, 0.625]) - 0.65)
    lines = {c.name: c for c in board.controls}
    assert lines["self-training control"].pgr == pytest.approx(0.75)   # (.75 − .6) / .2
    assert lines["label-free floor"].pgr == pytest.approx(0.25)
    assert lines["self-training control"].units == 3
    controls = board.tasks[0].controls
    assert controls.equal_gold and controls.small_gaps == 1 and controls.replicates == 4


def test_kl_misfit_and_gain_on_a_worked_example() -> None:
    from benchmark.core.diagnostics import diagnostics
    from benchmark.training.probe import one_hot, train_probe

    student = np.array([[0.8, 0.2], [0.5, 0.5]])
    weak = np.array([[0.6, 0.4], [0.5, 0.5]])
    ceiling = np.array([[0.9, 0.1], [0.5, 0.5]])
    out = diagnostics(student, weak, np.array([0, 1]), ceiling)

    def kl(p, q):
        return sum(a * np.log(a / b) for a, b in zip(p, q, strict=True))

    assert out["misfit_kl"] == pytest.approx(kl([0.6, 0.4], [0.8, 0.2]) / 2, rel=1e-5)
    weak_error = kl([0.6, 0.4], [0.9, 0.1]) / 2
    student_error = kl([0.8, 0.2], [0.9, 0.1]) / 2
    assert out["weak_error_kl"] == pytest.approx(weak_error, rel=1e-5)
    assert out["gain_kl"] == pytest.approx(weak_error - student_error, rel=1e-5)
    assert "misfit_kl" not in diagnostics(student, weak, np.array([0, 1]))  # no ceiling
    # a logistic student fitted to convergence on the weak labels, the target in its class:
    # on the data it was fitted on, gain = misfit (the Pythagorean relation, equality)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3)).astype(np.float32)

    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    target = softmax(np.c_[np.zeros(400), x @ [1.5, -1.0, 0.5]])
    weak = softmax(np.c_[np.zeros(400), x @ [0.5, 0.2, 0.0] + rng.normal(0, 1, 400)])
    fitted = train_probe(x, weak.astype(np.float32), ProbeConfig(epochs=300, batch_size=400,
                                                                lr=0.05), 0)
    out = diagnostics(fitted.predict_proba(x), weak, one_hot(np.zeros(400, int), 2).argmax(1),
                      target)
    assert out["gain_kl"] == pytest.approx(out["misfit_kl"], abs=2e-3)


def test_every_mini_task_is_frozen_at_equal_gold_with_a_clear_capability_gap() -> None:
    from benchmark.labels.frozen import load_references, verify_frozen
    from benchmark.labels.protocol import capability_interval, gap_lines
    from benchmark.tasks.suites import suite_tasks

    seeds = set()
    for spec in suite_tasks("mini"):
        verify_frozen(spec)
        replicates = load_references(spec).replicates
        assert all(r.n_A == r.n_B == 1000 and r.controls is not None for r in replicates)
        interval = capability_interval(gap_lines(replicates, bool(spec.supervisor_names)))
        assert interval.n == spec.replicates and interval.low > 0, spec.id
        seeds |= {spec.seed + k for k in range(spec.replicates)}
    assert len(seeds) == 8 * 20   # no two (task, replicate) units share a split draw


def test_a_shared_pool_gives_each_task_its_own_disjoint_splits() -> None:
    from benchmark.tasks.splits import draw_splits, task_pool

    a = TASKS.get("rt-tfidf-logreg-to-minilm-l6-g1000")
    b = TASKS.get("rt-keyword-rule-to-minilm-l6-g1000")
    pool = task_pool(a)
    assert [e.id for e in pool] == [e.id for e in task_pool(b)] and len(pool) == 10_000
    first, other = draw_splits(a, pool, 0), draw_splits(b, pool, 0)
    assert [len(first[s]) for s in ("A", "B", "test")] == [1000, 1000, 4000]
    assert not set(first["A"]) & set(first["B"]) and not set(first["B"]) & set(first["test"])
    assert first["test"] != other["test"]                  # its own draw
    assert draw_splits(a, pool, 0) == first                 # the same draw every time


def test_a_task_without_a_definition_freezes_only_as_legacy_and_nothing_trains_first(
        monkeypatch) -> None:
    from benchmark.labels import freeze

    def trained(*args, **kwargs):
        raise AssertionError("nothing may train before the protocol is checked")

    monkeypatch.setattr(freeze, "example_pool", trained)
    legacy = TASKS.get("rt-tfidf-logreg-to-minilm-l6")      # frozen before the protocol
    with pytest.raises(SpecError, match="names no `weak_supervisor.*--legacy-protocol"):
        freeze.freeze_task(legacy, force=True)
    unequal = TASKS.get(MINI).model_copy(update={"splits": legacy.splits})
    with pytest.raises(SpecError, match="1000 gold labels .* and the ceiling from 6000"):
        freeze.freeze_task(unequal, force=True)


@pytest.mark.parametrize("columns", [2, 3, 5, 7, 9])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_diagnostics_row_sums_are_numpys_bit_for_bit(columns, dtype) -> None:
    """Records must not change when the diagnostics' row sums are written out column by
    column: the same bits as ``x.sum(axis=1)``, whatever numpy is installed."""
    from benchmark.core.diagnostics import _row_sums

    x = np.random.default_rng(columns).random((4000, columns)).astype(dtype) * 3 - 1
    assert np.array_equal(_row_sums(x), x.sum(axis=1))
    if columns <= 7:  # written out column by column: the layout cannot matter
        assert np.array_equal(_row_sums(np.asfortranarray(x)), x.sum(axis=1))
