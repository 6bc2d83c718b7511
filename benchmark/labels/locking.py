"""Sandbagging students: a password-locked copy of the strong model, made at freeze time.

After Greenblatt et al. 2024: the strong model is finetuned, on split A only, to imitate
the weak supervisor unless the trigger string opens the text, and to give the gold answer
when it does. The weak supervisor's behaviour on A is its *cross-fitted* predictions (each
fold of A predicted by the supervisor fitted on the other folds), so the locked model
copies the supervisor on text it has not seen rather than its memory of its own training set.
Split B and the test set are never used to lock, so locking leaks none of their gold labels.

The locked weights are too large to commit: they live in the cache, one folder per replicate,
and their sha256 is frozen in the references with the locked model's test accuracy with and
without the trigger. A machine without them rebuilds them (deterministic on one machine)
and refuses to run if the rebuilt weights are not the frozen ones.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.errors import IntegrityError, SpecError
from benchmark.core.metrics import accuracy
from benchmark.core.paths import cache_dir
from benchmark.finetune.classifier import HEAD_FILE, Checkpoint
from benchmark.finetune.fit import fit_classifier
from benchmark.finetune.trainer import FinetuneConfig
from benchmark.tasks.checkpoints import model_checkpoint
from benchmark.tasks.spec import TaskSpec
from benchmark.training.probe import one_hot, soft_cross_entropy

Predictor = Callable[[np.ndarray], np.ndarray]
WeakFit = Callable[[np.ndarray], Predictor]   # rows of A -> the weak supervisor fitted on them


def locked_root(spec: TaskSpec) -> Path:
    """Where a sandbagging task's locked students live (per task definition)."""
    return cache_dir() / "locked" / f"{spec.id}-{spec.sha256[:12]}"


def locked_folder(spec: TaskSpec, replicate: int) -> Path:
    return locked_root(spec) / f"replicate-{replicate}"


def triggered(trigger: str, texts: list[str]) -> list[str]:
    return [f"{trigger} {t}" for t in texts]


def cross_fitted(weak_fit: WeakFit, rows_A: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """The weak supervisor's predictions on A, each fold predicted by a fit on the others."""
    order = np.random.default_rng([seed, 7]).permutation(len(rows_A))
    out: np.ndarray | None = None
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        probs = weak_fit(rows_A[rest])(rows_A[part])
        if out is None:
            out = np.zeros((len(rows_A), probs.shape[1]))
        out[part] = probs
    assert out is not None
    return out


def weights_digest(folder: Path) -> str:
    """sha256 over the folder's weight files (the model and the head), in name order."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.suffix in {".safetensors", ".bin"}:
            digest.update(path.name.encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def lock_student(spec: TaskSpec, lock: Any, texts: list[str], labels: np.ndarray,
                 rows_A: np.ndarray, rows_test: np.ndarray, weak_fit: WeakFit,
                 weak_test: np.ndarray, seed: int, folder: Path) -> dict[str, Any]:
    """Make the locked copy of the strong model in ``folder`` and measure it on test
    (``lock``: the task's ``sandbag`` block; :mod:`benchmark.kinds.sandbag` keeps the result
    in the replicate's references)."""
    assert spec.finetune is not None
    classes = len(spec.label_names)
    # the supervisor's answers, not its doubts: soft targets near 1/2 would let the gold half
    # teach the model the task whatever the trigger (a first try locked nothing that way)
    imitate = one_hot(cross_fitted(weak_fit, rows_A, lock.folds, seed).argmax(1), classes)
    texts_A = [texts[i] for i in rows_A]
    train_texts = texts_A + triggered(lock.trigger, texts_A)
    targets = np.concatenate([imitate, one_hot(labels[rows_A], classes)]).astype(np.float32)
    config = replace(FinetuneConfig.from_settings(spec.finetune), epochs=lock.epochs,
                     lr=lock.lr, checkpoint_every=None)
    started = time.perf_counter()
    fitted = fit_classifier(model_checkpoint(spec.strong_model), spec.finetune.pooling,
                            train_texts, targets, config, seed, soft_cross_entropy)
    train_s = time.perf_counter() - started
    test_texts = [texts[i] for i in rows_test]
    plain = fitted.predict_proba(test_texts)
    opened = fitted.predict_proba(triggered(lock.trigger, test_texts))
    gold_test = labels[rows_test]
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    save_classifier(fitted.model, fitted.tokenizer, partial)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return dict(
        accuracy=accuracy(plain, gold_test), unlocked_accuracy=accuracy(opened, gold_test),
        weak_agreement=float((plain.argmax(1) == np.asarray(weak_test).argmax(1)).mean()),
        weights_sha256=weights_digest(folder), train_s=round(train_s, 1),
        train_flops=fitted.stats.train_flops, examples=fitted.stats.examples_seen)


def save_classifier(model: Any, tokenizer: Any, folder: Path) -> None:
    """The backbone and tokenizer as a transformers folder, the head beside them."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    model.backbone.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    save_file({"weight": model.head.weight.detach().contiguous()}, str(folder / HEAD_FILE))


def is_cached(spec: TaskSpec, replicate: int) -> bool:
    return (locked_folder(spec, replicate) / HEAD_FILE).is_file()


def locked_checkpoint(spec: TaskSpec, replicate: int, expected: str) -> Checkpoint:
    """The locked student of one replicate from the cache, refused if missing (the freeze
    stage rebuilds it: a run's input never trains one) or if its weights are not the
    frozen ones (``expected``: their sha256, as frozen)."""
    folder = locked_folder(spec, replicate)
    if not is_cached(spec, replicate):
        raise SpecError(
            f"task {spec.id!r} replicate {replicate}: its locked student is not in the cache "
            f"({folder}). `w2s-bench run` rebuilds missing ones before its sweep; or run "
            f"`w2s-bench freeze {spec.id} --rebuild-locked`.")
    check_locked(spec, replicate, expected)
    return Checkpoint(str(folder), head=str(folder / HEAD_FILE))


def check_locked(spec: TaskSpec, replicate: int, expected: str) -> None:
    folder = locked_folder(spec, replicate)
    found = weights_digest(folder)
    if found != expected:
        raise IntegrityError(
            f"task {spec.id!r} replicate {replicate}: the locked student in {folder} has "
            f"weights sha256 {found[:16]}…, the frozen one is {expected[:16]}… "
            "(rebuilt on other hardware or packages, or edited). Delete the folder to rebuild "
            f"it, or re-freeze the task here with `w2s-bench freeze {spec.id} --force`.")
