"""The probe trainer an epoch at a time (``ProbeTrainer``), the hooks selection-based methods
are written with: per-example weights and row selection, per-example losses, a resumed head,
and the compute of what a method trains itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.core import compute
from benchmark.training.probe import ProbeConfig, ProbeTrainer, one_hot, train_probe


def data(n: int = 120, dim: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    p1 = 1 / (1 + np.exp(-(x[:, 0] + rng.normal(0, 0.5, n))))
    return x, np.stack([1 - p1, p1], 1).astype(np.float32)


CONFIG = ProbeConfig(epochs=4, batch_size=16, lr=1e-2)


def heads_equal(a, b) -> bool:
    return np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)


def test_unit_weights_train_the_same_bits_as_no_weights():
    x, y = data()
    trainer = ProbeTrainer(x, y, CONFIG, seed=3)
    for _ in range(CONFIG.epochs):
        trainer.run_epoch(weights=np.ones(len(x)))
    assert heads_equal(trainer.probe(), train_probe(x, y, CONFIG, seed=3))


def test_a_row_of_weight_zero_has_no_influence_and_is_not_counted():
    x, y = data()
    left_out = np.arange(len(x)) % 3 == 0
    weights = np.where(left_out, 0.0, 1.0)
    other = y.copy()
    other[left_out] = y[left_out][:, ::-1]  # different targets on the rows left out only
    heads = []
    for targets in (y, other):
        compute.METER.reset()
        trainer = ProbeTrainer(x, targets, CONFIG, seed=1)
        for _ in range(CONFIG.epochs):
            trainer.run_epoch(weights=weights)
        heads.append(trainer.probe())
        assert compute.METER.examples_seen == CONFIG.epochs * int((~left_out).sum())
    assert heads_equal(*heads)


def test_weights_scale_each_rows_gradient():
    """One step of plain CE on two rows, weights (2, 0.5): the logit gradient is the batch
    mean of w_i·(p_i − y_i), checked through the head's bias gradient."""
    x = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    y = one_hot(np.array([1, 0]), 2)
    trainer = ProbeTrainer(x, y, ProbeConfig(epochs=1, batch_size=2, lr=1e-2), seed=0)
    trainer.run_epoch(weights=np.array([2.0, 0.5]))
    # zero head: p = (.5, .5); p − y = (.5, −.5) and (−.5, .5); mean of weighted rows
    expected = (2.0 * np.array([0.5, -0.5]) + 0.5 * np.array([-0.5, 0.5])) / 2
    assert trainer.head.bias_grad.numpy() == pytest.approx(expected)


def test_per_example_loss_is_each_rows_cross_entropy():
    x, y = data()
    trainer = ProbeTrainer(x, y, CONFIG, seed=0)
    trainer.run_epoch()
    probs = trainer.probe().predict_proba(x)
    assert trainer.per_example_loss() == pytest.approx(-(y * np.log(probs)).sum(1), rel=1e-5)


def test_a_resumed_head_starts_where_it_was_and_keeps_its_coordinates():
    x, y = data()
    first = train_probe(x, y, ProbeConfig(epochs=2, batch_size=16, lr=1e-2), seed=0)
    resumed = ProbeTrainer(x * 3, y, CONFIG, seed=0, init=first)  # other data, same head
    assert heads_equal(resumed.probe(), first)
    assert np.array_equal(resumed.probe().mean, first.mean)
    before = resumed.per_example_loss().mean()
    resumed.run_epoch()
    assert not heads_equal(resumed.probe(), first)
    assert np.isfinite(before)
    with pytest.raises(ValueError, match="cannot resume"):
        ProbeTrainer(x[:, :3], y, CONFIG, seed=0, init=first)


def test_bad_weights_and_extra_epochs_are_refused_by_name():
    x, y = data()
    trainer = ProbeTrainer(x, y, ProbeConfig(epochs=1, batch_size=16), seed=0)
    with pytest.raises(ValueError, match="weights must be"):
        trainer.run_epoch(weights=np.zeros(len(x)))
    with pytest.raises(ValueError, match="weights must be"):
        trainer.run_epoch(weights=-np.ones(len(x)))
    trainer.run_epoch()
    with pytest.raises(ValueError, match="set up for 1 epochs"):
        trainer.run_epoch()


def test_after_step_sees_every_step():
    x, y = data(n=40)
    seen = []
    trainer = ProbeTrainer(x, y, ProbeConfig(epochs=2, batch_size=16), seed=0)
    for _ in range(2):
        trainer.run_epoch(after_step=lambda t: seen.append(t.examples_seen))
    assert seen == [16, 32, 40, 56, 72, 80]


def test_the_api_exports_what_the_docs_tell_authors_to_use():
    import benchmark.api as api

    for name in ("ProbeTrainer", "with_conflict", "report_training", "report_inference",
                 "counting_flops"):
        assert name in api.__all__ and hasattr(api, name), name


def test_a_custom_loop_is_counted_when_it_reports():
    from benchmark.api import counting_flops, report_training

    compute.METER.reset()
    a, b = torch.randn(8, 16), torch.randn(16, 4)
    with counting_flops() as counted:
        a @ b
    assert counted.flops == 2 * 8 * 16 * 4
    report_training(counted.flops, examples=8, params=64)
    assert (compute.METER.train_flops, compute.METER.examples_seen,
            compute.METER.trained_params) == (1024.0, 8, 64)
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            report_training(bad, 1, 1)
