"""Each baseline's defining formula, checked on a worked example computed by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmark.api.method import MethodInput, StrongModelInfo
from benchmark.methods.catalog import METHODS, build_method
from benchmark.training.probe import ProbeConfig

ALL_BASELINES = {"naive", "logconf", "product", "bootstrap-layers", "early-stop", "entropy",
                 "window", "window-weak", "relabel-knn", "relabel-logreg", "filter-confident",
                 "adaptconf", "strong-zeroshot-probe", "logconf-eleuther", "entropy-min",
                 "probe-filter", "topo-filter", "noisy-channel-em", "born-again",
                 "co-teaching", "mutual-predictability", "prior-match"}


def logits_of(p1: list[float]) -> torch.Tensor:
    p = torch.tensor(p1, dtype=torch.float64)
    return torch.log(torch.stack([1 - p, p], dim=1))


def ce(target: list[list[float]], p1: list[float]) -> float:
    """Mean soft cross-entropy written out: −Σ_c t_c log p_c, averaged over rows."""
    return sum(-(t[0] * math.log(1 - q) + t[1] * math.log(q)) for t, q in zip(target, p1,
                                                                              strict=True)
               ) / len(p1)


def blobs(n: int, dim: int = 8, seed: int = 0, shift: float = 3.0):
    """Two Gaussian blobs; class 1 is shifted along every axis."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, dim)).astype(np.float32) + shift * y[:, None]
    return x, y


def make_input(train_x, weak_p1, test_x, tmp_path: Path, params: int | None = 22_000_000,
               layers: np.ndarray | None = None, epochs: int = 5) -> MethodInput:
    """A MethodInput on synthetic features (``layers``: [L+1, n_train + n_test, dim])."""
    weak = np.stack([1 - np.asarray(weak_p1), np.asarray(weak_p1)], 1).astype(np.float32)
    n, m = len(train_x), len(test_x)
    feature_file = ""
    if layers is not None:
        feature_file = str(tmp_path / "layers.npy")
        np.save(feature_file, layers)
    num_layers = 0 if layers is None else len(layers) - 1
    return MethodInput(
        task="synthetic", replicate=0, seed=0, label_names=("neg", "pos"),
        strong_model=StrongModelInfo("synthetic", "test", params, train_x.shape[1], num_layers,
                                     num_layers),
        train_ids=tuple(f"b{i}" for i in range(n)), train_features=train_x,
        train_weak_probs=weak, test_ids=tuple(f"t{i}" for i in range(m)), test_features=test_x,
        probe_config=ProbeConfig(epochs=epochs, batch_size=32, lr=1e-2),
        scratch_dir=tmp_path / "scratch", feature_file=feature_file,
        train_rows=tuple(range(n)), test_rows=tuple(range(n, n + m)))


def test_every_baseline_is_registered_with_a_one_line_description():
    from benchmark.core.paths import baselines_dir

    for name in ALL_BASELINES:
        cls = METHODS.get(name)
        assert cls.__doc__ and len(cls.__doc__.strip().splitlines()[0]) > 20, name
        assert METHODS.origin(name).startswith(str(baselines_dir()))


def test_naive_is_soft_cross_entropy():
    weak = torch.tensor([[0.3, 0.7], [1.0, 0.0]], dtype=torch.float64)
    p1 = [0.5, 0.25]
    value = build_method("naive").loss(logits_of(p1), weak, 0.0)
    assert value.item() == pytest.approx(ce([[0.3, 0.7], [1.0, 0.0]], p1))
    assert value.item() == pytest.approx((math.log(2) - math.log(0.75)) / 2)


def test_hardening_keeps_the_weak_class_prior():
    from benchmark.api.losses import harden_keep_prior

    probs = torch.tensor([[0.1, 0.9], [0.4, 0.6], [0.7, 0.3], [0.8, 0.2]])
    # p0 = (.1, .4, .7, .8): the 25% quantile is .1 + .75·(.4 − .1) = .325, so one example
    # (p0 = .1) is hardened to class 1; at 50% the threshold is .55 and two are.
    assert harden_keep_prior(probs, 0.25)[:, 1].tolist() == [1, 0, 0, 0]
    assert harden_keep_prior(probs, 0.5)[:, 1].tolist() == [1, 1, 0, 0]
    assert harden_keep_prior(probs, 0.5).sum(1).tolist() == [1, 1, 1, 1]


def test_logconf_paper_ramp_and_openai_schedule():
    paper = build_method("logconf", {"alpha_max": 0.5})
    assert [paper.coefficient(s) for s in (0.0, 0.1, 0.2, 0.9)] == pytest.approx(
        [0.0, 0.25, 0.5, 0.5])
    official = build_method("logconf", {"schedule": "openai"})
    assert [official.coefficient(s) for s in (0.05, 0.1, 0.11, 0.9)] == pytest.approx(
        [0.025, 0.05, 0.5, 0.5])
    with pytest.raises(Exception, match="schedule.*'paper' or 'openai'"):
        build_method("logconf", {"schedule": "fast"})
    with pytest.raises(Exception, match="warmup_fraction.*'auto' or a number"):
        build_method("logconf", {"warmup_fraction": 2})
    with pytest.raises(Exception, match="did you mean 'alpha_max'"):
        build_method("logconf", {"alpha_mx": 0.5})


def test_logconf_openai_schedule_honours_its_options(tmp_path):
    # version 1 ignored both: the released peak 0.5 and jump at 0.1 were hard-coded
    tuned = build_method("logconf", {"schedule": "openai", "alpha_max": 0.75,
                                     "warmup_fraction": 0.2})
    assert [tuned.coefficient(s) for s in (0.1, 0.2, 0.21)] == pytest.approx([0.075, 0.15, 0.75])
    # `auto` under the openai schedule is the released code's 0.5, whatever the student size
    x, y = blobs(64)
    official = build_method("logconf", {"schedule": "openai"})
    official.fit_predict(make_input(x, y * 0.8 + 0.1, x[:10], tmp_path, params=109_000_000))
    assert official.alpha_max == 0.5 and official.coefficient(0.11) == pytest.approx(0.5)


def test_hardening_under_data_parallelism_uses_the_whole_batch(tmp_path):
    """Two gloo ranks holding 3 + 2 rows of one batch harden it as one process would."""
    import json
    import os
    import subprocess
    import sys

    from benchmark.api.losses import class1_prior, harden_keep_prior
    from tests.ddp_hardening import P0, WEAK1

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                    "--nproc_per_node=2", "-m", "tests.ddp_hardening", str(tmp_path)],
                   check=True, capture_output=True, timeout=120, env=env)
    whole = harden_keep_prior(torch.tensor([[p, 1 - p] for p in P0]),
                              class1_prior(torch.tensor([[1 - w, w] for w in WEAK1])))
    # prior .42 over the batch, threshold .268 on p0: rows 0 and 2 (rank 1 alone would have
    # used prior .15 and threshold .815, hardening its p0 = .8 row to class 1 as well)
    assert whole[:, 1].tolist() == [1, 0, 1, 0, 0]
    for rank in (0, 1):
        out = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert out["world"] == 2 and out["prior"] == pytest.approx(0.42)
        assert out["class1"] == [whole[i, 1].item() for i in out["rows"]]


def test_logconf_loss_on_a_worked_example():
    p1 = [0.9, 0.6, 0.3, 0.2]
    weak = [[0.2, 0.8], [0.6, 0.4], [0.5, 0.5], [0.7, 0.3]]  # class-1 share .5
    # Hardened student (threshold .55 on p0 = .1,.4,.7,.8): classes 1, 1, 0, 0.
    # At progress .1 the paper ramp gives α = .5 · .1/.2 = .25: target = .75·weak + .25·hard.
    target = [[0.15, 0.85], [0.45, 0.55], [0.625, 0.375], [0.775, 0.225]]
    method = build_method("logconf", {"alpha_max": 0.5})
    value = method.loss(logits_of(p1), torch.tensor(weak, dtype=torch.float64), 0.1)
    assert value.item() == pytest.approx(ce(target, p1))


def test_logconf_auto_alpha_max_depends_on_student_size(tmp_path):
    x, y = blobs(64)
    for params, expected in ((22_000_000, 0.5), (109_000_000, 0.75)):
        method = build_method("logconf")
        method.fit_predict(make_input(x, y * 0.8 + 0.1, x[:10], tmp_path, params=params))
        assert method.alpha_max == expected


def test_product_target_is_the_normalised_product():
    # student (.8, .2) × weak (.6, .4) = (.48, .08) → (.857…, .142…)
    value = build_method("product").loss(logits_of([0.2]),
                                         torch.tensor([[0.6, 0.4]], dtype=torch.float64), 0.5)
    assert value.item() == pytest.approx(ce([[0.48 / 0.56, 0.08 / 0.56]], [0.2]))


def test_product_target_is_finite_where_the_product_underflows():
    # a hard weak label against a student 40 nats sure of the other class: the product
    # (e^-40 · 1) underflows a clamp at 1e-12, and version 1 lost the row's loss and gradient
    logits = torch.tensor([[40.0, 0.0]], dtype=torch.float64, requires_grad=True)
    weak = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    value = build_method("product").loss(logits, weak, 0.5)
    value.backward()
    assert value.item() == pytest.approx(40.0, abs=1e-6)  # CE to the target (0, 1)
    assert logits.grad[0].tolist() == pytest.approx([1.0, -1.0], abs=1e-6)
    # α = 0: the target is the student itself, finite even where a weak probability is 0
    from baselines.product import product_target

    target = product_target(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), 0.0, 1.0)
    assert target[0].tolist() == pytest.approx(torch.softmax(torch.tensor([1.0, 0.0]), 0)
                                               .tolist())


def test_adaptconf_weights_each_example_by_agreement():
    from baselines.adaptconf import adaptive_weights

    # p = (.9, .1), weak (.3, .7): CE_self = −ln .9, CE_weak = −(.3 ln .9 + .7 ln .1).
    ce_self = -math.log(0.9)
    ce_weak = -(0.3 * math.log(0.9) + 0.7 * math.log(0.1))
    alpha = math.exp(-ce_self) / (math.exp(-ce_self) + math.exp(-ce_weak))
    logits, weak = logits_of([0.1]), torch.tensor([[0.3, 0.7]], dtype=torch.float64)
    assert adaptive_weights(logits, weak, 1.0).item() == pytest.approx(alpha)
    assert alpha > 0.8  # the student is sure, the weak label disagrees: mostly self-training
    value = build_method("adaptconf").loss(logits, weak, 0.0).item()
    assert value == pytest.approx((1 - alpha) * ce_weak + alpha * ce_self)


def test_filter_confident_keeps_the_largest_weak_margins():
    from baselines.filter_confident import confident_rows

    weak1 = np.array([0.5, 0.9, 0.2, 0.6, 0.95, 0.45])  # margins 0 .4 .3 .1 .45 .05
    weak = np.stack([1 - weak1, weak1], 1)
    assert confident_rows(weak, 0.5).tolist() == [1, 2, 4]
    assert confident_rows(weak, 1.0).tolist() == list(range(6))
    # Per class: weak class 1 = rows 1, 3, 4 (keep 4 and 1 → round(1.5) = 2), class 0 =
    # rows 0, 2, 5 (keep 2 and 5).
    assert confident_rows(weak, 0.5, per_class=True).tolist() == [1, 2, 4, 5]


def test_relabel_knn_averages_the_neighbours_weak_labels():
    from baselines.relabel import knn_relabel

    x = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]], dtype=np.float32)
    weak1 = np.array([0.9, 0.7, 0.2, 0.1, 0.3])
    weak = np.stack([1 - weak1, weak1], 1)
    with_self = knn_relabel(x, weak, k=2, exclude_self=False)[:, 1]
    # neighbours (itself first): 0→{0,1}, 1→{1,0 or 2}, 3→{3,4}, 4→{4,3}
    assert with_self[0] == pytest.approx(0.8) and with_self[3] == pytest.approx(0.2)
    without = knn_relabel(x, weak, k=1, exclude_self=True)[:, 1]
    assert without.tolist() == pytest.approx([0.7, 0.9, 0.7, 0.3, 0.1])


def test_relabel_logreg_minimises_the_soft_label_cross_entropy():
    from baselines.relabel import soft_logreg_relabel

    x, y = blobs(200, dim=4, shift=1.0)
    rng = np.random.default_rng(1)
    weak1 = np.clip(0.5 + (2 * y - 1) * rng.uniform(0.0, 0.45, 200) + rng.normal(0, .2, 200),
                    0.02, 0.98)  # soft, noisy, informative
    l2 = 1e-3
    probs, model = soft_logreg_relabel(x, np.stack([1 - weak1, weak1], 1), l2, seed=0)
    from benchmark.training.probe import standardizer

    mean, scale = standardizer(x)
    z = (x - mean) / scale
    w, b = model.coef_[0], model.intercept_[0]
    sigma = 1 / (1 + np.exp(-(z @ w + b)))
    # Stationarity of Σ CE(σ_i, y_i) + ||w||²/(2C) with C = 1/(2·n·l2): gradient ≈ 0.
    grad_w = z.T @ (sigma - weak1) + w * (2 * 200 * l2)
    grad_b = np.sum(sigma - weak1)
    start = np.abs(z.T @ (0.5 - weak1)).max()  # the gradient where the fit starts (w = 0)
    assert np.abs(grad_w).max() < 1e-3 * start and abs(grad_b) < 1e-3 * start
    assert probs[:, 1] == pytest.approx(sigma, abs=1e-5)


class RecordingInput:
    """Duck-typed MethodInput that records what each probe was trained on."""

    def __init__(self, n: int, layers: dict[int, np.ndarray], weak: np.ndarray) -> None:
        self.seed, self.calls, self.layers, self.regime = 0, [], layers, "probe"
        self.train_weak_probs, self.train_features = weak, layers[6]
        self.test_features = layers[6][:3]
        self.strong_model = StrongModelInfo("s", "t", 1, 2, 6, 6)

    def features_at(self, layer: int):
        return self.layers[layer], None

    def train_probe(self, targets, features=None, **_):
        features = self.train_features if features is None else features
        self.calls.append((features, np.array(targets)))
        constant = float(len(self.calls))  # a probe whose output names the call it came from

        class Probe:
            def predict_proba(self, f):
                return np.tile([1 - constant / 10, constant / 10], (len(f), 1))

        return Probe()


def test_bootstrap_chains_rung_to_rung_with_out_of_fold_labels():
    from baselines.bootstrap import fold_ids, rung_layers

    assert rung_layers(6, 2) == [2, 4] and rung_layers(12, 2) == [4, 8]
    assert rung_layers(2, 2) == [1] and rung_layers(6, 1) == [3]
    ids = fold_ids(10, 2, seed=0)
    assert sorted(np.bincount(ids)) == [5, 5]

    n = 8
    # Feature value = 1000·layer + row, so each call shows which layer and rows it saw.
    layers = {k: (1000.0 * k + np.arange(n)[:, None] + np.zeros((n, 2))).astype(np.float32)
              for k in (2, 4, 6)}
    weak = np.tile([0.3, 0.7], (n, 1)).astype(np.float32)
    inp = RecordingInput(n, layers, weak)
    build_method("bootstrap-layers").fit_predict(inp)
    # rung 1 (layer 2): 2 folds trained on weak labels; rung 2 (layer 4): 2 folds trained on
    # rung 1's out-of-fold outputs; then the student (layer 6) on rung 2's outputs.
    folds = fold_ids(n, 2, 0)
    seen = [(int(c[0][0, 0] // 1000), (c[0][:, 0] % 1000).astype(int).tolist(), c[1][:, 1])
            for c in inp.calls]
    trained_on = [np.flatnonzero(folds != f).tolist() for f in (0, 1)]
    assert [(layer, rows) for layer, rows, _ in seen] == [
        (2, trained_on[0]), (2, trained_on[1]), (4, trained_on[0]), (4, trained_on[1]),
        (6, list(range(n)))]
    assert np.allclose(seen[0][2], 0.7) and np.allclose(seen[1][2], 0.7)
    rung1 = np.where(folds == 0, 0.1, 0.2)  # fold 0 predicted by call 1, fold 1 by call 2
    assert np.allclose(seen[2][2], rung1[folds != 0])
    assert np.allclose(seen[3][2], rung1[folds != 1])
    assert np.allclose(seen[4][2], np.where(folds == 0, 0.3, 0.4))


def test_strong_zeroshot_probe_finds_clusters_and_orients_with_weak_labels(tmp_path):
    x, y = blobs(400, dim=6, shift=4.0)
    noisy = np.where(np.random.default_rng(5).random(400) < 0.7, y, 1 - y) * 0.8 + 0.1
    probs = build_method("strong-zeroshot-probe").fit_predict(
        make_input(x[:300], noisy[:300], x[300:], tmp_path))
    assert np.mean(probs.argmax(1) == y[300:]) > 0.95
    flipped = build_method("strong-zeroshot-probe").fit_predict(
        make_input(x[:300], 1 - noisy[:300], x[300:], tmp_path))
    assert np.mean(flipped.argmax(1) == y[300:]) < 0.05  # one bit, from the (inverted) weak labels
    assert np.allclose(probs.sum(1), 1.0)


@pytest.mark.parametrize("name", sorted(ALL_BASELINES))
def test_every_baseline_beats_chance_on_separable_data(name, tmp_path):
    n, dim = 300, 6
    x, y = blobs(n + 100, dim=dim, shift=2.0)
    rng = np.random.default_rng(9)
    confidence = rng.uniform(0.1, 0.45, n)  # weak margins vary, as real ones do
    weak1 = 0.5 + np.where(rng.random(n) < 0.8, 2 * y[:n] - 1, 1 - 2 * y[:n]) * confidence
    layers = np.stack([x * (k / 3) for k in range(4)])  # 3 "layers", the last is x itself
    inp = make_input(x[:n], weak1, x[n:], tmp_path, layers=layers)
    probs = build_method(name).fit_predict(inp)
    assert probs.shape == (100, 2) and np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert np.mean(probs.argmax(1) == y[n:]) > 0.8, name
