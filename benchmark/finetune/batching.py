"""Tokenise once, count truncation, and batch by length with dynamic padding.

The original pads every minibatch of one to its own length and accumulates 32 of them; here a
batch holds ``batch_size`` examples of similar length (sorted within shuffled buckets of
``bucket_batches`` batches), padded only to its own longest. Sequences longer than ``max_ctx``
are truncated and *counted*; the original dropped them, which changes the dataset per model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch


@dataclass(frozen=True)
class Encoded:
    ids: list[list[int]]
    truncated: int  # sequences cut to max_ctx

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(x) for x in self.ids), dtype=np.int64, count=len(self.ids))


def encode(tokenizer: Any, texts: list[str], max_ctx: int,
           side: Literal["left", "right"] = "left") -> Encoded:
    """Token ids per text; over-long ones keep their last (``left``) or first tokens.

    Left truncation is the default because the head reads the last token: for "Q: … A:
    answer" the answer is what must survive.
    """
    ids = tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
    truncated = sum(len(x) > max_ctx for x in ids)
    if truncated:
        ids = [x[-max_ctx:] if side == "left" else x[:max_ctx] if len(x) > max_ctx else x
               for x in ids]
    return Encoded(ids, truncated)


def batch_plan(lengths: np.ndarray, batch_size: int, seed: int, epoch: int,
               bucket_batches: int = 16, shuffle: bool = True) -> list[np.ndarray]:
    """Row indices of each batch for one epoch (a pure function of its arguments, so a resumed
    run rebuilds the same plan). Every example is used once; the last batch may be short."""
    n = len(lengths)
    if not shuffle:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(n)
    span = batch_size * bucket_batches
    batches: list[np.ndarray] = []
    for start in range(0, n, span):
        bucket = order[start:start + span]
        bucket = bucket[np.argsort(lengths[bucket], kind="stable")]
        batches += [bucket[i:i + batch_size] for i in range(0, len(bucket), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def collate(ids: list[list[int]], rows: np.ndarray, pad_id: int, multiple: int = 1
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ``(input_ids, attention_mask)`` for the given rows, the width rounded up
    to ``multiple`` (on GPU: fewer distinct shapes to plan kernels for, tensor-core sizes)."""
    width = max(len(ids[r]) for r in rows)
    width = -(-width // multiple) * multiple
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        row = ids[r]
        input_ids[i, :len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, :len(row)] = 1
    return input_ids, mask
