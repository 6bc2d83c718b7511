"""Task kinds: the settings a task may declare beside the paper's one (a class reward, a
slice, a systematic supervisor, ...), each a plugin in one module of :mod:`benchmark.kinds`.

A kind owns its YAML block (strict, hashed only where set), the checks of that block against
the rest of the task, the weak supervisor it makes at freeze, the extra input it gives a
method (under ``MethodInput.kinds``, by its key), the parts of the test set it scores apart,
the fields it adds to a record's ``setting`` and its leaderboard table. The stages loop over
a task's kinds through :data:`KINDS` and name none of them. The registry imports the kind
modules by name (:data:`KIND_MODULES`, the one line a new kind adds here): no stage imports a
kind, so the stages still import only to their left, and a kind module imports the stages'
helpers inside its hooks, never at its top (the task definition imports the kinds while it is
built).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from benchmark.core.registry import Registry

# the registry lines: one module per kind
KIND_MODULES = (
    "benchmark.kinds.conflict",
    "benchmark.kinds.pairwise",
    "benchmark.kinds.sandbag",
    "benchmark.kinds.shift",
    "benchmark.kinds.slice",
    "benchmark.kinds.supervisor",
    "benchmark.kinds.weak_models",
)


@dataclass(frozen=True)
class SettingField:
    """A field a kind adds to a run record's ``setting``. ``written_unset``: written even
    where the task does not declare the kind (the frontier's fields were, from the start;
    every later kind's are left out there, so older records keep their bytes)."""

    annotation: Any
    default: Any = None
    written_unset: bool = False


@dataclass(frozen=True)
class KindTable:
    """A kind's table of one suite on the leaderboard: its rows, and the note above them.
    The kind writes both forms (:meth:`TaskKind.table_markdown`, :attr:`TaskKind.table_html`)."""

    kind: str
    rows: tuple[Any, ...]
    note: str = ""


# a run's twin on its task's `compare_with` task: same method, replicate and weak labels
TwinOf = Callable[[Any], Any]


@dataclass(frozen=True)
class FurtherStep:
    """What a kind's freeze step for its further test splits sees (gold in hand): pool
    labels, every split's rows, the weak labels as stored and the ceiling's predictions per
    split, the strong model's features (None in the finetune regime), the seed."""

    labels: Any
    rows: dict[str, Any]
    weak: dict[str, Any]
    ceiling: dict[str, Any]
    strong_features: Any
    seed: int
    replicate: int


@dataclass(frozen=True)
class FurtherTest:
    """A further test split's frozen references, for scoring a run's rows on it into the
    record's metric ``field``: the weak supervisor's and the ceiling's predictions there."""

    field: str
    weak: Any
    ceiling: Any


@dataclass(frozen=True)
class MembersStep:
    """What a kind's freeze step for several supervisors sees (gold in hand): their names in
    canonical order, each one's frozen probabilities ``[members, rows, classes]`` (rows: B,
    test, then further test splits), the test set's gold labels and the default labels'
    test probabilities as stored."""

    members: list[str]
    stacked: Any
    n_B: int
    gold_test: Any
    stored_test: Any


class TaskKind:
    """One kind of task. Subclasses set the class attributes and override the hooks they
    need; every hook's default is "nothing to add"."""

    key: ClassVar[str]                       # the task's YAML key, and the kind's name
    block: ClassVar[Any]                     # the block's type (a strict pydantic model)
    track: ClassVar[str] = "beyond"          # where the site shows it: frontier | beyond
    summary: ClassVar[str] = ""              # one line for `w2s-bench list kinds`
    excludes: ClassVar[tuple[str, ...]] = ()  # kinds it does not combine with
    setting_fields: ClassVar[dict[str, SettingField]] = {}
    # what freezing adds to each replicate's references, and scoring to a record's metrics:
    # field name -> type (optional, left out where unset)
    reference_fields: ClassVar[dict[str, Any]] = {}
    metric_fields: ClassVar[dict[str, Any]] = {}
    rebuilds: ClassVar[str] = ""   # what :meth:`missing` reports, e.g. "locked student"
    # splits after the test set that every run is also scored on (a shifted test set): the
    # ceiling is evaluated there at freeze, and a method's test rows go on with them
    further_splits: ClassVar[tuple[str, ...]] = ()
    # splits it draws that carry no weak labels (e.g. unlabelled inputs shown to a method)
    unlabelled_splits: ClassVar[tuple[str, ...]] = ()
    # what the task may be (False: the stage refuses or skips it for a task of this kind)
    boostable: ClassVar[bool] = True      # its supervisors may be boosted (EnsemW2S)
    layer_search: ClassVar[bool] = True   # a rung may choose its hidden state on held-out gold
    probe_on_hub: ClassVar[bool] = False  # a hub dataset may be probed (else: finetuned)
    # the site's table: a Jinja snippet over ``table`` (a KindTable; the site's cell helpers
    # are its globals), shown in the kind's track section in ``table_order``
    table_html: ClassVar[str] = ""
    table_order: ClassVar[int] = 0

    def check(self, spec: Any) -> None:
        """Raise ValueError where the block does not fit the rest of the task (``spec``: the
        validated TaskSpec)."""

    def check_registered(self, path: Path, spec: Any) -> None:
        """Raise SpecError where the block names what is not registered (datasets, models)."""

    def makes_supervisor(self, spec: Any) -> bool:
        """Whether the kind makes the task's weak supervisor without a model to fit (a rule
        weak model needs a kind that does)."""
        return False

    def members(self, spec: Any) -> dict[str, Any]:
        """The task's several weak supervisors by name, each with ``supervisor`` (its
        ``NAME@VERSION`` definition or None) and ``weak_c`` (None: the task's); empty for a
        task with one. The freeze stage fits each on its own and averages them."""
        return {}

    def hash_inputs(self, spec: Any) -> Any:
        """What the block's hash depends on beyond the block (e.g. the definitions its
        members resolve to): the task's memoised hash is kept while this is unchanged."""
        return None

    def hashed(self, spec: Any, body: Any) -> Any:
        """The block as hashed into the task's sha256 (``body``: as dumped to JSON)."""
        return body

    def weak_supervisor(self, spec: Any, texts: Sequence[str], labels: Any, rows_A: Any,
                        fit: Callable[[Any, Any], Any]) -> Callable[[Any], Any] | None:
        """Freeze stage (gold A in hand): the task's weak supervisor as the kind makes it, a
        predictor of pool rows; ``fit(rows, labels)`` fits the task's declared model. None:
        the declared model fitted on A, as for any task."""
        return None

    def pool_examples(self, spec: Any, examples: list[Any]) -> list[Any]:
        """The examples the task's pool is drawn from, made from the dataset's (e.g. pairs
        of its responses)."""
        return examples

    def extend_pool(self, spec: Any, pool: list[Any]) -> list[Any]:
        """Examples appended to the drawn pool (e.g. a target domain's)."""
        return pool

    def draw_splits(self, spec: Any, pool: list[Any], replicate: int) -> dict[str, list[str]]:
        """Splits the kind adds to each replicate's draw, as sorted ids (e.g. a shifted
        test set), drawn from the pool ``extend_pool`` made."""
        return {}

    def pool_texts(self, spec: Any, texts: Any) -> Any:
        """The pool's texts as the feature cache reads them (e.g. a pair's two responses)."""
        return texts

    def probe_config(self, spec: Any, config: Any) -> Any:
        """The probe recipe the ceiling and every method of the task start from."""
        return config

    def fit_weak_model(self, spec: Any, model: str, rows: Any, targets: Any, c: float,
                       texts: Any, features: Any, seed: int) -> Any:
        """Freeze stage: a weak model that is not a probe of an encoder (a tf-idf learner,
        defined or from before definitions), fitted as the kind fits one (a pairwise task's
        Bradley-Terry regression); None: as any task does."""
        return None

    def freeze_replicate(self, spec: Any, texts: Sequence[str], labels: Any,
                         rows: dict[str, Any], weak_fit: Callable[[Any], Any],
                         weak_test: Any, seed: int, replicate: int) -> dict[str, Any]:
        """Freeze stage, per replicate (gold in hand): what the kind makes beside the weak
        labels, as values of :attr:`reference_fields` (``rows``: pool rows of A, B, test;
        ``weak_fit(rows_A)``: the task's weak supervisor fitted on those rows)."""
        return {}

    def weak_reference(self, spec: Any, step: MembersStep) -> tuple[dict[str, Any], Any]:
        """Freeze stage, per replicate of a task with several supervisors: values of
        :attr:`reference_fields`, and the test probabilities the task's weak accuracy is
        measured from where the kind says so (None: the default labels')."""
        return {}, None

    def freeze_further(self, spec: Any, step: FurtherStep
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Freeze stage, per replicate: references of :attr:`further_splits` (values of
        :attr:`reference_fields`) and the arrays frozen beside them, by file name."""
        return {}, {}

    def further_test(self, spec: Any, weak: Any) -> FurtherTest | None:
        """A replicate's references on the kind's further test split, from its frozen
        weak-label set (None: it has none)."""
        return None

    def missing(self, spec: Any, replicate: int, reference: Any) -> bool:
        """Whether what the kind froze for the replicate is missing from this machine's
        cache (the freeze stage rebuilds it with :meth:`freeze_replicate`)."""
        return False

    def check_rebuilt(self, spec: Any, replicate: int, reference: Any) -> None:
        """Raise IntegrityError where what was rebuilt is not what was frozen."""

    def readable_dirs(self, spec: Any) -> list[Any]:
        """Cache folders a run of the task may read (e.g. weights made at freeze)."""
        return []

    def strong_checkpoint(self, spec: Any, replicate: int, reference: Any) -> Any:
        """The weights a finetune method starts from, where the kind replaces the strong
        model's (None: the strong model)."""
        return None

    def secrets(self, spec: Any) -> list[str]:
        """Strings a method's code must not hold (the discovery scan flags them)."""
        return []

    def score(self, accuracy: float, reference: Any) -> dict[str, Any]:
        """Values of :attr:`metric_fields` for a run of the given accuracy, from the
        replicate's references (called for every kind: give values only where the kind's
        reference fields are set)."""
        return {}

    def scored_parts(self, spec: Any, texts: Sequence[str]) -> dict[str, Any]:
        """Named boolean masks over the test set (``texts``), each scored apart into the
        record's ``metrics.parts``."""
        return {}

    def method_input(self, spec: Any, weak: Any, pool: Any) -> Any:
        """What a method of the task gets under ``inp.kinds[key]`` (None: nothing), given
        the replicate's frozen weak-label set ``weak`` and the task's pool without its labels
        (``pool.rows(ids)``, ``pool.texts``). An object with ``added_to(loss)`` is added to
        every loss by the shared trainers; one with ``with_features(hidden)`` gets its
        features from the strong model's hidden state in the process that runs the method."""
        return None

    def setting(self, spec: Any) -> dict[str, Any]:
        """The task's values of :attr:`setting_fields` for its records."""
        return {}

    def table(self, groups: dict[tuple[str, str], list[Any]], twin_of: TwinOf
              ) -> KindTable | None:
        """The kind's table of one suite, from its records only (``groups``: the suite's
        records of tasks with a setting, by task and method, each sorted by replicate)."""
        return None

    def table_markdown(self, table: KindTable) -> list[str]:
        """The table's lines in ``leaderboard.md`` (the same numbers as the HTML)."""
        return []


_importing = False


def _load(registry: Registry[TaskKind]) -> None:
    """Import every kind module, then register them all: a module that fails to import
    leaves the registry empty, so the next lookup reports the same error again."""
    global _importing
    _importing = True
    try:
        found = [(name, getattr(importlib.import_module(name), "KIND", None))
                 for name in KIND_MODULES]
    finally:
        _importing = False
    for name, kind in found:
        if not isinstance(kind, TaskKind):
            raise TypeError(f"kind module {name} must define KIND, a TaskKind instance "
                            f"(it has {type(kind).__name__})")
    for name, kind in found:
        registry.add(kind.key, kind, origin=name)


KINDS: Registry[TaskKind] = Registry("task kind", loader=_load)


def registered_kinds() -> list[TaskKind]:
    """Every kind, by name. Refuses while the kind modules are being imported: a kind module
    that imports a stage at its top would otherwise build the task definition (or the record
    schema) without the kinds."""
    if _importing:
        raise ImportError("a task kind module imported a stage at its top while the kinds "
                          "were loading; import stage modules inside the kind's hooks")
    return [kind for _, kind in KINDS.items()]


BASE_SPLITS = ("A", "B", "test")   # every task's (benchmark.tasks.splits.SPLIT_NAMES)


def file_splits() -> tuple[str, ...]:
    """Every split a weak-label file may hold, in file order: A, B and test, then each
    kind's further test splits and unlabelled splits, kind by kind."""
    return BASE_SPLITS + tuple(s for k in registered_kinds()
                               for s in (*k.further_splits, *k.unlabelled_splits))


def scored_file_splits() -> tuple[str, ...]:
    """The splits that carry weak probabilities, in file order: B, test, further tests."""
    return ("B", "test") + tuple(s for k in registered_kinds() for s in k.further_splits)


def kinds_of_track(track: str) -> list[TaskKind]:
    """The kinds whose tables the site shows in ``track``'s section, in table order."""
    return sorted((k for k in registered_kinds() if k.track == track),
                  key=lambda k: (k.table_order, k.key))


def declared_kinds(spec: Any) -> Iterator[TaskKind]:
    """The kinds ``spec`` declares, by name."""
    for kind in registered_kinds():
        if getattr(spec, kind.key, None) is not None:
            yield kind


def task_members(spec: Any) -> dict[str, Any]:
    """The task's several weak supervisors, as its kind defines them (empty: it has one)."""
    for kind in declared_kinds(spec):
        found = kind.members(spec)
        if found:
            return found
    return {}


def rebuilt_noun(spec: Any) -> str:
    """What the freeze stage rebuilds into the cache for ``spec``, for messages."""
    return "/".join(k.rebuilds or "cached file" for k in declared_kinds(spec)
                    if type(k).missing is not TaskKind.missing)
