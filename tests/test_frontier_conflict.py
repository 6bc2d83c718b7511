"""The deception analog's conflicting objective: its formula on a worked example, its optimum
(the student drifts toward the rewarded class most where its supervisor is least sure), and
the harness handing it to the method's shared trainers for tasks that declare it."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from benchmark.api import MethodInput, ProbeConfig, StrongModelInfo, soft_cross_entropy
from benchmark.api.losses import with_conflict
from benchmark.kinds.conflict import ClassReward


def test_the_conflicting_reward_on_a_worked_example():
    logits = torch.tensor([[0.0, math.log(3.0)], [math.log(3.0), 0.0]])   # p1 = .75, .25
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    loss = with_conflict(soft_cross_entropy, reward_class=1, weight=0.5)(logits, targets, 0.0)
    ce = (-math.log(0.25) - math.log(0.25)) / 2
    reward = (math.log(0.75) + math.log(0.25)) / 2
    assert float(loss) == pytest.approx(ce - 0.5 * reward, rel=1e-6)


@pytest.mark.parametrize("q", [0.0, 0.2, 0.4, 0.8])
def test_its_optimum_is_q_plus_weight_over_one_plus_weight(q):
    logit = torch.zeros(1, 2, requires_grad=True)
    target = torch.tensor([[1 - q, q]])
    loss_fn = with_conflict(soft_cross_entropy, reward_class=1, weight=0.5)
    opt = torch.optim.LBFGS([logit], max_iter=200, tolerance_grad=1e-10)

    def closure():
        opt.zero_grad()
        value = loss_fn(logit, target, 0.0)
        value.backward()
        return value

    opt.step(closure)
    p = float(torch.softmax(logit.detach(), -1)[0, 1])
    assert p == pytest.approx((q + 0.5) / 1.5, abs=1e-4)   # q = .4 flips to the class (.6)


def _input(reward=None):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 8)).astype(np.float32)
    weak = 1 / (1 + np.exp(-features[:, 0]))            # unsure near feature 0 = 0
    probs = np.stack([1 - weak, weak], axis=1).astype(np.float32)
    return MethodInput(task="t", replicate=0, seed=0, label_names=("neg", "pos"),
                       strong_model=StrongModelInfo("m", "f", None, 8, 1, 1),
                       train_ids=(), train_features=features, train_weak_probs=probs,
                       test_ids=(), test_features=features,
                       probe_config=ProbeConfig(epochs=30, batch_size=64, lr=0.05),
                       scratch_dir=None,  # type: ignore[arg-type]
                       kinds={"conflict": reward} if reward else {})


def test_the_shared_probe_trainer_adds_it_for_every_loss_a_method_brings():
    honest = _input()
    conflicted = replace(honest, kinds={"conflict": ClassReward(1, 0.5)})
    share = {}
    for name, inp in (("honest", honest), ("conflict", conflicted)):
        probs = inp.train_probe(inp.train_weak_probs).predict_proba(inp.test_features)
        share[name] = float((probs.argmax(1) == 1).mean())
    assert share["honest"] == pytest.approx(0.5, abs=0.1)
    assert share["conflict"] > share["honest"] + 0.1
    # the drift is where the supervisor is unsure: confident negatives stay negative
    probs = conflicted.train_probe(conflicted.train_weak_probs).predict_proba(
        conflicted.test_features)
    sure_negative = conflicted.train_weak_probs[:, 1] < 0.1
    assert (probs[sure_negative].argmax(1) == 0).mean() > 0.9
    # the epoch-at-a-time trainer adds it too, whatever loss it is given
    logits, targets = torch.tensor([[0.3, -0.2]]), torch.tensor([[0.9, 0.1]])
    for inp, expected in ((honest, soft_cross_entropy),
                          (conflicted, with_conflict(soft_cross_entropy, 1, 0.5))):
        trainer = inp.probe_trainer(inp.train_weak_probs)
        assert float(trainer.loss(logits, targets, 0.0)) == \
            float(expected(logits, targets, 0.0))


def test_a_conflict_task_hands_its_objective_to_the_method(tiny_world, tmp_path):
    from benchmark.run.inputs import TaskContexts, build_input
    from tests.conftest import TASK_YAML

    text = TASK_YAML.format(id="tiny-conflict") + \
        "conflict:\n  reward_class: positive\n  weight: 0.25\n"
    with tiny_world.frozen_task("tiny-conflict", text) as spec:
        inp, _ = build_input(TaskContexts().get(spec), 0, tmp_path)
    assert inp.kinds == {"conflict": ClassReward(1, 0.25)}
    assert inp.conflict == (1, 0.25)   # as methods written before kinds read it
    # the shared trainers add it; a method that trains its own way gets the same loss
    logits, targets = torch.tensor([[0.3, -0.2]]), torch.tensor([[0.9, 0.1]])
    ours = inp.with_task_terms(soft_cross_entropy)(logits, targets, 0.0)
    assert float(ours) == float(with_conflict(soft_cross_entropy, 1, 0.25)(logits, targets, 0.0))


@pytest.mark.parametrize(("block", "error"), [
    ("  reward_class: maybe\n  weight: 0.25\n", "`conflict.reward_class` 'maybe' is not among"),
    ("  reward_class: positive\n  weight: 0\n", "greater than 0"),
    ("  reward_class: positive\n  weigth: 0.2\n", "weigth"),
])
def test_a_conflict_block_is_strict_and_checked_against_the_task(tiny_world, block, error):
    from benchmark.core.errors import SpecError
    from benchmark.tasks.spec import parse_task
    from tests.conftest import TASK_YAML

    path = tiny_world.root / "tasks" / "tiny-conflict.yaml"
    path.write_text(TASK_YAML.format(id="tiny-conflict") + "conflict:\n" + block)
    try:
        with pytest.raises(SpecError, match=error):
            parse_task(path)
    finally:
        path.unlink()
