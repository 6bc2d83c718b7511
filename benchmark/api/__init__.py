"""The plugin API: everything a method may import.

A submission (and every baseline, written exactly as one) imports ``benchmark.api`` and
nothing else of ``benchmark``; the code scan refuses anything else. What is here: the
:class:`Method` base class and ``@register``, the :class:`MethodInput` a run receives, the
loss helpers, the shared probe trainer (whole, or an epoch at a time: :class:`ProbeTrainer`),
the finetune entry points, compute reporting for a method's own loops, and the
metrics a method may compute on its *own* held-out weak labels (never on gold).
"""

from __future__ import annotations

from benchmark.api.compute import counting_flops, report_inference, report_training
from benchmark.api.losses import (
    class1_prior,
    class_shares,
    confidence_margin,
    harden_argmax,
    harden_keep_prior,
    harden_keep_shares,
    linear_ramp,
    openai_logconf_coefficient,
    per_example_cross_entropy,
    whole_batch,
    with_conflict,
)
from benchmark.api.method import (
    Method,
    MethodInput,
    StrongModelInfo,
    register,
)
from benchmark.core.errors import SpecError
from benchmark.core.method_card import GoldForTuning, Uses
from benchmark.core.metrics import accuracy, auroc
from benchmark.finetune.fit import FinetunedClassifier
from benchmark.finetune.trainer import FinetuneConfig
from benchmark.training.probe import (
    CrossEntropyTo,
    LinearProbe,
    ProbeConfig,
    ProbeTrainer,
    one_hot,
    soft_cross_entropy,
    standardizer,
    train_probe,
)

__all__ = [
    "CrossEntropyTo", "FinetuneConfig", "FinetunedClassifier", "GoldForTuning",
    "LinearProbe", "Method",
    "MethodInput", "ProbeConfig", "ProbeTrainer", "SpecError", "StrongModelInfo", "accuracy",
    "auroc", "class1_prior", "class_shares", "confidence_margin", "counting_flops",
    "harden_argmax", "harden_keep_prior", "harden_keep_shares", "linear_ramp", "one_hot",
    "openai_logconf_coefficient", "per_example_cross_entropy", "register",
    "report_inference", "report_training", "soft_cross_entropy", "standardizer",
    "Uses", "train_probe", "whole_batch", "with_conflict",
]
