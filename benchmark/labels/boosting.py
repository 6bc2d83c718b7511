"""EnsemW2S's supervisor (Agrawal et al. 2024, arXiv 2410.04571): AdaBoost over a task's weak
supervisors on gold split A, frozen beside the task's other weak labels.

Each round refits every supervisor of the task on A under the current example weights and
keeps the one with the lowest weighted error ε; its weight is α = ½·(ln((1 − ε)/ε) + ln(K − 1))
(AdaBoost's, with SAMME's term for K classes, which is 0 for two), and the examples it got
wrong are upweighted by e^(2α). Round one is the plain fit, so its member's labels are the
frozen supervisor's. It stops after as many rounds as there are supervisors (a cap of ours;
a supervisor may be picked again), at a member no better than chance under the weights, or
at a perfect one. The boosted labels are the
α-weighted average of the kept rounds' probabilities (a soft form of AdaBoost's vote).

Where this departs from AdaBoost as written: ε, and the mistakes that are upweighted, come
from out-of-fold predictions (``FOLDS``-fold cross-fitting on A), not from the member fitted
on all of A. In sample, tf-idf's logistic regression fits A (nearly) perfectly, so AdaBoost
would stop at round one with that supervisor alone, or let it outvote the others; each
replicate keeps every supervisor's in-sample error so that this can be checked. The
baseline that uses these labels is therefore named a variant.

Only the freeze step runs this (it trains on gold). A method that declares
``needs_boosting`` gets the boosted labels of split B, not the rounds, α or errors. Those
labels are gold-informed by design: round one equals one supervisor's labels, which every
method on the task also gets, so a method can estimate which supervisor did best on A and
the rounds' relative weights from them, though not an error rate.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from benchmark import __version__
from benchmark.core.arrays import npy_bytes
from benchmark.core.errors import IntegrityError, SpecError
from benchmark.core.kinds import declared_kinds
from benchmark.core.metrics import accuracy
from benchmark.core.provenance import hardware, package_versions
from benchmark.core.schema import validate
from benchmark.labels.beyond_references import scored_splits
from benchmark.labels.fitting import WeightedFit, supervisor_features, weighted_fit
from benchmark.labels.frozen import (
    add_files,
    is_frozen,
    load_array,
    load_lock,
    load_weak_labels,
    scored_ids,
    supervisors_file,
    verified_bytes,
)
from benchmark.labels.supervisors import Predictor
from benchmark.tasks.spec import TaskSpec
from benchmark.tasks.splits import ExamplePool, example_pool, replicate_seed

BOOSTING = "boosting.json"
BOOSTING_FILES = re.compile(r"boosted-\d+\.npy|boosting\.json")   # what boosting may replace
FOLDS = 5
TINY = 1e-10   # an error this small is a perfect member; ε is clipped to it for α

def boosted_file(replicate: int) -> str:
    """The boosted labels: float32 ``[rows, classes]``, rows as the supervisors file's (B,
    test, then a shifted test set)."""
    return f"boosted-{replicate}.npy"


class ReplicateBoosting(BaseModel):
    """One replicate's boosting, as frozen: the kept rounds (members may repeat)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    replicate: int = Field(ge=0)
    members: list[str]
    alphas: list[float]
    errors: list[float]                  # each round's weighted out-of-fold error on A
    in_sample_errors: dict[str, float]   # each supervisor's plain fit, on the rows it saw
    vote_accuracy: float = Field(ge=0, le=1)   # the α-weighted vote on the test set
    mean_accuracy: float = Field(ge=0, le=1)   # the supervisors' plain average, for contrast


class Boosting(BaseModel):
    """A task's boosting, for audit (no method reads it), with where it was made: it may be
    added long after the freeze, on another machine."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    folds: int = Field(ge=2)
    replicates: list[ReplicateBoosting]
    packages: dict[str, str]
    hardware: dict[str, str | int]
    created_with: str


@dataclass(frozen=True)
class Round:
    member: str
    alpha: float
    error: float
    predict: Predictor


def adaboost_alpha(error: float, classes: int) -> float:
    """½·(ln((1 − ε)/ε) + ln(K − 1)), ε clipped away from 0 and 1."""
    e = min(max(error, TINY), 1.0 - TINY)
    return 0.5 * (math.log((1.0 - e) / e) + math.log(classes - 1))


def boosting_folds(n: int, seed: int, folds: int = FOLDS) -> np.ndarray:
    """Each row's fold, from a seeded permutation (balanced sizes)."""
    return np.random.default_rng(seed).permutation(n) % folds


def _mean_one(weights: np.ndarray | None) -> np.ndarray | None:
    return None if weights is None else weights * (len(weights) / weights.sum())


def wrong_rows(member: str, fit: WeightedFit, rows: np.ndarray, gold: np.ndarray,
               weights: np.ndarray | None, folds: np.ndarray | None) -> np.ndarray:
    """Which rows ``member`` gets wrong: fitted on all of them (``folds`` None, AdaBoost's
    in-sample error) or on the other folds for each fold (out of fold)."""
    if folds is None:
        return fit(member, rows, gold, _mean_one(weights))(rows).argmax(axis=1) != gold
    wrong = np.zeros(len(rows), dtype=bool)
    for fold in np.unique(folds):
        held, kept = folds == fold, folds != fold
        kept_w = None if weights is None else _mean_one(weights[kept])
        predict = fit(member, rows[kept], gold[kept], kept_w)
        wrong[held] = predict(rows[held]).argmax(axis=1) != gold[held]
    return wrong


def boost(members: Sequence[str], fit: WeightedFit, rows: np.ndarray, gold: np.ndarray,
          classes: int, folds: np.ndarray | None, rounds: int | None = None) -> list[Round]:
    """AdaBoost's rounds over ``members`` on gold ``rows`` (see the module docstring)."""
    n = len(rows)
    weights = np.full(n, 1.0 / n)
    kept: list[Round] = []
    for t in range(rounds or len(members)):
        scale = None if t == 0 else weights * n   # round one: the plain, unweighted fit
        wrong = {m: wrong_rows(m, fit, rows, gold, scale, folds) for m in members}
        errors = {m: float(weights[wrong[m]].sum()) for m in members}
        best = min(members, key=lambda m: (errors[m], members.index(m)))
        error = errors[best]
        if error >= (classes - 1) / classes:
            break   # no member beats chance under these weights
        alpha = adaboost_alpha(error, classes)
        kept.append(Round(best, alpha, error, fit(best, rows, gold, scale)))
        if error <= TINY:
            break   # a perfect member: nothing left to reweight
        weights = weights * np.exp(2.0 * alpha * wrong[best])
        weights /= weights.sum()
    if not kept:
        raise SpecError("boosting: no supervisor beats chance on split A, so there is no "
                        "ensemble to freeze")
    return kept


def alpha_vote(probs: np.ndarray, alphas: Sequence[float]) -> np.ndarray:
    """The α-weighted average of the rounds' probabilities (``probs`` [rounds, n, C])."""
    a = np.asarray(alphas, dtype=np.float64)
    return np.tensordot(a / a.sum(), np.asarray(probs, np.float64), axes=1)


def boostable(spec: TaskSpec) -> bool:
    """An ensemble whose supervisors take example weights (a probe or a logistic
    regression: not finetuned, and no kind of the task says otherwise, as reward models
    fitted unweighted do)."""
    return bool(spec.supervisor_names) and spec.regime == "probe" and spec.finetune is None \
        and all(kind.boostable for kind in declared_kinds(spec))


def boost_replicate(spec: TaskSpec, pool: ExamplePool, replicate: int, fit: WeightedFit
                    ) -> tuple[ReplicateBoosting, np.ndarray]:
    """Boost the supervisors on the replicate's frozen split A: the audit entry and the
    boosted labels of every scored row. Refused where a supervisor fitted here does not give
    its frozen labels (another machine or package set: the boosted ones would not belong to
    the frozen task)."""
    weak = load_weak_labels(spec, replicate)
    ids = {"A": weak.ids_A, "B": weak.ids_B, "test": weak.ids_test}
    ids |= {split: weak.further_ids[split] for split in weak.further_probs}   # further tests
    rows = {name: np.asarray(pool.rows(split), dtype=np.int64) for name, split in ids.items()}
    gold_A, gold_test = pool.labels[rows["A"]], pool.labels[rows["test"]]
    members, classes = list(spec.supervisor_names), len(spec.label_names)
    scored = np.concatenate([rows[split] for split in scored_splits(rows)])
    frozen = load_array(spec, supervisors_file(replicate))
    in_sample = {}
    for i, m in enumerate(members):
        plain = fit(m, rows["A"], gold_A, None)
        in_sample[m] = float((plain(rows["A"]).argmax(axis=1) != gold_A).mean())
        if not np.array_equal(plain(scored).astype(np.float32), frozen[i]):
            raise IntegrityError(
                f"task {spec.id!r} replicate {replicate}: supervisor {m!r} fitted here does "
                "not give its frozen labels, so this machine does not reproduce the freeze. "
                f"Run `w2s-bench freeze {spec.id} --add-boosting` where the task was frozen.")
    kept = boost(members, fit, rows["A"], gold_A, classes,
                 boosting_folds(len(rows["A"]), replicate_seed(spec, replicate)))
    alphas = [r.alpha for r in kept]
    labels = alpha_vote(np.stack([r.predict(scored) for r in kept]), alphas)
    n_B, n_test = len(rows["B"]), len(rows["test"])
    info = ReplicateBoosting(
        replicate=replicate, members=[r.member for r in kept], alphas=alphas,
        errors=[r.error for r in kept], in_sample_errors=in_sample,
        vote_accuracy=accuracy(labels[n_B:n_B + n_test], gold_test),
        mean_accuracy=accuracy(weak.test_weak_probs, gold_test))
    return info, labels.astype(np.float32)


def boosting_files(spec: TaskSpec, pool: ExamplePool,
                   fit_with_seed: Callable[[int], WeightedFit]) -> dict[str, bytes]:
    """Every replicate's boosted labels and the audit file (``fit_with_seed``: the task's
    supervisor fit at a replicate's seed)."""
    if not boostable(spec):
        raise SpecError(f"task {spec.id!r} has no supervisors to boost: boosting needs "
                        "several weak supervisors fitted as probes or logistic "
                        "regressions (not finetuned, not Bradley-Terry reward models)")
    done = [boost_replicate(spec, pool, k, fit_with_seed(replicate_seed(spec, k)))
            for k in range(spec.replicates)]
    files = {boosted_file(k): npy_bytes(labels) for k, (_, labels) in enumerate(done)}
    record = Boosting(folds=FOLDS, replicates=[info for info, _ in done],
                      packages=package_versions(), hardware=hardware(),
                      created_with=f"w2s-bench {__version__}")
    files[BOOSTING] = (record.model_dump_json(indent=1) + "\n").encode()
    return files


def add_boosting(spec: TaskSpec, pool: ExamplePool,
                 fit_with_seed: Callable[[int], WeightedFit]) -> None:
    """Freeze the boosted labels into the task's locked files, changing nothing else that
    is locked (an earlier boosting is replaced)."""
    add_files(spec, boosting_files(spec, pool, fit_with_seed), replace=BOOSTING_FILES)


def freeze_boosting(spec: TaskSpec, progress: bool = True) -> None:
    """``freeze --add-boosting``: boost a frozen ensemble task's supervisors (refused where
    the supervisors fitted here do not give their frozen labels)."""
    pool = example_pool(spec)
    add_boosting(spec, pool, weighted_fit(spec, pool, supervisor_features(spec, pool, progress)))


def boosting_digest(spec: TaskSpec, replicate: int) -> str | None:
    """The locked sha256 of a replicate's boosted labels (None: the task has none)."""
    return load_lock(spec).files.get(boosted_file(replicate))


def has_boosting(spec: TaskSpec) -> bool:
    return is_frozen(spec.id) and BOOSTING in load_lock(spec).files


def load_boosting(spec: TaskSpec) -> Boosting:
    """The audit file (checked against the lock)."""
    data, _ = verified_bytes(spec, BOOSTING)
    return validate(Boosting, json.loads(data), f"{spec.id}/{BOOSTING}")


def load_boosted(spec: TaskSpec, replicate: int, n_B: int) -> tuple[np.ndarray, str] | None:
    """The replicate's boosted labels on split B (checked against the lock) and the locked
    sha256 of their file; None where the task has none."""
    name = boosted_file(replicate)
    digest = load_lock(spec).files.get(name)
    if digest is None:
        return None
    labels = load_array(spec, name)
    weak = load_weak_labels(spec, replicate)
    rows = len(weak.ids_B) + len(scored_ids(spec, weak))
    if labels.shape != (rows, len(spec.label_names)) or n_B != len(weak.ids_B) \
            or not np.isfinite(labels).all() or not np.allclose(labels.sum(axis=1), 1, atol=1e-4):
        raise IntegrityError(f"task {spec.id!r}: {name} holds {labels.shape} values, not "
                             f"probabilities for its {rows} scored rows; boost it again with "
                             f"`w2s-bench freeze {spec.id} --add-boosting --force`")
    return np.array(labels[:n_B]), digest
