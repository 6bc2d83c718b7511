"""Source of the spying submission used by test_harness and test_executors (copied into
submissions/spy/), and the check its dumps must pass: nothing near gold was reachable."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SPY_SOURCE = '''
from __future__ import annotations

import dataclasses
import gc
import os

import numpy as np

from benchmark.api.method import Method, register


def label_like_vectors(obj, lengths, out, seen, depth=0):
    """Every 0/1 vector of a watched length reachable from ``obj``."""
    if id(obj) in seen or depth > 6:
        return
    seen.add(id(obj))
    try:
        _scan(obj, lengths, out, seen, depth)
    except Exception:  # some library objects refuse introspection; skip them, not the scan
        pass


def _scan(obj, lengths, out, seen, depth):
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "biuf" and obj.ndim in (1, 2):
            for axis in range(obj.ndim):
                if obj.shape[axis] in lengths:
                    cols = obj if obj.ndim == 1 else np.moveaxis(obj, axis, 0).reshape(
                        obj.shape[axis], -1).T
                    for col in ([cols] if obj.ndim == 1 else cols[:64]):
                        col = np.asarray(col, dtype=float)
                        out.append((col > 0.5).astype(np.int8))
        return
    if isinstance(obj, (list, tuple)):
        if len(obj) in lengths and all(isinstance(v, (int, float, bool, np.number)) for v in obj):
            out.append((np.asarray(obj, dtype=float) > 0.5).astype(np.int8))
        for v in obj[:100000]:
            label_like_vectors(v, lengths, out, seen, depth + 1)
    elif isinstance(obj, dict):
        for v in list(obj.values()):
            label_like_vectors(v, lengths, out, seen, depth + 1)
    elif isinstance(obj, str):
        if len(obj) in lengths and set(obj) <= {"0", "1"}:
            out.append(np.frombuffer(obj.encode(), dtype=np.uint8) - ord("0"))
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            label_like_vectors(getattr(obj, f.name), lengths, out, seen, depth + 1)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        label_like_vectors(vars(obj), lengths, out, seen, depth + 1)


@register("spy")
class Spy(Method):
    """Walks everything it is given and everything in its process; dumps label-like vectors."""

    def fit_predict(self, inp):
        lengths = {len(inp.train_ids), len(inp.test_ids)}
        found, seen = [], set()
        label_like_vectors(inp, lengths, found, seen)                      # what it is given
        label_like_vectors(dict(os.environ), lengths, found, seen)         # its environment
        for obj in gc.get_objects():                                       # its whole process
            if isinstance(obj, (dict, list, tuple)):
                label_like_vectors(obj, lengths, found, seen)
        layers = np.load(inp.feature_file, mmap_mode="r")                  # files it is shown
        files = {"feature_file_shape": np.array(layers.shape)}
        files.update({str(p): np.frombuffer(p.read_bytes(), dtype=np.uint8)
                      for p in inp.scratch_dir.rglob("*") if p.is_file()})
        out = os.environ["W2S_SPY_OUT"]
        np.savez(f"{out}/replicate-{inp.replicate}.npz", *found,
                 train_ids=np.array(inp.train_ids), test_ids=np.array(inp.test_ids),
                 field_names=np.array([f.name for f in dataclasses.fields(inp)]), **{
                     "file_" + str(i): v for i, v in enumerate(files.values())})
        return np.full((len(inp.test_ids), 2), 0.5)
'''


def assert_spy_found_no_gold(dump_dir: Path, gold: dict[str, int], replicates: int = 2,
                             spec=None) -> None:
    """The spy's dumps hold the weak labels (imperfect, better than chance), nothing like gold.

    The ids a method sees are positions in its split; ``spec`` (the task) gives the harness's
    stable ids in the same order, to line the dumps up with gold."""
    from benchmark.labels.frozen import load_weak_labels

    for replicate in range(replicates):
        dump = np.load(dump_dir / f"replicate-{replicate}.npz")
        fields = set(dump["field_names"])
        assert not {f for f in fields if "label" in f or "gold" in f} - {"label_names"}
        train_ids, test_ids = list(dump["train_ids"]), list(dump["test_ids"])
        assert not set(train_ids + test_ids) & set(gold), "the method saw stable example ids"
        weak = load_weak_labels(spec, replicate)
        train_ids = [weak.ids_B[int(i)] for i in train_ids]
        test_ids = [weak.ids_test[int(i)] for i in test_ids]
        truth = {len(train_ids): np.array([gold[i] for i in train_ids]),
                 len(test_ids): np.array([gold[i] for i in test_ids])}
        vectors = [dump[k] for k in dump.files if k.startswith("arr_")]
        assert vectors, "the spy found nothing at all: the scan itself is broken"
        agreement = [max(np.mean(v == truth[len(v)]), np.mean(v != truth[len(v)]))
                     for v in vectors if len(v) in truth]
        assert max(agreement) > 0.6
        assert max(agreement) < 0.97, "a vector reachable from the method matches gold labels"
