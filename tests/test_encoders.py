"""Encoder loading through the hub code path (a tiny BERT saved by the test) and the cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.models import ENCODERS
from benchmark.models.encoders import embed_all_layers, load_encoder

TEXTS = ["the film was great", "dull", "the story felt quite tedious and the ending flat",
         "a very bold cast", "plot"]


def test_hub_loader_and_length_sorted_batches_match_one_by_one(tiny_world) -> None:
    tokenizer, model = load_encoder(ENCODERS.get("tiny-bert"))
    batched = embed_all_layers(tokenizer, model, TEXTS, batch_size=2)
    assert batched.shape == (3, len(TEXTS), 32) and batched.dtype == np.float32
    with torch.inference_mode():
        for i, text in enumerate(TEXTS):  # no padding at all: plain mean over tokens
            hidden = model(**tokenizer(text, return_tensors="pt"),
                           output_hidden_states=True).hidden_states
            for layer, h in enumerate(hidden):
                np.testing.assert_allclose(batched[layer, i], h[0].mean(0).numpy(), atol=1e-5)


def test_feature_cache_hits_and_survives_a_corrupt_entry(tiny_world, monkeypatch) -> None:
    from benchmark.models import encoders, features

    first = np.array(features.all_layer_features("tiny-bert", TEXTS))
    path = features.cache_path(ENCODERS.get("tiny-bert"), TEXTS)
    assert path.is_file() and not list(path.parent.glob(".*.tmp"))

    def no_model(*_args, **_kwargs):
        raise AssertionError("cache miss: the encoder was loaded again")

    monkeypatch.setattr(encoders, "load_encoder", no_model)
    np.testing.assert_array_equal(features.all_layer_features("tiny-bert", TEXTS), first)
    monkeypatch.undo()

    path.write_bytes(path.read_bytes()[:100])  # a truncated entry is recomputed, not read
    np.testing.assert_allclose(features.all_layer_features("tiny-bert", TEXTS), first, atol=1e-6)
    other = features.cache_path(ENCODERS.get("tiny-bert"), [*TEXTS[:-1], "changed"])
    assert other != path  # keyed by the exact texts


def test_hub_encoder_needs_a_pinned_revision_to_load() -> None:
    from pydantic import ValidationError

    from benchmark.core.errors import SpecError
    from benchmark.models.encoders import load_encoder
    from benchmark.models.ladder import EncoderSource

    with pytest.raises(ValidationError, match="needs hub_id"):
        EncoderSource(name="x", format="hub", num_layers=1, hidden_size=8)
    unpinned = EncoderSource(name="x", format="hub", hub_id="org/model", num_layers=1,
                             hidden_size=8)
    with pytest.raises(SpecError, match="no pinned revision"):
        load_encoder(unpinned)
