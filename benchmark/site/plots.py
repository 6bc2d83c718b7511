"""The leaderboard's figures, drawn with matplotlib's object API into deterministic SVG.

Per suite: PGR per method per task (points with 95% bars), PGR against training compute
(with the Pareto front), and the paper's figure-2 view with one panel per dataset: accuracy
against the strong model's size for the weak supervisor, ``naive``, the leader and the
ceiling; where runs stored predictions, the diagnostic figures of
:mod:`benchmark.site.diagnostic_plots` too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import matplotlib

from benchmark.core.metrics import REFERENCE_METHOD, mean_ci
from benchmark.site.diagnostic_plots import agreement, gain_vs_misfit, has_diagnostics
from benchmark.site.links import plot_file
from benchmark.site.plotting import (
    LEADER,
    NAIVE,
    SVG_STYLE,
    auto_ticks,
    color_of,
    draw_ticks,
    intervals,
    label,
    log_x,
    new_figure,
    row_labels,
    svg,
)
from benchmark.site.scaling import accuracy_and_pgr_vs_size, pgr_vs_gap, spans_sizes
from benchmark.site.standings import SuiteBoard, best_method, ranked_methods

PGR_FLOOR = -1.0  # panels are cut here; means below are written as numbers at the edge


def pgr_by_task(board: SuiteBoard) -> str:
    """Small multiples, one facet per task: each method's mean PGR with its 95% interval.

    The facets of a row share one axes, each offset along x on a common PGR scale (cut at
    ``PGR_FLOOR``), so a suite of many tasks and methods costs a few axes, not dozens.
    """
    order = [e.method for e in (*board.ranked, *board.incomplete)]
    y = {m: i for i, m in enumerate(order)}
    leader = best_method(board)
    tasks = list(board.tasks)
    columns = min(4, max(1, len(tasks)))
    rows = -(-len(tasks) // columns)
    results = [[r for r in t.results if r.pgr is not None and r.method in y] for t in tasks]
    low = PGR_FLOOR - 0.1
    high = max([1.2, *(r.pgr.high + 0.05 for rs in results for r in rs)])
    span = high - low
    step = span * 1.12  # facet width plus a gap
    label_in = 0.075 * max((len(m) for m in order), default=4) + 0.2
    panel_h = max(1.6, 0.15 * len(order) + 0.4)
    width, height = label_in + columns * 2.5 + 0.2, rows * (panel_h + 0.8) + 0.5
    fig = new_figure(width, height)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=label_in / width, right=1 - 0.2 / width,
                            bottom=0.55 / height, top=1 - 0.6 / height,
                            hspace=0.8 / panel_h)
        axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
        for row, ax in enumerate(axes):
            ax.set_ylim(len(order) - 0.5, -0.5)  # leader on top
            ax.set_xlim(0, step * columns - (step - span))
            ax.spines["bottom"].set_visible(False)
            row_labels(ax, order)
            ticks, points = [], []
            for col in range(columns):
                index = row * columns + col
                if index >= len(tasks):
                    break
                origin = col * step - low  # x of PGR 0 in this facet
                for r in results[index]:
                    clipped = [min(max(v, low), high) for v in (r.pgr.mean, r.pgr.low, r.pgr.high)]
                    points.append((r.method, *(origin + v for v in clipped), y[r.method]))
                    if r.pgr.mean < PGR_FLOOR:  # far below the weak supervisor: say how far
                        ax.text(origin + low + 0.05, y[r.method] - 0.15, f"◀ {r.pgr.mean:.1f}",
                                va="bottom", fontsize=6, color=color_of(r.method, leader))
                ax.axvline(origin, color="#bbbbbb", lw=0.8)
                ax.axvline(origin + 1, color="#bbbbbb", lw=0.8, ls="--")
                ax.plot([origin + low, origin + high], [len(order) - 0.5] * 2, color="black",
                        lw=0.8, clip_on=False)
                ticks += [(origin - 1, "−1"), (origin, "0"), (origin + 1, "1")]
                ax.text(origin + (low + high) / 2, -0.9, label(tasks[index].task),
                        ha="center", va="bottom", fontsize=7)
            intervals(ax, points, leader, horizontal=True)
            draw_ticks(ax, "x", ticks)
            ax.set_xlabel("PGR (0: weak supervisor, 1: gold ceiling)")
        fig.suptitle(f"{label(board.suite)}: PGR per task (mean, 95% CI over replicates)")
    return svg(fig)


def pgr_vs_compute(board: SuiteBoard) -> str:
    """Mean PGR against training FLOPs relative to ``naive``, with the Pareto front."""
    methods = ranked_methods(board)   # a control is no point on a method's front
    points = [(e.flops_vs_naive, e) for e in methods if e.pgr is not None and e.flops_vs_naive]
    relative = bool(points)
    if not relative:  # no naive to compare with: absolute FLOPs per run
        points = [(e.train_flops, e) for e in methods if e.pgr is not None and e.train_flops]
    fig = new_figure(6.4, 4.2)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=0.11, right=0.97, bottom=0.12, top=0.92)
        ax = fig.subplots()
        intervals(ax, [(e.method, e.pgr.mean, e.pgr.low, e.pgr.high, x) for x, e in points],
                   best_method(board), horizontal=False)
        for x, e in points:
            ax.annotate(label(e.method), (x, e.pgr.mean), textcoords="offset points",
                        xytext=(4, 3), fontsize=7)
        front, best = [], float("-inf")
        for x, e in sorted(points, key=lambda p: (p[0], -p[1].pgr.mean)):
            if e.pgr.mean > best:
                front.append((x, e.pgr.mean))
                best = e.pgr.mean
        if front:
            ax.step([x for x, _ in front], [y for _, y in front], where="post", color=LEADER,
                    lw=1, alpha=0.6, label="Pareto front")
            ax.legend(loc="lower right", frameon=False)
        ax.axhline(0, color="#bbbbbb", lw=0.8)
        if points:
            log_x(ax, 0.15, lambda v: f"{v:g}×" if relative else f"{v:.0e}")
        auto_ticks(ax, "y")
        ax.set_xlabel("training FLOPs per run, relative to naive" if relative
                      else "training FLOPs per run")
        ax.set_ylabel("mean PGR (95% CI)")
        ax.set_title(f"{label(board.suite)}: PGR vs compute")
    return svg(fig)


def _size_series(board: SuiteBoard, dataset: str) -> dict[str, dict[float, list[float]]]:
    """Accuracy by strong-model size for the weak supervisor, naive, the leader, the ceiling."""
    leader = best_method(board)
    series: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for task in board.tasks:
        if task.dataset != dataset or not task.strong_params:
            continue
        size = task.strong_params
        if task.weak_accuracy:
            series["weak supervisor"][size].append(task.weak_accuracy.mean)
        if task.ceiling_accuracy:
            series["ceiling (gold labels)"][size].append(task.ceiling_accuracy.mean)
        for result in task.results:
            if result.accuracy and result.method in (REFERENCE_METHOD, leader):
                name = (REFERENCE_METHOD if result.method == REFERENCE_METHOD
                        else f"leader: {result.method}")
                series[name][size].append(result.accuracy.mean)
    return series


SIZE_STYLES = {"weak supervisor": dict(color="#d62728", ls=":"),
               "ceiling (gold labels)": dict(color="black", ls="-"),
               REFERENCE_METHOD: dict(color=NAIVE, ls="-")}


def accuracy_vs_size(board: SuiteBoard) -> str:
    """The paper's figure-2 view, one panel per dataset: accuracy against strong size."""
    datasets = sorted({t.dataset for t in board.tasks})
    fig = new_figure(4.6 * len(datasets) + 0.6, 3.8)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=0.7 / (4.6 * len(datasets) + 0.6), right=0.98, bottom=0.13,
                            top=0.86, wspace=0.25)
        axes = fig.subplots(1, len(datasets), squeeze=False)[0]
        for number, (ax, dataset) in enumerate(zip(axes, datasets, strict=True)):
            for name, by_size in sorted(_size_series(board, dataset).items()):
                sizes = sorted(by_size)
                stats = [mean_ci(by_size[s]) for s in sizes]
                style = SIZE_STYLES.get(name, dict(color=LEADER, ls="-"))
                ax.plot(sizes, [s.mean for s in stats], marker="o", ms=4, label=label(name),
                        **style)
                ax.plot([x for x in sizes for x in (x, x, float("nan"))],
                        [v for s in stats for v in (s.low, s.high, float("nan"))],
                        color=style["color"], lw=1)
            if number == 0 and ax.get_legend_handles_labels()[0]:
                ax.legend(frameon=False, fontsize=7)
            if ax.lines:
                log_x(ax, 0.3, lambda v: f"{v / 1e6:g}M")
            auto_ticks(ax, "y")
            ax.set_xlabel("strong model parameters")
            ax.set_title(label(dataset), fontsize=8)
        axes[0].set_ylabel("test accuracy (mean over tasks, 95% CI)")
        fig.suptitle(f"{label(board.suite)}: accuracy vs strong-model size, per dataset")
    return svg(fig)


def suite_plots(board: SuiteBoard) -> Iterator[tuple[str, str, str]]:
    """(file, caption, svg) for every figure of one suite (none for a suite with no task
    on its board: only records of tasks it no longer lists)."""
    if not board.tasks:
        return
    yield (plot_file(board.suite, "pgr-by-task"), "PGR per method per task", pgr_by_task(board))
    yield (plot_file(board.suite, "pgr-vs-compute"),
           "PGR vs training compute (Pareto view; methods that train nothing are left out of "
           "the log axis)", pgr_vs_compute(board))
    yield (plot_file(board.suite, "accuracy-vs-size"),
           "Accuracy vs strong-model size per dataset: weak supervisor, naive, the leader and "
           "the gold ceiling (the paper's figure 2)", accuracy_vs_size(board))
    if spans_sizes(board):
        yield (plot_file(board.suite, "scaling"),
               "Test accuracy and PGR against the strong student's size, one line per weak "
               "supervisor (solid: naive, dashed: the leader; the paper's figure 3)",
               accuracy_and_pgr_vs_size(board))
        yield (plot_file(board.suite, "pgr-vs-gap"),
               "PGR against the size gap log10(strong / weak parameters), one point per task, "
               "with a least-squares line and its 95% bootstrap band (strong students "
               "resampled, their tasks together; a rough guide, not a test)",
               pgr_vs_gap(board))
    if has_diagnostics(board):
        yield (plot_file(board.suite, "gain-vs-misfit"),
               "Gain over the weak supervisor against misfit to it, one point per run "
               "(squared distance on class probabilities; Charikar et al. 2024 prove gain ≥ "
               "misfit under their assumptions, i.e. points on or above the dashed y = x line)",
               gain_vs_misfit(board))
        yield (plot_file(board.suite, "agreement"),
               "Student–supervisor agreement on all test examples, on those the weak "
               "supervisor gets right, and on those it gets wrong (the paper's section 5.1.3 "
               "view; low agreement on its mistakes means the student does not imitate them)",
               agreement(board))
