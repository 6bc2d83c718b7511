"""The baselines that name a source run its rule: each is checked against the rule itself (a
line-for-line port of the source where it is code) or a worked example; the new baselines
on data with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.methods.catalog import build_method
from tests.eleuther_oracle import log_confidence_loss, topofilter
from tests.test_baselines import blobs, ce, logits_of, make_input


def weak_of(p1: np.ndarray) -> torch.Tensor:
    p1 = torch.as_tensor(p1, dtype=torch.float32)
    return torch.stack([1 - p1, p1], 1)


@pytest.mark.parametrize("name,harden", [("logconf-eleuther", True), ("entropy", False)])
def test_eleuther_confidence_losses_match_the_source_over_a_run(name, harden):
    """Their trainer calls the loss one example at a time (``minibatch_size: 1``, 32
    accumulated per update): our minibatches of 64, 40 and 1, over 120 updates of 32, give
    the mean of the source's one-row losses, row by row in order (the ramp, the streamed
    buffer and the one-row prior of 0.5 all as the source computes them)."""
    method = build_method(name)
    method.prepare(None)
    loss = method.training_loss()
    rng = np.random.default_rng(0)
    buffer: list = []
    seen = 0
    for size in [64] * 30 + [40, 1, 64, 64, 64, 64, 64]:
        logits = torch.tensor(rng.normal(size=(size, 2)) * 2, dtype=torch.float32)
        weak1 = torch.tensor(rng.uniform(0.05, 0.95, size), dtype=torch.float32)
        ours = loss(logits, weak_of(weak1), 0.0)
        theirs = [log_confidence_loss(logits[i:i + 1], weak1[i:i + 1], (seen + i) // 32,
                                      warmup_steps=100, aux_coef=0.5, harden=harden,
                                      buffer=buffer) for i in range(size)]
        assert ours.item() == pytest.approx(torch.stack(theirs).mean().item(), abs=1e-6), seen
        seen += size


def test_eleuther_logconf_hardens_on_the_streamed_buffer_not_the_batch():
    from baselines.eleuther import streamed_thresholds

    # after 28 predictions at p0 = .9, rows at .2 .4 .6 .8: each row's median is over the
    # last 32 streamed values up to it, .9 for all four, so all four harden to class 1
    # (a per-batch quantile at a prior of .5 would harden two)
    thresholds, buffer = streamed_thresholds(np.array([0.2, 0.4, 0.6, 0.8]), [0.9] * 28)
    assert thresholds.tolist() == pytest.approx([0.9, 0.9, 0.9, 0.9]) and len(buffer) == 32
    # a 64-row batch, its first half sure of class 0, each half rising: streamed, no row of
    # the first half is below the median of what came before it, and the first 16 of the
    # second half are (their window is still mostly first-half predictions)
    p0 = np.r_[np.linspace(0.6, 0.95, 32), np.linspace(0.05, 0.4, 32)]
    thresholds, _ = streamed_thresholds(p0, [])
    hardened = p0 < thresholds
    assert not hardened[:32].any() and hardened[32:48].all()
    # one row past the ramp: c = .5, the row is its own median, so it is hardened to class 0
    one = build_method("logconf-eleuther")
    one.examples_seen = 3200
    target = one.target(logits_of([0.998]).float(), weak_of(np.array([0.9])), 0.0)
    assert target[0, 1].item() == pytest.approx(0.5 * 0.9 + 0.5 * 0.0)


def test_entropy_is_a_rescaled_naive_and_entropy_min_is_not():
    logits = torch.tensor([[0.3, -0.2], [1.5, 0.1], [-0.4, 0.9]], requires_grad=True)
    weak = weak_of(np.array([0.7, 0.2, 0.6]))
    entropy = build_method("entropy")
    entropy.examples_seen = 50 * 32  # step 50: c = .25
    entropy.training_loss()(logits, weak, 0.0).backward()
    scaled = logits.grad.clone()
    logits.grad = None
    torch.nn.functional.cross_entropy(logits, weak).backward()
    assert torch.allclose(scaled, 0.75 * logits.grad, atol=1e-7)
    # entropy-min: (1 - c)·CE + c·H with the gradient through H, at c = .5 (past the ramp)
    method = build_method("entropy-min", {"alpha_max": 0.5})
    p = [0.7, 0.2, 0.6]
    value = method.loss(logits_of(p), weak.double(), 0.9).item()
    h = -np.mean([q * np.log(q) + (1 - q) * np.log(1 - q) for q in p])
    assert value == pytest.approx(0.5 * ce(weak.tolist(), p) + 0.5 * h)


def test_window_selects_by_the_student_and_window_weak_by_the_weak_label():
    from baselines.window import midweak_radius

    weak = torch.tensor([[0.5, 0.5], [0.4, 0.6], [0.1, 0.9], [0.9, 0.1]])
    # margins 0, .1, .4, .4: torch.median, as the source, takes the lower middle value
    assert midweak_radius(weak.numpy()) == pytest.approx(0.1)
    assert midweak_radius(weak.numpy()) == pytest.approx(torch.median(
        (weak[:, 1] - 0.5).abs()).item())
    p1 = [0.7, 0.3, 0.6, 0.2]
    source = build_method("window")
    source.radius = 0.25  # counts rows whose max p < .75: .7, .7, .6 yes; .8 no
    expected = torch.nn.functional.cross_entropy(
        logits_of(p1)[:3].float(), weak[:3], reduction="sum") / 4  # the source's formula
    assert source.loss(logits_of(p1), weak.double(), 0.0).item() == pytest.approx(
        expected.item())
    variant = build_method("window-weak")
    variant.radius = 0.25  # weak margins 0 .1 .4 .4: rows 0 and 1
    assert variant.loss(logits_of(p1), weak.double(), 0.0).item() == pytest.approx(
        ce(weak[:2].tolist(), p1[:2]) * 2 / 4)


def test_early_stop_scores_every_25_steps_of_32_and_keeps_the_best(tmp_path):
    from baselines.early_stop import best_checkpoint, holdout_split

    assert best_checkpoint([(800, 0.6), (1600, 0.8), (2400, 0.8), (3200, 0.7)]) == 1600
    assert best_checkpoint([(800, None), (1600, 0.5)]) == 1600
    x, y = blobs(500, shift=0.6)
    weak1 = np.where(np.random.default_rng(2).random(500) < 0.7, y, 1 - y) * 0.8 + 0.1
    inp = make_input(x, weak1, x[:50], tmp_path, epochs=12)
    method = build_method("early-stop", {"eval_every_steps": 2})  # every 64 examples
    probs = method.fit_predict(inp)
    # scored at the first step boundary at or past each multiple of 64 (batches of 32, and
    # a last batch of 16 in each epoch of 400 rows)
    assert len(method.scored_at) == 12 * 400 // 64
    assert all(0 <= seen - 64 * (i + 1) < 32 for i, seen in enumerate(method.scored_at))
    # the returned head is the trainer's after exactly `chosen` examples
    fit, _ = holdout_split(500, 0.2, inp.seed)
    kept = {}
    trainer = inp.probe_trainer(inp.train_weak_probs[fit], features=x[fit])
    for _ in range(12):
        trainer.run_epoch(after_step=lambda t: kept.setdefault(t.examples_seen, t.probe()))
    assert np.array_equal(probs, kept[method.chosen].predict_proba(x[:50]))


def test_relabel_knn_uses_raw_middle_layer_activations_with_k_50(tmp_path):
    from baselines.relabel import knn_relabel, middle_layer

    # column 2 has a large scale: raw distances follow it, standardised ones would not
    x = np.array([[0, 0, 0], [0, 0, 10], [1, 1, 0], [1, 1, 10]], dtype=np.float32)
    weak = np.stack([1 - np.array([0.9, 0.1, 0.8, 0.2]), [0.9, 0.1, 0.8, 0.2]], 1)
    raw = knn_relabel(x, weak, k=2, exclude_self=False)[:, 1]
    assert raw.tolist() == pytest.approx([0.85, 0.15, 0.85, 0.15])  # neighbours share col 2
    assert build_method("relabel-knn").config["k"] == 50
    inp = make_input(x, np.full(4, 0.5), x, tmp_path, layers=np.zeros((4, 8, 3), np.float32))
    assert middle_layer(inp) == 2  # 3 layers: hidden states 0..3, the source's 4 // 2


def test_topo_filter_matches_the_source_and_removes_planted_noise_first():
    from baselines.probe_filters import knn_filter, topo_filter

    x, y = blobs(400, dim=5, shift=2.5, seed=3)
    rng = np.random.default_rng(4)
    flipped = rng.random(400) < 0.1
    weak1 = np.where(flipped, 1 - y, y) * 0.8 + 0.1 + rng.uniform(-0.05, 0.05, 400)
    for k in (5, 50):
        ours = topo_filter(x, weak1, 0.1, k, k)
        theirs = topofilter(torch.from_numpy(x), torch.from_numpy(weak1), 0.1, k_cc=k, k_zeta=k)
        assert sorted(ours.tolist()) == sorted(np.asarray(theirs).tolist()), k
    for kept in (topo_filter(x, weak1, 0.1, 50, 50), knn_filter(x, weak1, 50, 0.1)):
        dropped = np.setdiff1d(np.arange(400), kept)
        assert len(dropped) == 40
        assert flipped[dropped].mean() > 0.8 > 0.1  # mostly planted flips, at a 10% base rate
    # the source's counts: the kNN filter drops int(0.1·n), TopoFilter round(0.1·n)
    x, y = blobs(415, dim=5, shift=2.5, seed=3)
    weak1 = y * 0.8 + 0.1
    assert len(knn_filter(x, weak1, 50, 0.1)) == 415 - 41
    assert len(topo_filter(x, weak1, 0.1, 50, 50)) == 415 - 42


def test_noisy_channel_em_recovers_a_planted_flip_matrix(tmp_path):
    from baselines.noisy_channel import true_class_posterior

    x, y = blobs(4000, dim=6, shift=2.0, seed=1)
    planted = np.array([[0.9, 0.1], [0.3, 0.7]])  # T[true, weak]: asymmetric
    rng = np.random.default_rng(11)
    weak_class = np.where(rng.random(4000) < planted[y, 1], 1, 0)
    weak1 = np.where(weak_class == 1, 0.8, 0.2)
    method = build_method("noisy-channel-em")
    probs = method.fit_predict(make_input(x, weak1, x[:200], tmp_path))
    assert np.abs(method.flips - planted).max() < 0.04
    assert np.mean(probs.argmax(1) == y[:200]) > 0.95
    # the E-step on a worked example: p = (.9, .1), weak class 1 → q ∝ (.9·.1, .1·.7)
    q = true_class_posterior(np.array([[0.9, 0.1]]), planted, np.array([1]))
    assert q[0].tolist() == pytest.approx([0.09 / 0.16, 0.07 / 0.16])


def test_born_again_trains_each_round_on_the_last_students_predictions(tmp_path):
    x, y = blobs(300, shift=1.0)
    weak1 = np.where(np.random.default_rng(2).random(300) < 0.8, y, 1 - y) * 0.8 + 0.1
    inp = make_input(x, weak1, x[:20], tmp_path)
    method = build_method("born-again", {"rounds": 2})
    probs = method.fit_predict(inp)
    first = inp.train_probe(inp.train_weak_probs)
    assert np.array_equal(method.targets[0], first.predict_proba(x))
    second = inp.train_probe(method.targets[0])
    assert np.array_equal(method.targets[1], second.predict_proba(x))
    assert np.array_equal(probs, inp.train_probe(method.targets[1]).predict_proba(x[:20]))


def test_co_teaching_each_head_trains_on_the_rows_the_other_finds_easiest(tmp_path):
    from baselines.co_teaching import forget_rate, small_loss_rows

    assert small_loss_rows(np.array([0.3, 0.1, 0.9, 0.2]), 0.5).tolist() == [0, 1, 0, 1]
    assert [forget_rate(e, 10, 0.2, 0.5) for e in (0, 2, 5, 9)] == pytest.approx(
        [0, 0.08, 0.2, 0.2])
    x, y = blobs(600, dim=6, shift=1.5, seed=2)
    flipped = np.random.default_rng(3).random(600) < 0.2
    weak1 = np.where(flipped, 1 - y, y) * 0.9 + 0.05
    method = build_method("co-teaching")
    method.fit_predict(make_input(x, weak1, x[:10], tmp_path, epochs=10))
    for (for_first, for_second), (first_loss, second_loss), rate in zip(
            method.kept, method.losses, [forget_rate(e, 10, 0.2, 0.5) for e in range(10)],
            strict=True):  # each head trains on the rows the *other* head finds easiest
        assert np.array_equal(for_first, small_loss_rows(second_loss, rate))
        assert np.array_equal(for_second, small_loss_rows(first_loss, rate))
    for_first, for_second = method.kept[-1]
    for weights in (for_first, for_second):
        assert weights.sum() == 480  # 1 − .2 of 600
        assert flipped[weights == 0].mean() > 0.7  # the left-out rows are mostly planted flips
    assert not np.array_equal(*method.losses[0])  # two heads started apart


def test_reliability_weights_examples_by_supervisor_agreement(tmp_path):
    from dataclasses import replace

    votes = np.array([[0.8, 0.3, 0.6], [0.9, 0.8, 0.4], [0.7, 0.6, 0.2]])  # [S, n] class-1
    labels = np.stack([1 - votes, votes], axis=2)
    x, y = blobs(200, shift=2.0)
    from benchmark.kinds.weak_models import SupervisorLabels

    inp = replace(make_input(x, np.full(200, 0.5), x[:10], tmp_path), kinds={
        "weak_models": SupervisorLabels({
            name: labels[i].repeat(67, 0)[:200].astype(np.float32)
            for i, name in enumerate("abc")})})
    method = build_method("reliability-weighted")
    probs = method.fit_predict(inp)
    # the worked example's rows 0, 1, 2 fill rows 0-66, 67-133, 134-199: all three
    # supervisors name row 0's class (weight 1), two of three rows 1's and 2's (2/3)
    assert method.weights[[0, 67, 134]].tolist() == pytest.approx([1.0, 2 / 3, 2 / 3])
    assert set(np.round(method.weights, 6)) == {1.0, round(2 / 3, 6)}
    # the student is the shared probe trained with those per-example weights, not without
    weighted = inp.probe_trainer(np.mean(np.stack(list(inp.supervisor_probs.values())), 0))
    plain = inp.probe_trainer(np.mean(np.stack(list(inp.supervisor_probs.values())), 0))
    for _ in range(inp.probe_config.epochs):
        weighted.run_epoch(weights=method.weights)
        plain.run_epoch()
    np.testing.assert_allclose(probs, weighted.probe().predict_proba(x[:10]), atol=1e-6)
    assert np.abs(probs - plain.probe().predict_proba(x[:10])).max() > 1e-3


def test_mutual_predictability_finds_a_planted_direction_without_labels(tmp_path):
    x, y = blobs(600, dim=32, shift=0.8, seed=5)
    noisy = np.where(np.random.default_rng(6).random(600) < 0.65, y, 1 - y) * 0.6 + 0.2
    method = build_method("mutual-predictability")
    probs = method.fit_predict(make_input(x[:400], noisy[:400], x[400:], tmp_path))
    assert np.mean(method.labels == y[:400]) > 0.95  # found without a label …
    assert np.mean(probs.argmax(1) == y[400:]) > 0.9
    inverted = build_method("mutual-predictability")
    inverted.fit_predict(make_input(x[:400], 1 - noisy[:400], x[400:], tmp_path))
    assert np.mean(inverted.labels == y[:400]) < 0.05  # … named by the weak labels alone
