"""Finetunes the freeze stage may share between the tasks it freezes in one go.

A reproduced study freezes every (weak < strong) pair of a dataset on one split draw, so a
rung finetuned on gold A (as a weak supervisor) or on gold B (as a ceiling) with its recipe
and seed is the same training in every pair that names it. Inside :func:`shared_finetunes`
each such training runs once: its predictions are kept, keyed by everything that fixes the
training (checkpoint and revision, recipe, pooling, seed, the training texts and targets)
and by the texts predicted, and later tasks read them. Outside it (every other freeze,
``--add-ceilings``' re-training check included) nothing is shared.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import numpy as np

_ACTIVE: list[dict[str, Any]] = []   # the memo of the innermost shared_finetunes, if any


@contextmanager
def shared_finetunes() -> Iterator[None]:
    """Share identical finetunes between the freezes run inside."""
    _ACTIVE.append({"predictions": {}, "fitted": None, "fits": 0})
    try:
        yield
    finally:
        _ACTIVE.pop()


def fits_run() -> int:
    """How many finetunes ran inside the current :func:`shared_finetunes` (0 outside)."""
    return _ACTIVE[-1]["fits"] if _ACTIVE else 0


def _digest(value: Any) -> str:
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value).tobytes() + str((value.dtype, value.shape)).encode()
    else:
        data = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(data).hexdigest()


# what only changes how a training uses memory or resumes, not what it computes: a rung
# supervising a student that needs gradient checkpointing trains with it too
NOT_IN_KEY = ("gradient_checkpointing", "checkpoint_every")


def training_key(checkpoint: Any, pooling: str, config: Any, seed: int,
                 texts: Sequence[str], targets: np.ndarray) -> str:
    """What fixes one finetune's result on this machine."""
    recipe = {k: v for k, v in asdict(config).items() if k not in NOT_IN_KEY}
    return _digest([str(checkpoint.path), checkpoint.revision, pooling, recipe, seed,
                    _digest(list(texts)), _digest(np.asarray(targets))])


def shared_predictor(key: str, fit: Callable[[], Any]) -> Callable[[Sequence[str]], np.ndarray]:
    """``predict(texts)`` of the training ``fit()`` runs: without a shared memo, that
    training's own predictions (it runs now); with one, the kept predictions where the same
    training already predicted these texts, else it trains once (the last training stays
    loaded) and keeps what it predicts."""
    if not _ACTIVE:
        fitted = fit()
        return fitted.predict_proba
    memo = _ACTIVE[-1]

    def predict(texts: Sequence[str]) -> np.ndarray:
        entry = (key, _digest(list(texts)))
        if entry not in memo["predictions"]:
            if memo["fitted"] is None or memo["fitted"][0] != key:
                memo["fitted"] = None   # free the previous model before training another
                memo["fitted"] = (key, fit())
                memo["fits"] += 1
            memo["predictions"][entry] = memo["fitted"][1].predict_proba(list(texts))
        return np.array(memo["predictions"][entry])

    return predict
