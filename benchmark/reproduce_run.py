"""Execute a reproduction's runs: the original's flow on our data loaders, ladder and trainer.

Per dataset (openai/weak-to-strong ``train_simple.py``): the first ``n_docs`` training
examples, shuffled by seed and halved; the first ``n_test_docs`` of the test split. A
*ground-truth* run finetunes a rung on gold half 1 and predicts half 2 (those soft
predictions are the rung's weak labels, written once, hashed, and read by every transfer run
that names it) and the test set. A *transfer* run finetunes the strong rung on half 2 with
the weak rung's labels under a method's loss (``xent`` = ``naive``, ``logconf``). Every rung
trains with its own ladder recipe (learning rate, eval batch, checkpointing).

Each record is written atomically when its run ends, so a killed reproduction resumes at the
first run without a record, and a run that fails is reported without stopping the rest.
Launched with ``torchrun --nproc_per_node N -m benchmark.cli reproduce …`` every run is data
parallel over N devices; the main rank alone writes labels and records.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import IntegrityError, SpecError
from benchmark.reproduce import PlannedRun, record_path
from benchmark.storage import atomic_write_bytes, atomic_write_json, sha256_bytes

LOSS_METHODS = {"xent": "naive", "logconf": "logconf"}


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
    texts: dict[str, list[str]]     # half1, half2, test
    labels: dict[str, np.ndarray]
    ids: dict[str, list[str]]


def dataset_splits(dataset: str, opts: RunOptions, seed: int) -> DatasetSplits:
    from benchmark.datasets.hub import load_examples

    train = load_examples(dataset, "train", seed=seed, mirror=opts.mirror, first=opts.n_docs)
    test = load_examples(dataset, "test", seed=seed, mirror=opts.mirror,
                         first=opts.n_test_docs)
    if len(train) < 4 or len(test) < 2:
        raise SpecError(f"dataset {dataset!r}: {len(train)} training and {len(test)} test "
                        "examples after formatting; too few to run")
    order = np.random.default_rng(seed).permutation(len(train))
    half = len(train) // 2
    parts = {"half1": [train[i] for i in order[:half]], "half2": [train[i] for i in order[half:]],
             "test": test}
    return DatasetSplits({k: [e.text for e in v] for k, v in parts.items()},
                         {k: np.array([e.label for e in v]) for k, v in parts.items()},
                         {k: [e.id for e in v] for k, v in parts.items()})


def weak_labels_path(results: Path, tag: str, dataset: str, rung: str, seed: int) -> Path:
    return results / tag / "weak_labels" / f"{dataset}__{rung}__seed{seed}.npz"


def _save_weak_labels(path: Path, ids: list[str], probs: np.ndarray) -> str:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, ids=np.array(ids), probs=probs.astype(np.float32))
    blob = buffer.getvalue()
    if _main_rank():
        atomic_write_bytes(path, blob)
    return sha256_bytes(blob)


def _load_weak_labels(path: Path, expected_sha: str, ids: list[str]) -> np.ndarray:
    blob = path.read_bytes()
    if sha256_bytes(blob) != expected_sha:
        raise IntegrityError(f"{path} does not match the sha256 its ground-truth record "
                             "holds; delete both and rerun to regenerate them")
    import io

    data = np.load(io.BytesIO(blob))
    if list(data["ids"]) != ids:
        raise IntegrityError(f"{path} labels other examples than this run's half 2")
    return data["probs"]


def _fit(rung_name: str, texts: list[str], targets: np.ndarray, opts: RunOptions, seed: int,
         loss: Any, scratch: Path) -> Any:
    from benchmark.finetune.fit import fit_classifier
    from benchmark.finetune.trainer import FinetuneConfig
    from benchmark.models.encoders import checkpoint_of
    from benchmark.models.hub_ladder import LADDER
    from benchmark.models.ladder import ENCODERS

    rung = LADDER.get(rung_name)
    checkpoint, revision = checkpoint_of(ENCODERS.get(rung_name))
    config = FinetuneConfig(epochs=opts.epochs, batch_size=opts.batch_size,
                            eval_batch_size=rung.eval_batch_size, lr=rung.lr,
                            max_ctx=min(opts.max_ctx, rung.max_ctx),
                            gradient_checkpointing=rung.gradient_checkpointing,
                            checkpoint_every=200)
    return fit_classifier(checkpoint, revision, "last", texts, targets, config, seed, loss,
                          checkpoint_dir=scratch, trust_remote_code=rung.trust_remote_code)


def _loss_for(run: PlannedRun, opts: RunOptions) -> Any:
    from benchmark.methods import build_method
    from benchmark.models.hub_ladder import LADDER

    if run.loss not in LOSS_METHODS:
        raise SpecError(f"loss {run.loss!r}: choose one of {', '.join(LOSS_METHODS)}")
    config = {"schedule": opts.logconf_schedule} if run.loss == "logconf" else {}
    method = build_method(LOSS_METHODS[run.loss], config)
    if run.loss == "logconf":  # the paper: α_max 0.75 for the largest students, else 0.5
        large = LADDER.get(run.strong).params >= method.config["large_student_params"]
        method.alpha_max = 0.75 if large and method.config["alpha_max"] == "auto" \
            else method.alpha_max
    return method.loss, f"{method.name}@{method.version}", dict(method.config)


def execute_run(run: PlannedRun, splits: DatasetSplits, opts: RunOptions, results: Path,
                tag: str, scratch: Path) -> dict[str, Any]:
    """One run, start to record; returns the record (already written)."""
    from benchmark.metrics import accuracy
    from benchmark.provenance import git_commit, hardware, package_versions
    from benchmark.training import one_hot, soft_cross_entropy

    started = time.time()
    record: dict[str, Any] = {"key": run.key, "dataset": run.dataset, "kind": run.kind,
                              "strong": run.strong, "weak": run.weak, "loss": run.loss,
                              "seed": run.seed, "recipe": asdict(opts) | {"tag": tag}}
    if run.kind == "ground-truth":
        fitted = _fit(run.strong, splits.texts["half1"], one_hot(splits.labels["half1"], 2),
                      opts, run.seed, soft_cross_entropy, scratch)
        weak = fitted.predict_proba(splits.texts["half2"])
        path = weak_labels_path(results, tag, run.dataset, run.strong, run.seed)
        record["weak_labels"] = {"path": str(path.relative_to(results)),
                                 "sha256": _save_weak_labels(path, splits.ids["half2"], weak),
                                 "accuracy_on_half2": accuracy(weak, splits.labels["half2"])}
    else:
        assert run.weak is not None
        gt_run = PlannedRun(run.dataset, "ground-truth", run.weak, None, "xent", run.seed, 0.0)
        gt_path = record_path(results, gt_run, tag)
        if not gt_path.is_file():
            raise SpecError(f"{run.key} needs the weak labels of {gt_run.key}; run it first")
        import json

        gt = json.loads(gt_path.read_text())
        targets = _load_weak_labels(results / gt["weak_labels"]["path"],
                                    gt["weak_labels"]["sha256"], splits.ids["half2"])
        loss, method, config = _loss_for(run, opts)
        record.update(method=method, method_config=config,
                      weak_labels_sha256=gt["weak_labels"]["sha256"])
        fitted = _fit(run.strong, splits.texts["half2"], targets, opts, run.seed, loss, scratch)
    probs = fitted.predict_proba(splits.texts["test"])
    record.update(accuracy=accuracy(probs, splits.labels["test"]),
                  n_train=len(splits.texts["half1" if run.kind == "ground-truth" else "half2"]),
                  n_test=len(splits.texts["test"]),
                  compute=fitted.stats.summary(), wall_s=time.time() - started,
                  provenance={"packages": package_versions(), "git_commit": git_commit(),
                              "hardware": hardware()})
    if _main_rank():  # under torchrun every rank trains; one writes
        atomic_write_json(record_path(results, run, tag), record)
    _barrier()  # the next run (a transfer reading these labels) starts after the write
    return record


def _main_rank() -> bool:
    from benchmark.finetune.trainer import accelerator

    return bool(accelerator().is_main_process)


def _barrier() -> None:
    from benchmark.finetune.trainer import accelerator

    accelerator().wait_for_everyone()


def execute(study: dict[str, Any], runs: list[PlannedRun], results: Path, opts: RunOptions,
            log: Any = print) -> tuple[int, int, list[tuple[str, str]]]:
    """Run every planned run without a record, in plan order; ``(done, cached, failed)``."""
    import shutil

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
            log(f"{run.key}: accuracy {record['accuracy']:.3f} ({record['wall_s']:.0f} s)")
            shutil.rmtree(scratch, ignore_errors=True)  # kept on failure: the rerun resumes
        except Exception as exc:  # one failed run never stops the others
            failed.append((run.key, f"{type(exc).__name__}: {exc}"))
            log(f"{run.key}: FAILED {type(exc).__name__}: {exc}")
            if not isinstance(exc, SpecError):
                log(traceback.format_exc(limit=3))
    return done, cached, failed
