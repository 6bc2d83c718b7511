"""On-disk cache of mean-pooled hidden states, keyed by encoder weights and exact input texts.

A cache entry is one ``.npy`` array ``[layers + 1, n, hidden]`` written atomically (temp file,
fsync, rename), so an interrupted extraction is recomputed, never read half-written. Entries
are opened memory-mapped: reading one layer of one split costs only that slice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmark.assets.catalog import asset_digest
from benchmark.core.paths import cache_dir
from benchmark.core.storage import atomic_write_via
from benchmark.models.ladder import ENCODERS, MODELS, EncoderSource, hidden_layer

FEATURE_VERSION = "1"  # bump when pooling or tokenisation changes


def encoder_identity(source: EncoderSource) -> str:
    if source.format == "hub":
        return f"{source.hub_id}@{source.revision}"
    return f"{source.name}@{asset_digest(source.asset or '')}"


class DerivedTexts(list):
    """A pool's texts whose features are made from other cache entries instead of embedding
    each string: a shift task's pool (its source and target pools, each an entry shared with
    the tasks of that dataset) or a pairwise task's pool (first response minus second)."""

    recipe = ""

    def derive(self, encoder: str, progress: bool) -> np.ndarray:
        raise NotImplementedError


class ConcatenatedTexts(DerivedTexts):
    """Texts made of consecutive parts, each embedded (and cached) as its own entry."""

    recipe = "concatenated"

    def __init__(self, parts: list[list[str]]) -> None:
        super().__init__(text for part in parts for text in part)
        self.parts = parts

    def derive(self, encoder: str, progress: bool) -> np.ndarray:
        return np.concatenate([all_layer_features(encoder, part, progress)
                               for part in self.parts], axis=1)


class PairTexts(DerivedTexts):
    """Pair texts (two responses joined by a separator): the features of a pair are the
    first response's minus the second's, so a linear probe on them is a Bradley-Terry
    scorer r(first) - r(second) (see :mod:`benchmark.kinds.pairwise`)."""

    recipe = "pair-difference"

    def __init__(self, texts: list[str], split: Callable[[str], tuple[str, str]]) -> None:
        super().__init__(texts)
        self.split = split

    def derive(self, encoder: str, progress: bool) -> np.ndarray:
        halves = [self.split(text) for text in self]
        responses = [first for first, _ in halves] + [second for _, second in halves]
        stacked = all_layer_features(encoder, responses, progress)
        n = len(halves)
        return np.asarray(stacked[:, :n], np.float32) - np.asarray(stacked[:, n:], np.float32)


def feature_key(source: EncoderSource, texts: list[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    meta = {"encoder": encoder_identity(source), "max_length": source.max_length,
            "pooling": source.pooling, "version": FEATURE_VERSION, "texts": digest.hexdigest()}
    if isinstance(texts, DerivedTexts):
        meta["recipe"] = texts.recipe
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:24]


def cache_path(source: EncoderSource, texts: list[str]) -> Path:
    return cache_dir() / "features" / source.name / f"{feature_key(source, texts)}.npy"


def all_layer_features(encoder: str, texts: list[str], progress: bool = False) -> np.ndarray:
    """Cached ``[layers + 1, n, hidden]`` features of ``texts`` (computed on a miss)."""
    source = ENCODERS.get(encoder)
    path = cache_path(source, texts)
    if path.is_file():
        try:
            return np.load(path, mmap_mode="r")
        except (ValueError, OSError):
            path.unlink(missing_ok=True)  # unreadable entry: recompute
    if isinstance(texts, DerivedTexts):
        array = texts.derive(encoder, progress)
    else:
        from benchmark.models.encoders import embed_all_layers, load_encoder

        tokenizer, model = load_encoder(source)
        array = embed_all_layers(tokenizer, model, texts, max_length=source.max_length,
                                 progress=progress, pooling=source.pooling,
                                 desc=f"embedding {len(texts):,} texts with {encoder} "
                                      "(cached after)")
    atomic_write_via(path, lambda handle: np.save(handle, array))
    return np.load(path, mmap_mode="r")


def model_features(model: str, texts: list[str], progress: bool = False) -> np.ndarray:
    """``[n, hidden]`` features of ``texts`` as the ladder model ``model`` sees them."""
    spec = MODELS.get(model)
    if spec.kind != "encoder":
        raise ValueError(f"model {model!r} ({spec.kind}) has no dense features")
    layers = all_layer_features(spec.encoder or "", texts, progress=progress)
    return np.asarray(layers[hidden_layer(spec)], dtype=np.float32)
