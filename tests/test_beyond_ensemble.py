"""Several weak supervisors: each is frozen on its own and reaches the method under its name,
the default labels are their average, PGR is measured against the best single one (and the
average), and the baselines that need several are skipped, with the reason, elsewhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from baselines.ensemble import agreement_weights
from benchmark.core.errors import SpecError
from benchmark.labels.frozen import load_references, load_weak_labels
from tests.conftest import TASK_YAML

MEMBERS = "weak_models:\n  tfidf-logreg: {}\n  tiny-bert: {weak_c: 0.5}\n"


def ensemble_yaml(task_id: str) -> str:
    text = TASK_YAML.format(id=task_id).replace("weak_model: tfidf-logreg\n",
                                                "weak_model: ensemble\n" + MEMBERS)
    return text.replace("strong_model: tiny-bert", "strong_model: tiny-bert-2")


@pytest.fixture
def ensemble_world(tiny_world):
    """The tiny world with a second rung of the tiny BERT (its last layer is the student)."""
    from benchmark.models.ladder import MODELS, ModelSpec

    MODELS.add("tiny-bert-2", ModelSpec(name="tiny-bert-2", family="test", kind="encoder",
                                        encoder="tiny-bert", description="tests"))
    try:
        yield tiny_world
    finally:
        MODELS.remove("tiny-bert-2")


def test_agreement_weights_on_a_worked_example():
    labels = np.array([[[0.9, 0.1], [0.2, 0.8]],     # supervisor 0 agrees with the student
                       [[0.4, 0.6], [0.7, 0.3]]])    # supervisor 1 does not
    student = np.array([[0.8, 0.2], [0.1, 0.9]])     # answers: class 0, class 1
    scores = np.array([np.log([0.9, 0.8]).mean(), np.log([0.4, 0.3]).mean()])
    expected = np.exp(scores / 0.5) / np.exp(scores / 0.5).sum()
    np.testing.assert_allclose(agreement_weights(labels, student, 0.5), expected)
    assert agreement_weights(labels, student, 0.01)[0] > 0.999   # cold: the agreeing one


def test_each_supervisor_reaches_the_method_under_its_name(ensemble_world, tmp_path):
    from benchmark.run.inputs import TaskContexts, build_input

    single = TASK_YAML.format(id="tiny-single")   # the tf-idf supervisor on its own
    with ensemble_world.frozen_task("tiny-ensemble", ensemble_yaml("tiny-ensemble")) as spec, \
            ensemble_world.frozen_task("tiny-single", single) as alone:
        inp, weak = build_input(TaskContexts().get(spec), 0, tmp_path)
        assert sorted(inp.supervisor_probs) == ["tfidf-logreg", "tiny-bert"]
        # the same supervisor fitted on the same split A, frozen alone, gives the same labels
        np.testing.assert_allclose(inp.supervisor_probs["tfidf-logreg"],
                                   load_weak_labels(alone, 0).train_weak_probs, atol=1e-6)
        # the default labels are their average (as stored, 6 decimals)
        mean = np.mean([inp.supervisor_probs[n] for n in inp.supervisor_probs], axis=0)
        np.testing.assert_allclose(inp.train_weak_probs, mean, atol=1e-6)
        # PGR's weak reference is the best single supervisor's test accuracy
        ref = load_references(spec).replicates[0]
        assert ref.ensemble.best == max(ref.ensemble.accuracies,
                                        key=ref.ensemble.accuracies.get)
        assert ref.weak_accuracy == ref.ensemble.accuracies[ref.ensemble.best]
        gold = TaskContexts().get(spec).gold(weak.ids_test)
        assert ref.ensemble.mean_accuracy == float((weak.test_weak_probs.argmax(1) == gold).mean())


def test_ensemble_mean_is_naive_on_the_average_and_records_both_pgrs(ensemble_world, tmp_path):
    from benchmark.results.records import iter_records, load_predictions
    from benchmark.run.harness import Harness, RunSpec

    with ensemble_world.frozen_task("tiny-ensemble", ensemble_yaml("tiny-ensemble")) as spec:
        results = tmp_path / "results"
        runs = [RunSpec("s", spec.id, m, 0) for m in ("naive", "ensemble-mean",
                                                      "ensemble-agreement")]
        summary = Harness(results, workers=1, progress=False).run(runs, {spec.id: spec})
        assert summary.done == 3 and not summary.failed
        records = {r.method: r for r in iter_records(results)}
        path = results / "s" / spec.id / "{}" / "replicate-0.json"
        naive, mean = (load_predictions(Path(str(path).format(m)), records[m])
                       for m in ("naive", "ensemble-mean"))
        np.testing.assert_allclose(np.asarray(naive, float), np.asarray(mean, float),
                                   atol=2e-3)
        ref = load_references(spec).replicates[0]
        for record in records.values():
            m = record.metrics
            assert m.weak_accuracy == ref.weak_accuracy
            assert m.ensemble.mean_accuracy == ref.ensemble.mean_accuracy
            gap = ref.ceiling_accuracy - ref.ensemble.mean_accuracy
            if gap > 0:
                assert m.ensemble.pgr_vs_mean == pytest.approx(
                    (m.accuracy - ref.ensemble.mean_accuracy) / gap)
            assert record.setting.supervisors == ["tfidf-logreg", "tiny-bert"]


@pytest.mark.parametrize("swap, says", [
    (("weak_model: tfidf-logreg\n", "weak_model: ensemble\n"),
     "the average of several weak supervisors"),
    (("weak_model: tfidf-logreg\n", "weak_model: ensemble\nweak_models:\n  tfidf-logreg: {}\n"
      "  tfidf-logrg: {}\n"), "Did you mean 'tfidf-logreg'"),
    (("weak_model: tfidf-logreg\n", "weak_model: ensemble\nweak_models:\n  tfidf-logreg: {}\n"
      "  tiny-bert: {}\n"), "names the strong model"),
    (("weak_model: tfidf-logreg\n", "weak_model: tfidf-logreg\nweak_models:\n  tfidf-logreg: {}\n"
      "  minilm-l6-layer1: {}\n"), "the one with the other"),
])
def test_a_wrong_ensemble_declaration_is_refused(tiny_world, swap, says):
    from benchmark.tasks.spec import parse_task

    path = tiny_world.root / "tasks" / "tiny-bad-ensemble.yaml"
    path.write_text(TASK_YAML.format(id="tiny-bad-ensemble").replace(*swap))
    try:
        with pytest.raises((SpecError, ValueError), match=says):
            parse_task(path)
    finally:
        path.unlink()

