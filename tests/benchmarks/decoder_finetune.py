"""Finetuning the decoder rung (SmolLM2-135M, from its GGUF) on CPU: what a run costs.

    python -m tests.benchmarks.decoder_finetune [--n 256] [--threads 2]

Trains the shared trainer (:func:`benchmark.finetune.trainer.train_classifier`, one epoch,
batch 32, last-token pooling) on ``--n`` Rotten Tomatoes snippets in several configurations,
side by side in one process, and prints examples/s and what a `mini`-sized run (6,000
examples of split B × 2 epochs, then 3,000 test predictions) would take at that rate. Needs
``w2s-bench fetch --ladder`` first (the converted checkpoint is made once, in the cache).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from benchmark.assets.catalog import asset_path
from benchmark.datasets import DATASETS
from benchmark.finetune.classifier import load_classifier
from benchmark.finetune.trainer import FinetuneConfig, predict_proba, train_classifier
from benchmark.models.encoders import checkpoint_of
from benchmark.models.ladder import ENCODERS
from benchmark.training.probe import one_hot, soft_cross_entropy

VARIANTS = {
    "full model": {},
    "frozen embeddings": {"freeze_embeddings": True},
    "LoRA rank 8": {"lora_rank": 8},
    "last 4 blocks + head (others frozen)": {"train_last_blocks": 4},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dataset = DATASETS.get("rotten_tomatoes")
    examples = dataset.read(asset_path(dataset.asset))[:args.n + 256]
    texts = [e.text for e in examples]
    targets = one_hot(np.array([e.label for e in examples]), 2)
    folder, _ = checkpoint_of(ENCODERS.get("smollm2-135m-q4"))
    print(f"{args.n} training texts, {torch.get_num_threads()} threads; a mini-sized run = "
          "6,000 examples x 2 epochs + 3,000 predictions")
    print(f"{'variant':<38} {'trainable':>10} {'train ex/s':>10} {'predict ex/s':>12} "
          f"{'mini-sized run':>14}")
    for name, variant in VARIANTS.items():
        config = FinetuneConfig(epochs=1, batch_size=32, lr=1e-5, max_ctx=128, **variant)
        tokenizer, model = load_classifier(folder, lora_rank=config.lora_rank)
        start = time.perf_counter()
        stats = train_classifier(model, tokenizer, texts[:args.n], targets[:args.n], config,
                                 0, soft_cross_entropy)
        train_rate = args.n / (time.perf_counter() - start)
        start = time.perf_counter()
        predict_proba(model, tokenizer, texts[args.n:], config)
        predict_rate = (len(texts) - args.n) / (time.perf_counter() - start)
        minutes = (12_000 / train_rate + 3_000 / predict_rate) / 60
        print(f"{name:<38} {stats.trainable_params:>10,} {train_rate:>10.1f} "
              f"{predict_rate:>12.1f} {minutes:>11.1f} min", flush=True)


if __name__ == "__main__":
    main()
