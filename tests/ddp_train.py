"""One rank of a data-parallel finetune, launched by ``tests/test_data_parallel.py`` through
``torch.distributed.run`` (2 CPU processes, gloo): the multi-GPU code path of the shared
trainer (accelerate's DDP wrapper, the batch split across ranks, one checkpoint writer),
without GPUs.

Usage: ``python -m torch.distributed.run --nproc_per_node 2 -m tests.ddp_train MODEL OUT``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch


def main(model_dir: str, out_dir: str) -> None:
    from benchmark.finetune.classifier import load_classifier
    from benchmark.finetune.trainer import (
        FinetuneConfig,
        accelerator,
        predict_proba,
        train_classifier,
    )
    from benchmark.training.probe import one_hot, soft_cross_entropy
    from tests.conftest import make_corpus

    torch.set_num_threads(1)
    corpus = make_corpus(300)
    texts, labels = [t for t, _ in corpus], np.array([y for _, y in corpus])
    config = FinetuneConfig(epochs=2, batch_size=16, lr=3e-3, max_ctx=64, bf16=False,
                            checkpoint_every=5)
    tokenizer, model = load_classifier(model_dir)
    out = Path(out_dir)
    stats = train_classifier(model, tokenizer, texts[:200], one_hot(labels[:200], 2), config,
                             0, soft_cross_entropy, checkpoint_dir=out / "checkpoints")
    probs, _ = predict_proba(model, tokenizer, texts[200:], config)
    acc = accelerator()
    weights = torch.cat([p.detach().flatten() for p in acc.unwrap_model(model).parameters()])
    (out / f"rank{acc.process_index}.json").write_text(json.dumps({
        "world": acc.num_processes, "steps": stats.steps, "examples": stats.examples_seen,
        "weights_sum": float(weights.double().sum()), "probs": probs.tolist(),
        "accuracy": float((probs.argmax(1) == labels[200:]).mean())}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
