"""The method plugin API: what a W2S method receives, what it returns, and how it registers.

A method is a :class:`Method` subclass registered with ``@register("name")``. Most W2S
methods are a loss: override :meth:`Method.loss` and the shared probe trainer does the rest.
Methods that need more (relabelling, bootstrapping) override :meth:`Method.fit_predict`.

A method receives a :class:`MethodInput`: split B's inputs with weak soft labels, unlabelled
test inputs, the strong model's description, a seed and a scratch folder. It never receives a
gold label: the harness builds the input from the frozen weak-label file and the feature cache,
neither of which holds one, and scores the returned test probabilities in its own process.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from benchmark.core import curves
from benchmark.core.errors import SpecError
from benchmark.core.memo import BoundedMemo
from benchmark.core.method_card import Uses
from benchmark.core.registry import Registry
from benchmark.finetune.classifier import Checkpoint
from benchmark.finetune.fit import FinetunedClassifier, fit_classifier
from benchmark.finetune.trainer import FinetuneConfig
from benchmark.training.probe import (
    CrossEntropyTo,
    LinearProbe,
    ProbeConfig,
    ProbeTrainer,
    soft_cross_entropy,
    train_probe,
)

CHECKPOINT_EVERY = 100  # finetune steps between checkpoints in a harness run


@dataclass(frozen=True)
class StrongModelInfo:
    name: str
    family: str
    params: int | None
    hidden_size: int
    num_layers: int
    layer: int  # hidden-state index the default features come from


_MAPPINGS: BoundedMemo[tuple[str, int, int, int, int], np.ndarray] = BoundedMemo(2)


def _mapped(path: str) -> np.ndarray:
    """The feature file, memory-mapped once per process and version of the file: mapped
    anew for each read, its pages would be faulted in again each time (for a run reading one
    other hidden state, that costs more than its kNN search). Keyed by the file's
    identity, not its name: a ``/proc/self/fd/N`` name can mean another file later."""
    import os

    info = os.stat(path)
    key = (path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    return _MAPPINGS.get_or_make(key, lambda: np.load(path, mmap_mode="r"))


def _rows(hidden: np.ndarray, rows: tuple[int, ...]) -> np.ndarray:
    """Some rows of a hidden state, as float32 (a copy, also of a memory-mapped one)."""
    return np.asarray(hidden[list(rows)], dtype=np.float32)


@dataclass(frozen=True)
class MethodInput:
    """Everything a method may see for one run: split B's inputs with their weak soft labels,
    the unlabelled test inputs, the strong model's description, the seed and a scratch
    folder. Never a gold label.

    Probe regime: ``train_features`` / ``test_features`` hold the strong model's features
    (the harness ships the input without them and the process that runs the method reads
    them from the feature cache, see :meth:`with_cached_features`). Finetune regime: they are
    None and the texts, the trainer's recipe and the checkpoint are set instead.
    """

    task: str
    replicate: int
    seed: int
    label_names: tuple[str, ...]
    strong_model: StrongModelInfo
    train_ids: tuple[str, ...]
    train_features: np.ndarray | None    # [n_B, hidden] strong-model features of split B
    train_weak_probs: np.ndarray         # [n_B, classes] the frozen weak soft labels
    test_ids: tuple[str, ...]            # every row scored (a shift task: both test sets)
    test_features: np.ndarray | None     # [len(test_ids), hidden]; no labels
    probe_config: ProbeConfig
    scratch_dir: Path
    feature_file: str = ""               # cache file with every hidden state (features_at)
    train_rows: tuple[int, ...] = field(default=(), repr=False)
    test_rows: tuple[int, ...] = field(default=(), repr=False)
    # finetune regime: the texts themselves (no labels) and the shared trainer's recipe
    regime: Literal["probe", "finetune"] = "probe"
    train_texts: tuple[str, ...] = field(default=(), repr=False)
    test_texts: tuple[str, ...] = field(default=(), repr=False)
    finetune_config: FinetuneConfig | None = None
    checkpoint: Checkpoint | None = None  # the strong model's weights (folder or hub id)
    pooling: str = "last"
    # what the task's kinds (benchmark.kinds) add, by kind: e.g. ``kinds["conflict"]``, a
    # class reward the shared trainers (train_probe, probe_trainer, finetune) add to every
    # loss; a method that trains another way applies ``with_task_terms`` itself
    kinds: dict[str, Any] = field(default_factory=dict)
    # methods that declare ``needs_rungs``: split B's features from each intermediate model
    # between the supervisor and the student (measured order, weakest first), by rung name
    rung_features: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    # methods that declare ``needs_boosting``: split B labelled by the task's supervisors
    # boosted on gold A at freeze (EnsemW2S's AdaBoost rounds, combined by their weights);
    # the rounds, weights and errors are not given (benchmark.labels.boosting says what the
    # labels still reveal)
    boosted_probs: np.ndarray | None = field(default=None, repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.label_names)

    @property
    def conflict(self) -> tuple[int, float] | None:
        """(class index, weight) of a class-reward task's reward, as methods written before
        ``kinds`` read it (``inp.kinds["conflict"]`` holds the same)."""
        reward = self.kinds.get("conflict")
        return None if reward is None else (reward.reward_class, reward.weight)

    @property
    def supervisor_probs(self) -> dict[str, np.ndarray]:
        """Each of several weak supervisors' soft labels on split B, by name (empty for a
        task with one), as methods written before ``kinds`` read them
        (``inp.kinds["weak_models"].probs`` holds the same)."""
        labels = self.kinds.get("weak_models")
        return {} if labels is None else labels.probs

    @property
    def has_task_terms(self) -> bool:
        return any(hasattr(extra, "added_to") for extra in self.kinds.values())

    def with_task_terms(self, loss: Callable) -> Callable:
        """``loss`` plus every term the task's kinds add to training (a conflict task's class
        reward); ``loss`` itself for other tasks. The shared trainers apply it."""
        for _, extra in sorted(self.kinds.items()):
            if hasattr(extra, "added_to"):
                loss = extra.added_to(loss)
        return loss

    def features_at(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """(train, test) features from another hidden state (0 = embeddings)."""
        hidden = self.hidden_state(layer)
        return _rows(hidden, self.train_rows), _rows(hidden, self.test_rows)

    def hidden_state(self, layer: int) -> np.ndarray:
        """One hidden state of the whole pool, memory-mapped from the feature cache."""
        if not self.feature_file:
            raise ValueError("this run has no per-layer features")
        return _mapped(self.feature_file)[layer]

    def with_cached_features(self, hidden: np.ndarray | None = None) -> MethodInput:
        """This input with its feature arrays read from the cache (the harness ships inputs
        without them; the process that runs the method fills them in here). ``hidden``: the
        strong model's hidden state already in memory (a pool worker keeps one, so that its
        runs' forks inherit the arrays instead of each copying 14 MB of fresh pages)."""
        if self.train_features is not None or self.regime != "probe":
            return self
        source = hidden if hidden is not None else \
            self.hidden_state(self.strong_model.layer)
        kinds = {key: extra.with_features(source) if hasattr(extra, "with_features") else extra
                 for key, extra in self.kinds.items()}   # e.g. a shift task's target inputs
        return replace(self, train_features=_rows(source, self.train_rows),
                       test_features=_rows(source, self.test_rows), kinds=kinds)

    def train_probe(self, targets: np.ndarray, loss: Callable | None = None,
                    config: ProbeConfig | None = None, features: np.ndarray | None = None,
                    on_epoch: Callable | None = None) -> LinearProbe:
        """Train the shared linear probe (default: on split B, with the task's settings)."""
        if self.has_task_terms:
            loss = self.with_task_terms(loss or soft_cross_entropy)
        kwargs = {"loss": loss} if loss is not None else {}
        return train_probe(self.train_features if features is None else features, targets,
                           config or self.probe_config, self.seed, on_epoch=on_epoch,
                           observe=self._curve_observer(features), **kwargs)

    def probe_trainer(self, targets: np.ndarray, loss: Callable | None = None,
                      config: ProbeConfig | None = None, features: np.ndarray | None = None,
                      init: LinearProbe | None = None, seed: int | None = None
                      ) -> ProbeTrainer:
        """The shared probe's trainer, an epoch at a time (default: on split B, with the
        task's settings and the run's seed): weight or select rows between epochs, resume
        from ``init``, or run several side by side (give each its own ``seed``)."""
        loss = self.with_task_terms(loss or soft_cross_entropy)
        return ProbeTrainer(self.train_features if features is None else features, targets,
                            config or self.probe_config, self.seed if seed is None else seed,
                            loss, init=init, observe=self._curve_observer(features))

    def _curve_observer(self, features: np.ndarray | None) -> Callable:
        """What records a fit's training curve (:mod:`benchmark.core.curves`): after each
        epoch, its loss, and the share of split B where its head agrees with the weak labels:
        read on B's student features (``features`` left out) or on ``features`` when they
        hold one row per B example (another layer, a rung); left out for a fit on a subset of
        B, whose feature space cannot be told from its width."""
        fit = curves.start_fit()
        weak = np.asarray(self.train_weak_probs).argmax(1)
        if features is None:
            on_b = self.train_features
        elif len(features) == len(weak):
            on_b = features
        else:
            on_b = None

        def observe(trainer: ProbeTrainer) -> None:
            agreement = None if on_b is None or trainer.y.shape[1] != self.num_classes else \
                float((trainer.raw_logits(on_b).argmax(1) == weak).mean())
            fit.add(trainer.mean_training_loss(), agreement)

        return observe

    def prompt_probs(self, texts: tuple[str, ...] | None = None,
                     shots: tuple[tuple[str, int], ...] = ()) -> np.ndarray:
        """[n, classes] probabilities from prompting the strong model (a causal LM) with the
        class names as label words (default: the test texts). ``shots``: (text, class)
        pairs shown first; take them from split B with their weak labels."""
        from benchmark.finetune.prompting import label_word_probs

        if self.regime != "finetune" or self.checkpoint is None:
            raise ValueError(f"task {self.task!r}: prompting needs the strong model's "
                             "weights, which finetune-regime inputs carry")
        return label_word_probs(self.checkpoint, list(texts or self.test_texts),
                                list(self.label_names),
                                [(t, self.label_names[c]) for t, c in shots])

    def finetune(self, targets: np.ndarray, loss: Callable | None = None,
                 config: FinetuneConfig | None = None, texts: tuple[str, ...] | None = None,
                 layers: int | None = None) -> FinetunedClassifier:
        """Finetune a fresh copy of the strong model with the shared trainer (default: on
        split B's texts, with the task's recipe; ``layers``: only its first blocks)."""
        if self.regime != "finetune" or self.finetune_config is None:
            raise ValueError(f"task {self.task!r} is in the {self.regime} regime; "
                             "finetune() needs a finetune task")
        config = config or self.finetune_config
        if config.checkpoint_every is None:  # so a killed run resumes (the scratch dir stays)
            config = replace(config, checkpoint_every=CHECKPOINT_EVERY)
        if self.checkpoint is None:
            raise ValueError(f"task {self.task!r}: this input names no checkpoint to finetune")
        loss = self.with_task_terms(loss or soft_cross_entropy)
        fitted = fit_classifier(self.checkpoint, self.pooling, list(texts or self.train_texts),
                                np.asarray(targets), config, self.seed, loss,
                                checkpoint_dir=self.scratch_dir / "checkpoints", layers=layers)
        print(f"finetune: {fitted.stats.summary()}")
        _finetune_curve(fitted, len(texts or self.train_texts))
        return fitted


def _finetune_curve(fitted: FinetunedClassifier, rows: int) -> None:
    """A finetune's curve: per epoch, the mean of its steps' training loss (the loss it was
    given, as the trainer logged it: no extra pass over B, so no agreement). Left out for a
    run resumed from a checkpoint, whose earlier steps' losses are gone."""
    stats = fitted.stats
    if stats.resumed_from_step or not stats.losses:
        return
    per_epoch = max(1, -(-rows // fitted.config.batch_size))
    fit = curves.start_fit(loss_of="training loss")
    for start in range(0, len(stats.losses), per_epoch):
        fit.add(float(np.mean(stats.losses[start:start + per_epoch])), None)


class Method:
    """Base class of every method plugin (baselines and submissions alike)."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    defaults: ClassVar[dict[str, Any]] = {}
    regimes: ClassVar[tuple[str, ...]] = ("probe", "finetune")  # where fit_predict works
    binary_only: ClassVar[bool] = False  # True: left out of tasks with more than two classes
    needs_decoder: ClassVar[bool] = False  # True: only where the strong model is a causal LM
    needs_supervisors: ClassVar[bool] = False  # True: only where a task names several weak models
    needs_rungs: ClassVar[bool] = False  # True: gets intermediate models' features; skipped without
    needs_boosting: ClassVar[bool] = False  # True: gets the boosted supervisors; skipped without
    control: ClassVar[bool] = False  # a reference point (e.g. prompting), not a W2S method
    paper: ClassVar[str | None] = None  # link shown on the leaderboard (submissions: yaml)
    code: ClassVar[str | None] = None
    # what it uses beyond the weak labels on B and the strong student (submissions: yaml)
    uses: ClassVar[Uses | None] = None

    def __init__(self, **config: Any) -> None:
        unknown = sorted(set(config) - set(self.defaults))
        if unknown:
            hints = [difflib.get_close_matches(k, list(self.defaults), n=1) for k in unknown]
            said = ", ".join(f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "")
                             for k, h in zip(unknown, hints, strict=True))
            raise SpecError(f"method {self.name!r} has no option {said}; its options: "
                            + (", ".join(sorted(self.defaults)) or "(none)"))
        self.config: dict[str, Any] = {**self.defaults, **config}
        self.check_config()

    def check_config(self) -> None:
        """Raise :class:`SpecError` naming the option and what is allowed (override)."""

    def option_error(self, option: str, allowed: str) -> SpecError:
        return SpecError(f"method {self.name!r}: option {option!r} = "
                         f"{self.config[option]!r} is not allowed; use {allowed}")

    def loss(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
             ) -> torch.Tensor:
        """Training loss on a minibatch; ``progress`` runs from 0 to 1 over training.
        By default, cross-entropy to :meth:`target` where the method defines one."""
        if self._defines_target():
            return CrossEntropyTo(self.target)(logits, weak_probs, progress)
        raise NotImplementedError(f"method {self.name!r} defines neither loss(), target() "
                                  "nor fit_predict()")

    def target(self, logits: torch.Tensor, weak_probs: torch.Tensor, progress: float
               ) -> torch.Tensor:
        """The soft target, when the loss is cross-entropy to a target that takes no
        gradient (``logits`` arrive detached): define this instead of :meth:`loss`, and the
        probe trainer writes the gradient out (:class:`CrossEntropyTo`)."""
        raise NotImplementedError(f"method {self.name!r} defines no target()")

    def training_loss(self) -> Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]:
        """What the trainers get: :class:`CrossEntropyTo` of :meth:`target` where the method
        defines a target and no loss of its own, else :meth:`loss`."""
        if self._defines_target() and type(self).loss is Method.loss:
            return CrossEntropyTo(self.target)
        return self.loss

    def _defines_target(self) -> bool:
        return type(self).target is not Method.target

    def prepare(self, inp: MethodInput) -> None:
        """Set what :meth:`loss` needs from this run before training starts (override): e.g.
        ``logconf``'s α_max from the student's size, ``window``'s radius from the weak labels.
        The default :meth:`fit_predict` calls it, and so does any method that borrows the
        loss (``relabel``), so the rule is written once, here in the method."""

    def fit_predict(self, inp: MethodInput) -> np.ndarray:
        """Return class probabilities for every row the input asks about, shape
        ``[len(inp.test_ids), classes]`` (a shift task's test rows are its in-distribution
        test set and then its shifted one: both are scored)."""
        self.prepare(inp)
        if inp.regime == "finetune":
            model = inp.finetune(inp.train_weak_probs, loss=self.training_loss())
            return model.predict_proba(inp.test_texts)
        probe = inp.train_probe(inp.train_weak_probs, loss=self.training_loss())
        return probe.predict_proba(inp.test_features)


# Every Method class ``@register`` has seen. Discovery of baselines, submissions and entry
# points is this registry's loader, attached by :mod:`benchmark.methods.catalog`.
METHODS: Registry[type[Method]] = Registry("method")


def register(name: str) -> Callable[[type[Method]], type[Method]]:
    """Class decorator: ``@register("my-method")`` makes a Method available by name."""

    def decorate(cls: type[Method]) -> type[Method]:
        if not (isinstance(cls, type) and issubclass(cls, Method)):
            raise TypeError(f"@register({name!r}) must decorate a Method subclass")
        cls.name = name
        module = sys.modules.get(cls.__module__)
        origin = getattr(module, "__file__", None) or cls.__module__
        METHODS.add(name, cls, origin=str(origin))
        return cls

    return decorate
