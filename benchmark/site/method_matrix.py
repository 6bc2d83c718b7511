"""The pairwise matrix of a suite's ranked entries, as the site's heatmap shows it.

Cell (row, column) is score(row) − score(column) on the units the two share, coloured by
sign and size; it is filled when the paired test separates them (Holm over all pairs) and
left pale when it cannot. The data are the board's comparisons; nothing is recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.site.standings import SuiteBoard, ranked_methods

ABOVE, BELOW = (27, 108, 168), (214, 39, 40)   # row better: blue; row worse: red


@dataclass(frozen=True)
class Cell:
    difference: float | None   # None on the diagonal
    significant: bool
    p_holm: float | None
    colour: str

    @property
    def title(self) -> str:
        if self.difference is None:
            return ""
        verdict = "separated" if self.significant else "not separated"
        return f"{self.difference:+.3f} PGR ({verdict}; Holm p = {self.p_holm:.4f})"


def _mix(rgb: tuple[int, int, int], strength: float) -> str:
    """``rgb`` blended with white: 0 → white, 1 → the colour."""
    return "#" + "".join(f"{round(255 - (255 - c) * strength):02x}" for c in rgb)


def matrix(board: SuiteBoard) -> tuple[list[str], list[list[Cell]]]:
    """The ranked methods in rank order and the cells of their matrix, row by row."""
    methods = [e.method for e in ranked_methods(board) if e.pgr is not None]
    found = {}
    for c in board.comparisons:
        found[(c.better, c.worse)] = (c.difference, c)
        found[(c.worse, c.better)] = (-c.difference, c)
    scale = max((abs(c.difference) for c in board.comparisons), default=0.0) or 1.0
    rows = []
    for a in methods:
        row = []
        for b in methods:
            if a == b or (a, b) not in found:
                row.append(Cell(None, False, None, "#ffffff"))
                continue
            d, c = found[(a, b)]
            strength = (0.25 + 0.75 * abs(d) / scale) if c.significant else 0.12
            row.append(Cell(d, c.significant, c.p_holm, _mix(ABOVE if d >= 0 else BELOW,
                                                             strength)))
        rows.append(row)
    return methods, rows
