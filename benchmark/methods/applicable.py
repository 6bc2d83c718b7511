"""Which methods a task can run: each method declares what it needs (a regime, a causal LM, two
classes, several weak supervisors, intermediate models) and a task that lacks it skips the method,
with the reason said once per method and reason rather than once per task."""

from __future__ import annotations

from collections import defaultdict

from benchmark.api.method import Method
from benchmark.labels.boosting import boostable, has_boosting
from benchmark.labels.frozen import is_frozen
from benchmark.labels.rungs import intermediate_rungs
from benchmark.models.hub_ladder import is_decoder
from benchmark.tasks.spec import TaskSpec


def skip_reason(method: type[Method], spec: TaskSpec) -> str | None:
    """Why ``method`` cannot run ``spec`` (None: it can)."""
    if spec.regime not in method.regimes:
        return f"works in the {'/'.join(method.regimes)} regime, not the {spec.regime} one"
    if method.needs_decoder and not is_decoder(spec.strong_model):
        return "prompts the strong model, which is not a causal LM here"
    if method.binary_only and len(spec.label_names) > 2:
        return "declares `binary_only`; the task has more than two classes"
    if method.needs_supervisors and not spec.supervisor_names:
        return "uses several weak supervisors' labels; the task names one"
    if method.needs_boosting and not boostable(spec):
        return ("uses the supervisors boosted on gold A; the task has no ensemble of "
                "supervisors fitted as probes or regressions to boost")
    if method.needs_boosting and is_frozen(spec.id) \
            and not has_boosting(spec):
        return ("uses the supervisors boosted on gold A; the task was frozen without them "
                f"(`w2s-bench freeze {spec.id} --add-boosting` adds them)")
    if method.needs_rungs and not intermediate_rungs(spec):
        return ("passes the labels through intermediate models; no embedded rung is measured "
                "clearly between this task's supervisor and student (benchmark.labels.rungs)")
    return None


class Skips:
    """Skipped (method, task) pairs, grouped by method and reason for one note each."""

    def __init__(self) -> None:
        self._tasks: dict[tuple[str, str], list[str]] = defaultdict(list)

    def add(self, method: str, task: str, reason: str) -> None:
        self._tasks[(method, reason)].append(task)

    def notes(self) -> list[str]:
        lines = []
        for (method, reason), tasks in sorted(self._tasks.items()):
            where = repr(tasks[0]) if len(tasks) == 1 else f"{len(tasks)} tasks"
            lines.append(f"note: {method} skipped on {where}: it {reason}")
        return lines
