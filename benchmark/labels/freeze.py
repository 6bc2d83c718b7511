"""``w2s-bench freeze``: train the weak supervisor and the ceiling once, and lock the results.

For each replicate: draw splits, fit the weak model on gold A, write its soft labels for B and
test, and train the strong student on gold B with the shared probe trainer (the ceiling),
keeping its test probabilities (the knowledge regions need them). A
paper-scale task (hub dataset, ladder rungs, finetune regime) writes the same lock format: its
weak rung is finetuned on A and its ceiling finetuned on B.
``freeze --add-ceilings`` retrains only the ceilings of a task frozen before ceiling
predictions were kept, checks that they reproduce the frozen ceiling accuracies exactly, and
adds their files to the lock without touching the weak labels; ``--add-boosting`` does the
same for an ensemble's boosted supervisors (:mod:`benchmark.labels.boosting`).
This is harness code: gold labels are used here and in scoring, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmark import __version__
from benchmark.core.controls import Controls
from benchmark.core.errors import IntegrityError, SpecError
from benchmark.core.kinds import FurtherStep, MembersStep, TaskKind, declared_kinds
from benchmark.core.metrics import accuracy, auroc
from benchmark.core.provenance import hardware, package_versions
from benchmark.finetune.fit import fit_classifier
from benchmark.finetune.trainer import FinetuneConfig
from benchmark.labels.beyond_references import ensemble_labels, scored_splits
from benchmark.labels.boosting import add_boosting, boostable
from benchmark.labels.controls import label_free_accuracy, self_training_accuracy
from benchmark.labels.fitting import (
    fit_supervisor,
    supervisor_features,
    weak_model_features,
    weighted_fit,
)
from benchmark.labels.frozen import (
    LOCK,
    LayerChoice,
    Lock,
    References,
    ReplicateReference,
    add_ceilings,
    is_frozen,
    load_lock,
    load_references,
    load_weak_labels,
    stored_ceiling,
    supervisors_file,
    task_frozen_dir,
    write_frozen,
)
from benchmark.labels.layers import choice_examples, choose_layer
from benchmark.labels.protocol import (
    check_capability_gap,
    check_equal_gold,
    check_protocol_declared,
)
from benchmark.labels.replicate_csv import decode_replicate, encode_replicate
from benchmark.labels.shared_fits import shared_predictor, training_key
from benchmark.labels.supervisors import (
    Predictor,
)
from benchmark.models import MODELS
from benchmark.models.features import all_layer_features, model_features
from benchmark.models.hub_ladder import rung_of
from benchmark.tasks.checkpoints import model_checkpoint
from benchmark.tasks.spec import TaskSpec, task_probe_config
from benchmark.tasks.splits import ExamplePool, draw_splits, example_pool, replicate_seed
from benchmark.training.probe import one_hot, soft_cross_entropy, train_probe


def finetune_ceiling(spec: TaskSpec, train_texts: list[str], gold: np.ndarray,
                     test_texts: list[str], seed: int) -> np.ndarray:
    """The strong student finetuned on gold B with the task's recipe (the shared trainer)."""
    assert spec.finetune is not None
    checkpoint, config = model_checkpoint(spec.strong_model), \
        FinetuneConfig.from_settings(spec.finetune)
    pooling = spec.finetune.pooling
    predict = shared_predictor(   # shared only by a study's freezes (labels.shared_fits)
        training_key(checkpoint, pooling, config, seed, train_texts, gold),
        lambda: fit_classifier(checkpoint, pooling, train_texts, gold, config, seed,
                               soft_cross_entropy))
    return predict(test_texts)


def ceiling_predictions(spec: TaskSpec, pool: ExamplePool, strong_features: np.ndarray | None,
                        rows_B: np.ndarray, rows_test: np.ndarray, seed: int) -> np.ndarray:
    """The strong student trained on gold B (the ceiling): its probabilities on ``rows_test``
    (a shift task passes its test rows and then its shifted test rows), as frozen."""
    gold_B = one_hot(pool.labels[rows_B], len(spec.label_names))
    if strong_features is not None:
        ceiling = train_probe(strong_features[rows_B], gold_B, task_probe_config(spec), seed)
        probs = ceiling.predict_proba(strong_features[rows_test])
    else:
        probs = finetune_ceiling(spec, [pool.texts[i] for i in rows_B], gold_B,
                                 [pool.texts[i] for i in rows_test], seed)
    return stored_ceiling(probs)


def _strong_features(spec: TaskSpec, texts: list[str], progress: bool,
                     layer: int | None = None) -> np.ndarray | None:
    """The strong model's features of the pool (``layer``: a hidden state chosen on the
    ceiling instead of the rung's own); None in the finetune regime."""
    if spec.regime != "probe":
        return None
    if layer is None:
        return model_features(spec.strong_model, texts, progress)
    stacked = all_layer_features(MODELS.get(spec.strong_model).encoder or "", texts, progress)
    return np.asarray(stacked[layer], dtype=np.float32)


def strong_layer_choice(spec: TaskSpec, pool: ExamplePool, progress: bool
                        ) -> LayerChoice | None:
    """For a rung declared ``layer_search: ceiling``: its best hidden state on held-out gold
    of examples outside the pool (see :mod:`benchmark.labels.layers`); else None."""
    model = MODELS.get(spec.strong_model)
    if spec.regime != "probe" or model.layer_search != "ceiling":
        return None
    chosen = choice_examples(spec, pool)
    stacked = all_layer_features(model.encoder or "", [e.text for e in chosen], progress)
    return choose_layer(np.asarray(stacked), np.array([e.label for e in chosen]),
                        len(spec.label_names), task_probe_config(spec),
                        replicate_seed(spec, 0))


def weak_predictor(spec: TaskSpec, pool: ExamplePool, weak_features: np.ndarray | None,
                   rows_A: np.ndarray, seed: int) -> Predictor:
    """The task's weak supervisor fitted on gold A: its model as declared, or as a kind of
    the task makes it (e.g. a keyword rule, or blind on a slice: benchmark.kinds)."""
    labels = pool.labels

    def fit(rows: np.ndarray, targets: np.ndarray) -> Predictor:
        return fit_supervisor(spec, spec.weak_model, pool, weak_features, rows, targets, seed)

    for kind in declared_kinds(spec):
        made = kind.weak_supervisor(spec, pool.texts, labels, rows_A, fit)
        if made is not None:
            return made
    return fit(rows_A, labels[rows_A])


def rebuild_missing(spec: TaskSpec, replicates: list[int] | None = None,
                    progress: bool = True) -> int:
    """Make again what the task's kinds froze into this machine's cache and it lacks (a
    sandbagging task's locked students), each checked against what was frozen; the number
    rebuilt. ``run`` and ``verify`` call this before their sweep, so that building a run's
    input never trains a model."""
    kinds = [kind for kind in declared_kinds(spec)
             if type(kind).missing is not TaskKind.missing]
    if not kinds:
        return 0
    references, pool, rebuilt = load_references(spec), None, 0
    for k in range(spec.replicates) if replicates is None else replicates:
        reference = references.replicates[k]
        for kind in kinds:
            if not kind.missing(spec, k, reference):
                continue
            if progress:
                print(f"{spec.id}: rebuilding the {kind.rebuilds} of replicate {k} (not in "
                      "the cache)")
            pool = pool or example_pool(spec)
            _rebuild(kind, spec, pool, k)
            kind.check_rebuilt(spec, k, reference)
            rebuilt += 1
    return rebuilt


def _rebuild(kind: TaskKind, spec: TaskSpec, pool: ExamplePool, k: int) -> None:
    """The kind's freeze step of replicate ``k`` again, from its frozen weak labels."""
    weak, seed = load_weak_labels(spec, k), replicate_seed(spec, k)
    rows = {name: np.asarray(pool.rows(ids)) for name, ids in
            (("A", weak.ids_A), ("B", weak.ids_B), ("test", weak.ids_test))}
    features = weak_model_features(spec, pool.texts, False)

    def weak_fit(rows_A: np.ndarray) -> Predictor:
        return weak_predictor(spec, pool, features, rows_A, seed)

    kind.freeze_replicate(spec, pool.texts, pool.labels, rows, weak_fit, weak.test_weak_probs,
                          seed, k)


@dataclass
class _Frozen:
    """What freezing one replicate adds to the task's files."""

    blob: bytes
    ceiling: np.ndarray
    reference: ReplicateReference
    extras: dict[str, np.ndarray]


def _weak_labels(spec: TaskSpec, pool: ExamplePool, features: dict[str, np.ndarray | None],
                 rows: dict[str, np.ndarray], seed: int
                 ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """The default weak labels per scored split, and several supervisors' stack."""
    if spec.supervisor_names:
        def fit(model: str) -> Predictor:
            return fit_supervisor(spec, model, pool, features[model], rows["A"],
                                  pool.labels[rows["A"]], seed)

        return ensemble_labels(spec.supervisor_names, fit, rows)
    predict = weak_predictor(spec, pool, features[spec.weak_model], rows["A"], seed)
    return {split: predict(rows[split]) for split in scored_splits(rows)}, None


def _freeze_replicate(spec: TaskSpec, pool: ExamplePool, k: int,
                      features: dict[str, np.ndarray | None],
                      strong_features: np.ndarray | None) -> _Frozen:
    seed = replicate_seed(spec, k)
    ids = draw_splits(spec, pool.examples, k)
    rows = {name: np.array(pool.rows(split), dtype=np.int64) for name, split in ids.items()}
    probs, stacked = _weak_labels(spec, pool, features, rows, seed)
    blob = encode_replicate(ids, probs)
    # Score the weak model from the probabilities as stored (6 decimals), exactly as a
    # reader of the frozen file would.
    _, stored = decode_replicate(blob, spec.id)
    n_test = len(rows["test"])
    kinds = list(declared_kinds(spec))
    further = [split for kind in kinds for split in kind.further_splits]   # a shifted test
    evaluated = np.concatenate([rows["test"], *(rows[split] for split in further)])
    ceiling_all = ceiling_predictions(spec, pool, strong_features, rows["B"], evaluated, seed)
    ceiling_probs = ceiling_all[:n_test]
    cuts = np.cumsum([n_test, *(len(rows[split]) for split in further)])
    ceilings = dict(zip(further, np.split(ceiling_all, cuts[:-1])[1:], strict=True))
    gold_test = pool.labels[rows["test"]]
    weak_test, extras, more = stored["test"], {}, {}
    if stacked is not None:   # several supervisors: their kind's references
        extras[supervisors_file(k)] = stacked
        members = MembersStep(spec.supervisor_names, stacked, len(rows["B"]), gold_test,
                              stored["test"])
        for kind in kinds:
            references, weak_reference = kind.weak_reference(spec, members)
            more |= _own(kind, references)
            weak_test = weak_test if weak_reference is None else weak_reference
    step = FurtherStep(pool.labels, rows, stored, ceilings, strong_features, seed, k)
    for kind in kinds:   # the references and files of a kind's further test splits
        if kind.further_splits:
            references, files = kind.freeze_further(spec, step)
            more |= _own(kind, references)
            extras |= files
    if spec.under_protocol:
        check_equal_gold(spec, len(rows["A"]), len(rows["B"]))
        more["controls"] = _controls(spec, pool, features, strong_features, rows, seed)

    def weak_fit(rows_A: np.ndarray) -> Predictor:
        return weak_predictor(spec, pool, features[spec.weak_model], rows_A, seed)

    for kind in declared_kinds(spec):   # what a kind makes beside the weak labels
        more |= _own(kind, kind.freeze_replicate(spec, pool.texts, pool.labels, rows, weak_fit,
                                                 stored["test"], seed, k))
    reference = ReplicateReference(
        replicate=k, seed=seed, weak_accuracy=accuracy(weak_test, gold_test),
        weak_auroc=auroc(weak_test, gold_test),
        ceiling_accuracy=accuracy(ceiling_probs, gold_test),
        ceiling_auroc=auroc(ceiling_probs, gold_test),
        n_A=len(rows["A"]), n_B=len(rows["B"]), n_test=n_test, **more)
    return _Frozen(blob, ceiling_probs, reference, extras)


def _controls(spec: TaskSpec, pool: ExamplePool, features: dict[str, np.ndarray | None],
              strong_features: np.ndarray | None, rows: dict[str, np.ndarray],
              seed: int) -> Controls:
    """The weak ceiling (the supervisor fitted on gold B), the self-training control and
    the label-free floor (:mod:`benchmark.labels.controls`). In the finetune regime the
    control is finetuned twice, and the floor clusters the strong model's frozen features."""
    gold, classes = pool.labels, len(spec.label_names)
    controls = {"weak_ceiling_accuracy": _weak_ceiling(spec, pool, features, rows, seed)}
    if strong_features is not None:
        controls["self_training_accuracy"] = self_training_accuracy(
            strong_features, gold, rows, task_probe_config(spec), seed, classes)
        frozen = strong_features
    else:
        controls["self_training_accuracy"] = _finetuned_self_training(spec, pool, rows, seed)
        frozen = _frozen_strong_features(spec, pool)
    if frozen is not None:
        controls["label_free_accuracy"] = label_free_accuracy(frozen, gold, rows, seed,
                                                              classes)
    return Controls(**controls)


def _weak_ceiling(spec: TaskSpec, pool: ExamplePool, features: dict[str, np.ndarray | None],
                  rows: dict[str, np.ndarray], seed: int) -> float:
    """The supervisor fitted on gold B, scored on the test set. With several supervisors,
    their average (each fitted on B), the labeller the student learns from: the strongest
    weak reference, so a capability gap is not one the average closes by itself."""
    test, gold = rows["test"], pool.labels
    if spec.supervisor_names:
        return accuracy(np.mean([fit_supervisor(spec, m, pool, features[m], rows["B"],
                                                gold[rows["B"]], seed)(test)
                                 for m in spec.supervisor_names], axis=0), gold[test])
    predict = weak_predictor(spec, pool, features[spec.weak_model], rows["B"], seed)
    return accuracy(predict(test), gold[test])


def _finetuned_self_training(spec: TaskSpec, pool: ExamplePool, rows: dict[str, np.ndarray],
                             seed: int) -> float:
    """The strong model finetuned on gold A labels B; a fresh finetune learns from that."""
    texts, gold = pool.texts, pool.labels
    classes = len(spec.label_names)
    teacher = finetune_ceiling(spec, [texts[i] for i in rows["A"]],
                               one_hot(gold[rows["A"]], classes),
                               [texts[i] for i in rows["B"]], seed)
    student = finetune_ceiling(spec, [texts[i] for i in rows["B"]], teacher,
                               [texts[i] for i in rows["test"]], seed)
    return accuracy(student, gold[rows["test"]])


def _frozen_strong_features(spec: TaskSpec, pool: ExamplePool) -> np.ndarray | None:
    """The strong model's frozen features where it is an encoder with them (the floor
    needs no finetuning); None for a decoder rung."""
    if MODELS.get(spec.strong_model).kind != "encoder" or rung_of(spec.strong_model):
        return None
    return np.asarray(model_features(spec.strong_model, pool.texts, False), np.float32)


def _own(kind: TaskKind, references: dict[str, Any]) -> dict[str, Any]:
    """A kind's references, each one of its own fields (the stage's, such as ``controls``,
    are never a kind's to set)."""
    foreign = sorted(set(references) - set(kind.reference_fields))
    if foreign:
        raise TypeError(f"task kind {kind.key!r} froze {foreign[0]!r}, which is not one of "
                        "its own reference_fields")
    return references


def freeze_task(spec: TaskSpec, force: bool = False, progress: bool = True,
                legacy: bool = False) -> Lock:
    """Freeze a task; one without a supervisor definition only with ``legacy`` (the legacy
    protocol: no equal-gold check, no weak ceiling, no controls, no gap check)."""
    check_protocol_declared(spec, legacy)
    if is_frozen(spec.id) and not force:
        raise SpecError(f"task {spec.id!r} is already frozen; re-freezing changes every score "
                        "measured against it. Pass --force to do it anyway (and bump the task's "
                        "`version` if its definition changed).")
    pool = example_pool(spec)
    features = supervisor_features(spec, pool, progress)
    layer = strong_layer_choice(spec, pool, progress)
    strong_features = _strong_features(spec, pool.texts, progress, layer and layer.layer)
    frozen = [_freeze_replicate(spec, pool, k, features, strong_features)
              for k in range(spec.replicates)]
    if spec.under_protocol:   # refused before a file is written
        check_capability_gap(spec, [f.reference for f in frozen])
    references = References(task=spec.id, weak_model=spec.weak_model,
                            strong_model=spec.strong_model,
                            replicates=[f.reference for f in frozen], strong_layer=layer)
    write_frozen(spec, {k: f.blob for k, f in enumerate(frozen)}, references,
                 package_versions(), hardware(), f"w2s-bench {__version__}",
                 {k: f.ceiling for k, f in enumerate(frozen)},
                 {name: array for f in frozen for name, array in f.extras.items()})
    if boostable(spec):   # EnsemW2S's boosted supervisors, added to the lock
        try:
            add_boosting(spec, pool, weighted_fit(spec, pool, features))
        except BaseException:   # not left frozen without them (Ctrl-C too): freeze again
            (task_frozen_dir(spec.id) / LOCK).unlink(missing_ok=True)
            raise
    return load_lock(spec)


def freeze_ceilings(spec: TaskSpec, progress: bool = True) -> Lock:
    """Add the ceiling predictions a task frozen without them lacks, or refuse if retraining
    the ceilings here does not reproduce the frozen ceiling accuracies exactly (their
    predictions would then not be the ones the references were measured from)."""
    pool = example_pool(spec)
    references = load_references(spec)
    chosen = references.strong_layer
    strong_features = _strong_features(spec, pool.texts, progress, chosen and chosen.layer)
    ceilings: dict[int, np.ndarray] = {}
    for k in range(spec.replicates):
        weak = load_weak_labels(spec, k)
        rows_B, rows_test = np.asarray(pool.rows(weak.ids_B)), np.asarray(pool.rows(weak.ids_test))
        probs = ceiling_predictions(spec, pool, strong_features, rows_B, rows_test,
                                    replicate_seed(spec, k))
        frozen = references.replicates[k].ceiling_accuracy
        again = accuracy(probs, pool.labels[rows_test])
        if again != frozen:
            raise IntegrityError(
                f"task {spec.id!r} replicate {k}: the ceiling retrained here scores {again:.6f}, "
                f"the frozen reference is {frozen:.6f}, so this machine does not reproduce the "
                "freeze (hardware or package versions differ from the lock's). Run "
                f"`w2s-bench freeze {spec.id} --add-ceilings` where the task was frozen, or "
                f"re-freeze it deliberately with --force (bump its version).")
        ceilings[k] = probs
    return add_ceilings(spec, ceilings)
