"""On-disk cache of mean-pooled hidden states, keyed by encoder weights and exact input texts.

A cache entry is one ``.npy`` array ``[layers + 1, n, hidden]`` written atomically (temp file,
fsync, rename), so an interrupted extraction is recomputed, never read half-written. Entries
are opened memory-mapped: reading one layer of one split costs only that slice.
"""

from __future__ import annotations

import hashlib
import json
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


def feature_key(source: EncoderSource, texts: list[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    meta = {"encoder": encoder_identity(source), "max_length": source.max_length,
            "pooling": source.pooling, "version": FEATURE_VERSION, "texts": digest.hexdigest()}
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
    from benchmark.models.encoders import embed_all_layers, load_encoder

    tokenizer, model = load_encoder(source)
    array = embed_all_layers(tokenizer, model, texts, max_length=source.max_length,
                             progress=progress, pooling=source.pooling,
                             desc=f"embedding {len(texts):,} texts with {encoder} (cached after)")
    atomic_write_via(path, lambda handle: np.save(handle, array))
    return np.load(path, mmap_mode="r")


def model_features(model: str, texts: list[str], progress: bool = False) -> np.ndarray:
    """``[n, hidden]`` features of ``texts`` as the ladder model ``model`` sees them."""
    spec = MODELS.get(model)
    if spec.kind != "encoder":
        raise ValueError(f"model {model!r} ({spec.kind}) has no dense features")
    layers = all_layer_features(spec.encoder or "", texts, progress=progress)
    return np.asarray(layers[hidden_layer(spec)], dtype=np.float32)
