"""The paper's protocol, checked when a task is frozen (the freeze stage refuses, not the run).

Equal gold: the supervisor learns from split A and the ceiling from split B, so |A| = |B|
(Burns et al. split the training data in half), else the gap holds a data gap. A measured
capability gap: over replicates, strong ceiling − weak ceiling (the supervisor's definition
fitted on gold B) must have its lower 95% Student-t bound above zero, unless the task says
in ``gap_exception`` why it is kept. The report says per replicate what was frozen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchmark.core.errors import SpecError
from benchmark.core.metrics import Interval, gap_se, mean_ci, small_gap
from benchmark.labels.frozen import ReplicateReference
from benchmark.tasks.spec import TaskSpec


def check_equal_gold(spec: TaskSpec, n_A: int, n_B: int) -> None:
    if n_A != n_B:
        raise SpecError(
            f"task {spec.id!r}: the weak supervisor learns from {n_A} gold labels (split A) "
            f"and the ceiling from {n_B} (split B), so part of its gap would be a data gap. "
            "Give both the same size (`splits.weak_train` = `splits.student_train`; for a hub "
            "task, half of the source's train split), the paper's protocol.")


def check_protocol_declared(spec: TaskSpec, legacy: bool) -> None:
    """Before anything trains: a task frozen under the protocol names its supervisor's
    definition and gives A and B the same size; any other needs ``legacy`` on purpose."""
    if not spec.under_protocol:
        if legacy:
            return
        kind = ("its several supervisors name no `supervisor: NAME@VERSION`"
                if spec.supervisor_names else "it names no `weak_supervisor: NAME@VERSION`")
        raise SpecError(
            f"task {spec.id!r}: {kind}, so freezing it would skip the paper's protocol (equal "
            "gold, the weak ceiling, the controls and the capability-gap check). Name the "
            "supervisor's definition (tasks/supervisors/definitions.yaml), or pass "
            "--legacy-protocol to freeze it as tasks were frozen before (the board marks it "
            "'unequal gold').")
    if spec.dataset.source != "hub":
        check_equal_gold(spec, spec.splits.weak_train, spec.splits.student_train)


@dataclass(frozen=True)
class GapLine:
    replicate: int
    weak: float
    weak_ceiling: float | None
    ceiling: float
    n_test: int
    several: bool = False   # several supervisors: weak is the best, weak ceiling the average

    @property
    def gap(self) -> float:
        return self.ceiling - self.weak

    @property
    def se(self) -> float:
        return gap_se(self.weak, self.ceiling, self.n_test)

    @property
    def capability_gap(self) -> float | None:
        return None if self.weak_ceiling is None else self.ceiling - self.weak_ceiling

    @property
    def data_share(self) -> float | None:
        """The share of the gap the supervisor closes with B's gold alone (none for several
        supervisors, whose weak reference and weak ceiling are different combinations)."""
        if self.weak_ceiling is None or self.several or not self.gap > 0:
            return None
        return (self.weak_ceiling - self.weak) / self.gap


def gap_lines(references: Sequence[ReplicateReference], several: bool) -> list[GapLine]:
    """``several``: the task has several supervisors."""
    return [GapLine(r.replicate, r.weak_accuracy,
                    r.controls.weak_ceiling_accuracy if r.controls else None,
                    r.ceiling_accuracy, r.n_test, several) for r in references]


def _fmt(value: float | None, sign: bool = False) -> str:
    return "—" if value is None else (f"{value:+.3f}" if sign else f"{value:.3f}")


def freeze_report(spec: TaskSpec, references: Sequence[ReplicateReference]) -> list[str]:
    """Per replicate: weak accuracy, weak ceiling, ceiling, gap ± its standard error, the
    capability gap and the data share; then the capability gap's interval and warnings."""
    lines = gap_lines(references, bool(spec.supervisor_names))
    out = [f"{spec.id}: n_A = n_B = {references[0].n_B}, n_test = {references[0].n_test}",
           "  rep  weak   weak-ceil ceiling  gap (±se)        capability  data share"]
    for g in lines:
        flag = "  ← under 2 se" if small_gap(g.weak, g.ceiling, g.n_test) else ""
        out.append(f"  {g.replicate:>3}  {g.weak:.3f}  {_fmt(g.weak_ceiling):>9} "
                   f"{g.ceiling:.3f}    {g.gap:+.3f} (±{g.se:.3f})  "
                   f"{_fmt(g.capability_gap, True):>10}  {_fmt(g.data_share):>10}{flag}")
    interval = capability_interval(lines)
    if interval is not None:
        out.append(f"  capability gap {interval.mean:+.3f}, 95% t-interval over {interval.n} "
                   f"replicates [{interval.low:+.3f}, {interval.high:+.3f}]")
    small = sum(small_gap(g.weak, g.ceiling, g.n_test) for g in lines)
    if small:
        out.append(f"  warning: {small} of {len(lines)} replicates have a gap under two "
                   "standard errors of the test accuracy (their PGR is noise and aggregates "
                   "leave them out); a weaker supervisor or a larger test split widens it")
    return out


def capability_interval(lines: Sequence[GapLine]) -> Interval | None:
    return mean_ci([g.capability_gap for g in lines if g.capability_gap is not None])


def check_capability_gap(spec: TaskSpec, references: Sequence[ReplicateReference]) -> None:
    """Refuse a task whose capability gap is not clearly positive, unless it says why."""
    interval = capability_interval(gap_lines(references, bool(spec.supervisor_names)))
    if interval is None or spec.gap_exception is not None:
        return
    if interval.n < 2 or interval.low <= 0:
        raise SpecError(
            f"task {spec.id!r}: its capability gap (strong ceiling − weak ceiling, both on "
            f"gold B) is {interval.mean:+.4f}, 95% interval over {interval.n} replicate(s) "
            f"[{interval.low:+.4f}, {interval.high:+.4f}]: not clearly positive, so its PGR "
            "would not measure a stronger model beating a weaker one. Choose a weaker "
            "supervisor or a stronger student (or more replicates), or keep it by saying why "
            "in `gap_exception:`.\n" + "\n".join(freeze_report(spec, references)))
