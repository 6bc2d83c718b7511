"""The protocol's tables in the markdown export: the controls scored like methods, and per
task what its gap is made of."""

from __future__ import annotations

from tabulate import tabulate

from benchmark.core.metrics import Interval
from benchmark.site.budget import budget_lines
from benchmark.site.standings import SuiteBoard


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ci(interval: Interval | None, sign: bool = False) -> str:
    if interval is None:
        return "n/a"
    f = "+.3f" if sign else ".3f"
    return f"{interval.mean:{f}} [{interval.low:{f}}, {interval.high:{f}}]"


def protocol_markdown(b: SuiteBoard) -> list[str]:
    out: list[str] = []
    if b.controls:
        out += [f"### Controls (`{b.suite}`, harness-side, frozen with each task)", "",
                tabulate([[c.name, _num(c.pgr), _num(c.pgr_median), _num(c.pgr_of_means),
                           _num(c.accuracy), c.units] for c in b.controls],
                         headers=["control", "mean PGR", "median PGR", "PGR of means",
                                  "mean accuracy", "units"], tablefmt="github",
                         disable_numparse=True), ""]
    rows = [[t.task, "equal gold" if t.controls and t.controls.equal_gold else "unequal gold",
             _num(t.weak_accuracy.mean if t.weak_accuracy else None),
             _ci(t.controls.weak_ceiling if t.controls else None),
             _num(t.ceiling_accuracy.mean if t.ceiling_accuracy else None),
             _ci(t.controls.capability_gap if t.controls else None, sign=True)
             + (" (not clearly positive)" if t.controls and t.controls.gap_not_clear else ""),
             _num(t.controls.data_share if t.controls else None),
             f"{t.controls.small_gaps}/{t.controls.replicates}" if t.controls else "n/a"]
            for t in b.tasks]
    out += [f"### What each gap is made of (`{b.suite}`)", "",
            tabulate(rows, headers=["task", "protocol", "weak acc", "weak ceiling [95% CI]",
                                    "ceiling", "capability gap [95% CI]", "data share",
                                    "small-gap replicates"], tablefmt="github",
                     disable_numparse=True), ""]
    lines = budget_lines(b)
    if lines:
        leader = lines[0].points[0].leader
        out += [f"### Gold budget (`{b.suite}`)", "",
                tabulate([[line.dataset, f"{line.weak_model} → {line.strong_model}", pt.n_gold,
                           _num(pt.weak), _num(pt.ceiling), _ci(pt.capability_gap, sign=True),
                           _ci(pt.naive_pgr), _ci(pt.leader_pgr)]
                          for line in lines for pt in line.points],
                         headers=["dataset", "weak → strong", "gold each", "weak acc",
                                  "ceiling", "capability gap [95% CI]", "naive PGR [95% CI]",
                                  f"{leader} PGR [95% CI]"], tablefmt="github",
                         disable_numparse=True), ""]
    return out
