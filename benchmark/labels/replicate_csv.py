"""The weak-label file of one replicate: a deterministic gzip'd CSV of its split draw (example
id, split) and the weak class probabilities of the splits that carry them."""

from __future__ import annotations

import csv
import gzip
import io

import numpy as np

from benchmark.core.errors import IntegrityError
from benchmark.core.kinds import BASE_SPLITS, file_splits, scored_file_splits


def encode_replicate(ids: dict[str, list[str]], probs: dict[str, np.ndarray]) -> bytes:
    """Deterministic gzip'd CSV (mtime 0) of one replicate's split draw and weak labels."""
    classes = next(iter(probs.values())).shape[1]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["id", "split", *[f"p{c}" for c in range(classes)]])
    for split in (s for s in file_splits() if s in ids):  # a kind's: its tasks only
        for i, example_id in enumerate(ids[split]):
            row = [f"{p:.6f}" for p in probs[split][i]] if split in probs else [""] * classes
            writer.writerow([example_id, split, *row])
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, filename="") as gz:
        gz.write(text.getvalue().encode("ascii"))
    return buffer.getvalue()


def decode_replicate(data: bytes, source: str) -> tuple[dict[str, list[str]],
                                                        dict[str, np.ndarray]]:
    import pandas as pd

    try:
        # ids are hex digests and splits A/B/test, so no value of theirs reads as NA; the
        # empty probabilities of A rows do.
        frame = pd.read_csv(io.BytesIO(gzip.decompress(data)), dtype={"id": str, "split": str})
    except (OSError, EOFError, ValueError, pd.errors.ParserError) as exc:
        raise IntegrityError(f"{source}: not a readable weak-label file ({exc})") from None
    prob_cols = [c for c in frame.columns if c.startswith("p")]
    ids = {split: frame.id[frame.split == split].tolist() for split in file_splits()}
    ids = {split: found for split, found in ids.items() if found or split in BASE_SPLITS}
    probs = {split: frame.loc[frame.split == split, prob_cols].to_numpy(np.float32)
             for split in scored_file_splits()}
    return ids, probs
