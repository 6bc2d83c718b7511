"""Training curves on method pages: per suite, the mean over a method's runs of the last fit
each run recorded (the student, for the shared trainers), per epoch: its agreement with the
weak labels on split B and its training loss. From the records' ``training`` field only."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import matplotlib
import numpy as np

from benchmark.results.records import RunRecord
from benchmark.site.links import plot_file
from benchmark.site.plotting import LEADER, NAIVE, SVG_STYLE, auto_ticks, label, new_figure, svg


@dataclass(frozen=True)
class MeanCurve:
    suite: str
    method: str
    runs: int                 # runs averaged (those whose last fit has the modal epochs)
    loss: tuple[float, ...]
    weak_agreement: tuple[float | None, ...]
    loss_of: str = "cross-entropy to targets"

    @property
    def file(self) -> str:
        return plot_file(self.suite, "curve", self.method)   # slugged: a name is not a path


def mean_curves(records: list[RunRecord]) -> dict[tuple[str, str], MeanCurve]:
    """(suite, method) → the mean curve of its successful runs' last recorded fits, over the
    runs with the most common number of epochs and kind of loss (the others are left out)."""
    fits: dict[tuple[str, str], list] = defaultdict(list)
    for r in records:
        if r.status == "ok" and r.training:
            fits[(r.suite, r.method)].append(r.training[-1])
    out = {}
    for (suite, method), curves in sorted(fits.items()):
        shape = Counter((len(c.loss), c.loss_of) for c in curves).most_common(1)[0][0]
        kept = [c for c in curves if (len(c.loss), c.loss_of) == shape]
        epochs = shape[0]
        loss = np.mean([c.loss for c in kept], axis=0)
        agree = [[a for a in (c.weak_agreement[i] for c in kept) if a is not None]
                 for i in range(epochs)]
        out[(suite, method)] = MeanCurve(
            suite, method, len(kept), tuple(float(v) for v in loss),
            tuple(float(np.mean(a)) if a else None for a in agree), shape[1])
    return out


def curve_plot(curve: MeanCurve) -> str:
    """Two panels over epochs: agreement with the weak labels on B, and the training loss."""
    epochs = np.arange(1, len(curve.loss) + 1)
    fig = new_figure(6.4, 2.3)
    with matplotlib.rc_context(SVG_STYLE):
        fig.subplots_adjust(left=0.09, right=0.98, bottom=0.2, top=0.8, wspace=0.3)
        left, right = fig.subplots(1, 2)
        points = [(e, a) for e, a in zip(epochs, curve.weak_agreement, strict=True)
                  if a is not None]
        if points:
            left.plot(*zip(*points, strict=True), marker="o", markersize=3, color=LEADER)
            left.set_title("agreement with the weak labels on B", fontsize=8)
        else:
            left.set_title("agreement with the weak labels on B: not measured", fontsize=8)
        right.plot(epochs, curve.loss, marker="o", markersize=3, color=NAIVE)
        right.set_title("cross-entropy to its training targets"
                        if curve.loss_of == "cross-entropy to targets"
                        else "its training loss (mean over the epoch's steps)", fontsize=8)
        for ax in (left, right):
            ax.set_xlabel("epoch")
            ax.margins(y=0.15)
            auto_ticks(ax)
        fig.suptitle(f"{label(curve.method)} on {label(curve.suite)}: mean over "
                     f"{curve.runs} runs")
    return svg(fig)
