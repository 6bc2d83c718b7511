"""The leaderboard's figures, drawn with matplotlib's object API into deterministic SVG.

Per suite: PGR per method per task (points with 95% bars), PGR against training compute
(with the Pareto front), and the paper's figure-2 view with one panel per dataset: accuracy
against the strong model's size for the weak supervisor, ``naive``, the leader and the ceiling.
No pyplot: figures are plain objects, so building never touches global GUI state, and a
fixed SVG hash salt and no date make the same records give byte-identical files.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from benchmark.core.metrics import REFERENCE_METHOD, mean_ci
from benchmark.site.links import plot_file
from benchmark.site.standings import SuiteBoard, best_method

SVG_STYLE = {"svg.hashsalt": "w2s-bench", "svg.fonttype": "none", "font.size": 9,
             "axes.spines.top": False, "axes.spines.right": False}
LEADER, NAIVE, OTHER = "#1b6ca8", "#7f7f7f", "#9bbcd6"
PGR_FLOOR = -1.0  # panels are cut here; means below are written as numbers at the edge


def _label(text: str) -> str:
    """Names shown verbatim: a ``$`` would otherwise start matplotlib's mathtext."""
    return text.replace("$", r"\$")


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context(SVG_STYLE):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _new_figure(width: float, height: float) -> Figure:
    """A figure with fixed margins: no layout engine, which would triple the drawing time."""
    with matplotlib.rc_context(SVG_STYLE):
        return Figure(figsize=(width, height))


def _log_x(ax, margin: float, label) -> None:
    """A log x axis with ticks at 1, 2 and 5 per decade, labelled by ``label(value)``."""
    ax.set_xscale("log")
    ax.margins(x=margin)
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: label(v)))
    ax.xaxis.set_minor_locator(NullLocator())


def _color(method: str, leader: str | None) -> str:
    return LEADER if method == leader else NAIVE if method == REFERENCE_METHOD else OTHER


def _intervals(ax, points: list[tuple[str, float, float, float, float]], leader: str | None,
               horizontal: bool) -> None:
    """(method, mean, low, high, position) as dots with 95% bars: one line per colour.

    NaN-separated segments in one Line2D per colour draw hundreds of bars at the cost of
    one artist, where a collection or an errorbar per point costs milliseconds each.
    """
    by_color: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    for method, mean, low, high, where in points:
        by_color[_color(method, leader)].append((mean, low, high, where))
    for color, items in sorted(by_color.items()):
        bars_v = [v for _, low, high, _ in items for v in (low, high, float("nan"))]
        bars_p = [p for *_, where in items for p in (where, where, float("nan"))]
        means = [mean for mean, *_ in items]
        places = [where for *_, where in items]
        if horizontal:
            ax.plot(bars_v, bars_p, color=color, lw=1)
            ax.plot(means, places, "o", color=color, ms=3.5, zorder=3)
        else:
            ax.plot(bars_p, bars_v, color=color, lw=1)
            ax.plot(places, means, "o", color=color, ms=4, zorder=3)


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
    fig = _new_figure(width, height)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=label_in / width, right=1 - 0.2 / width,
                            bottom=0.55 / height, top=1 - 0.6 / height,
                            hspace=0.8 / panel_h)
        axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
        for row, ax in enumerate(axes):
            ax.set_ylim(len(order) - 0.5, -0.5)  # leader on top
            ax.set_yticks(range(len(order)), [_label(m) for m in order])
            ax.set_xlim(0, step * columns - (step - span))
            ax.spines["bottom"].set_visible(False)
            ticks, labels, points = [], [], []
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
                                va="bottom", fontsize=6, color=_color(r.method, leader))
                ax.axvline(origin, color="#bbbbbb", lw=0.8)
                ax.axvline(origin + 1, color="#bbbbbb", lw=0.8, ls="--")
                ax.plot([origin + low, origin + high], [len(order) - 0.5] * 2, color="black",
                        lw=0.8, clip_on=False)
                ticks += [origin - 1, origin, origin + 1]
                labels += ["−1", "0", "1"]
                ax.text(origin + (low + high) / 2, -0.9, _label(tasks[index].task),
                        ha="center", va="bottom", fontsize=7)
            _intervals(ax, points, leader, horizontal=True)
            ax.set_xticks(ticks, labels)
            ax.set_xlabel("PGR (0: weak supervisor, 1: gold ceiling)")
        fig.suptitle(f"{_label(board.suite)}: PGR per task (mean, 95% CI over replicates)")
    return _svg(fig)


def pgr_vs_compute(board: SuiteBoard) -> str:
    """Mean PGR against training FLOPs relative to ``naive``, with the Pareto front."""
    points = [(e.flops_vs_naive, e) for e in board.ranked
              if e.pgr is not None and e.flops_vs_naive]
    relative = bool(points)
    if not relative:  # no naive to compare with: absolute FLOPs per run
        points = [(e.train_flops, e) for e in board.ranked if e.pgr is not None and e.train_flops]
    fig = _new_figure(6.4, 4.2)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=0.11, right=0.97, bottom=0.12, top=0.92)
        ax = fig.subplots()
        _intervals(ax, [(e.method, e.pgr.mean, e.pgr.low, e.pgr.high, x) for x, e in points],
                   best_method(board), horizontal=False)
        for x, e in points:
            ax.annotate(_label(e.method), (x, e.pgr.mean), textcoords="offset points",
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
        if points:
            _log_x(ax, 0.15, lambda v: f"{v:g}×" if relative else f"{v:.0e}")
        ax.axhline(0, color="#bbbbbb", lw=0.8)
        ax.set_xlabel("training FLOPs per run, relative to naive" if relative
                      else "training FLOPs per run")
        ax.set_ylabel("mean PGR (95% CI)")
        ax.set_title(f"{_label(board.suite)}: PGR vs compute")
    return _svg(fig)


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
    fig = _new_figure(4.6 * len(datasets) + 0.6, 3.8)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=0.7 / (4.6 * len(datasets) + 0.6), right=0.98, bottom=0.13,
                            top=0.86, wspace=0.25)
        axes = fig.subplots(1, len(datasets), squeeze=False)[0]
        for number, (ax, dataset) in enumerate(zip(axes, datasets, strict=True)):
            for name, by_size in sorted(_size_series(board, dataset).items()):
                sizes = sorted(by_size)
                stats = [mean_ci(by_size[s]) for s in sizes]
                style = SIZE_STYLES.get(name, dict(color=LEADER, ls="-"))
                ax.plot(sizes, [s.mean for s in stats], marker="o", ms=4, label=_label(name),
                        **style)
                ax.plot([x for x in sizes for x in (x, x, float("nan"))],
                        [v for s in stats for v in (s.low, s.high, float("nan"))],
                        color=style["color"], lw=1)
            if number == 0 and ax.get_legend_handles_labels()[0]:
                ax.legend(frameon=False, fontsize=7)
            _log_x(ax, 0.3, lambda v: f"{v / 1e6:g}M")
            ax.set_xlabel("strong model parameters")
            ax.set_title(_label(dataset), fontsize=8)
        axes[0].set_ylabel("test accuracy (mean over tasks, 95% CI)")
        fig.suptitle(f"{_label(board.suite)}: accuracy vs strong-model size, per dataset")
    return _svg(fig)


def suite_plots(board: SuiteBoard) -> Iterator[tuple[str, str, str]]:
    """(file, caption, svg) for every figure of one suite."""
    yield (plot_file(board.suite, "pgr-by-task"), "PGR per method per task", pgr_by_task(board))
    yield (plot_file(board.suite, "pgr-vs-compute"),
           "PGR vs training compute (Pareto view; methods that train nothing are left out of "
           "the log axis)", pgr_vs_compute(board))
    yield (plot_file(board.suite, "accuracy-vs-size"),
           "Accuracy vs strong-model size per dataset: weak supervisor, naive, the leader and "
           "the gold ceiling (the paper's figure 2)", accuracy_vs_size(board))
