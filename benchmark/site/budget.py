"""The gold-budget view: one supervisor → student pair at several gold budgets (|A| = |B|),
with its capability gap and what methods recover at each, since labelling cost is what
weak-to-strong methods trade against (Mallen & Belrose 2024 frame it as a Pareto frontier)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from benchmark.core.metrics import Interval
from benchmark.site.standings import SuiteBoard, TaskSummary, best_method


@dataclass(frozen=True)
class BudgetPoint:
    n_gold: int
    task: str
    weak: float | None
    ceiling: float | None
    capability_gap: Interval | None
    naive_pgr: Interval | None
    leader: str | None              # the suite leader's PGR on this task
    leader_pgr: Interval | None


@dataclass(frozen=True)
class BudgetLine:
    dataset: str
    weak_model: str
    strong_model: str
    points: tuple[BudgetPoint, ...]  # by budget


def _pgr(task: TaskSummary, method: str | None) -> Interval | None:
    result = next((r for r in task.results if r.method == method), None)
    return result.pgr if result else None


def budget_lines(board: SuiteBoard) -> list[BudgetLine]:
    """Pairs the suite holds at two or more gold budgets."""
    groups: dict[tuple[str, str, str], list[TaskSummary]] = defaultdict(list)
    for t in board.tasks:
        if t.n_gold is not None:
            groups[(t.dataset, t.weak_model, t.strong_model)].append(t)
    leader = best_method(board)
    lines = []
    for (dataset, weak, strong), tasks in sorted(groups.items()):
        if len({t.n_gold for t in tasks}) < 2:
            continue
        points = tuple(BudgetPoint(
            n_gold=t.n_gold or 0, task=t.task,
            weak=t.weak_accuracy.mean if t.weak_accuracy else None,
            ceiling=t.ceiling_accuracy.mean if t.ceiling_accuracy else None,
            capability_gap=t.controls.capability_gap if t.controls else None,
            naive_pgr=_pgr(t, "naive"), leader=leader, leader_pgr=_pgr(t, leader))
            for t in sorted(tasks, key=lambda t: t.n_gold or 0))
        lines.append(BudgetLine(dataset, weak, strong, points))
    return lines
