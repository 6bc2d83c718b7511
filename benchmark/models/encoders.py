"""Load encoders (asset folder, converted ONNX, or hub id at a pinned revision) and embed text.

Embedding sorts texts by token length and pads each batch only to its own longest text, under
``torch.inference_mode``; every hidden state is mean-pooled over real tokens and returned, so
one pass serves the full model and all of its truncations.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.assets.catalog import asset_path
from benchmark.core.paths import cache_dir
from benchmark.models.ladder import EncoderSource


def converted_dir(source: EncoderSource) -> Path:
    """Folder of a converted checkpoint (an ONNX BERT or a GGUF decoder as a transformers
    checkpoint); converted once into a staging folder renamed into place, then reused."""
    from benchmark.assets.catalog import asset_digest

    assert source.asset is not None
    final = cache_dir() / "converted" / f"{source.name}-{asset_digest(source.asset)}"
    if (final / "config.json").is_file() and (final / "model.safetensors").is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        if source.format == "gguf":
            from benchmark.models.gguf_decoder import convert_gguf

            convert_gguf(asset_path(source.asset) / (source.gguf_file or ""), staging)
        else:
            from benchmark.models.onnx_bert import convert_onnx_bert

            convert_onnx_bert(asset_path(source.asset) / "model.onnx",
                              asset_path(source.tokenizer_asset or "") / "config.json", staging)
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def hub_checkpoint(source: EncoderSource) -> tuple[str, str | None]:
    """``(hub id, commit)``, or ``(folder, None)`` when the hub id names a local copy; an
    unpinned hub id is refused (a branch would drift under frozen results)."""
    from benchmark.assets.hub_pins import unpinned_error

    assert source.hub_id is not None
    if Path(source.hub_id).expanduser().is_dir():
        return str(Path(source.hub_id).expanduser()), None
    if not source.revision:
        raise unpinned_error("model", source.name, source.hub_id)
    return source.hub_id, source.revision


def checkpoint_of(source: EncoderSource) -> tuple[str, str | None]:
    """``(folder or hub id, revision)`` of an encoder's transformers checkpoint, for
    finetuning (ONNX encoders are converted once)."""
    if source.format == "hub":
        return hub_checkpoint(source)
    if source.format in ("onnx-bert", "gguf"):
        return str(converted_dir(source)), None
    return str(asset_path(source.asset or "")), None


def load_encoder(source: EncoderSource) -> tuple[Any, Any]:
    """Return ``(tokenizer, model)`` in eval mode."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    kwargs: dict[str, Any] = {} if source.decoder else {"add_pooling_layer": False}  # unused
    if source.format == "gguf":  # the decoder's blocks without its LM head
        folder = converted_dir(source)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModel.from_pretrained(folder)
    elif source.format == "hub":
        checkpoint, revision = hub_checkpoint(source)
        if revision:
            kwargs["revision"] = revision
        tokenizer = AutoTokenizer.from_pretrained(checkpoint, **({"revision": revision}
                                                                 if revision else {}))
        model = AutoModel.from_pretrained(checkpoint, **kwargs)
    elif source.format == "onnx-bert":
        tokenizer = AutoTokenizer.from_pretrained(asset_path(source.tokenizer_asset or ""))
        model = AutoModel.from_pretrained(converted_dir(source), **kwargs)
    else:
        folder = asset_path(source.asset or "")
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModel.from_pretrained(folder, **kwargs)
    return tokenizer, model.eval()


def embed_all_layers(tokenizer: Any, model: Any, texts: list[str], *, max_length: int = 128,
                     batch_size: int = 32, progress: bool = False,
                     desc: str = "embedding", pooling: str = "mean") -> np.ndarray:
    """Pooled hidden states, shape ``[num_layers + 1, len(texts), hidden]``, float32:
    the mean over real tokens, or (``pooling="last"``) the last real token, found from the
    attention mask so either padding side works."""
    import torch
    from tqdm.auto import tqdm

    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    ids = encoded["input_ids"]
    order = np.argsort([len(x) for x in ids], kind="stable")
    out: np.ndarray | None = None
    batches = range(0, len(texts), batch_size)
    with torch.inference_mode():
        for start in tqdm(batches, desc=desc, unit="batch", disable=not progress):
            rows = order[start:start + batch_size]
            batch = tokenizer.pad({k: [encoded[k][i] for i in rows] for k in encoded},
                                  return_tensors="pt")
            hidden = model(**batch, output_hidden_states=True).hidden_states
            if pooling == "last":
                real = batch["attention_mask"]
                last = real.shape[1] - 1 - real.flip(1).argmax(1)
                pooled = torch.stack([h[torch.arange(len(h)), last] for h in hidden])
            else:
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden[0].dtype)
                pooled = torch.stack([(h * mask).sum(1) / mask.sum(1).clamp(min=1)
                                      for h in hidden])
            if out is None:
                out = np.empty((pooled.shape[0], len(texts), pooled.shape[2]), dtype=np.float32)
            out[:, rows] = pooled.float().numpy()
    if out is None:
        hidden_size = model.config.hidden_size
        out = np.empty((model.config.num_hidden_layers + 1, 0, hidden_size), dtype=np.float32)
    return out


def count_parameters(model: Any, layers: int | None = None) -> int:
    """Parameters a model truncated to its first ``layers`` blocks uses (all, if None).

    Everything outside the dropped blocks counts, e.g. MPNet's shared relative-attention bias.
    """
    total = sum(p.numel() for p in model.parameters())
    blocks = model.layers if hasattr(model, "layers") else model.encoder.layer  # decoder / BERT
    dropped = [] if layers is None else blocks[layers:]
    return total - sum(p.numel() for block in dropped for p in block.parameters())
