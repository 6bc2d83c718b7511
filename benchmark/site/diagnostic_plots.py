"""Figures that explain PGR from the stored predictions' diagnostics.

- **Gain vs misfit**, one point per run: Charikar et al. (2024) prove that, for a convex
  strong class and a realisable target, the student's gain over its weak supervisor is at
  least its misfit to it; points below the y = x line are runs where those assumptions, or
  the fit, fail. 10,000 runs make 10,000 markers, so the markers are rasterised into one
  embedded image while axes and text stay vector.
- **Agreement**, in the style of the paper's section on student–supervisor agreement
  (Burns et al. 2024, §5.1.3): how often the student predicts what its supervisor predicts,
  on all test examples, where the supervisor is right, and where it is wrong. One row per
  method: the mean over tasks with a 95% Student-t interval over tasks.
"""

from __future__ import annotations

from collections import defaultdict

import matplotlib

from benchmark.core.metrics import REFERENCE_METHOD, mean_ci
from benchmark.site.plotting import (
    LEADER,
    NAIVE,
    OTHER,
    SVG_STYLE,
    auto_ticks,
    draw_ticks,
    intervals,
    label,
    new_figure,
    row_labels,
    svg,
)
from benchmark.site.standings import SuiteBoard, best_method

AGREEMENT_PANELS = (("agreement", "all test examples"),
                    ("kept", "weak supervisor right"),
                    ("copied", "weak supervisor wrong"))


def has_diagnostics(board: SuiteBoard) -> bool:
    """Whether any run of the suite stored predictions (older records have none)."""
    return any(r.diagnostics is not None for t in board.tasks for r in t.results)


def gain_vs_misfit(board: SuiteBoard) -> str:
    """Every run's (misfit, gain), coloured leader / naive / the rest, with y = x."""
    leader = best_method(board)
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for task in board.tasks:
        for r in task.results:
            name = ("leader" if r.method == leader else
                    REFERENCE_METHOD if r.method == REFERENCE_METHOD else "other")
            groups[name] += r.misfit_gain
    points = [p for group in groups.values() for p in group]
    above = sum(gain >= misfit for misfit, gain in points)
    fig = new_figure(5.4, 4.4)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=0.14, right=0.97, bottom=0.12, top=0.88)
        ax = fig.subplots()
        for name, color, size in (("other", OTHER, 2.5), (REFERENCE_METHOD, NAIVE, 3),
                                  ("leader", LEADER, 3)):
            if groups.get(name):
                shown = f"leader: {leader}" if name == "leader" else (
                    "other methods" if name == "other" else name)
                ax.plot([m for m, _ in groups[name]], [g for _, g in groups[name]], "o",
                        ms=size, color=color, alpha=0.7, mec="none", rasterized=True,
                        label=label(shown))
        edge = max([0.01, *(abs(v) for p in points for v in p)]) * 1.05
        low = min([0.0, *(g for _, g in points)]) * 1.05
        ax.plot([0, edge], [0, edge], color="black", lw=0.8, ls="--", label="gain = misfit")
        ax.axhline(0, color="#bbbbbb", lw=0.8)
        ax.set_xlim(0, edge)
        ax.set_ylim(low, edge)
        ax.legend(loc="upper left", frameon=False, fontsize=7)
        auto_ticks(ax, "xy")
        ax.set_xlabel("misfit: d(student, weak supervisor)")
        ax.set_ylabel("gain: d(weak, gold) − d(student, gold)")
        ax.set_title(f"{label(board.suite)}: gain vs misfit, {len(points)} runs "
                     f"({above} with gain ≥ misfit)", fontsize=9)
    return svg(fig)


def _over_tasks(board: SuiteBoard, order: list[str], field: str
                ) -> list[tuple[str, float, float, float, float]]:
    """(method, mean, low, high, row) of ``field`` over the tasks where it is defined."""
    values: dict[str, list[float]] = defaultdict(list)
    for task in board.tasks:
        for r in task.results:
            value = getattr(r.diagnostics, field) if r.diagnostics else None
            if value is not None:
                values[r.method].append(value)
    out = []
    for row, method in enumerate(order):
        interval = mean_ci(values.get(method, []))
        if interval is not None:
            out.append((method, interval.mean, max(interval.low, 0.0),
                        min(interval.high, 1.0), row))
    return out


def agreement(board: SuiteBoard) -> str:
    """Three panels (all / supervisor right / supervisor wrong), one row per method."""
    order = [e.method for e in (*board.ranked, *board.incomplete) if e.diagnostics]
    leader = best_method(board)
    label_in = 0.075 * max((len(m) for m in order), default=4) + 0.2
    height = max(1.8, 0.15 * len(order) + 1.1)
    width = label_in + 3 * 2.2 + 0.3
    fig = new_figure(width, height)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=label_in / width, right=1 - 0.2 / width,
                            bottom=0.5 / height, top=1 - 0.6 / height, wspace=0.12)
        axes = fig.subplots(1, 3)
        for number, (ax, (field, title)) in enumerate(zip(axes, AGREEMENT_PANELS,
                                                          strict=True)):
            ax.set_ylim(len(order) - 0.5, -0.5)
            if number == 0:
                row_labels(ax, order)
            else:
                ax.set_yticks([])
            intervals(ax, _over_tasks(board, order, field), leader, horizontal=True)
            ax.set_xlim(0, 1)
            draw_ticks(ax, "x", [(0.0, "0"), (0.5, ".5"), (1.0, "1")])
            ax.set_title(title, fontsize=8)
        axes[1].set_xlabel("share where student and weak supervisor predict the same class "
                           "(mean over tasks, 95% CI)")
        fig.suptitle(f"{label(board.suite)}: student–supervisor agreement")
    return svg(fig)
