"""Freezing several weak supervisors (a task whose kind names them): each fitted on its own,
their average the default labels. :func:`benchmark.labels.freeze.freeze_task` calls these;
the kind makes their references (:meth:`~benchmark.core.kinds.TaskKind.weak_reference`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmark.core.kinds import scored_file_splits
from benchmark.labels.supervisors import Predictor


def scored_splits(rows: dict[str, np.ndarray]) -> list[str]:
    """The replicate's splits that carry weak probabilities, in file order."""
    return [split for split in scored_file_splits() if split in rows]


def ensemble_labels(members: list[str], fit: Callable[[str], Predictor],
                    rows: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Each supervisor fitted on gold A by ``fit(name)``: their average per scored split
    (the default labels), and every one's probabilities as frozen, float32
    ``[supervisors, rows, classes]`` with rows in :func:`scored_splits` order."""
    splits = scored_splits(rows)
    stacked = np.stack([
        np.concatenate([predict(rows[split]) for split in splits]).astype(np.float32)
        for predict in (fit(name) for name in members)])
    mean = stacked.astype(np.float64).mean(axis=0)
    edges = np.cumsum([0] + [len(rows[split]) for split in splits])
    return ({split: mean[a:b] for split, a, b in zip(splits, edges[:-1], edges[1:],
                                                     strict=True)}, stacked)
