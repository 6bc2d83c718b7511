"""Where a task's model loads its trainable transformers weights from: the one lookup of
model → encoder → checkpoint folder or hub id, revision and ``trust_remote_code``.

The ceiling, the weak rung at freeze, every finetune-regime method and the paper
reproduction all finetune through it, so a rung's pin or remote-code flag cannot be read in
one place and forgotten in another.
"""

from __future__ import annotations

from benchmark.core.errors import SpecError
from benchmark.finetune.classifier import Checkpoint
from benchmark.models.encoders import checkpoint_of
from benchmark.models.hub_ladder import rung_of
from benchmark.models.ladder import ENCODERS, MODELS


def model_checkpoint(model: str) -> Checkpoint:
    """The checkpoint behind a task's model name (an embedded encoder or a ladder rung)."""
    spec = MODELS.get(model)
    if not spec.encoder:
        raise SpecError(f"model {model!r} is a {spec.kind} model with no transformers "
                        "checkpoint; only encoder models and ladder rungs can be finetuned")
    path, revision = checkpoint_of(ENCODERS.get(spec.encoder))
    rung = rung_of(model)
    return Checkpoint(path, revision, bool(rung and rung.trust_remote_code))
