"""``shift``: distribution shift (RAVEN, Jeon et al. 2025). The task's dataset is the source
domain, where A and B are drawn (the weak supervisor and the student learn there); a second
registered dataset with the same classes (by position) is the target domain, from which a
shifted test set is drawn and scored beside the in-distribution one in every run, and from
which unlabelled inputs may be shown to the method (``inp.kinds["shift"]``, a
:class:`TargetDomain`). The shifted
PGR uses the weak supervisor's accuracy on the target and the ceiling's (trained on gold
source B) there; an in-domain oracle (a probe on the unlabelled inputs' gold labels) is
frozen for scale only. The leaderboard tests whether the student falls below its supervisor
on the target, per block.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, model_validator

from benchmark.core.kinds import FurtherTest, KindTable, SettingField, TaskKind, TwinOf

TARGET, UNLABELLED = "target", "U"   # the splits it adds to each replicate


class Shift(BaseModel):
    """A shifted test set from ``target``, a registered embedded dataset whose classes match
    the task's by position (e.g. critics' rotten/fresh and tweets' negative/positive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    target: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)
    pool: PositiveInt = Field(le=1_000_000)  # target examples drawn (like a task's pool)
    test: PositiveInt = Field(le=1_000_000)  # the shifted test set, per replicate
    unlabelled: NonNegativeInt = Field(default=0, le=1_000_000)  # shown to methods, no label

    @model_validator(mode="after")
    def _fits(self) -> Shift:
        if self.test + self.unlabelled > self.pool:
            raise ValueError(f"`shift`: test ({self.test}) + unlabelled ({self.unlabelled}) "
                             f"exceeds the target pool ({self.pool}); raise `pool`")
        return self


class ShiftReference(BaseModel):
    """A replicate's references on the shifted test set: the weak supervisor's accuracy
    there and the ceiling's (trained on gold source B, evaluated on the target), which the
    shifted PGR uses; and, for scale only, a probe trained on gold of the unlabelled target
    inputs (the in-domain oracle; None without them, or in the finetune regime)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    weak_accuracy: float = Field(ge=0, le=1)
    ceiling_accuracy: float = Field(ge=0, le=1)
    n_test: int = Field(ge=0)
    n_unlabelled: int = Field(ge=0)
    oracle_accuracy: float | None = Field(default=None, ge=0, le=1)


@dataclass(frozen=True)
class TargetDomain:
    """What a method of a shift task gets beside its two test sets: the unlabelled
    target-domain inputs, by opaque id; in the probe regime their strong-model features
    (filled in by the process that runs the method), in the finetune regime their texts."""

    ids: tuple[str, ...] = ()
    rows: tuple[int, ...] = field(default=(), repr=False)
    texts: tuple[str, ...] = field(default=(), repr=False)
    features: Any = field(default=None, repr=False)

    def with_features(self, hidden: Any) -> TargetDomain:
        """These inputs with their rows of the strong model's hidden state."""
        import numpy as np

        if self.features is not None or not self.rows:
            return self
        return replace(self, features=np.asarray(hidden[list(self.rows)], dtype=np.float32))


def shifted_ceiling_file(replicate: int) -> str:
    """The ceiling's (trained on gold source B) predictions on the shifted test set."""
    return f"shifted-ceiling-{replicate}.npy"


@dataclass(frozen=True)
class ShiftRow:
    task: str
    method: str
    target: str
    n: int
    accuracy: Any                      # in distribution (an Interval or None)
    pgr: Any
    shifted_accuracy: Any
    shifted_pgr: Any
    over_weak: Any                     # shifted accuracy − the supervisor's there
    below_weak: int                    # replicates where the student is below it there
    weak: float                        # mean weak accuracy: in distribution
    ceiling: float
    shifted_weak: float                # … and on the shifted test set
    shifted_ceiling: float
    over_weak_p: float | None = None   # sign-flip over blocks, then Holm over the table


def shift_rows(groups: dict[tuple[str, str], list[Any]]) -> list[ShiftRow]:
    """Per (shift task, method): in-distribution and shifted scores, and shifted − weak
    tested by a sign flip over the row's blocks, Holm over the table's rows."""
    from benchmark.core.metrics import accuracy_ci, mean_ci
    from benchmark.site.exports import mean_of
    from benchmark.site.frame import record_block
    from benchmark.site.row_tests import block_p, holm_over, kept_pgr

    rows = []
    for (task, method), runs in groups.items():
        if not runs[0].setting.shift_target:
            continue
        kept = [r for r in runs
                if r.metrics and r.metrics.shifted and r.metrics.shifted.accuracy is not None]
        scored = [(r.metrics, r.metrics.shifted) for r in kept]
        if not scored:
            continue
        over = [s.accuracy - s.weak_accuracy for _, s in scored]
        rows.append(ShiftRow(
            task, method, runs[0].setting.shift_target or "", len(scored),
            accuracy_ci([m.accuracy for m, _ in scored]),
            mean_ci([kept_pgr(m.pgr, m.weak_accuracy, m.ceiling_accuracy, m.n_test)
                     for m, _ in scored]),
            accuracy_ci([s.accuracy for _, s in scored]),
            mean_ci([kept_pgr(s.pgr, s.weak_accuracy, s.ceiling_accuracy, s.n)
                     for _, s in scored]),
            mean_ci(over), sum(d < 0 for d in over),
            mean_of([m.weak_accuracy for m, _ in scored]),
            mean_of([m.ceiling_accuracy for m, _ in scored]),
            mean_of([s.weak_accuracy for _, s in scored]),
            mean_of([s.ceiling_accuracy or 0.0 for _, s in scored]),
            block_p(over, [record_block(r) for r in kept])))
    adjusted = holm_over([r.over_weak_p for r in rows])
    return [replace(r, over_weak_p=p) for r, p in zip(rows, adjusted, strict=True)]


TABLE_HTML = """\
<h4>Distribution shift: in distribution and shifted, in the same run</h4>
<p class="note">The weak supervisor and the student learn on the source dataset; every run is \
also tested on a shifted test set from the target dataset. In-distribution PGR uses the weak \
model's and the ceiling's accuracy on the source test set; shifted PGR uses the weak model's \
accuracy on the target and the ceiling's (trained on gold source labels) there. "Below weak" \
counts the replicates where the student is less accurate than its supervisor on the target. \
Mean over replicates [95% t-interval].</p>
<table class="beyond sortable">
<thead><tr><th data-type="text">Task</th><th data-type="text">Method</th><th \
data-type="num">Accuracy</th><th data-type="num">PGR</th>
<th data-type="num">Shifted: weak / ceiling</th><th data-type="num">Shifted accuracy</th><th \
data-type="num">Shifted PGR</th><th data-type="num">Shifted − weak</th><th data-type="num" \
title="sign-flip test of shifted − weak over the row's blocks, Holm over the table's rows">Holm \
p</th><th data-type="num">Below weak</th></tr></thead>
<tbody>
{% for r in table.rows %}<tr><td><a href="{{ task_page(r.task) }}">{{ r.task }}</a><br><span \
class="ci">→ {{ r.target }}</span></td><td><a href="{{ method_page(r.method) }}">{{ r.method \
}}</a></td>
{{ interval_cell(r.accuracy) }}{{ interval_cell(r.pgr) }}{{ value_cell(r.shifted_weak, \
(r.shifted_weak | number(3)) ~ ' / ' ~ (r.shifted_ceiling | number(3))) }}{{ \
interval_cell(r.shifted_accuracy) }}{{ interval_cell(r.shifted_pgr) }}{{ \
interval_cell(r.over_weak) }}{{ value_cell(r.over_weak_p, r.over_weak_p | number(3)) }}{{ \
value_cell(r.below_weak, r.below_weak ~ '/' ~ r.n) }}</tr>
{% endfor %}
</tbody></table>
"""


class ShiftKind(TaskKind):
    key = "shift"
    block = Shift
    track = "beyond"
    summary = "a shifted test set from a second dataset, scored beside the in-distribution one"
    setting_fields = {"shift_target": SettingField(str | None)}
    reference_fields = {"shifted": ShiftReference}
    metric_fields = {"shifted": "PartScore"}   # the record schema's own type, by name
    further_splits = (TARGET,)
    unlabelled_splits = (UNLABELLED,)
    table_html = TABLE_HTML
    table_order = 0   # the first of the beyond tables
    layer_search = False   # no gold outside the pool to choose a hidden state on

    def check_registered(self, path: Path, spec: Any) -> None:
        from benchmark.core.errors import SpecError
        from benchmark.datasets.base import DATASETS

        shift = spec.shift
        if not (spec.dataset.source == "asset" and not spec.dataset.by_columns):
            raise SpecError(f"{path}: `shift:` needs a registered embedded dataset as the "
                            "source")
        if shift.target not in DATASETS:
            raise SpecError(f"{path}: `shift.target`: {DATASETS.unknown_message(shift.target)}")
        if shift.target == spec.dataset.name:
            raise SpecError(f"{path}: `shift.target` is the source dataset itself")
        classes = DATASETS.get(shift.target).label_names
        if len(classes) != len(spec.label_names):
            raise SpecError(f"{path}: `shift.target` {shift.target!r} has classes "
                            f"{list(classes)}; the task has {len(spec.label_names)} "
                            f"({spec.label_names})")

    def extend_pool(self, spec: Any, pool: list[Any]) -> list[Any]:
        """The source pool, then the target pool (each sorted by id; a target text also in
        the source is dropped)."""
        from benchmark.tasks.splits import draw_pool, load_dataset

        held = {e.id for e in pool}
        target = draw_pool(load_dataset(spec.shift.target), spec.shift.pool, spec.balance,
                           spec.pool_seed, len(spec.label_names))
        return pool + [e for e in target if e.id not in held]

    def pool_texts(self, spec: Any, texts: Any) -> Any:
        from benchmark.models.features import ConcatenatedTexts

        cut = spec.pool_size
        return ConcatenatedTexts([texts[:cut], texts[cut:]])

    def draw_splits(self, spec: Any, pool: list[Any], replicate: int) -> dict[str, list[str]]:
        """The target part: the shifted test set, then the unlabelled inputs."""
        import numpy as np

        target = pool[spec.pool_size:]
        drawn = np.random.default_rng([spec.seed, replicate, 2]).permutation(len(target))
        cut = spec.shift.test
        return {TARGET: sorted(target[i].id for i in drawn[:cut]),
                UNLABELLED: sorted(target[i].id for i in drawn[cut:cut + spec.shift.unlabelled])}

    def freeze_further(self, spec: Any, step: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        from benchmark.core.metrics import accuracy

        gold = step.labels[step.rows[TARGET]]
        ceiling = step.ceiling[TARGET]
        oracle = _oracle(spec, step)
        reference = ShiftReference(
            weak_accuracy=accuracy(step.weak[TARGET], gold),
            ceiling_accuracy=accuracy(ceiling, gold), n_test=len(gold),
            n_unlabelled=len(step.rows[UNLABELLED]),
            oracle_accuracy=None if oracle is None else accuracy(oracle, gold))
        return {"shifted": reference}, {shifted_ceiling_file(step.replicate): ceiling}

    def further_test(self, spec: Any, weak: Any) -> FurtherTest | None:
        from benchmark.labels.frozen import load_array

        if TARGET not in weak.further_probs:
            return None
        return FurtherTest("shifted", weak.further_probs[TARGET],
                           load_array(spec, shifted_ceiling_file(weak.replicate)))

    def method_input(self, spec: Any, weak: Any, pool: Any) -> TargetDomain:
        from benchmark.run.inputs import opaque_ids

        rows = tuple(pool.rows(weak.further_ids.get(UNLABELLED, ())))
        texts = tuple(pool.texts[r] for r in rows) if spec.regime == "finetune" else ()
        return TargetDomain(opaque_ids(len(rows)), rows, texts)

    def setting(self, spec: Any) -> dict[str, Any]:
        return {"shift_target": spec.shift.target}

    def table(self, groups: dict[tuple[str, str], list[Any]], twin_of: TwinOf
              ) -> KindTable | None:
        rows = shift_rows(groups)
        return KindTable(self.key, tuple(rows)) if rows else None

    def table_markdown(self, table: KindTable) -> list[str]:
        from benchmark.site.exports import fmt, fmt_p, markdown_table

        return ["### Distribution shift: in distribution and shifted", "",
                "Holm p: sign-flip test of shifted − weak over the row's blocks, Holm "
                "over the table's rows.", "", *markdown_table(
                    [[r.task, r.method, fmt(r.accuracy), fmt(r.pgr, 2),
                      f"{r.shifted_weak:.3f} / {r.shifted_ceiling:.3f}",
                      fmt(r.shifted_accuracy), fmt(r.shifted_pgr, 2), fmt(r.over_weak),
                      fmt_p(r.over_weak_p), f"{r.below_weak}/{r.n}"] for r in table.rows],
                    ["task", "method", "accuracy", "PGR", "shifted: weak / ceiling",
                     "shifted accuracy", "shifted PGR", "shifted − weak",
                     "Holm p", "below weak"])]


def _oracle(spec: Any, step: Any) -> Any:
    """The in-domain oracle: the probe trained on gold of the unlabelled target inputs, on
    the shifted test set (for scale; no PGR uses it)."""
    from benchmark.tasks.spec import task_probe_config
    from benchmark.training.probe import one_hot, train_probe

    if step.strong_features is None or not len(step.rows[UNLABELLED]):
        return None
    gold_U = one_hot(step.labels[step.rows[UNLABELLED]], len(spec.label_names))
    probe = train_probe(step.strong_features[step.rows[UNLABELLED]], gold_U,
                        task_probe_config(spec), step.seed)
    return probe.predict_proba(step.strong_features[step.rows[TARGET]])


KIND = ShiftKind()
