"""Model-FLOPs utilisation of the finetune trainer on a GPU, one change at a time.

    python -m tests.benchmarks.gpu_mfu                      # gpt2 and the decoder rung's shape
    python -m tests.benchmarks.gpu_mfu --models gpt2 --tiny  # a CPU smoke run of the script

Each model is built from its config with random weights (the FLOPs and the kernels do not
depend on the values; the GPU machine cannot reach the hub, and the decoder rung's converted
checkpoint is 540 MB): GPT-2 small (12 × 768) and SmolLM2-135M's Llama shape (30 × 576,
9 query / 3 key-value heads, 49,152-token vocabulary). Sequences are synthetic token ids of
mean length ``--len``; the trainer is :func:`benchmark.finetune.trainer.train_classifier`.

Throughput is *marginal*: each variant trains once for ``--short`` steps and once for
``--long`` steps on the same model, and rate = (FLOPs_long − FLOPs_short) / (t_long −
t_short). That cancels the fixed costs of a training call (optimizer set-up, the first step
that runs under the FLOP counter, compilation) so the figure is the steady state. MFU is that
rate over the GPU's dense bf16 peak (989 TFLOP/s for an H100 or H200 SXM, NVIDIA's datasheet).
FLOPs are the flop counter's, or 6·N·D where it cannot count a kernel (grouped-query SDPA).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from benchmark.finetune.classifier import SequenceClassifier, disable_dropout
from benchmark.finetune.trainer import FinetuneConfig, train_classifier
from benchmark.training.probe import soft_cross_entropy
from tests.benchmarks.finetune_throughput import PreTokenized, make_data

BF16_PEAK = 989e12  # dense bf16 FLOP/s, H100 / H200 SXM


def build(name: str, tiny: bool) -> tuple[SequenceClassifier, int]:
    from transformers import AutoModel, GPT2Config, LlamaConfig

    torch.manual_seed(0)
    if name == "gpt2":
        config = GPT2Config(n_layer=2 if tiny else 12, n_embd=64 if tiny else 768,
                            n_head=2 if tiny else 12)
    else:  # SmolLM2-135M(-Instruct)'s shape, as its GGUF declares it
        config = LlamaConfig(vocab_size=49152, hidden_size=64 if tiny else 576,
                             intermediate_size=128 if tiny else 1536,
                             num_hidden_layers=2 if tiny else 30, num_attention_heads=9 if not tiny
                             else 4, num_key_value_heads=3 if not tiny else 2,
                             max_position_embeddings=8192, rope_theta=100000.0,
                             tie_word_embeddings=True)
    backbone = AutoModel.from_config(config)
    disable_dropout(backbone)
    return SequenceClassifier(backbone), config.vocab_size


@dataclass(frozen=True)
class Variant:
    name: str
    batch_size: int
    compile: bool = False
    sync_every_step: bool = False  # what the trainer did before: read the loss each step


VARIANTS = [
    Variant("batch 32, loss read every step (before)", 32, sync_every_step=True),
    Variant("batch 32, no per-step sync", 32),
    Variant("batch 128, no per-step sync", 128),
    Variant("batch 128, torch.compile", 128, compile=True),
    Variant("batch 256, torch.compile", 256, compile=True),
]


def train(model: SequenceClassifier, texts: list[str], targets: np.ndarray, v: Variant,
          device: str) -> tuple[float, Any]:
    config = FinetuneConfig(epochs=1, batch_size=v.batch_size, lr=1e-5, bf16=device == "cuda",
                            compile=v.compile)
    on_step = (lambda step, loss: None) if v.sync_every_step else None
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    stats = train_classifier(model, PreTokenized(), texts, targets, config, 0,
                             soft_cross_entropy, on_step=on_step)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, stats


def measure(name: str, v: Variant, args: argparse.Namespace, device: str) -> None:
    model, vocab = build(name, args.tiny)
    texts, targets = make_data(v.batch_size * args.long, vocab, args.len)
    short = v.batch_size * args.short
    train(model, texts[:short], targets[:short], v, device)  # warm-up (and compile)
    t_short, s_short = train(model, texts[:short], targets[:short], v, device)
    t_long, s_long = train(model, texts, targets, v, device)
    rate = (s_long.train_flops - s_short.train_flops) / max(t_long - t_short, 1e-9)
    tokens = (s_long.padded_tokens - s_short.padded_tokens) / max(t_long - t_short, 1e-9)
    whole = s_long.train_flops / t_long
    source = "counter" if s_long.flops_source.startswith("flop") else "6ND"
    print(f"{name:<14} {v.name:<42} {tokens:>10.0f} {rate / 1e12:>8.1f} "
          f"{rate / BF16_PEAK:>6.1%} {whole / BF16_PEAK:>6.1%} {source:>7} "
          f"{(s_long.peak_gpu_mem_mb or 0) / 1024:>6.1f}", flush=True)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=["gpt2", "smollm2-135m"])
    parser.add_argument("--variants", nargs="*", type=int, help="indices into VARIANTS")
    parser.add_argument("--len", type=int, default=256, help="mean sequence length")
    parser.add_argument("--short", type=int, default=10)
    parser.add_argument("--long", type=int, default=50)
    parser.add_argument("--tiny", action="store_true", help="tiny models (a smoke run)")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    print(f"device: {name}; torch {torch.__version__}; mean length {args.len}; steady state "
          f"from {args.short} vs {args.long} steps; MFU against {BF16_PEAK / 1e12:.0f} TFLOP/s")
    print(f"{'model':<14} {'variant':<42} {'tokens/s':>10} {'TFLOP/s':>8} {'MFU':>6} "
          f"{'whole':>6} {'flops':>7} {'GB':>6}", flush=True)
    chosen = [VARIANTS[i] for i in args.variants] if args.variants else VARIANTS
    for model_name in args.models:
        for v in chosen:
            try:
                measure(model_name, v, args, device)
            except Exception as exc:  # one variant failing must not lose the others' numbers
                print(f"{model_name:<14} {v.name:<42} failed: {type(exc).__name__}: "
                      f"{str(exc)[:300]}", flush=True)


if __name__ == "__main__":
    main()
