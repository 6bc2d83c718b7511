"""``reproduce burns2023`` on the main pipeline: the published-numbers file, the study as
tasks, the dry-run plan, and the comparison read from references and run records."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest

from benchmark.cli.main import main
from benchmark.core.errors import SpecError, UnknownNameError
from benchmark.paper.compare import compare
from benchmark.paper.study import RunOptions, chosen, fit_flops, load_study, study_tasks
from tests.site_records import make_record


def test_published_numbers_file_has_its_source_and_every_rung() -> None:
    study = load_study("burns2023")
    assert "openai/weak-to-strong" in study["source"]
    assert all(len(v) == len(study["ladder"]) == 7
               for v in study["ground_truth_accuracy"].values())
    assert study["ground_truth_accuracy"]["sciq"][0] == 0.636
    assert study["median_pgr"]["boolq"]["logconf"] == -0.355
    with pytest.raises(UnknownNameError, match="known: burns2023"):
        load_study("burns2024")


def test_the_study_is_one_task_per_dataset_and_pair_sharing_each_draw() -> None:
    from benchmark.tasks.spec import TaskSpec

    study = load_study("burns2023")
    opts = RunOptions.from_study(study)
    tasks = study_tasks(study, opts)
    assert len(tasks) == 5 * 21   # five datasets, every weak < strong pair of seven rungs
    first = tasks[0]
    assert first.id == "burns2023-sciq-gpt2-to-gpt2-medium"
    spec = TaskSpec.model_validate(first.body)
    assert (spec.splits.weak_train, spec.splits.student_train, spec.splits.test) == \
        (10_000, 10_000, 10_000)   # n_docs halved (equal gold), n_test_docs
    assert spec.finetune.lr == 5e-5 and spec.regime == "finetune"   # the student rung's own
    # what draws the pool and the splits is the same for every pair of a dataset, so each
    # replicate of every pair is one block (as the original's pairs share one split per seed)
    drawn = ("dataset", "label_names", "balance", "splits", "seed", "replicates")
    sciq = [TaskSpec.model_validate(t.body) for t in tasks if t.dataset == "sciq"]
    assert len({tuple(str(getattr(s, f)) for f in drawn) for s in sciq}) == 1
    assert len({s.sha256 for s in sciq}) == 21
    assert [t.id for t in chosen(tasks, study, ["gpt2", "gpt2-large"], ["boolq"])] == \
        ["burns2023-boolq-gpt2-to-gpt2-large"]
    with pytest.raises(UnknownNameError, match="not in this study"):
        chosen(tasks, study, ["gpt5"])


def test_a_recipe_override_is_a_suite_of_its_own_the_openai_schedule_a_method() -> None:
    study = load_study("burns2023")
    smoke = RunOptions.from_study(study, n_docs=200)
    assert smoke.tag(study).startswith("burns2023-") and smoke.tag(study) != "burns2023"
    assert smoke.tag(study) == RunOptions.from_study(study, n_docs=200, mirror="/m").tag(study)
    # the released schedule changes one loss's method, not the tasks: nothing refreezes
    openai = RunOptions.from_study(study, logconf_schedule="openai")
    assert openai.tag(study) == "burns2023"
    assert openai.methods(study) == {"xent": "naive", "logconf": "logconf-openai-schedule"}
    assert RunOptions.from_study(study).methods(study)["logconf"] == "logconf"
    odd = copy.deepcopy(study)
    odd["recipe"]["seeds"] = [0, 2]
    with pytest.raises(SpecError, match="not consecutive"):
        study_tasks(odd, RunOptions.from_study(odd))


def test_dry_run_lists_tasks_runs_and_gpu_hours(tmp_path, capsys) -> None:
    study = load_study("burns2023")
    opts = RunOptions.from_study(study)
    assert main(["reproduce", "burns2023", "--dry-run", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "105 tasks in suite 'burns2023' × 1 replicate(s) × 2 losses" in out
    assert "xent: naive, logconf: logconf" in out
    line = next(line for line in out.splitlines() if line.startswith("sciq "))
    # freezing trains each rung once on A (the six that supervise) and once on B (the six
    # that are students), shared by the pairs; each pair's two losses one strong finetune
    # each; 6·N·tokens at 100 TFLOP/s
    sciq = [t for t in study_tasks(study, opts) if t.dataset == "sciq"]
    ladder = study["ladder"]
    freezes = sum(fit_flops(study, opts, "sciq", r) for r in ladder[:-1] + ladder[1:])
    runs = sum(2 * fit_flops(study, opts, "sciq", t.strong) for t in sciq)
    hours = (freezes + runs) / 1e14 / 3600
    assert line.split()[1:] == ["21", "0", "42", "0", f"{hours:.1f}", f"{hours:.1f}"]
    assert "burns2023-sciq-gpt2-to-gpt2-medium: to freeze, 0/2 runs recorded" in out


def test_reproduce_under_torchrun_is_refused_before_anything_is_written(tmp_path,
                                                                          monkeypatch):
    """Every rank would run every sandboxed run: refused, naming the one-process launch."""
    from benchmark.library.reproduce import reproduce

    monkeypatch.setenv("WORLD_SIZE", "2")
    study = load_study("burns2023")
    with pytest.raises(SpecError, match="launch it as one process"):
        reproduce(study, RunOptions.from_study(study), tmp_path, say=print)
    assert not list(tmp_path.iterdir())


def _references(**by_task):
    """Frozen references of fake tasks: per task, (weak, ceiling) per replicate."""
    def load(spec):
        return SimpleNamespace(replicates=[
            SimpleNamespace(weak_accuracy=w, ceiling_accuracy=c) for w, c in by_task[spec.id]])
    return load


def _records_by_sha(results, suite):
    """Records of a task made against its present definition (the harness's full currency
    check is the library's: tests/test_reproduce_run.py runs it)."""
    from benchmark.results.records import read_record

    def records_of(spec, method):
        found = [read_record(p) for p in sorted((results / suite / spec.id / method)
                                                .glob("replicate-*.json"))]
        return [r for r in found if r.provenance.task_sha256 == spec.sha256]
    return records_of


def _record(results, spec, suite, method, k, accuracy, weak, ceiling):
    record = make_record(spec.id, method, k, None, suite=suite)
    pgr = (accuracy - weak) / (ceiling - weak) if ceiling > weak else None
    record = record.model_copy(update={
        "metrics": record.metrics.model_copy(update={
            "accuracy": accuracy, "pgr": pgr, "weak_accuracy": weak, "ceiling_accuracy": ceiling}),
        "provenance": record.provenance.model_copy(update={"task_sha256": spec.sha256})})
    path = results / suite / spec.id / method / f"replicate-{k}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    from benchmark.core.storage import atomic_write_json
    from benchmark.results.records import record_json

    atomic_write_json(path, record_json(record))


def test_the_comparison_reads_references_and_each_records_own_pgr(tmp_path, monkeypatch):
    """Two seeds whose references differ: each record's PGR is against its own replicate
    (0.5 in both), a rung's accuracy is the mean of its ceilings over replicates (the
    smallest rung's, of its weak accuracies), and a record of another task definition is
    not counted."""
    import benchmark.labels.frozen as frozen
    from benchmark.tasks.spec import TaskSpec

    study = load_study("burns2023")
    study["recipe"]["seeds"] = [0, 1]
    opts = RunOptions.from_study(study)
    tasks = chosen(study_tasks(study, opts), study, ["gpt2", "gpt2-medium"], ["sciq"])
    (task,) = tasks
    spec = TaskSpec.model_validate(task.body)
    specs = {task.id: spec}
    monkeypatch.setattr(frozen, "is_frozen", lambda task_id: task_id == task.id)
    monkeypatch.setattr(frozen, "load_references",
                        _references(**{task.id: [(0.64, 0.70), (0.60, 0.80)]}))
    methods = opts.methods(study)
    for k, (accuracy, weak, ceiling) in enumerate([(0.67, 0.64, 0.70), (0.70, 0.60, 0.80)]):
        _record(tmp_path, spec, "burns2023", "naive", k, accuracy, weak, ceiling)
    records_of = _records_by_sha(tmp_path, "burns2023")
    rows = {r["quantity"]: r for r in compare(study, tasks, specs, records_of, methods)}
    assert rows["sciq accuracy gpt2"]["ours"] == pytest.approx(0.62)          # weak, A
    assert rows["sciq accuracy gpt2-medium"]["ours"] == pytest.approx(0.75)   # ceiling, B
    assert rows["sciq accuracy gpt2-medium"]["result"] == "FAIL"   # .75 vs .686 ± .03
    assert rows["sciq accuracy gpt2"]["result"] == "pass"          # .62 vs .636
    assert rows["sciq median PGR xent"]["ours"] == pytest.approx(0.5)
    assert rows["sciq median PGR logconf"]["result"] == "missing"
    assert "sciq accuracy gpt2-large" not in rows and "boolq accuracy gpt2" not in rows
    # a record made against another definition of the task is not this task's number
    stale = spec.model_copy(update={"version": 2})
    _record(tmp_path, stale, "burns2023", "logconf", 0, 0.70, 0.64, 0.70)
    rows = {r["quantity"]: r for r in compare(study, tasks, specs, records_of, methods)}
    assert rows["sciq median PGR logconf"]["result"] == "missing"
    # a pair without a gap has no PGR: left out of the median, and the row says so
    _record(tmp_path, spec, "burns2023", "naive", 1, 0.70, 0.60, 0.60)
    rows = {r["quantity"]: r for r in compare(study, tasks, specs, records_of, methods)}
    assert rows["sciq median PGR xent"]["ours"] == pytest.approx(0.5)
    assert rows["sciq median PGR xent"]["n"] == "1 records, 1 left out (no gap)"


def test_finetunes_are_shared_only_inside_a_studys_freezes() -> None:
    """Outside ``shared_finetunes`` every call trains (a re-training check stays a real
    check); inside, one training per key, its predictions kept per texts predicted."""
    import numpy as np

    from benchmark.labels.shared_fits import fits_run, shared_finetunes, shared_predictor

    trained = []

    class Fitted:
        def __init__(self, n: int) -> None:
            self.n = n

        def predict_proba(self, texts):
            return np.full((len(texts), 2), self.n, dtype=np.float32)

    def fit():
        trained.append(1)
        return Fitted(len(trained))

    shared_predictor("k", fit)(["a"])
    shared_predictor("k", fit)(["a"])
    assert len(trained) == 2 and fits_run() == 0
    with shared_finetunes():
        first = shared_predictor("k", fit)(["a", "b"])
        again = shared_predictor("k", fit)(["a", "b"])      # kept: no training
        other = shared_predictor("other", fit)(["a"])        # another training
        back = shared_predictor("k", fit)(["c"])             # evicted: trained again
        assert fits_run() == 3
    np.testing.assert_array_equal(first, again)
    assert first[0, 0] == 3 and other[0, 0] == 4 and back[0, 0] == 5 and len(trained) == 5


def test_the_studys_pairs_need_six_weak_and_six_ceiling_trainings_per_dataset(monkeypatch):
    """The training keys as the freeze stage builds them for burns2023's sciq pairs: each
    rung once on A and once on B, though the weak rung's recipe takes gradient checkpointing
    from a student that needs it (memory, not what is computed)."""
    import numpy as np

    import benchmark.labels.freeze as freeze
    import benchmark.labels.supervisors as supervisors
    from benchmark.labels.shared_fits import fits_run, shared_finetunes
    from benchmark.tasks.spec import TaskSpec

    class Fitted:
        def predict_proba(self, texts):
            return np.full((len(texts), 2), 0.5)

    for module in (freeze, supervisors):
        monkeypatch.setattr(module, "fit_classifier", lambda *a, **k: Fitted())
    study = load_study("burns2023")
    opts = RunOptions.from_study(study)
    texts, rows = [f"text {i}" for i in range(8)], np.arange(4)
    labels = np.array([0, 1, 0, 1])
    with shared_finetunes():
        for task in study_tasks(study, opts):
            if task.dataset != "sciq":
                continue
            spec = TaskSpec.model_validate(task.body)
            supervisors.fit_finetuned_supervisor(task.weak, rows, labels, texts, spec.finetune,
                                                 0)(np.arange(4, 8))
        assert fits_run() == 6
        for task in study_tasks(study, opts):
            if task.dataset == "sciq":
                freeze.finetune_ceiling(TaskSpec.model_validate(task.body), texts[:4],
                                        np.eye(2)[labels], texts[4:], 0)
        assert fits_run() == 12
