"""The leaderboard's figures, drawn with matplotlib's object API into deterministic SVG.

Per suite: PGR per method per task (points with 95% bars), PGR against training compute
(with the Pareto front), and per dataset the paper's figure-2 view, accuracy against the
strong model's size for the weak supervisor, ``naive``, the suite's leader and the ceiling.
No pyplot: figures are plain objects, so building never touches global GUI state, and a
fixed SVG hash salt and no date make the same records give byte-identical files.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from benchmark.metrics import mean_ci
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


def _color(method: str, leader: str | None) -> str:
    return LEADER if method == leader else NAIVE if method == "naive" else OTHER


def pgr_by_task(board: SuiteBoard) -> str:
    """Small multiples, one panel per task: each method's mean PGR with its 95% interval."""
    order = [e.method for e in (*board.ranked, *board.incomplete)]
    leader = best_method(board)
    columns = min(4, max(1, len(board.tasks)))
    rows = -(-len(board.tasks) // columns)
    label_in = 0.075 * max((len(m) for m in order), default=4) + 0.2
    panel_w, panel_h = 2.4, max(1.6, 0.15 * len(order) + 0.4)
    width, height = label_in + columns * (panel_w + 0.25), rows * (panel_h + 0.75) + 0.5
    fig = _new_figure(width, height)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=label_in / width, right=0.98, bottom=0.55 / height,
                            top=1 - 0.55 / height, wspace=0.12, hspace=0.75 / panel_h)
        axes = fig.subplots(rows, columns, squeeze=False, sharey=True)
        for index, task in enumerate(board.tasks):
            ax = axes[index // columns][index % columns]
            y = {m: i for i, m in enumerate(order)}
            shown = [r for r in task.results if r.pgr is not None and r.method in y]
            ax.hlines([y[r.method] for r in shown], [r.pgr.low for r in shown],
                      [r.pgr.high for r in shown], colors=[_color(r.method, leader)
                                                           for r in shown], lw=1)
            ax.scatter([r.pgr.mean for r in shown], [y[r.method] for r in shown], s=10,
                       c=[_color(r.method, leader) for r in shown], zorder=3)
            ax.axvline(0, color="#bbbbbb", lw=0.8)
            ax.axvline(1, color="#bbbbbb", lw=0.8, ls="--")
            high = max([1.2, *(r.pgr.high + 0.05 for r in shown)])
            ax.set_xlim(PGR_FLOOR - 0.1, high)
            for r in shown:  # far below the weak supervisor: an arrow at the edge, with value
                if r.pgr.mean < PGR_FLOOR:
                    ax.annotate(f"◀ {r.pgr.mean:.1f}", (PGR_FLOOR - 0.1, y[r.method]),
                                va="center", fontsize=6, color=_color(r.method, leader))
            ax.set_title(_label(task.task), fontsize=7)
            ax.set_xlabel("PGR")
        for index in range(len(board.tasks), rows * columns):
            axes[index // columns][index % columns].set_visible(False)
        axes[0][0].set_yticks(range(len(order)), [_label(m) for m in order])
        axes[0][0].set_ylim(len(order) - 0.5, -0.5)  # leader on top (shared by all panels)
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
        colors = [_color(e.method, best_method(board)) for _, e in points]
        ax.vlines([x for x, _ in points], [e.pgr.low for _, e in points],
                  [e.pgr.high for _, e in points], colors=colors, lw=1)
        ax.scatter([x for x, _ in points], [e.pgr.mean for _, e in points], s=14, c=colors,
                   zorder=3)
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
            ax.set_xscale("log")
            ax.margins(x=0.15)
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(
                FuncFormatter(lambda v, _: f"{v:g}×" if relative else f"{v:.0e}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.axhline(0, color="#bbbbbb", lw=0.8)
        ax.set_xlabel("training FLOPs per run, relative to naive" if relative
                      else "training FLOPs per run")
        ax.set_ylabel("mean PGR (95% CI)")
        ax.set_title(f"{_label(board.suite)}: PGR vs compute")
    return _svg(fig)


def accuracy_vs_size(board: SuiteBoard, dataset: str) -> str:
    """Figure-2 view for one dataset: accuracy against the strong model's size."""
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
            if result.accuracy and result.method in ("naive", leader):
                name = "naive" if result.method == "naive" else f"leader: {result.method}"
                series[name][size].append(result.accuracy.mean)
    styles = {"weak supervisor": dict(color="#d62728", ls=":"),
              "ceiling (gold labels)": dict(color="black", ls="-"),
              "naive": dict(color=NAIVE, ls="-")}
    fig = _new_figure(5.6, 3.8)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=0.12, right=0.97, bottom=0.13, top=0.91)
        ax = fig.subplots()
        for name, by_size in sorted(series.items()):
            sizes = sorted(by_size)
            stats = [mean_ci(by_size[s]) for s in sizes]
            ax.errorbar(sizes, [s.mean for s in stats],
                        yerr=[[s.mean - s.low for s in stats], [s.high - s.mean for s in stats]],
                        marker="o", ms=4, capsize=2, label=_label(name),
                        **styles.get(name, dict(color=LEADER, ls="-")))
        ax.set_xscale("log")
        ax.margins(x=0.3)
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e6:g}M"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("strong model parameters")
        ax.set_ylabel("test accuracy (mean over tasks, 95% CI)")
        ax.set_title(f"{_label(board.suite)} / {_label(dataset)}: accuracy vs strong size")
        ax.legend(frameon=False, fontsize=7)
    return _svg(fig)


def suite_plots(board: SuiteBoard) -> Iterator[tuple[str, str, str]]:
    """(file, caption, svg) for every figure of one suite."""
    yield (plot_file(board.suite, "pgr-by-task"), "PGR per method per task", pgr_by_task(board))
    yield (plot_file(board.suite, "pgr-vs-compute"),
           "PGR vs training compute (Pareto view; methods that train nothing are left out of "
           "the log axis)", pgr_vs_compute(board))
    for dataset in sorted({t.dataset for t in board.tasks}):
        yield (plot_file(board.suite, "accuracy-vs-size", dataset),
               f"{dataset}: accuracy vs strong-model size", accuracy_vs_size(board, dataset))
