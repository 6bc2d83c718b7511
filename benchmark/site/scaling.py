"""The scaling view of a suite that spans several strong-student sizes (a weak × strong grid).

- **Figure-3 layout** (Burns et al. 2024): per dataset, test accuracy (top) and PGR
  (bottom) against the strong student's parameters, one line per weak supervisor, for
  ``naive`` (solid) and the suite's leader (dashed).
- **PGR against the size gap**, log10(strong / weak parameters), one point per task, with a
  least-squares line and its 95% bootstrap band per method shown. Tasks that share a strong
  student are not independent points (one student's features, on both datasets), so the
  bootstrap resamples students, never single tasks. Supervisors recur across students too,
  which this one-way clustering ignores, and a percentile bootstrap over a handful of
  clusters undercovers: the band is a rough guide, not a test.

:func:`gap_trend` is the fit both the figure and the guide's sentences use.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import matplotlib
import numpy as np

from benchmark.core.metrics import REFERENCE_METHOD
from benchmark.site.plotting import (
    LEADER,
    NAIVE,
    SVG_STYLE,
    auto_ticks,
    label,
    log_x,
    new_figure,
    svg,
)
from benchmark.site.standings import SuiteBoard, best_method

DRAWS = 2000
WEAK_COLOURS = ("#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def spans_sizes(board: SuiteBoard) -> bool:
    """Whether the suite has two or more strong-student sizes (a grid, not one column)."""
    return len({t.strong_params for t in board.tasks if t.strong_params}) >= 2


@dataclass(frozen=True)
class Trend:
    slope: float          # PGR per decade of strong / weak parameters
    low: float            # 95% cluster-bootstrap interval of the slope
    high: float
    points: int
    clusters: int = 0     # the strong students resampled


Point = tuple[float, float, str]   # (log10 strong/weak parameters, mean PGR, cluster)


def gap_points(board: SuiteBoard, method: str) -> list[Point]:
    """Each task's point where both sizes are known, with its cluster (the student)."""
    out = []
    for t in board.tasks:
        if not (t.strong_params and t.weak_params):
            continue
        result = next((r for r in t.results if r.method == method and r.pgr), None)
        if result is not None:
            out.append((math.log10(t.strong_params / t.weak_params), result.pgr.mean,
                        t.strong_model))
    return out


def _fits(x: np.ndarray, y: np.ndarray, clusters: np.ndarray, seed: int = 0
          ) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares (slope, intercept), and the same on ``DRAWS`` resamples of whole
    clusters (every point of a drawn cluster comes along)."""
    design = np.stack([x, np.ones_like(x)], axis=1)
    fit = np.linalg.lstsq(design, y, rcond=None)[0]
    names, index = np.unique(clusters, return_inverse=True)
    members = [np.flatnonzero(index == c) for c in range(len(names))]
    rng = np.random.default_rng(seed)
    draws = []
    for picked in rng.integers(0, len(names), size=(DRAWS, len(names))):
        rows = np.concatenate([members[c] for c in picked])
        if np.ptp(x[rows]) > 0:
            draws.append(np.linalg.lstsq(design[rows], y[rows], rcond=None)[0])
    return fit, np.array(draws)


def _arrays(points: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y and clusters of points given as (x, y, cluster), or (x, y): each its own."""
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    clusters = np.array([p[2] if len(p) > 2 else f"point-{i}" for i, p in enumerate(points)])
    return x, y, clusters


def gap_trend(points: list) -> Trend | None:
    """The PGR-vs-gap slope with its 95% cluster-bootstrap interval (None: under 3 points,
    one gap only, or one cluster: nothing independent to resample)."""
    if len(points) < 3 or len({p[0] for p in points}) < 2:
        return None
    x, y, clusters = _arrays(points)
    if len(set(clusters)) < 2:
        return None
    fit, draws = _fits(x, y, clusters)
    low, high = np.quantile(draws[:, 0], [0.025, 0.975]) if len(draws) else (fit[0], fit[0])
    return Trend(float(fit[0]), float(low), float(high), len(points), len(set(clusters)))


def _series(board: SuiteBoard, dataset: str, method: str, field: str
            ) -> dict[str, list[tuple[float, float]]]:
    """Weak supervisor → [(strong params, value)] for one method on one dataset."""
    lines: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for t in board.tasks:
        if t.dataset != dataset or not t.strong_params:
            continue
        result = next((r for r in t.results if r.method == method), None)
        value = getattr(result, field) if result else None
        if value is not None:
            lines[t.weak_model].append((t.strong_params, value.mean))
    return {weak: sorted(points) for weak, points in lines.items()}


def _weak_order(board: SuiteBoard) -> list[str]:
    sizes = {t.weak_model: t.weak_params or 0 for t in board.tasks}
    return sorted(sizes, key=lambda w: (sizes[w], w))


def accuracy_and_pgr_vs_size(board: SuiteBoard) -> str:
    """The paper's figure 3: accuracy and PGR against strong size, a line per supervisor."""
    datasets = sorted({t.dataset for t in board.tasks})
    leader = best_method(board)
    colours = {w: WEAK_COLOURS[i % len(WEAK_COLOURS)] for i, w in enumerate(_weak_order(board))}
    width = 4.2 * len(datasets) + 2.4
    fig = new_figure(width, 6.2)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=0.7 / width, right=1 - 2.0 / width, bottom=0.08, top=0.9,
                            hspace=0.35, wspace=0.25)
        axes = fig.subplots(2, len(datasets), squeeze=False)
        for column, dataset in enumerate(datasets):
            for row, field in enumerate(("accuracy", "pgr")):
                ax = axes[row, column]
                for method, style in ((REFERENCE_METHOD, "-"), (leader, "--")):
                    if method is None:
                        continue
                    for weak, points in _series(board, dataset, method, field).items():
                        ax.plot([p for p, _ in points], [v for _, v in points], style,
                                marker="o", ms=3, color=colours[weak], lw=1.2,
                                label=label(weak) if method == REFERENCE_METHOD else None)
                if field == "pgr":
                    ax.axhline(0, color="#bbbbbb", lw=0.8)
                if ax.lines:
                    log_x(ax, 0.15, lambda v: f"{v / 1e6:g}M")
                    auto_ticks(ax, "y")
                ax.set_ylabel("test accuracy" if field == "accuracy" else "PGR")
                if row == 0:
                    ax.set_title(label(dataset), fontsize=8)
                else:
                    ax.set_xlabel("strong student parameters")
        handles, names = axes[0, 0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, names, loc="center right", frameon=False, fontsize=7,
                       title=f"weak supervisor\n(solid: naive; dashed: {label(leader or '')})",
                       title_fontsize=7)
        fig.suptitle(f"{label(board.suite)}: accuracy and PGR vs strong-student size")
    return svg(fig)


def pgr_vs_gap(board: SuiteBoard) -> str:
    """PGR against log10(strong / weak parameters), a fitted line and band per method."""
    leader = best_method(board)
    methods = [m for m in (REFERENCE_METHOD, leader) if m]
    fig = new_figure(5.6, 4.2)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=0.13, right=0.97, bottom=0.13, top=0.88)
        ax = fig.subplots()
        grid = None
        for method, colour in zip(dict.fromkeys(methods), (NAIVE, LEADER), strict=False):
            points = gap_points(board, method)
            if not points:
                continue
            x, y, clusters = _arrays(points)
            trend = gap_trend(points)
            text = (f"{label(method)}: {trend.slope:+.2f} PGR/decade "
                    f"[{trend.low:+.2f}, {trend.high:+.2f}], {trend.clusters} clusters"
                    if trend else label(method))
            ax.plot(x, y, "o", ms=3.5, color=colour, label=text)
            if trend:
                grid = np.linspace(x.min(), x.max(), 50)
                fit, draws = _fits(x, y, clusters)
                lines = draws[:, :1] * grid + draws[:, 1:]
                ax.fill_between(grid, *np.quantile(lines, [0.025, 0.975], axis=0),
                                color=colour, alpha=0.15, lw=0)
                ax.plot(grid, fit[0] * grid + fit[1], color=colour, lw=1.2)
        ax.axhline(0, color="#bbbbbb", lw=0.8)
        if ax.get_legend_handles_labels()[0]:
            auto_ticks(ax, "xy")
            ax.legend(loc="best", frameon=False, fontsize=7)
        else:
            ax.text(0.5, 0.5, "no task with both sizes known\n(a tf-idf supervisor has none; "
                    "older records lack the weak size)", ha="center", va="center",
                    transform=ax.transAxes, color=NAIVE)
        ax.set_xlabel("size gap: log10(strong / weak parameters)")
        ax.set_ylabel("PGR (task mean)")
        ax.set_title(f"{label(board.suite)}: PGR vs size gap (fit, 95% band: "
                     "students resampled)",
                     fontsize=9)
    return svg(fig)
