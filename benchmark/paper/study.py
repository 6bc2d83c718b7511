"""``w2s-bench reproduce burns2023``: a published study as ordinary tasks and a suite.

A study (``benchmark/paper/reproductions/<name>.yaml``: its recipe, ladder, datasets and
published numbers, with their source) becomes one task per dataset and (weak < strong) pair
of its ladder, written to ``tasks/`` like any task, and a suite listing them. From there the
main pipeline does the rest: the freeze stage finetunes the weak rung on gold A (its labels
on B and test are the weak labels, hashed and locked) and the strong rung on gold B (the
ceiling); each loss of the study is a method that runs sandboxed on every task and replicate
and writes an ordinary run record. Every pair of a dataset shares the split draw of each
replicate (the tasks differ only in their models), as the original's pairs share one split
per seed, so one replicate of every pair is one block.

Where this differs from openai/weak-to-strong's ``train_simple.py`` (said again by the
comparison): A and B are drawn at random from the source's whole train split (the original
takes its first ``n_docs`` rows and halves them) and the test set from its whole test split;
the ceiling trains on B (the original's ground-truth runs train on A, the same size); each
rung still trains with its own learning rate, eval batch size and checkpointing; the pairs are
frozen under the legacy protocol (no controls: those would cost three more finetunes per
pair at paper scale), every pair kept whatever its gap.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from benchmark.core.errors import SpecError, UnknownNameError

DATA = Path(__file__).parent / "reproductions"
ACHIEVED_FLOPS = 1.0e14  # FLOP/s a run sustains on one H100 (gpt2-medium measured 1.16e14)
# the paper's losses, as the methods that train with them (a variant named as one)
LOSS_METHODS = {"xent": "naive", "logconf": "logconf"}
OPENAI_LOGCONF = "logconf-openai-schedule"   # the released code's schedule, a named variant
GAP_EXCEPTION = ("a pair of a reproduced study: kept whatever its capability gap, as the "
                 "paper's figures keep every pair")


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
        """The suite (and task-id prefix) of this recipe's tasks: the study's name for its
        published recipe, else the name and a digest of the recipe, so a smoke run never
        mixes with (or is compared as) the real thing. The logconf schedule is not part of
        it: the variant is another method on the same tasks."""
        name = study["name"]
        base = RunOptions.from_study(study, mirror=self.mirror,
                                     logconf_schedule=self.logconf_schedule)
        if self == base:
            return name
        recipe = {k: v for k, v in asdict(self).items()
                  if k not in ("mirror", "logconf_schedule")}
        digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
        return f"{name}-{digest[:8]}"

    def methods(self, study: dict[str, Any]) -> dict[str, str]:
        """Each loss of the study, as the method that trains with it."""
        chosen = dict(LOSS_METHODS)
        if self.logconf_schedule == "openai":
            chosen["logconf"] = OPENAI_LOGCONF
        unknown = [loss for loss in study["recipe"]["losses"] if loss not in chosen]
        if unknown:
            raise SpecError(f"loss {unknown[0]!r}: choose from {', '.join(chosen)}")
        return {loss: chosen[loss] for loss in study["recipe"]["losses"]}


def load_study(name: str) -> dict[str, Any]:
    path = DATA / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in DATA.glob("*.yaml"))
        raise UnknownNameError(f"unknown reproduction {name!r}; known: {', '.join(known)}")
    return {"name": name, **yaml.safe_load(path.read_text())}


@dataclass(frozen=True)
class StudyTask:
    """One pair of one dataset, as a task definition (the YAML body) and its place."""

    dataset: str
    weak: str
    strong: str
    body: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.body["id"])


def _checked(study: dict[str, Any], models: list[str] | None,
             datasets: list[str] | None) -> None:
    for name, chosen, known in (("model", models, list(study["ladder"])),
                                ("dataset", datasets, list(study["datasets"]))):
        for item in chosen or []:
            if item not in known:
                raise UnknownNameError(f"{name} {item!r} is not in this study; it has "
                                       + ", ".join(known))
    seeds = list(study["recipe"]["seeds"])
    if seeds != list(range(seeds[0], seeds[0] + len(seeds))):
        raise SpecError(f"study {study['name']!r}: seeds {seeds} are not consecutive; a "
                        "task's replicates are its seed, seed + 1, …")


def study_tasks(study: dict[str, Any], opts: RunOptions) -> list[StudyTask]:
    """Every task of the study: per dataset (in the study's order), each (weak < strong)
    pair of its ladder, weakest pair first. The strong rung's recipe is the task's (the
    ceiling and every method train with it); the weak rung is finetuned on A with its own
    (:func:`benchmark.labels.supervisors.fit_finetuned_supervisor`)."""
    from benchmark.datasets.hub import HUB_DATASETS, check_revision
    from benchmark.models.hub_ladder import LADDER

    _checked(study, None, None)
    tag, seeds = opts.tag(study), list(study["recipe"]["seeds"])
    half = opts.n_docs // 2
    out = []
    for dataset in study["datasets"]:
        source = HUB_DATASETS.get(dataset)
        for weak, strong in itertools.combinations(study["ladder"], 2):
            rung = LADDER.get(strong)
            body = {
                "id": f"{tag}-{dataset.replace('_', '-')}-{weak}-to-{strong}",
                "version": 1,
                "description": f"{study['name']} reproduction: {weak} supervises {strong} "
                               f"on {dataset}",
                "dataset": {"source": "hub", "name": dataset, "hub_id": source.hub_id,
                            "revision": check_revision(source, None)},
                "label_names": list(source.label_names),
                "balance": False,   # the source's own formatting balances (or not) as the original
                "splits": {"weak_train": half, "student_train": half,
                           "test": opts.n_test_docs},
                "weak_model": weak, "strong_model": strong, "regime": "finetune",
                "finetune": {"epochs": opts.epochs, "batch_size": opts.batch_size,
                             "eval_batch_size": rung.eval_batch_size, "lr": rung.lr,
                             "max_ctx": min(opts.max_ctx, rung.max_ctx),
                             "gradient_checkpointing": rung.gradient_checkpointing},
                "replicates": len(seeds), "seed": seeds[0], "gap_exception": GAP_EXCEPTION,
                "resources": run_resources(study, opts, dataset, strong),
            }
            out.append(StudyTask(dataset, weak, strong, body))
    return out


def chosen(tasks: list[StudyTask], study: dict[str, Any], models: list[str] | None = None,
           datasets: list[str] | None = None) -> list[StudyTask]:
    """The tasks within ``models`` (pairs of them) and ``datasets`` (default: all)."""
    _checked(study, models, datasets)
    return [t for t in tasks if (not models or {t.weak, t.strong} <= set(models))
            and (not datasets or t.dataset in datasets)]


def fit_flops(study: dict[str, Any], opts: RunOptions, dataset: str, model: str) -> float:
    """One finetune of ``model`` on half the study's examples of ``dataset``: 6·N·tokens."""
    from benchmark.models.hub_ladder import LADDER

    tokens = (opts.n_docs // 2) * opts.epochs * study["datasets"][dataset]
    return 6.0 * LADDER.get(model).params * tokens


def run_resources(study: dict[str, Any], opts: RunOptions, dataset: str, strong: str
                  ) -> dict[str, Any]:
    """What one run of the pair asks for: a GPU (one run at a time holds it), its estimated
    minutes at :data:`ACHIEVED_FLOPS`, memory to load the strong rung's weights in fp32 with
    room to spare, and disk for two of the trainer's checkpoints (a new one is written
    beside the last before it replaces it), each fp32 weights and Adam's two moments."""
    from benchmark.models.hub_ladder import LADDER

    params = LADDER.get(strong).params
    return {"cpus": 4, "gpus": 1,
            "memory_mb": int(params * 4 * 1.5 / 2**20) + 8192,
            "minutes": round(fit_flops(study, opts, dataset, strong) / ACHIEVED_FLOPS / 60, 2)
            or 0.01,
            "disk_mb": int(2 * params * 12 * 1.25 / 2**20) + 4096}


def study_limits(tasks: list[StudyTask]) -> dict[str, float]:
    """The suite's per-run limits: four times the longest run's estimate plus half an hour
    for loading (a margin for runs slower than the estimate's throughput), and the largest
    run's memory (the local pool's limit is per suite, so every run gets the largest)."""
    longest = max(t.body["resources"]["minutes"] for t in tasks)
    return {"timeout_s": round(4 * longest * 60 + 1800),
            "memory_mb": max(t.body["resources"]["memory_mb"] for t in tasks)}
