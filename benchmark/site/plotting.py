"""What every leaderboard figure shares: the SVG style, figures without pyplot, colours for
the leader / naive / the rest, and cheap drawing helpers for figures with many rows.

No pyplot: figures are plain objects, so building never touches global GUI state, and a
fixed SVG hash salt and no date make the same records give byte-identical files.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict

import matplotlib
from matplotlib.figure import Figure
from matplotlib.markers import TICKDOWN, TICKLEFT
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation, Transform

from benchmark.core.metrics import REFERENCE_METHOD

SVG_STYLE = {"svg.hashsalt": "w2s-bench", "svg.fonttype": "none", "font.size": 9,
             "axes.spines.top": False, "axes.spines.right": False}
LEADER, NAIVE, OTHER = "#1b6ca8", "#7f7f7f", "#9bbcd6"


def label(text: str) -> str:
    """Names shown verbatim: a ``$`` would otherwise start matplotlib's mathtext."""
    return text.replace("$", r"\$")


def svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context(SVG_STYLE):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def new_figure(width: float, height: float) -> Figure:
    """A figure with fixed margins: no layout engine, which would triple the drawing time."""
    with matplotlib.rc_context(SVG_STYLE):
        return Figure(figsize=(width, height))


TICK_PT, GAP_PT, LINE_PT, CHAR_PT = 3.5, 2.0, 11.0, 5.4  # mark, gap, a text line, a character


def _shifted(ax, dx: float, dy: float) -> Transform:
    return ScaledTranslation(dx / 72, dy / 72, ax.figure.dpi_scale_trans)


def draw_ticks(ax, axis: str, ticks: list[tuple[float, str]]) -> None:
    """Tick marks and labels as one marker line and plain texts, outside the spine.

    A matplotlib tick is costly to build and draw (two marks, a grid line, two labels): most
    of an axes' save time goes to its default ticks, and the leaderboard draws ~25 axes per
    build. The limits are fixed first, so the marks cannot widen them.
    Labels are figure texts placed in the axes' coordinates: an axes text is clipped to the
    axes patch, and building that clip path costs more than drawing the text.
    """
    if axis == "x":
        ax.set_xlim(ax.get_xlim())
        ax.set_xticks([])
        ax.set_xticks([], minor=True)
        where, marker = ax.get_xaxis_transform(), TICKDOWN
        points = ([x for x, _ in ticks], [0.0] * len(ticks))
        shift, align = _shifted(ax, 0, -(TICK_PT + GAP_PT)), dict(ha="center", va="top")
        ax.xaxis.labelpad = TICK_PT + GAP_PT + LINE_PT
    else:
        ax.set_ylim(ax.get_ylim())
        ax.set_yticks([])
        ax.set_yticks([], minor=True)
        where, marker = ax.get_yaxis_transform(), TICKLEFT
        points = ([0.0] * len(ticks), [y for y, _ in ticks])
        shift, align = _shifted(ax, -(TICK_PT + GAP_PT), 0), dict(ha="right", va="center")
        widest = max((len(text) for _, text in ticks), default=0)
        ax.yaxis.labelpad = TICK_PT + GAP_PT + CHAR_PT * widest + 2
    ax.plot(*points, ls="none", marker=marker, ms=TICK_PT, mew=0.8, color="black",
            transform=where, clip_on=False)
    place = where + shift
    for at, text in ticks:
        xy = (at, 0.0) if axis == "x" else (0.0, at)
        ax.figure.text(*xy, text, transform=place, **align)


def _number(value: float) -> str:
    return f"{value:g}".replace("-", "−")


def linear_ticks(low: float, high: float, text=_number) -> list[tuple[float, str]]:
    """About five round values in [low, high], as matplotlib's default locator picks them."""
    span = high - low
    values = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    return [(0.0 if abs(v) < 1e-9 * span else float(v),
             text(0.0 if abs(v) < 1e-9 * span else float(v)))
            for v in values if low - 1e-9 * span <= v <= high + 1e-9 * span]


def log_ticks(low: float, high: float, text) -> list[tuple[float, str]]:
    """1, 2 and 5 per decade in [low, high] (every integer multiple if that gives < 2)."""
    decades = range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1)
    for multiples in ((1, 2, 5), range(1, 10)):
        values = [m * 10.0 ** e for e in decades for m in multiples]
        inside = [v for v in values if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]
        if len(inside) >= 2:
            break
    return [(v, text(v)) for v in inside]


def auto_ticks(ax, axis: str = "xy", text=_number) -> None:
    """Round ticks on the current (autoscaled) limits of a linear axis, drawn light."""
    for name in axis:
        low, high = ax.get_xlim() if name == "x" else ax.get_ylim()
        draw_ticks(ax, name, linear_ticks(min(low, high), max(low, high), text))


def log_x(ax, margin: float, text) -> None:
    """A log x axis, ticks at 1, 2 and 5 per decade labelled ``text(value)``, drawn light."""
    ax.set_xscale("log")
    ax.margins(x=margin)
    low, high = ax.get_xlim()
    draw_ticks(ax, "x", log_ticks(low, high, text))


def color_of(method: str, leader: str | None) -> str:
    return LEADER if method == leader else NAIVE if method == REFERENCE_METHOD else OTHER


def intervals(ax, points: list[tuple[str, float, float, float, float]], leader: str | None,
              horizontal: bool) -> None:
    """(method, mean, low, high, position) as dots with 95% bars: one line per colour.

    NaN-separated segments in one Line2D per colour draw hundreds of bars at the cost of
    one artist, where a collection or an errorbar per point costs milliseconds each.
    """
    by_color: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    for method, mean, low, high, where in points:
        by_color[color_of(method, leader)].append((mean, low, high, where))
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


def row_labels(ax, names: list[str]) -> None:
    """Names at y = 0, 1, … left of the axes, without tick marks."""
    ax.set_yticks([])
    where = ax.get_yaxis_transform() + _shifted(ax, -GAP_PT, 0)
    for i, name in enumerate(names):
        ax.figure.text(0.0, i, label(name), transform=where, ha="right", va="center")
