"""Load the strong model, finetune it with the shared trainer, predict: the one path that the
frozen ceiling and every finetune-regime method share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.finetune.classifier import Checkpoint, load_classifier
from benchmark.finetune.trainer import (
    FinetuneConfig,
    LossFn,
    TrainStats,
    predict_proba,
    train_classifier,
)


@dataclass
class FinetunedClassifier:
    model: Any
    tokenizer: Any
    config: FinetuneConfig
    stats: TrainStats

    def predict_proba(self, texts: tuple[str, ...] | list[str]) -> np.ndarray:
        probs, truncated = predict_proba(self.model, self.tokenizer, list(texts), self.config)
        if truncated:
            print(f"finetune: {truncated} of {len(texts)} evaluation texts truncated")
        return probs


def fit_classifier(checkpoint: Checkpoint, pooling: str, texts: list[str],
                   targets: np.ndarray, config: FinetuneConfig, seed: int, loss: LossFn,
                   checkpoint_dir: Path | None = None, layers: int | None = None
                   ) -> FinetunedClassifier:
    """A fresh classifier on ``checkpoint`` (its first ``layers`` blocks, if given), trained
    on (texts, soft targets)."""
    tokenizer, model = load_classifier(checkpoint.path, revision=checkpoint.revision,
                                       num_classes=targets.shape[1], pooling=pooling,  # type: ignore[arg-type]
                                       lora_rank=config.lora_rank,
                                       trust_remote_code=checkpoint.trust_remote_code,
                                       layers=layers, head=checkpoint.head)
    stats = train_classifier(model, tokenizer, texts, targets, config, seed, loss,
                             checkpoint_dir=checkpoint_dir)
    return FinetunedClassifier(model, tokenizer, config, stats)
