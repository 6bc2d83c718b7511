"""What a suite's tests can say, in words: blocks, test, correction, and rank stability.

Every sentence the board prints about its paired comparisons names its units (blocks, the
split draws), the test, the correction and what the blocks allow at all, so no reader takes
a difference for a finding that its blocks cannot carry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.core.metrics import REFERENCE_METHOD
from benchmark.core.paired import EXACT_BLOCKS, detectable_at
from benchmark.site.standings import SuiteBoard, best_method

TARGET_PGR = 0.05   # the difference a suite should be able to separate (issue 34)

INTERVAL_NOTE = ("Suite intervals: 95% percentile bootstrap over split draws (blocks "
                 "resampled within strata: blocks that hold the same tasks), tasks fixed; "
                 "task intervals: 95% Student-t over replicates (accuracy's clipped at its "
                 "bounds, marked †, where the t-interval is a poor fit).")


@dataclass(frozen=True)
class FamilyText:
    test: str           # how the pairs were tested
    reach: str          # what the blocks allow
    stability: str      # how firm the order is


def blocks_needed(blocks: int, detectable: float, target: float = TARGET_PGR) -> int:
    """Blocks a pair would need to detect ``target`` at the same power and level: its se
    shrinks as 1/sqrt(blocks), so blocks × (detectable / target)², rounded up."""
    return int(-(-blocks * (detectable / target) ** 2 // 1))


def reference_detectable(board: SuiteBoard) -> float | None:
    """The detectable difference of the median pair with the reference method (naive), at
    the family's level: what the board can say about beating plain weak-label training."""
    tested = board.family
    errors = [c.se for c in board.comparisons
              if REFERENCE_METHOD in (c.better, c.worse) and c.se is not None]
    if tested is None or not errors or not tested.can_separate:
        return None
    return detectable_at(float(np.median(errors)), tested.threshold)


def family_text(board: SuiteBoard) -> FamilyText | None:
    tested = board.family
    if tested is None:
        return None
    separated = sum(c.significant for c in board.comparisons)
    units = max((c.units for c in board.comparisons), default=0)
    how = "exact (every sign pattern)" if tested.blocks <= EXACT_BLOCKS else "Monte Carlo"
    test = (f"Paired sign-flip tests ({how}) of each pair's PGR difference, flipping whole "
            f"blocks: {tested.blocks} blocks (split draws) holding {units} (task, replicate) "
            f"units; Holm over {tested.pairs} pairs at α = 0.05. {separated} of "
            f"{tested.pairs} pairs separated.")
    if not tested.can_separate:
        reach = (f"With {tested.blocks} blocks no p can go below {tested.smallest_p:.2g}, "
                 f"above Holm's first threshold {tested.threshold:.2g}: this suite cannot "
                 "separate any pair, and its differences are descriptive only.")
    elif tested.detectable is None:
        reach = "The smallest detectable difference is not estimated: no pair has an se."
    else:
        reach = (f"Smallest PGR difference detectable at 80% power at Holm's first level "
                 f"({tested.threshold:.2g}): {tested.detectable:.3f} for the median pair")
        if tested.detectable > TARGET_PGR:
            reach += (f" ({TARGET_PGR} would take about "
                      f"{blocks_needed(tested.blocks, tested.detectable)} blocks)")
        versus = reference_detectable(board)
        if versus is not None:
            reach += f", {versus:.3f} for the median pair with {REFERENCE_METHOD}"
            if versus > TARGET_PGR:
                reach += f" ({blocks_needed(tested.blocks, versus)} blocks)"
        reach += (f"; the suite has {tested.blocks}. The smallest p its test can give is "
                  f"{tested.smallest_p:.2g}, under that threshold.")
    return FamilyText(test, reach, stability_text(board))


def stability_text(board: SuiteBoard) -> str:
    s = board.stability
    if s is None:
        return ""
    leader = best_method(board)
    parts = []
    if s.split_half is not None:
        parts.append(f"split-half rank correlation (Spearman, the blocks of each stratum "
                     f"halved at random) median {s.split_half:.2f}, 95% of {s.splits} halvings "
                     f"in [{s.split_half_low:.2f}, {s.split_half_high:.2f}] over all "
                     f"{len(s.rank_share)} entries")
    if s.contested_split_half is not None:
        mid, low, high = s.contested_split_half
        parts.append(f"{mid:.2f} [{low:.2f}, {high:.2f}] among the {len(s.contested)} entries "
                     "the tests do not place at one rank (the contested order; controls and "
                     "clearly separated entries inflate the first)")
    if leader is not None:
        parts.append(f"{leader} ranks first in {s.rank_share[leader]:.0%} of {s.draws} "
                     "block resamples")
    return ("Rank stability: " + "; ".join(parts) + ".") if parts else ""


def rank_rows(board: SuiteBoard) -> list[list[str]]:
    """Per ranked entry: observed rank, share of resamples at it, 95% range of its rank."""
    s = board.stability
    if s is None:
        return []
    return [[e.method, str(e.position), f"{s.rank_share[e.method]:.0%}",
             "–".join(dict.fromkeys(str(r) for r in s.rank_range[e.method]))]
            for e in board.ranked if e.method in s.rank_share]
