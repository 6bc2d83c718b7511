"""The probe trainer gives the bits of the plain loop: ``nn.Linear``, autograd through the
whole graph and ``torch.optim.AdamW``.

Records stay comparable across the speed-ups only if every probe trains exactly as before
(the written-out AdamW step, the flat head, cross-entropy's written-out gradient), so the
reference here is the loop as it was first written.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.api.losses import class_shares, harden_keep_shares, with_conflict
from benchmark.training.probe import (
    CrossEntropyTo,
    ProbeConfig,
    soft_cross_entropy,
    standardizer,
    train_probe,
)


def reference_train(features: np.ndarray, targets: np.ndarray, config: ProbeConfig, seed: int,
                    loss) -> tuple[np.ndarray, np.ndarray]:
    """The probe loop with ``torch.optim.AdamW`` (the trainer before the speed-ups)."""
    mean, scale = standardizer(features)
    if config.antisymmetric:
        mean = np.zeros_like(mean)
        scale = np.sqrt((np.asarray(features, np.float64) ** 2).mean(0)).astype(np.float32) \
            + np.float32(1e-6)
    x = torch.from_numpy((features - mean) / scale)
    y = torch.from_numpy(targets)
    head = torch.nn.Linear(x.shape[1], y.shape[1])
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    head.bias.requires_grad_(not config.antisymmetric)
    trained = [head.weight] if config.antisymmetric else list(head.parameters())
    optimizer = torch.optim.AdamW(trained, lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(seed)
    n = len(x)
    total = config.epochs * max(1, -(-n // config.batch_size))
    step = 0
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, config.batch_size):
            idx = order[start:start + config.batch_size]
            value = loss(head(x[idx]), y[idx], step / total)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            step += 1
    return head.weight.detach().numpy(), head.bias.detach().numpy()


def confidence_loss(logits: torch.Tensor, targets: torch.Tensor, progress: float
                    ) -> torch.Tensor:
    """A loss with a detached, hardened target (as logconf's), to exercise more ops."""
    probs = torch.softmax(logits.detach(), -1)
    hard = harden_keep_shares(probs, class_shares(targets))
    alpha = 0.5 * min(1.0, progress / 0.2)
    return soft_cross_entropy(logits, (1 - alpha) * targets + alpha * hard)


def wrapped_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, progress: float
                          ) -> torch.Tensor:
    """Plain cross-entropy that the trainer cannot recognise (autograd's path), with the
    deception analog's extra term as tasks with ``conflict:`` add it."""
    return with_conflict(soft_cross_entropy, 1, 0.3)(logits, targets, progress)


def confidence_target(logits: torch.Tensor, targets: torch.Tensor, progress: float
                      ) -> torch.Tensor:
    """confidence_loss's target, declared as one (the trainer writes the gradient out)."""
    hard = harden_keep_shares(torch.softmax(logits, -1), class_shares(targets))
    alpha = 0.5 * min(1.0, progress / 0.2)
    return (1 - alpha) * targets + alpha * hard


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("loss", [soft_cross_entropy, confidence_loss, wrapped_cross_entropy,
                                  CrossEntropyTo(confidence_target)])
@pytest.mark.parametrize("classes", [2, 3])
def test_probe_matches_torch_adamw_bit_for_bit(weight_decay, loss, classes):
    rng = np.random.default_rng(classes)
    features = rng.normal(size=(700, 24)).astype(np.float32)
    targets = rng.dirichlet(np.ones(classes), size=700).astype(np.float32)
    config = ProbeConfig(epochs=3, batch_size=64, lr=1e-2, weight_decay=weight_decay)
    probe = train_probe(features, targets, config, seed=5, loss=loss)
    weight, bias = reference_train(features, targets, config, 5, loss)
    assert np.array_equal(probe.weight, weight)
    assert np.array_equal(probe.bias, bias)


@pytest.mark.parametrize("batch_size", [1, 7, 48, 100, 384])
def test_written_out_cross_entropy_matches_autograd_at_any_batch_size(batch_size):
    """Mean's backward divides by the batch size, which is not a power of two in the last
    batch of an epoch (6,000 rows in batches of 64 leave 48): every size rounds the same."""
    rng = np.random.default_rng(batch_size)
    features = rng.normal(size=(385, 384)).astype(np.float32)  # the mini tasks' width
    targets = rng.dirichlet(np.ones(2), size=385).astype(np.float32)
    config = ProbeConfig(epochs=2, batch_size=batch_size, lr=1e-3)
    probe = train_probe(features, targets, config, seed=1)
    weight, bias = reference_train(features, targets, config, 1, soft_cross_entropy)
    assert np.array_equal(probe.weight, weight) and np.array_equal(probe.bias, bias)


def test_an_antisymmetric_probe_matches_and_keeps_its_bias_at_zero():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(300, 16)).astype(np.float32)
    targets = rng.dirichlet(np.ones(2), size=300).astype(np.float32)
    config = ProbeConfig(epochs=2, batch_size=32, lr=1e-2, antisymmetric=True)
    probe = train_probe(features, targets, config, seed=2)
    weight, bias = reference_train(features, targets, config, 2, soft_cross_entropy)
    assert np.array_equal(probe.weight, weight)
    assert not probe.bias.any() and not bias.any()


def test_global_generator_is_drawn_from_as_before():
    """A method that draws from torch's global generator after a probe sees the stream it saw
    with the plain loop (``nn.Linear``'s initialisation draws from it)."""
    features = np.ones((20, 5), np.float32)
    targets = np.full((20, 2), 0.5, np.float32)
    config = ProbeConfig(epochs=1, batch_size=8)
    torch.manual_seed(0)
    reference_train(features, targets, config, 0, soft_cross_entropy)
    expected = torch.rand(3)
    torch.manual_seed(0)
    train_probe(features, targets, config, 0)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("loss", [soft_cross_entropy,
                                  CrossEntropyTo(lambda logits, targets, progress: targets)])
def test_non_finite_features_are_named_by_row(loss):
    features = np.ones((10, 3), np.float32)
    features[6, 1] = np.nan
    with pytest.raises(FloatingPointError, match=r"features of row 6 are not finite"):
        train_probe(features, np.full((10, 2), 0.5, np.float32), ProbeConfig(), 0, loss=loss)


def test_a_non_finite_loss_names_its_step():
    features = np.ones((10, 3), np.float32)
    targets = np.full((10, 2), 0.5, np.float32)

    def explodes(logits, targets, progress):
        return soft_cross_entropy(logits, targets) * (float("nan") if progress >= 0.5 else 1.0)

    with pytest.raises(FloatingPointError, match=r"loss became nan at step 4 of 6"):
        train_probe(features, targets, ProbeConfig(epochs=2, batch_size=4), 0, loss=explodes)


@pytest.mark.parametrize("layout", ["c", "fortran", "strided"])
def test_standardizer_gives_numpys_mean_and_std_bits(layout):
    rng = np.random.default_rng(4)
    features = (rng.normal(size=(1001, 400)) * rng.uniform(0.1, 100, 400) + 50).astype(np.float32)
    features = {"c": features, "fortran": np.asfortranarray(features),
                "strided": features[::2, ::3]}[layout]
    mean, scale = standardizer(features)
    x = np.asarray(features, dtype=np.float64)
    assert np.array_equal(mean, x.mean(0).astype(np.float32))
    assert np.array_equal(scale, (x.std(0) + 1e-6).astype(np.float32))


def test_a_declared_target_that_turns_nan_names_its_epoch():
    def breaks(logits, targets, progress):
        return targets * (float("nan") if progress >= 0.5 else 1.0)  # from step 9 of 16

    features = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    with pytest.raises(FloatingPointError, match=r"non-finite in epoch 3 of 4"):
        train_probe(features, np.full((40, 2), 0.5, np.float32),
                    ProbeConfig(epochs=4, batch_size=10), 0, loss=CrossEntropyTo(breaks))


def test_a_method_that_declares_a_target_trains_by_cross_entropy_to_it():
    from benchmark.api import Method
    from benchmark.methods.catalog import build_method

    class ByTarget(Method):
        def target(self, logits, weak_probs, progress):
            return weak_probs.flip(-1)

    class WithItsOwnLoss(ByTarget):
        def loss(self, logits, weak_probs, progress):
            return logits.sum()

    logits = torch.tensor([[0.3, -1.2], [2.0, 0.5]])
    weak = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    declared = ByTarget().training_loss()
    assert isinstance(declared, CrossEntropyTo)
    assert torch.equal(declared(logits, weak, 0.0), soft_cross_entropy(logits, weak.flip(-1)))
    assert torch.equal(ByTarget().loss(logits, weak, 0.0), declared(logits, weak, 0.0))
    assert not isinstance(WithItsOwnLoss().training_loss(), CrossEntropyTo)
    assert {name: isinstance(build_method(name).training_loss(), CrossEntropyTo)
            for name in ("naive", "logconf", "entropy", "product", "window", "adaptconf")} == \
        {"naive": True, "logconf": True, "entropy": True, "product": True, "window": False,
         "adaptconf": False}
