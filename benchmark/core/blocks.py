"""Blocks: the runs that share a split draw, the independent unit of every test and interval.

Two (task, replicate) units are in one block when they were trained and tested on the same
examples: the same A, B and test ids. The block is derived from those ids, never from names,
so tasks that happen to draw identical splits (legacy tasks of one dataset share a seed, a
shift task shares its plain twin's) are one block, and every (task, replicate) drawn on its
own is its own block. A record carries its block as ``split_sha256``.

Units drawn apart from one finite pool still share examples (a shift task's target set is a
draw from the other dataset, overlapping that dataset's tasks by chance); conditional on the
pool their draws are independent, so inference from blocks speaks about the pool's examples.

Blocks that hold the same tasks are replicates of one design cell (a *stratum*): the
variance of a suite score is estimated within strata, and resampling stays within them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


def split_draw_sha256(dataset: str, ids: Mapping[str, Sequence[str]]) -> str:
    """sha256 of a replicate's split draw: its dataset and the sorted ids of each split."""
    canonical = {"dataset": dataset,
                 "splits": {split: sorted(found) for split, found in sorted(ids.items())
                            if found}}
    text = json.dumps(canonical, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def legacy_block(dataset: str, replicate: int) -> str:
    """The block of a record written before records kept their split draw: every task of
    the dataset at that replicate, the coarsest block it could be in (legacy tasks of one
    dataset share their draws), so no test claims more than it might hold."""
    return f"legacy:{dataset}:{replicate}"


@dataclass(frozen=True)
class BlockLayout:
    """Units mapped to blocks, and blocks to strata (blocks that hold the same tasks)."""

    unit_block: np.ndarray    # [units] index of each unit's block
    block_stratum: np.ndarray  # [blocks] index of each block's stratum
    blocks: int
    strata: int

    @property
    def stratum_sizes(self) -> np.ndarray:
        return np.bincount(self.block_stratum, minlength=self.strata)


def layout(tasks: Sequence[str], blocks: Sequence[str]) -> BlockLayout:
    """The block and stratum of each unit, in first-sorted order of block names."""
    names, unit_block = np.unique(np.asarray(blocks, dtype=object).astype(str),
                                  return_inverse=True)
    members: list[list[str]] = [[] for _ in names]
    for task, block in zip(tasks, unit_block, strict=True):
        members[block].append(task)
    compositions = [tuple(sorted(m)) for m in members]
    kinds = {c: i for i, c in enumerate(sorted(set(compositions)))}
    block_stratum = np.array([kinds[c] for c in compositions], dtype=np.intp)
    return BlockLayout(unit_block.astype(np.intp), block_stratum, len(names), len(kinds))


def block_sums(values: np.ndarray, unit_block: np.ndarray, count: int) -> np.ndarray:
    """Σ over each block's units of ``values[..., u]``: [..., blocks]."""
    onehot = np.zeros((len(unit_block), count))
    onehot[np.arange(len(unit_block)), unit_block] = 1.0
    return values @ onehot


def stratified_variance(sums: np.ndarray, block_stratum: np.ndarray, strata: int,
                        kept: np.ndarray | None = None) -> np.ndarray | None:
    """Variance of Σ_b sums[..., b] when the blocks of a stratum are independent draws of
    one design cell: Σ_s n_s · var_s (sample variance, ddof 1) over the ``kept`` blocks
    (those holding data; a block with none is no observation, not a zero). A stratum that
    keeps a single block has no variance estimate: it contributes its square, E[x²] ≥
    var(x), an upper bound. None when nothing is kept."""
    kept = np.ones(len(block_stratum), bool) if kept is None else np.asarray(kept, bool)
    stratum = block_stratum[kept]
    sums = sums[..., kept]
    if not len(stratum):
        return None
    sizes = np.bincount(stratum, minlength=strata)
    onehot = np.zeros((len(stratum), strata))
    onehot[np.arange(len(stratum)), stratum] = 1.0
    means = (sums @ onehot) / np.maximum(sizes, 1)
    single = (sizes == 1)[stratum]
    centred = np.where(single, sums, sums - means[..., stratum])
    factor = np.where(single, 1.0, sizes[stratum] / np.maximum(sizes[stratum] - 1.0, 1.0))
    return (centred ** 2 * factor).sum(axis=-1)


def smallest_p(blocks: int) -> float:
    """The smallest two-sided p an exact sign-flip test over ``blocks`` blocks can give: the
    observed pattern and its mirror image are always as extreme, 2 / 2^blocks."""
    return min(1.0, 2.0 ** (1 - blocks))


def resample_counts(block_stratum: np.ndarray, strata: int, draws: int, seed: int
                    ) -> np.ndarray:
    """[draws, blocks] how often each block is drawn when each stratum's blocks are
    resampled with replacement (a stratified block bootstrap)."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((draws, len(block_stratum)))
    for stratum in range(strata):
        members = np.flatnonzero(block_stratum == stratum)
        picked = rng.integers(0, len(members), size=(draws, len(members)))
        for column, block in enumerate(members):
            counts[:, block] = (picked == column).sum(axis=1)
    return counts


def half_splits(block_stratum: np.ndarray, strata: int, splits: int, seed: int
                ) -> np.ndarray:
    """[splits, 2, blocks] bool: each split's two halves, each half of every stratum's
    blocks (with an odd count, one block sits out)."""
    rng = np.random.default_rng(seed)
    first = np.zeros((splits, len(block_stratum)), bool)
    second = np.zeros_like(first)
    for stratum in range(strata):
        members = np.flatnonzero(block_stratum == stratum)
        half = len(members) // 2
        for s in range(splits):
            order = rng.permutation(members)
            first[s, order[:half]] = True
            second[s, order[half:2 * half]] = True
    return np.stack([first, second], axis=1)
