"""The probe trainer's written-out AdamW step gives the bits ``torch.optim.AdamW`` gives.

Records stay comparable across the speed-up only if every probe trains exactly as before, so
the reference here is the loop as it was written with the optimizer framework.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.api.losses import class_shares, harden_keep_shares
from benchmark.training.probe import ProbeConfig, soft_cross_entropy, standardizer, train_probe


def reference_train(features: np.ndarray, targets: np.ndarray, config: ProbeConfig, seed: int,
                    loss) -> tuple[np.ndarray, np.ndarray]:
    """The probe loop with ``torch.optim.AdamW`` (the trainer before the speed-up)."""
    mean, scale = standardizer(features)
    x = torch.from_numpy((features - mean) / scale)
    y = torch.from_numpy(targets)
    head = torch.nn.Linear(x.shape[1], y.shape[1])
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    optimizer = torch.optim.AdamW(head.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
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


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("loss", [soft_cross_entropy, confidence_loss])
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


def test_a_non_finite_loss_names_its_step():
    features = np.ones((10, 3), np.float32)
    targets = np.full((10, 2), 0.5, np.float32)

    def explodes(logits, targets, progress):
        return soft_cross_entropy(logits, targets) * (float("nan") if progress >= 0.5 else 1.0)

    with pytest.raises(FloatingPointError, match=r"loss became nan at step 4 of 6"):
        train_probe(features, targets, ProbeConfig(epochs=2, batch_size=4), 0, loss=explodes)
