"""Feature extraction against sentence-transformers, ONNX Runtime and the machine's matmul rate.

    python -m tests.benchmarks.embedding_speed [--n 2000] [--dataset rotten-tomatoes]

On the same texts (the first ``--n`` of an embedded dataset's pool) and the same encoder
(all-MiniLM-L6-v2, the default strong student), side by side in one process:

- ``ours``: :func:`benchmark.models.encoders.embed_all_layers` (length-sorted batches of 32,
  every hidden state pooled, what the feature cache stores);
- ``sentence-transformers``: ``SentenceTransformer(folder).encode`` (last layer only), if
  the package is installed (it is no dependency: ``pip install sentence-transformers``);
- ``onnxruntime``: the same BERT exported to ONNX with every hidden state as an output, run
  by ONNX Runtime over the same batches, if ``onnxruntime`` is installed.

Rates are texts/s and GFLOP/s counted as 2 × non-embedding parameters × real tokens (the
issue's yardstick; attention's own FLOPs are not counted), and their ratio to the fp32
matmul rate this process measures on 1024 × 1024 products with every thread.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def matmul_rate(size: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def onnx_runner(model, tokenizer, texts: list[str], batch_size: int):
    """A callable embedding ``texts`` with ONNX Runtime, or None without onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    folder = Path(tempfile.mkdtemp())
    sample = tokenizer(["a short sample text", "another"], return_tensors="pt", padding=True)
    layers = model.config.num_hidden_layers + 1

    class AllLayers(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids, output_hidden_states=True)
            return tuple(out.hidden_states)

    torch.onnx.export(AllLayers(model), (sample["input_ids"], sample["attention_mask"],
                                         sample["token_type_ids"]),
                      str(folder / "m.onnx"), dynamo=False, opset_version=17,
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=[f"h{i}" for i in range(layers)],
                      dynamic_axes={k: {0: "b", 1: "t"} for k in
                                    ("input_ids", "attention_mask", "token_type_ids")})
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    # no busy-waiting between runs: spinning threads would slow the next path measured
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(folder / "m.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    encoded = tokenizer(texts, truncation=True, max_length=128)
    order = np.argsort([len(x) for x in encoded["input_ids"]], kind="stable")

    def run() -> None:
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            batch = tokenizer.pad({k: [encoded[k][i] for i in rows] for k in encoded},
                                  return_tensors="np")
            hidden = session.run(None, {k: batch[k].astype(np.int64) for k in
                                        ("input_ids", "attention_mask", "token_type_ids")})
            mask = batch["attention_mask"][..., None].astype(np.float32)
            [(h * mask).sum(1) / mask.sum(1) for h in hidden]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--dataset", default="rotten_tomatoes")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    from benchmark.assets.catalog import asset_path
    from benchmark.datasets import DATASETS
    from benchmark.models.encoders import embed_all_layers, load_encoder
    from benchmark.models.ladder import ENCODERS

    dataset = DATASETS.get(args.dataset)
    texts = [e.text for e in dataset.read(asset_path(dataset.asset))][:args.n]
    source = ENCODERS.get("all-minilm-l6-v2")
    tokenizer, model = load_encoder(source)
    tokens = sum(len(x) for x in tokenizer(texts, truncation=True, max_length=128)["input_ids"])
    embedding = sum(p.numel() for p in model.embeddings.parameters())
    flops = 2 * (sum(p.numel() for p in model.parameters()) - embedding) * tokens
    peak = matmul_rate()
    print(f"{len(texts)} texts, {tokens} tokens ({tokens / len(texts):.1f} per text); "
          f"{torch.get_num_threads()} threads; fp32 matmul {peak / 1e9:.1f} GFLOP/s")
    ours = ("ours (torch, all layers)", lambda: embed_all_layers(
        tokenizer, model, texts, max_length=source.max_length))
    print(f"{'path':<30} {'seconds':>8} {'texts/s':>8} {'GFLOP/s':>8} {'of matmul':>9} "
          f"{'vs ours':>7}")
    try:
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(asset_path(source.asset or "")), device="cpu")
        compare(ours, ("sentence-transformers encode",
                       lambda: st.encode(texts, batch_size=32)), args.repeats, len(texts),
                flops, peak)
    except ImportError:
        print("sentence-transformers not installed: row skipped")
    # ONNX Runtime second, in its own round: its thread pool would disturb the others
    runner = onnx_runner(model, tokenizer, texts, 32)
    if runner is None:
        print("onnxruntime not installed: row skipped")
    else:
        compare(ours, ("onnxruntime (all layers)", runner), args.repeats, len(texts), flops,
                peak)


def compare(ours, other, repeats: int, n: int, flops: float, peak: float) -> None:
    """Time ``ours`` and ``other`` interleaved (drift hits both), best of ``repeats``."""
    rows = dict([ours, other])
    for fn in rows.values():
        fn()  # warm-up
    best = {name: float("inf") for name in rows}
    for _ in range(repeats):
        for name, fn in rows.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    base = best[ours[0]]
    for name, seconds in best.items():
        print(f"{name:<30} {seconds:>8.2f} {n / seconds:>8.0f} {flops / seconds / 1e9:>8.1f} "
              f"{flops / seconds / peak:>9.0%} {base / seconds:>6.2f}x", flush=True)

if __name__ == "__main__":
    main()
