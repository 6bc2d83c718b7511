"""The beyond kinds under the paper's protocol: several supervisors each named by a
definition, equal gold, the weak ceiling and the controls on every shift, ensemble and
pairwise task of the suite, and a shift task's target drawn from the target's shared pool."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from benchmark.core.errors import SpecError
from benchmark.tasks.spec import TASKS, parse_task
from benchmark.tasks.suites import SUITES

ENSEMBLE = "rt-ensemble-to-mpnet-base-g1000"


def _ensemble_file(tmp_path: Path, **members: dict) -> Path:
    raw = yaml.safe_load(Path(f"tasks/{ENSEMBLE}.yaml").read_text())
    raw["weak_models"] = {**raw["weak_models"], **members}
    path = tmp_path / f"{ENSEMBLE}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_every_member_of_an_ensemble_names_a_definition_of_its_own_model(tmp_path) -> None:
    spec = parse_task(_ensemble_file(tmp_path))
    assert spec.under_protocol
    assert spec.definition_reference("paraphrase-minilm-l3") == "paraphrase-minilm-l3@1"
    with pytest.raises(SpecError, match="for every member or for none .*minilm-l6-layer1"):
        parse_task(_ensemble_file(tmp_path, **{"minilm-l6-layer1": {}}))
    with pytest.raises(SpecError, match="defined on model 'tfidf-logreg'"):
        parse_task(_ensemble_file(tmp_path, **{"minilm-l6-layer1":
                                               {"supervisor": "tfidf-logreg@1"}}))
    with pytest.raises(SpecError, match="minilm-l6-layer1@1"):   # the near miss is offered
        parse_task(_ensemble_file(tmp_path, **{"minilm-l6-layer1":
                                               {"supervisor": "minilm-l6-layer1@7"}}))
    with pytest.raises((SpecError, ValueError), match="drop `weak_c`"):
        parse_task(_ensemble_file(tmp_path, **{"tfidf-logreg":
                                               {"supervisor": "tfidf-logreg@1", "weak_c": 1}}))


def test_a_members_definition_edited_in_place_changes_the_task_hash(monkeypatch) -> None:
    import benchmark.tasks.supervisors as definitions

    spec = TASKS.get(ENSEMBLE)
    before = spec.sha256
    real = definitions.resolve

    def edited(reference: str):
        definition = real(reference)
        if reference != "minilm-l6-layer1@1":
            return definition
        return definition.model_copy(update={"probe": definition.probe.model_copy(
            update={"epochs": 6})})

    monkeypatch.setattr(definitions, "resolve", edited)   # where the kind resolves them
    assert spec.sha256 != before


def test_an_ensemble_without_definitions_freezes_only_as_legacy(monkeypatch) -> None:
    from benchmark.labels import freeze

    def trained(*args, **kwargs):
        raise AssertionError("nothing may train before the protocol is checked")

    monkeypatch.setattr(freeze, "example_pool", trained)
    with pytest.raises(SpecError,
                       match="several supervisors name no `supervisor.*--legacy-protocol"):
        freeze.freeze_task(TASKS.get("rt-ensemble-to-minilm-l6"), force=True)


def test_every_beyond_task_is_frozen_at_equal_gold_with_controls_and_a_clear_gap() -> None:
    from benchmark.labels.frozen import load_references, verify_frozen
    from benchmark.labels.protocol import capability_interval, gap_lines

    specs = [TASKS.get(t) for t in SUITES.get("beyond").tasks]
    assert {bool(s.shift) for s in specs} == {True, False} and any(s.pairwise for s in specs)
    assert any(s.weak_models for s in specs)
    seeds: set[int] = set()
    for spec in specs:
        assert spec.under_protocol, spec.id
        verify_frozen(spec)
        replicates = load_references(spec).replicates
        for r in replicates:
            assert r.n_A == r.n_B == 1000, spec.id
            assert r.controls is not None and r.controls.self_training_accuracy is not None
        interval = capability_interval(gap_lines(replicates, bool(spec.supervisor_names)))
        assert interval.n == spec.replicates >= 20
        assert interval.low > 0 or spec.gap_exception, spec.id
        seeds |= {spec.seed + k for k in range(spec.replicates)}
    assert len(seeds) == sum(s.replicates for s in specs)   # every unit its own split draw


def test_a_shift_tasks_target_is_drawn_from_the_target_datasets_shared_pool() -> None:
    from benchmark.labels.frozen import load_weak_labels
    from benchmark.tasks.splits import task_pool

    spec = TASKS.get("rt-tfidf-logreg-to-minilm-l6-g1000-shift-tweets")
    tweets = {e.id for e in task_pool(TASKS.get("tweets-tfidf-logreg-to-minilm-l6-g1000"))}
    weak = load_weak_labels(spec, 0)
    assert len(weak.further_ids["target"]) == 3000 and set(weak.further_ids["target"]) <= tweets
    assert set(weak.further_ids["target"]).isdisjoint(weak.ids_A + weak.ids_B + weak.ids_test)


def test_an_ensemble_is_fitted_as_its_definitions_say_and_its_weak_ceiling_is_the_average(
        ) -> None:
    """The frozen per-supervisor labels are each definition fitted on gold A (the encoder
    members are the ceiling's probe, not a logistic regression); the weak reference of PGR
    is the best member, and the weak ceiling the members fitted on gold B, averaged (the
    labeller the student learns from, so the capability gap is one the average leaves)."""
    from benchmark.core.metrics import accuracy
    from benchmark.labels.freeze import fit_supervisor, weak_model_features
    from benchmark.labels.frozen import load_references, load_weak_labels
    from benchmark.tasks.splits import example_pool, replicate_seed

    spec = TASKS.get(ENSEMBLE)
    pool = example_pool(spec)
    weak = load_weak_labels(spec, 0)
    rows = {s: np.asarray(pool.rows(ids)) for s, ids in (("A", weak.ids_A), ("B", weak.ids_B),
                                                         ("test", weak.ids_test))}
    on_B = []
    for member, atol in (("tfidf-logreg", 1e-6), ("minilm-l6-layer1", 2e-3),
                         ("paraphrase-minilm-l3", 2e-3)):
        features = weak_model_features(spec, pool.texts, False, member)

        on_A, fitted_B = (fit_supervisor(spec, member, pool, features, rows[s],
                                         pool.labels[rows[s]], replicate_seed(spec, 0))
                          for s in ("A", "B"))
        np.testing.assert_allclose(weak.supervisors[member], on_A(rows["B"]), atol=atol)
        on_B.append(fitted_B(rows["test"]))
    reference = load_references(spec).replicates[0]
    assert reference.weak_accuracy == max(reference.ensemble.accuracies.values())
    average = accuracy(np.mean(on_B, axis=0), pool.labels[rows["test"]])
    assert abs(average - reference.controls.weak_ceiling_accuracy) <= 2 / len(rows["test"])
    assert reference.controls.weak_ceiling_accuracy > reference.weak_accuracy


def test_a_pairwise_probe_supervisor_is_a_bradley_terry_reward_model() -> None:
    """Swapping a pair negates its features and must flip its preference, as the ceiling's
    antisymmetric probe does; the frozen layer-1 reward model is that probe."""
    from benchmark.labels.freeze import fit_supervisor, weak_model_features
    from benchmark.labels.frozen import load_weak_labels
    from benchmark.tasks.splits import example_pool, replicate_seed

    spec = TASKS.get("tweets-pairs-minilm-l6-layer1-to-minilm-l6-g1000")
    pool = example_pool(spec)
    weak = load_weak_labels(spec, 0)
    rows_A, rows_B = np.asarray(pool.rows(weak.ids_A)), np.asarray(pool.rows(weak.ids_B))
    features = weak_model_features(spec, pool.texts, False)
    both = np.concatenate([features, -features])   # rows n.. hold every pair swapped
    fit = fit_supervisor(spec, spec.weak_model, pool, both, rows_A, pool.labels[rows_A],
                         replicate_seed(spec, 0))
    np.testing.assert_allclose(weak.train_weak_probs, fit(rows_B), atol=2e-3)
    np.testing.assert_allclose(fit(rows_B + len(features)), fit(rows_B)[:, ::-1], atol=1e-6)


def test_the_tfidf_reward_model_takes_its_definitions_strength() -> None:
    """tf-idf's pairwise supervisor is fitted with its definition's C (10), not the task's
    `training.weak_c` default (1): the frozen labels are that fit's."""
    from benchmark.labels.freeze import fit_supervisor
    from benchmark.labels.frozen import load_weak_labels
    from benchmark.tasks.splits import example_pool, replicate_seed

    spec = TASKS.get("tweets-pairs-tfidf-logreg-to-minilm-l6-g1000")
    assert spec.training.weak_c != 10.0
    pool = example_pool(spec)
    weak = load_weak_labels(spec, 0)
    rows_A, rows_B = np.asarray(pool.rows(weak.ids_A)), np.asarray(pool.rows(weak.ids_B))
    fit = fit_supervisor(spec, spec.weak_model, pool, None, rows_A, pool.labels[rows_A],
                         replicate_seed(spec, 0))
    np.testing.assert_allclose(weak.train_weak_probs, fit(rows_B), atol=1e-6)


def test_several_supervisors_have_no_data_share() -> None:
    """PGR's weak reference is the best member fitted on A and the weak ceiling the average
    fitted on B: their difference is mostly the averaging, so no data share is reported."""
    from benchmark.labels.frozen import load_references
    from benchmark.labels.protocol import gap_lines

    ensemble = TASKS.get(ENSEMBLE)
    lines = gap_lines(load_references(ensemble).replicates, bool(ensemble.supervisor_names))
    assert all(g.data_share is None and g.capability_gap > 0 for g in lines)
    shift = TASKS.get("tweets-minilm-l6-layer1-to-minilm-l6-g1000-shift-rt")
    single = gap_lines(load_references(shift).replicates, bool(shift.supervisor_names))
    assert all(g.data_share is not None for g in single)
