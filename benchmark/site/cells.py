"""Table cells the pages repeat thousands of times, as Python instead of jinja macros.

A jinja macro call has a fixed cost (a new frame, argument binding, an output buffer), and
the 10,000-record board renders ~40,000 cells, so as macros they would take a large share of
the page time.
Each function returns :class:`markupsafe.Markup` with every piece of text escaped.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from benchmark.core.metrics import Interval

DIAGNOSTIC_CELLS = ("agreement", "capa", "fixed", "copied", "kept", "misfit", "gain", "misfit_kl",
                    "gain_kl", "deception_error")
DIGITS = {"misfit": 3, "gain": 3, "misfit_kl": 3, "gain_kl": 3}


def _sort_key(value: object) -> str:
    return "" if value is None else str(value)


def interval_cell(interval: Interval | None, digits: int = 3) -> Markup:
    """A number with its interval, sortable by the mean."""
    if interval is None:
        return Markup('<td class="num" data-sort="">n/a</td>')
    text = f"{interval.mean:.{digits}f}"
    if interval.high > interval.low:
        text += f' <span class="ci">[{interval.low:.{digits}f}, {interval.high:.{digits}f}]</span>'
        text += '<span title="Student-t interval cut at the bounds: a poor fit">†</span>' \
            if interval.clipped else ""
    return Markup(f'<td class="num" data-sort="{interval.mean}">{text}</td>')


def value_cell(value: object, text: object) -> Markup:
    return Markup(f'<td class="num" data-sort="{escape(_sort_key(value))}">{escape(text)}</td>')


def share_cell(value: float | None, digits: int = 2) -> Markup:
    text = "—" if value is None else f"{value:.{digits}f}"
    return Markup(f'<td class="num" data-sort="{_sort_key(value)}">{text}</td>')


def diagnostics_cells(summary) -> Markup:
    """The diagnostics columns of one row (a DiagnosticSummary, or None: no predictions)."""
    if summary is None:
        return Markup('<td colspan="10" class="ci">no stored predictions</td>')
    return Markup("").join(share_cell(summary.means[name], DIGITS.get(name, 2))
                           for name in DIAGNOSTIC_CELLS)


def replicate_values(replicates: tuple[int, ...], values: tuple[float | None, ...],
                     digits: int) -> Markup:
    """Each replicate's value with the replicate in its tooltip ("undef." where None)."""
    return Markup(" ".join(
        f'<span title="replicate {k}">{"undef." if v is None else f"{v:.{digits}f}"}</span>'
        for k, v in zip(replicates, values, strict=True)))
