"""``pairwise``: reward modelling. Each example is a pair of responses with a preference;
the weak supervisor is a weak reward model and the student a Bradley-Terry scorer, P(first ≻
second) = σ(r(first) − r(second)): an antisymmetric probe on the difference of the two
responses' features. From a dataset with ordinal classes (``levels``), pairs of responses of
different levels, the higher preferred, every response in one pair at most (so splits never
share a response); without ``levels``, a hub dataset whose examples are pairs already
(``anthropic_hh_pairs``). The task's ``label_names`` are ``[second, first]``: class 1 means
the first response is preferred. The leaderboard shows pairwise accuracy and PGR.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from benchmark.core.kinds import KindTable, SettingField, TaskKind, TwinOf

PAIR_LABELS = ["second", "first"]


class Pairwise(BaseModel):
    """Pairs of responses with a preference (``levels``: the dataset's classes, least
    preferred first; none: a hub dataset of pairs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    levels: list[str] | None = Field(default=None, min_length=2, max_length=100)


def make_pairs(examples: Sequence[Any], seed: int) -> list[Any]:
    """Responses paired across levels, each used once, in a canonical seeded order.

    Walk the responses in a seeded permutation; a response pairs with the oldest waiting one
    of another level (the level with most waiting first), else waits. Which of the two comes
    first is a fair coin, so the labels are balanced in expectation."""
    from benchmark.datasets.base import Example, pair_text

    ordered = sorted(examples, key=lambda e: e.id)
    rng = np.random.default_rng([seed, 7])
    waiting: dict[int, list[Any]] = {}
    pairs: list[Any] = []
    for index in rng.permutation(len(ordered)):
        example = ordered[index]
        others = [level for level, queue in waiting.items()
                  if level != example.label and queue]
        if not others:
            waiting.setdefault(example.label, []).append(example)
            continue
        partner = waiting[max(others, key=lambda level: (len(waiting[level]), -level))].pop(0)
        first, second = (example, partner) if rng.random() < 0.5 else (partner, example)
        digest = hashlib.sha256(f"{first.id}|{second.id}".encode()).hexdigest()[:16]
        pairs.append(Example(id=digest, text=pair_text(first.text, second.text),
                             label=int(first.label > second.label)))
    return sorted(pairs, key=lambda e: e.id)


@dataclass(frozen=True)
class PairRow:
    task: str
    method: str
    n: int
    accuracy: Any                      # pairwise accuracy (an Interval or None)
    pgr: Any
    weak: float
    ceiling: float


def pair_rows(groups: dict[tuple[str, str], list[Any]]) -> list[PairRow]:
    from benchmark.core.metrics import accuracy_ci, mean_ci
    from benchmark.site.exports import mean_of
    from benchmark.site.row_tests import kept_pgr

    rows = []
    for (task, method), runs in groups.items():
        scored = [r.metrics for r in runs if r.metrics]
        if not runs[0].setting.pairwise or not scored:
            continue
        rows.append(PairRow(
            task, method, len(scored), accuracy_ci([m.accuracy for m in scored]),
            mean_ci([kept_pgr(m.pgr, m.weak_accuracy, m.ceiling_accuracy, m.n_test)
                     for m in scored]), mean_of([m.weak_accuracy for m in scored]),
            mean_of([m.ceiling_accuracy for m in scored])))
    return rows


TABLE_HTML = """\
<h4>Reward modelling: pairwise accuracy</h4>
<p class="note">Each example is a pair of responses; the weak supervisor is a weak \
Bradley–Terry reward model and the student a Bradley–Terry probe, P(first ≻ second) = \
σ(r(first) − r(second)). Accuracy is pairwise accuracy. The embedded pairs are an analog of \
preference data: tweets, the more positive one preferred.</p>
<table class="beyond sortable">
<thead><tr><th data-type="text">Task</th><th data-type="text">Method</th><th \
data-type="num">Weak / ceiling</th><th data-type="num">Pairwise accuracy</th><th \
data-type="num">PGR</th></tr></thead>
<tbody>
{% for r in table.rows %}<tr><td><a href="{{ task_page(r.task) }}">{{ r.task }}</a></td><td><a \
href="{{ method_page(r.method) }}">{{ r.method }}</a></td>
{{ value_cell(r.weak, (r.weak | number(3)) ~ ' / ' ~ (r.ceiling | number(3))) }}{{ \
interval_cell(r.accuracy) }}{{ interval_cell(r.pgr) }}</tr>
{% endfor %}
</tbody></table>
"""


class PairwiseKind(TaskKind):
    key = "pairwise"
    block = Pairwise
    track = "beyond"
    summary = "reward modelling: pairs of responses, a Bradley-Terry supervisor and student"
    setting_fields = {"pairwise": SettingField(bool, default=False)}
    table_html = TABLE_HTML
    table_order = 2   # after the shift's and the several supervisors' tables
    boostable = False       # its supervisors are Bradley-Terry models, fitted unweighted
    layer_search = False    # no gold outside the pool to choose a hidden state on
    probe_on_hub = True     # a hub dataset of pairs is probed, not finetuned
    excludes = ("shift",)

    def check(self, spec: Any) -> None:
        if spec.label_names != PAIR_LABELS:
            raise ValueError(f"a pairwise task's `label_names` are {PAIR_LABELS} (class 1: "
                             "the first response is preferred)")
        frontier = [k for k in _frontier_keys() if getattr(spec, k) is not None]
        if spec.regime != "probe" or frontier:
            raise ValueError("`pairwise:` tasks are probe-regime Bradley-Terry tasks, "
                             "without the adversarial blocks")

    def check_registered(self, path: Path, spec: Any) -> None:
        from benchmark.core.errors import SpecError
        from benchmark.datasets.base import DATASETS
        from benchmark.datasets.hub import HUB_DATASETS

        declared = spec.pairwise.levels
        if spec.dataset.source == "asset" and not spec.dataset.by_columns:
            levels = list(DATASETS.get(spec.dataset.name).label_names)
            if declared != levels:
                raise SpecError(f"{path}: `pairwise.levels` must be dataset "
                                f"{spec.dataset.name!r}'s classes in order: {levels}")
            return
        hub = spec.dataset.source == "hub" and not spec.dataset.by_columns
        if declared is not None or not (hub and HUB_DATASETS.get(spec.dataset.name).pairs):
            raise SpecError(f"{path}: a pairwise task reads an embedded dataset with ordered "
                            "classes (`levels: [...]`), or, without `levels`, a hub dataset "
                            "of pairs (`name: anthropic_hh_pairs`)")

    def pool_examples(self, spec: Any, examples: list[Any]) -> list[Any]:
        if spec.pairwise.levels is None:
            return examples   # a hub dataset of pairs
        return make_pairs(examples, spec.pool_seed)

    def pool_texts(self, spec: Any, texts: Any) -> Any:
        from benchmark.datasets.base import split_pair
        from benchmark.models.features import PairTexts

        return PairTexts(texts, split_pair)

    def probe_config(self, spec: Any, config: Any) -> Any:
        return replace(config, antisymmetric=True)

    def fit_weak_model(self, spec: Any, model: str, rows: Any, targets: Any, c: float,
                       texts: Any, features: Any, seed: int) -> Any:
        from benchmark.labels.pairwise import fit_pairwise_supervisor

        return fit_pairwise_supervisor(model, rows, targets, c, texts, features, seed)

    def setting(self, spec: Any) -> dict[str, Any]:
        return {"pairwise": True}

    def table(self, groups: dict[tuple[str, str], list[Any]], twin_of: TwinOf
              ) -> KindTable | None:
        rows = pair_rows(groups)
        return KindTable(self.key, tuple(rows)) if rows else None

    def table_markdown(self, table: KindTable) -> list[str]:
        from benchmark.site.exports import fmt, markdown_table

        return ["### Reward modelling: pairwise accuracy", "", *markdown_table(
            [[r.task, r.method, f"{r.weak:.3f} / {r.ceiling:.3f}", fmt(r.accuracy),
              fmt(r.pgr, 2)] for r in table.rows],
            ["task", "method", "weak / ceiling", "pairwise accuracy", "PGR"])]


def _frontier_keys() -> list[str]:
    from benchmark.core.kinds import kinds_of_track

    return [kind.key for kind in kinds_of_track("frontier")]


KIND = PairwiseKind()
