"""Training throughput of the finetune trainer against the original openai/weak-to-strong loop.

    python -m tests.benchmarks.finetune_throughput                 # CPU, the issue's setting
    python -m tests.benchmarks.finetune_throughput --gpu-ladder    # GPU: tokens/s and MFU

Both loops train the same random-weight GPT-2 built from config (default 6 layers, 384 wide,
a 30,522-token vocabulary) on the same ~27-token sequences, side by side in one process, and
report examples/s and the ratio. The *original loop* is re-implemented minimally from
``weak_to_strong/train.py``: minibatch 1, 32 forward passes whose logits are concatenated,
one backward, Adam, cosine schedule, the whole model trainable (so every minibatch builds a
dense embedding-table gradient). Ours is :func:`benchmark.finetune.trainer.train_classifier`
in several configurations. Token ids are synthetic: tokenisation is not what is timed.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
import torch

from benchmark.finetune.classifier import SequenceClassifier, disable_dropout, last_token_index
from benchmark.finetune.trainer import FinetuneConfig, train_classifier
from benchmark.training.probe import soft_cross_entropy

H100_BF16_PEAK = 989e12  # dense bf16 FLOP/s of an H100 SXM (NVIDIA datasheet)


class PreTokenized:
    """A tokenizer stand-in: each text is its token ids written out."""

    pad_token_id = 0

    def __call__(self, texts: list[str], **_: Any) -> dict[str, list[list[int]]]:
        return {"input_ids": [[int(t) for t in text.split()] for text in texts]}


def make_data(n: int, vocab: int, mean_len: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.normal(mean_len, mean_len / 3, n).astype(int), 4, 4 * mean_len)
    texts = [" ".join(map(str, rng.integers(1, vocab, size=k))) for k in lengths]
    labels = rng.integers(0, 2, size=n)
    return texts, np.eye(2, dtype=np.float32)[labels]


def build_model(layers: int, width: int, vocab: int, ctx: int = 1024) -> SequenceClassifier:
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(0)
    backbone = GPT2Model(GPT2Config(vocab_size=vocab, n_positions=ctx, n_embd=width,
                                    n_layer=layers, n_head=max(1, width // 64)))
    disable_dropout(backbone)
    return SequenceClassifier(backbone)


def original_loop(model: SequenceClassifier, texts: list[str], targets: np.ndarray,
                  batch_size: int = 32, lr: float = 5e-5, device: str = "cpu") -> float:
    """openai/weak-to-strong's loop (minibatch 1, accumulate 32 graphs, one backward).
    Returns examples/s."""
    tok = PreTokenized()
    ids = tok(texts)["input_ids"]
    model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = len(texts) // batch_size  # the original drops the remainder
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    start = time.perf_counter()
    for step in range(steps):
        logits, labels = [], []
        for i in range(step * batch_size, (step + 1) * batch_size):
            input_ids = torch.tensor([ids[i]], device=device)
            mask = torch.ones_like(input_ids)
            hidden = model.backbone(input_ids=input_ids, attention_mask=mask).last_hidden_state
            logits.append(model.head(hidden[0, last_token_index(mask)[0]]))
            labels.append(torch.as_tensor(targets[i], device=device))
        loss = soft_cross_entropy(torch.stack(logits), torch.stack(labels))
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - start)


def ours(model: SequenceClassifier, texts: list[str], targets: np.ndarray, **config: Any
         ) -> tuple[float, Any]:
    cfg = FinetuneConfig(epochs=1, batch_size=32, lr=5e-5, **config)
    start = time.perf_counter()
    stats = train_classifier(model, PreTokenized(), texts, targets, cfg, 0, soft_cross_entropy)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return len(texts) / (time.perf_counter() - start), stats


VARIANTS = {
    "batch 32, fp32": {"bf16": False},
    "batch 32, bf16 autocast": {"bf16": True},
    "batch 32, fp32, frozen embeddings": {"bf16": False, "freeze_embeddings": True},
    "batch 32, bf16, frozen embeddings": {"bf16": True, "freeze_embeddings": True},
}


def cpu_comparison(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    texts, targets = make_data(args.n, args.vocab, args.mean_len)
    base = original_loop(build_model(args.layers, args.width, args.vocab),
                         texts[:args.n_original], targets[:args.n_original])
    print(f"model: GPT-2 {args.layers} layers x {args.width}, vocab {args.vocab}; "
          f"{args.n} sequences, mean {np.mean([len(t.split()) for t in texts]):.1f} tokens; "
          f"{torch.get_num_threads()} threads")
    print(f"{'loop':<38} {'examples/s':>10} {'vs original':>11}")
    print(f"{'original (minibatch 1, accumulate 32)':<38} {base:>10.1f} {1.0:>10.2f}x")
    for name, config in VARIANTS.items():
        rate, _ = ours(build_model(args.layers, args.width, args.vocab), texts, targets,
                       **config)
        print(f"{'ours: ' + name:<38} {rate:>10.1f} {rate / base:>10.2f}x")


def gpu_ladder(args: argparse.Namespace) -> None:
    """Tokens/s and model FLOP utilisation on GPU for gpt2-sized random-weight models."""
    sizes = {"gpt2": (12, 768), "gpt2-medium": (24, 1024), "gpt2-large": (36, 1280),
             "gpt2-xl": (48, 1600)}
    checkpointed = {"gpt2-large", "gpt2-xl"}  # activations of batch 32 would not fit otherwise
    print(f"device: {torch.cuda.get_device_name()}; bf16 autocast; batch 32; "
          f"{args.n} sequences of mean {args.gpu_len} tokens; MFU against "
          f"{H100_BF16_PEAK / 1e12:.0f} TFLOP/s")
    print("* gradient checkpointing: the FLOP counter sees the recomputed forward, so "
          "meas/6ND is ~1.33 and MFU counts the recomputation as work")
    print(f"{'model':<12} {'examples/s':>10} {'tokens/s':>10} {'TFLOP/s':>8} {'MFU':>6} "
          f"{'meas/6ND':>8} {'peak GB':>7} {'orig ex/s':>9} {'ratio':>6}")
    for name, (layers, width) in sizes.items():
        if args.models and name not in args.models:
            continue
        texts, targets = make_data(args.n, 50257, args.gpu_len)
        extra = {"bf16": True, "gradient_checkpointing": name in checkpointed}
        ours(build_model(layers, width, 50257), texts[:64], targets[:64], **extra)  # warm-up
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        rate, stats = ours(build_model(layers, width, 50257), texts, targets, **extra)
        seconds = len(texts) / rate
        achieved = stats.train_flops / seconds
        base = original_loop(build_model(layers, width, 50257), texts[:args.n_original],
                             targets[:args.n_original], device="cuda")
        torch.cuda.empty_cache()
        label = name + ("*" if name in checkpointed else "")
        print(f"{label:<12} {rate:>10.1f} {stats.padded_tokens / seconds:>10.0f} "
              f"{achieved / 1e12:>8.1f} {achieved / H100_BF16_PEAK:>6.1%} "
              f"{stats.train_flops / stats.flops_6nd:>8.2f} "
              f"{(stats.peak_gpu_mem_mb or 0) / 1024:>7.1f} {base:>9.1f} {rate / base:>5.1f}x")


def profile_gpu(args: argparse.Namespace) -> None:
    """Where one gpt2-sized training run spends its time (torch.profiler, top ops)."""
    from torch.profiler import ProfilerActivity, profile

    texts, targets = make_data(640, 50257, args.gpu_len)
    ours(build_model(12, 768, 50257), texts[:64], targets[:64], bf16=True)
    times: list[float] = []
    model = build_model(12, 768, 50257)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        cfg = FinetuneConfig(epochs=1, batch_size=32, lr=5e-5, bf16=True)
        train_classifier(model, PreTokenized(), texts, targets, cfg, 0, soft_cross_entropy,
                         on_step=lambda step, loss: times.append(time.perf_counter()))
    steps = np.diff(times)
    print(f"step time: median {np.median(steps) * 1e3:.1f} ms, first {steps[:3] * 1e3}")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    print(prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--n-original", type=int, default=512,
                        help="examples the (slow) original loop trains on")
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--width", type=int, default=384)
    parser.add_argument("--vocab", type=int, default=30522)
    parser.add_argument("--mean-len", type=int, default=27)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gpu-ladder", action="store_true")
    parser.add_argument("--gpu-len", type=int, default=256)
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--profile", action="store_true", help="GPU: profile a gpt2-sized run")
    args = parser.parse_args()
    if args.profile:
        profile_gpu(args)
    else:
        gpu_ladder(args) if args.gpu_ladder else cpu_comparison(args)


if __name__ == "__main__":
    main()
