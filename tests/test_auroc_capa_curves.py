"""AUROC-PGR beside accuracy-PGR, CAPA beside raw agreement, and training curves: worked
examples of each formula, records that predate them upgraded (never called wrong), curves
that cannot change what a run predicts, and a report's curves parsed as bounded data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmark.core.diagnostics import capa, diagnostics
from benchmark.core.metrics import auroc_se, pgr_auroc, small_auroc_gap
from benchmark.results.records import read_record
from benchmark.run.harness import Harness, RunSpec
from tests.conftest import TINY_SUITE, TINY_TASK


def test_capa_on_a_worked_example() -> None:
    # two rows, two classes, gold [0, 1]
    student = np.array([[0.9, 0.1], [0.4, 0.6]])
    weak = np.array([[0.6, 0.4], [0.7, 0.3]])
    gold = np.array([0, 1])
    observed = (0.9 * 0.6 + 0.1 * 0.4 + 0.4 * 0.7 + 0.6 * 0.3) / 2     # .52
    p_s, p_w = (0.9 + 0.6) / 2, (0.6 + 0.3) / 2                        # .75, .45
    expected = p_s * p_w + (1 - p_s) * (1 - p_w)                       # .475 (K − 1 = 1)
    assert capa(student, weak, gold) == pytest.approx((observed - expected) / (1 - expected))
    assert capa(student, weak, gold) == pytest.approx(0.045 / 0.525)
    # identical confident predictions agree fully; three classes spread errors over two
    sure = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert capa(sure, sure, np.array([1, 2])) == pytest.approx(1.0)
    assert capa(sure, sure, np.array([0, 2])) is None   # both certain and right everywhere
    assert diagnostics(student, weak, gold)["capa"] == capa(student, weak, gold)


def test_raw_agreement_rises_with_accuracy_and_capa_does_not() -> None:
    """Two models that err independently: raw agreement grows with their accuracy, CAPA
    stays at chance (0) whatever their accuracy."""
    rng = np.random.default_rng(0)
    n, gold = 200_000, np.zeros(200_000, dtype=int)
    for accuracy in (0.6, 0.9):
        a = np.eye(2)[(rng.random(n) > accuracy).astype(int)]
        b = np.eye(2)[(rng.random(n) > accuracy).astype(int)]
        raw = float((a.argmax(1) == b.argmax(1)).mean())
        assert raw == pytest.approx(accuracy ** 2 + (1 - accuracy) ** 2, abs=0.01)
        assert capa(a, b, gold) == pytest.approx(0.0, abs=0.01)


def test_pgr_on_auroc_and_its_noise_rule() -> None:
    assert pgr_auroc(0.7, 0.6, 0.8) == pytest.approx(0.5)
    assert pgr_auroc(0.7, 0.8, 0.8) is None and pgr_auroc(None, 0.6, 0.8) is None
    # Hanley & McNeil at A = .8, 50 positives and 50 negatives: SE ≈ .0445
    q1, q2 = 0.8 / 1.2, 2 * 0.64 / 1.8
    var = (0.16 + 49 * (q1 - 0.64) + 49 * (q2 - 0.64)) / 2500
    assert auroc_se(0.8, 100) == pytest.approx(math.sqrt(var))
    assert small_auroc_gap(0.78, 0.82, 100) and not small_auroc_gap(0.6, 0.9, 100)


def sweep(results, tiny_task, methods=("naive",)):
    runs = [RunSpec(TINY_SUITE, TINY_TASK, m, k) for m in methods for k in range(2)]
    return Harness(results, workers=1, progress=False).run(runs, {TINY_TASK: tiny_task})


def test_records_carry_auroc_pgr_capa_and_curves(tiny_world, tiny_task, tmp_path) -> None:
    from benchmark.labels.frozen import load_references

    assert sweep(tmp_path, tiny_task, ("naive", "co-teaching")).done == 4
    path = tmp_path / TINY_SUITE / TINY_TASK / "naive" / "replicate-0.json"
    record = read_record(path)
    m, ref = record.metrics, load_references(tiny_task).replicates[0]
    assert (m.weak_auroc, m.ceiling_auroc) == (ref.weak_auroc, ref.ceiling_auroc)
    assert m.pgr_auroc == pgr_auroc(m.auroc, ref.weak_auroc, ref.ceiling_auroc)
    assert record.diagnostics.capa is not None and -1 <= record.diagnostics.capa <= 1
    (curve,) = record.training   # naive trains one probe
    assert len(curve.loss) == len(curve.weak_agreement) == tiny_task.training.epochs
    assert all(0 <= a <= 1 for a in curve.weak_agreement)
    assert curve.loss[-1] < curve.loss[0]   # training lowers its own loss
    co = read_record(tmp_path / TINY_SUITE / TINY_TASK / "co-teaching" / "replicate-0.json")
    assert len(co.training) == 2   # two heads side by side, a curve each


def test_the_curve_observer_changes_nothing_a_run_predicts() -> None:
    from benchmark.training.probe import ProbeConfig, ProbeTrainer, train_probe

    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[:, 0] > 0).astype(int)]
    config = ProbeConfig(epochs=4, batch_size=32, lr=1e-2)
    seen: list[float] = []
    plain = train_probe(x, y, config, seed=3)
    watched = train_probe(x, y, config, seed=3,
                          observe=lambda t: seen.append(t.mean_training_loss()))
    assert np.array_equal(plain.weight, watched.weight)
    assert np.array_equal(plain.bias, watched.bias)
    assert len(seen) == 4 and seen[-1] < seen[0]
    trainer = ProbeTrainer(x, y, config, seed=3)
    trainer.run_epoch()
    folded = trainer.raw_logits(x)
    assert np.allclose(folded, trainer.probe().logits(x), atol=1e-4)


def test_a_report_s_curves_are_bounded_data() -> None:
    from benchmark.run.report import MAGIC, ReportError, RunOutput, decode, encode

    probs = np.full((3, 2), 0.5)
    good = {"loss": [0.7, 0.6], "weak_agreement": [0.5, None]}
    out = decode(encode(RunOutput(probs=probs, curves=[good])), 3, 2)
    assert out.curves[0].weak_agreement == [0.5, None]
    header = {"has_probs": False, "curves": [good]}
    for bad in ({"loss": [0.7], "weak_agreement": [2.0]},          # not a share
                {"loss": [0.7, 0.6], "weak_agreement": [0.5]},     # epochs disagree
                {"loss": [-1.0], "weak_agreement": [None]},        # a negative loss
                {"loss": [0.1] * 101, "weak_agreement": [None] * 101}):   # too long
        frame = json.dumps({**header, "curves": [bad]}).encode()
        with pytest.raises(ReportError, match="curves"):
            decode(MAGIC + len(frame).to_bytes(4, "big") + frame, 3, 2)
    many = json.dumps({**header, "curves": [good] * 9}).encode()
    with pytest.raises(ReportError, match="curves"):
        decode(MAGIC + len(many).to_bytes(4, "big") + many, 3, 2)


def test_rescore_upgrades_a_record_that_predates_the_new_fields(
        tiny_world, tiny_task, tmp_path, capsys) -> None:
    from benchmark.cli.main import main
    from benchmark.run.rescore import rescore

    assert sweep(tmp_path, tiny_task).done == 2
    path = tmp_path / TINY_SUITE / TINY_TASK / "naive" / "replicate-0.json"
    written = json.loads(path.read_text())
    old = json.loads(path.read_text())
    for key in ("weak_auroc", "ceiling_auroc", "pgr_auroc"):
        del old["metrics"][key]
    del old["diagnostics"]["capa"]
    path.write_text(json.dumps(old))
    report = rescore(tmp_path)
    assert report.ok and report.agreed == 2   # predating a field is not disagreeing
    assert main(["rescore", "--results-dir", str(tmp_path), "--upgrade"]) == 0
    assert "1 upgraded with AUROC-PGR and CAPA" in capsys.readouterr().out
    upgraded = json.loads(path.read_text())
    assert upgraded["metrics"] == written["metrics"]
    assert upgraded["diagnostics"] == written["diagnostics"]
    # an edited record is never upgraded: it disagrees
    old["metrics"]["accuracy"] = round(old["metrics"]["accuracy"] + 0.01, 6)
    path.write_text(json.dumps(old))
    assert main(["rescore", "--results-dir", str(tmp_path), "--upgrade"]) == 1
    assert "pgr_auroc" not in json.loads(path.read_text())["metrics"]
    # deleting some of the new fields (a bad replicate's AUROC-PGR, the references that
    # would mark its gap as noise) is an edit, not an older record: it disagrees
    for deleted in (("pgr_auroc",), ("weak_auroc", "ceiling_auroc")):
        partial = dict(written, metrics={k: v for k, v in written["metrics"].items()
                                         if k not in deleted})
        path.write_text(json.dumps(partial))
        report = rescore(tmp_path)
        assert not report.ok and all(f"metrics.{k}: recorded None" in
                                     " ".join(p.detail for p in report.problems)
                                     for k in deleted)


def test_a_record_name_is_never_a_path() -> None:
    from benchmark.results.records import RunRecord
    from benchmark.site.curves import MeanCurve
    from tests.site_records import make_record

    data = make_record("t", "m", 0, 0.5).model_dump(mode="json")
    for field, bad in (("suite", "../../escaped"), ("method", "a/b"), ("task", ".hidden")):
        with pytest.raises(ValueError, match=field):
            RunRecord.model_validate({**data, field: bad})
    assert MeanCurve("s x", "m/../y", 1, (0.5,), (0.5,)).file.count("/") == 1
