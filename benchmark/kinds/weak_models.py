"""``weak_models``: several weak supervisors (with ``weak_model: ensemble``), by name. Each is
fitted on gold A on its own (under the paper's protocol, by its own definition
``supervisor: NAME@VERSION``; in tasks frozen before definitions, with its own inverse L2
strength ``weak_c``), their average is the task's default weak labels, and a method gets
each one's labels on split B by name as ``inp.kinds["weak_models"]`` (a
:class:`SupervisorLabels`). PGR is measured against the best single supervisor's test
accuracy and, in the kind's metric ``ensemble``, against their average's; the leaderboard
tests the latter per block.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from benchmark.core.controls import ENSEMBLE
from benchmark.core.kinds import KindTable, MembersStep, SettingField, TaskKind, TwinOf


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WeakMember(_Strict):
    """One of several weak supervisors: under the paper's protocol its definition
    (``supervisor: NAME@VERSION``, as a one-supervisor task's ``weak_supervisor``); in tasks
    frozen before it, its inverse L2 strength (default: ``training.weak_c``)."""

    supervisor: str | None = Field(default=None, max_length=90)
    weak_c: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_definition(self) -> WeakMember:
        if self.supervisor is not None and self.weak_c is not None:
            raise ValueError("a member's `supervisor:` definition fixes its learner and "
                             "settings; drop `weak_c`")
        return self


Members = Annotated[dict[str, WeakMember], Field(min_length=2, max_length=16)]


class EnsembleReference(_Strict):
    """A replicate's supervisors on the test set. The task's ``weak_accuracy`` is the best
    single supervisor's (``best``), which PGR is measured against; ``mean_accuracy`` is
    their average's (the default labels), which the second PGR uses."""

    accuracies: dict[str, float]
    best: str
    mean_accuracy: float = Field(ge=0, le=1)


class EnsembleScore(_Strict):
    """A run against the supervisors' average as well (``pgr`` uses the best single one's
    accuracy, ``best_supervisor``)."""

    best_supervisor: str
    mean_accuracy: float = Field(ge=0, le=1)
    pgr_vs_mean: float | None
    pgr_vs_mean_note: str = ""


@dataclass(frozen=True)
class SupervisorLabels:
    """What a method gets: each supervisor's soft labels on split B, by name (the input's
    ``train_weak_probs`` is their average)."""

    probs: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class EnsembleRow:
    task: str
    method: str
    n: int
    supervisors: tuple[str, ...]
    best: str                          # the most frequent best single supervisor
    accuracy: Any                      # Interval or None
    pgr_vs_best: Any
    pgr_vs_mean: Any
    best_accuracy: float
    mean_accuracy: float
    ceiling: float
    vs_mean_p: float | None = None     # PGR against the average: sign-flip, Holm


def ensemble_rows(groups: dict[tuple[str, str], list[Any]]) -> list[EnsembleRow]:
    """One row per (task, method) with several supervisors, from records only; PGR against
    the average tested over the row's blocks, Holm over the table's rows."""
    from benchmark.site.row_tests import holm_over

    rows = [row for (task, method), runs in groups.items()
            if runs[0].setting.supervisors and (row := _row(task, method, runs))]
    return [replace(r, vs_mean_p=p) for r, p in
            zip(rows, holm_over([r.vs_mean_p for r in rows]), strict=True)]


def _row(task: str, method: str, runs: list[Any]) -> EnsembleRow | None:
    from benchmark.core.metrics import accuracy_ci, mean_ci
    from benchmark.site.exports import mean_of
    from benchmark.site.frame import record_block
    from benchmark.site.row_tests import block_p, kept_pgr

    kept = [r for r in runs if r.metrics and r.metrics.ensemble]
    scored = [r.metrics for r in kept]
    if not scored:
        return None
    versus = [(v, record_block(r)) for r, m in zip(kept, scored, strict=True)
              if (v := kept_pgr(m.ensemble.pgr_vs_mean, m.ensemble.mean_accuracy,
                                m.ceiling_accuracy, m.n_test)) is not None]
    best = Counter(m.ensemble.best_supervisor for m in scored).most_common(1)[0][0]
    return EnsembleRow(
        task, method, len(scored), tuple(runs[0].setting.supervisors or ()), best,
        accuracy_ci([m.accuracy for m in scored]),
        mean_ci([kept_pgr(m.pgr, m.weak_accuracy, m.ceiling_accuracy, m.n_test) for m in scored]),
        mean_ci([v for v, _ in versus]),
        mean_of([m.weak_accuracy for m in scored]),
        mean_of([m.ensemble.mean_accuracy for m in scored]),
        mean_of([m.ceiling_accuracy for m in scored]),
        block_p([v for v, _ in versus], [b for _, b in versus]))


TABLE_HTML = """\
<h4>Several weak supervisors</h4>
<p class="note">Each supervisor is fitted on split A on its own; methods get each one's labels \
by name, and their average as the default labels. PGR is measured against the best single \
supervisor's test accuracy (per replicate), and against their average's.</p>
<table class="beyond sortable">
<thead><tr><th data-type="text">Task</th><th data-type="text">Method</th><th \
data-type="num">Best single</th><th data-type="num">Average</th><th data-type="num">Accuracy\
</th><th data-type="num">PGR vs best</th><th data-type="num">PGR vs average</th><th \
data-type="num" title="sign-flip test of PGR against the average over the row's blocks, Holm \
over the table's rows">Holm p</th></tr></thead>
<tbody>
{% for r in table.rows %}<tr><td><a href="{{ task_page(r.task) }}">{{ r.task }}</a><br><span \
class="ci">{{ r.supervisors | join(", ") }}</span></td><td><a href="{{ method_page(r.method) \
}}">{{ r.method }}</a></td>
{{ value_cell(r.best_accuracy, r.best ~ ' ' ~ (r.best_accuracy | number(3))) }}{{ \
value_cell(r.mean_accuracy, r.mean_accuracy | number(3)) }}{{ interval_cell(r.accuracy) }}{{ \
interval_cell(r.pgr_vs_best) }}{{ interval_cell(r.pgr_vs_mean) }}{{ value_cell(r.vs_mean_p, \
r.vs_mean_p | number(3)) }}</tr>
{% endfor %}
</tbody></table>
"""


class WeakModelsKind(TaskKind):
    key = "weak_models"
    block = Members
    track = "beyond"
    summary = "several weak supervisors by name; PGR against the best one and their average"
    setting_fields = {"supervisors": SettingField(list[str] | None)}
    reference_fields = {"ensemble": EnsembleReference}
    metric_fields = {"ensemble": EnsembleScore}
    table_html = TABLE_HTML
    table_order = 1   # after the shift's table, before the reward models'

    def check(self, spec: Any) -> None:
        if spec.weak_model != ENSEMBLE:
            raise ValueError(f"several weak supervisors are declared as `weak_model: "
                             f"{ENSEMBLE}` with `weak_models: {{a: {{}}, b: {{weak_c: 0.1}}}}`, "
                             "the one with the other")
        if spec.strong_model in spec.weak_models:
            raise ValueError("`weak_models` names the strong model")
        if spec.weak_supervisor is not None:
            raise ValueError("`weak_supervisor` names one supervisor; a task with "
                             "`weak_models:` defines each of its own")

    def check_registered(self, path: Path, spec: Any) -> None:
        from benchmark.core.errors import SpecError
        from benchmark.models import MODELS
        from benchmark.models.hub_ladder import rung_of
        from benchmark.tasks.supervisors import SUPERVISORS, resolve

        for member in sorted(spec.weak_models):
            if member not in MODELS:
                raise SpecError(f"{path}: `weak_models`: {MODELS.unknown_message(member)}")
            if MODELS.get(member).kind not in ("tfidf", "encoder") or rung_of(member):
                raise SpecError(f"{path}: `weak_models`: {member!r} is not an embedded tf-idf "
                                "or encoder supervisor (`w2s-bench list models`)")
        named = {name: m.supervisor for name, m in spec.weak_models.items()
                 if m.supervisor is not None}
        if named and len(named) != len(spec.weak_models):
            missing = ", ".join(sorted(set(spec.weak_models) - set(named)))
            raise SpecError(f"{path}: `weak_models`: name a `supervisor: NAME@VERSION` for "
                            f"every member or for none (missing: {missing})")
        for member, reference in sorted(named.items()):
            if reference not in SUPERVISORS:
                raise SpecError(f"{path}: `weak_models.{member}.supervisor`: "
                                f"{SUPERVISORS.unknown_message(reference)}")
            if resolve(reference).model != member:
                raise SpecError(f"{path}: `weak_models.{member}.supervisor` {reference} is "
                                f"defined on model {resolve(reference).model!r}; name a "
                                f"definition of {member!r}")

    def makes_supervisor(self, spec: Any) -> bool:
        return True   # the average of its members

    def members(self, spec: Any) -> dict[str, Any]:
        return dict(spec.weak_models)

    def hash_inputs(self, spec: Any) -> Any:
        from benchmark.tasks.supervisors import resolve

        return {name: resolve(m.supervisor) for name, m in spec.weak_models.items()
                if m.supervisor is not None}

    def hashed(self, spec: Any, body: Any) -> Any:
        """A member's definition is hashed as resolved (its learner and settings), as a
        one-supervisor task's is; members of tasks from before definitions keep their
        hash."""
        from benchmark.tasks.supervisors import resolve

        for member in body.values():
            reference = member.pop("supervisor")
            if reference is not None:
                member["supervisor"] = {"name": reference, **resolve(reference).hashed()}
        return body

    def weak_reference(self, spec: Any, step: MembersStep) -> tuple[dict[str, Any], Any]:
        """The supervisors' test accuracies, the best one's name and its test probabilities
        (ties: the first named), which the task's weak accuracy is; the average's accuracy."""
        from benchmark.core.metrics import accuracy

        n_test = len(step.gold_test)
        tests = step.stacked[:, step.n_B:step.n_B + n_test]
        scores = {name: accuracy(tests[i], step.gold_test)
                  for i, name in enumerate(step.members)}
        best = max(step.members, key=lambda name: scores[name])
        reference = EnsembleReference(accuracies=scores, best=best,
                                      mean_accuracy=accuracy(step.stored_test, step.gold_test))
        return {"ensemble": reference}, tests[step.members.index(best)]

    def method_input(self, spec: Any, weak: Any, pool: Any) -> SupervisorLabels:
        return SupervisorLabels(dict(weak.supervisors or {}))

    def score(self, accuracy: float, reference: Any) -> dict[str, Any]:
        from benchmark.core.metrics import pgr

        if reference.ensemble is None:
            return {}
        mean = reference.ensemble.mean_accuracy
        gap = pgr(accuracy, mean, reference.ceiling_accuracy)
        return {"ensemble": EnsembleScore(best_supervisor=reference.ensemble.best,
                                          mean_accuracy=mean, pgr_vs_mean=gap.value,
                                          pgr_vs_mean_note=gap.reason)}

    def setting(self, spec: Any) -> dict[str, Any]:
        return {"supervisors": sorted(spec.weak_models)}

    def table(self, groups: dict[tuple[str, str], list[Any]], twin_of: TwinOf
              ) -> KindTable | None:
        rows = ensemble_rows(groups)
        return KindTable(self.key, tuple(rows)) if rows else None

    def table_markdown(self, table: KindTable) -> list[str]:
        from benchmark.site.exports import fmt, fmt_p, markdown_table

        return ["### Several weak supervisors", "",
                "Holm p: sign-flip test of PGR against the average over the row's "
                "blocks, Holm over the table's rows.", "", *markdown_table(
                    [[r.task, r.method, f"{r.best} {r.best_accuracy:.3f}",
                      f"{r.mean_accuracy:.3f}", fmt(r.accuracy), fmt(r.pgr_vs_best, 2),
                      fmt(r.pgr_vs_mean, 2), fmt_p(r.vs_mean_p)] for r in table.rows],
                    ["task", "method", "best single", "average", "accuracy",
                     "PGR vs best", "PGR vs average", "Holm p"])]


KIND = WeakModelsKind()
