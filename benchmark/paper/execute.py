"""Execute a reproduction's runs: the original's flow on our data loaders, ladder and trainer.

Per dataset (openai/weak-to-strong ``train_simple.py``): the first ``n_docs`` training
examples, shuffled by seed and halved into split A (gold, trains the weak rung) and split B
(the student's, with the weak rung's labels); the first ``n_test_docs`` of the test split. A
*ground-truth* run finetunes a rung on gold A and predicts B (those soft predictions are the
rung's weak labels, written once in the frozen-file format, hashed, and read by every
transfer run that names it) and test. A *transfer* run finetunes the strong rung on B with
the weak rung's labels under a method's loss (``xent`` = ``naive``, ``logconf``), after the
method's own ``prepare`` hook has seen the run (so logconf's α rule is the method's, not a
copy). Every rung trains with its own ladder recipe (learning rate, eval batch,
checkpointing).

Each record is typed (:class:`~benchmark.paper.records.ReproRecord`) and written atomically
when its run ends, so a killed reproduction resumes at the first run without a record, and a
run that fails is reported without stopping the rest. Launched with ``torchrun
--nproc_per_node N -m benchmark.cli reproduce …`` every run is data parallel over N devices;
the main rank alone writes labels and records.
"""

from __future__ import annotations

import shutil
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.api.method import Method, MethodInput, StrongModelInfo
from benchmark.core.errors import IntegrityError, SpecError
from benchmark.core.metrics import REFERENCE_METHOD, accuracy
from benchmark.core.provenance import git_commit, hardware, package_versions
from benchmark.core.storage import atomic_write_bytes, sha256_bytes
from benchmark.datasets.hub import load_examples
from benchmark.finetune.fit import FinetunedClassifier, fit_classifier
from benchmark.finetune.trainer import FinetuneConfig, accelerator
from benchmark.labels.replicate_csv import decode_replicate, encode_replicate
from benchmark.methods.catalog import build_method
from benchmark.models.hub_ladder import LADDER
from benchmark.paper.records import (
    ReproRecord,
    WeakLabelsFile,
    read_repro_record,
    write_repro_record,
)
from benchmark.paper.study import PlannedRun, record_path
from benchmark.tasks.checkpoints import model_checkpoint
from benchmark.tasks.splits import SPLIT_NAMES
from benchmark.training.probe import ProbeConfig, one_hot, soft_cross_entropy

LOSS_METHODS = {"xent": REFERENCE_METHOD, "logconf": "logconf"}  # the paper's losses


@dataclass(frozen=True)
class RunOptions:
    """The recipe actually run: the study's, unless overridden for a smaller smoke run."""

    n_docs: int
    n_test_docs: int
    epochs: int
    batch_size: int = 32
    max_ctx: int = 1024
    logconf_schedule: str = "paper"   # or "openai": the released code's ramp-then-jump
    mirror: str | None = None

    @classmethod
    def from_study(cls, study: dict[str, Any], **overrides: Any) -> RunOptions:
        recipe = study["recipe"]
        values = {"n_docs": recipe["n_docs"], "n_test_docs": recipe["n_test_docs"],
                  "epochs": recipe["epochs"], "batch_size": recipe["batch_size"],
                  "max_ctx": recipe["max_ctx"]}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def tag(self, study: dict[str, Any]) -> str:
        """Records of the published recipe go to ``burns2023/``; any other recipe to its
        own folder, so a smoke run never mixes with (or is compared as) the real thing."""
        base = RunOptions.from_study(study, mirror=self.mirror,
                                     logconf_schedule=self.logconf_schedule)
        if self == base:
            return "burns2023" if self.logconf_schedule == "paper" else "burns2023-openai-logconf"
        return (f"burns2023-n{self.n_docs}-t{self.n_test_docs}-e{self.epochs}"
                f"-b{self.batch_size}-c{self.max_ctx}-{self.logconf_schedule}")


@dataclass
class DatasetSplits:
    """One dataset's A (half 1), B (half 2) and test: texts, gold labels and ids."""

    texts: dict[str, list[str]]
    labels: dict[str, np.ndarray]
    ids: dict[str, list[str]]


def dataset_splits(dataset: str, opts: RunOptions, seed: int) -> DatasetSplits:
    train = load_examples(dataset, "train", seed=seed, mirror=opts.mirror, first=opts.n_docs)
    test = load_examples(dataset, "test", seed=seed, mirror=opts.mirror,
                         first=opts.n_test_docs)
    if len(train) < 4 or len(test) < 2:
        raise SpecError(f"dataset {dataset!r}: {len(train)} training and {len(test)} test "
                        "examples after formatting; too few to run")
    order = np.random.default_rng(seed).permutation(len(train))
    half = len(train) // 2
    parts = {"A": [train[i] for i in order[:half]], "B": [train[i] for i in order[half:]],
             "test": test}
    assert tuple(parts) == SPLIT_NAMES
    return DatasetSplits({k: [e.text for e in v] for k, v in parts.items()},
                         {k: np.array([e.label for e in v]) for k, v in parts.items()},
                         {k: [e.id for e in v] for k, v in parts.items()})


def weak_labels_path(results: Path, tag: str, dataset: str, rung: str, seed: int) -> Path:
    return results / tag / "weak_labels" / f"{dataset}__{rung}__seed{seed}.csv.gz"


def _save_weak_labels(path: Path, splits: DatasetSplits, probs: dict[str, np.ndarray]) -> str:
    """The rung's predictions on B and test as a replicate file of the frozen format."""
    blob = encode_replicate(splits.ids, probs)
    if _main_rank():
        atomic_write_bytes(path, blob)
    return sha256_bytes(blob)


def _load_weak_labels(path: Path, expected_sha: str, ids_B: list[str]) -> np.ndarray:
    blob = path.read_bytes()
    actual = sha256_bytes(blob)
    if actual != expected_sha:
        raise IntegrityError(f"{path} has sha256 {actual}, but its ground-truth record holds "
                             f"{expected_sha}; delete both and rerun to regenerate them")
    ids, probs = decode_replicate(blob, str(path))
    if ids["B"] != ids_B:
        raise IntegrityError(f"{path} labels other examples than this run's split B")
    return probs["B"]


def _fit(rung_name: str, texts: list[str], targets: np.ndarray, opts: RunOptions, seed: int,
         loss: Any, scratch: Path) -> FinetunedClassifier:
    rung = LADDER.get(rung_name)
    config = FinetuneConfig(epochs=opts.epochs, batch_size=opts.batch_size,
                            eval_batch_size=rung.eval_batch_size, lr=rung.lr,
                            max_ctx=min(opts.max_ctx, rung.max_ctx),
                            gradient_checkpointing=rung.gradient_checkpointing,
                            checkpoint_every=200)
    return fit_classifier(model_checkpoint(rung_name), "last", texts, targets, config, seed,
                          loss, checkpoint_dir=scratch)


def _transfer_input(run: PlannedRun, splits: DatasetSplits, targets: np.ndarray,
                    scratch: Path) -> MethodInput:
    """The run as a method sees it (texts, weak labels, the student's description), so the
    method's ``prepare`` hook decides what it decides in a harness run."""
    rung = LADDER.get(run.strong)
    return MethodInput(
        task=f"{run.dataset}/{run.weak}-to-{run.strong}", replicate=0, seed=run.seed,
        label_names=("0", "1"),
        strong_model=StrongModelInfo(rung.name, rung.family, rung.params, rung.hidden,
                                     rung.layers, rung.layers),
        train_ids=tuple(splits.ids["B"]), train_features=None, train_weak_probs=targets,
        test_ids=tuple(splits.ids["test"]), test_features=None, probe_config=ProbeConfig(),
        scratch_dir=scratch, regime="finetune", train_texts=tuple(splits.texts["B"]),
        test_texts=tuple(splits.texts["test"]))


def _method_for(run: PlannedRun, opts: RunOptions) -> Method:
    if run.loss not in LOSS_METHODS:
        raise SpecError(f"loss {run.loss!r}: choose one of {', '.join(LOSS_METHODS)}")
    config = {"schedule": opts.logconf_schedule} if run.loss == "logconf" else {}
    return build_method(LOSS_METHODS[run.loss], config)


def _ground_truth(run: PlannedRun, splits: DatasetSplits, opts: RunOptions, results: Path,
                  tag: str, scratch: Path) -> tuple[FinetunedClassifier, dict[str, Any]]:
    fitted = _fit(run.strong, splits.texts["A"], one_hot(splits.labels["A"], 2), opts,
                  run.seed, soft_cross_entropy, scratch)
    probs = {"B": fitted.predict_proba(splits.texts["B"]),
             "test": fitted.predict_proba(splits.texts["test"])}
    path = weak_labels_path(results, tag, run.dataset, run.strong, run.seed)
    labels = WeakLabelsFile(path=str(path.relative_to(results)),
                            sha256=_save_weak_labels(path, splits, probs),
                            accuracy_on_B=accuracy(probs["B"], splits.labels["B"]))
    return fitted, {"weak_labels": labels, "n_train": len(splits.texts["A"])}


def _transfer(run: PlannedRun, splits: DatasetSplits, opts: RunOptions, results: Path,
              tag: str, scratch: Path) -> tuple[FinetunedClassifier, dict[str, Any]]:
    assert run.weak is not None
    gt_run = PlannedRun(run.dataset, "ground-truth", run.weak, None, "xent", run.seed, 0.0)
    gt_path = record_path(results, gt_run, tag)
    if not gt_path.is_file():
        raise SpecError(f"{run.key} needs the weak labels of {gt_run.key}; run it first")
    labels = read_repro_record(gt_path).weak_labels
    assert labels is not None
    targets = _load_weak_labels(results / labels.path, labels.sha256, splits.ids["B"])
    method = _method_for(run, opts)
    method.prepare(_transfer_input(run, splits, targets, scratch))
    fitted = _fit(run.strong, splits.texts["B"], targets, opts, run.seed, method.loss,
                  scratch)
    return fitted, {"method": f"{method.name}@{method.version}",
                    "method_config": dict(method.config),
                    "weak_labels_sha256": labels.sha256, "n_train": len(splits.texts["B"])}


def execute_run(run: PlannedRun, splits: DatasetSplits, opts: RunOptions, results: Path,
                tag: str, scratch: Path) -> ReproRecord:
    """One run, start to record; returns the record (already written)."""
    started = time.time()
    train = _ground_truth if run.kind == "ground-truth" else _transfer
    fitted, fields = train(run, splits, opts, results, tag, scratch)
    probs = fitted.predict_proba(splits.texts["test"])
    record = ReproRecord(
        key=run.key, dataset=run.dataset, kind=run.kind, strong=run.strong, weak=run.weak,
        loss=run.loss, seed=run.seed, recipe=asdict(opts) | {"tag": tag},
        accuracy=accuracy(probs, splits.labels["test"]), n_test=len(splits.texts["test"]),
        compute=fitted.stats.summary(), wall_s=time.time() - started,
        provenance={"packages": package_versions(), "git_commit": git_commit(),
                    "hardware": hardware()}, **fields)
    if _main_rank():  # under torchrun every rank trains; one writes
        write_repro_record(record_path(results, run, tag), record)
    _barrier()  # the next run (a transfer reading these labels) starts after the write
    return record


def _main_rank() -> bool:
    return bool(accelerator().is_main_process)


def _barrier() -> None:
    accelerator().wait_for_everyone()


def execute(study: dict[str, Any], runs: list[PlannedRun], results: Path, opts: RunOptions,
            log: Any = print) -> tuple[int, int, list[tuple[str, str]]]:
    """Run every planned run without a record, in plan order; ``(done, cached, failed)``."""
    tag = opts.tag(study)
    done, cached, failed = 0, 0, []
    splits: dict[tuple[str, int], DatasetSplits] = {}
    for run in runs:
        if record_path(results, run, tag).is_file():
            cached += 1
            continue
        scratch = results / tag / "scratch" / run.key.replace("/", "__")
        try:
            key = (run.dataset, run.seed)
            if key not in splits:
                splits[key] = dataset_splits(run.dataset, opts, run.seed)
            record = execute_run(run, splits[key], opts, results, tag, scratch)
            done += 1
            log(f"{run.key}: accuracy {record.accuracy:.3f} ({record.wall_s:.0f} s)")
            shutil.rmtree(scratch, ignore_errors=True)  # kept on failure: the rerun resumes
        except Exception as exc:  # one failed run never stops the others
            failed.append((run.key, f"{type(exc).__name__}: {exc}"))
            log(f"{run.key}: FAILED {type(exc).__name__}: {exc}")
            if not isinstance(exc, SpecError):
                log(traceback.format_exc(limit=3))
    return done, cached, failed
