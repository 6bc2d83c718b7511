"""The assets a task stands on: its dataset's corpus and its models' weights (and a borrowed
tokenizer), so ``run`` and ``freeze`` fetch exactly what they will open."""

from __future__ import annotations

from collections.abc import Iterable

from benchmark.datasets import DATASETS
from benchmark.models import ENCODERS, MODELS
from benchmark.tasks.spec import TaskSpec


def model_assets(model: str) -> list[str]:
    """Assets an encoder model loads from (weights, and a borrowed tokenizer if any)."""
    spec = MODELS.get(model)
    if not spec.encoder:
        return []
    encoder = ENCODERS.get(spec.encoder)
    return [a for a in (encoder.asset, encoder.tokenizer_asset) if a]


def required_assets(tasks: Iterable[TaskSpec], include_weak: bool = False) -> list[str]:
    """Assets a run needs (dataset + strong model); a freeze also needs the weak model's."""
    names: list[str] = []
    for spec in tasks:
        ref = spec.dataset
        if ref.source == "asset":  # hub data come through `datasets`, files are local
            names.append(ref.asset if ref.by_columns else DATASETS.get(ref.name).asset)
        names += model_assets(spec.strong_model)
        if include_weak:
            names += model_assets(spec.weak_model)
    return sorted(set(names))
