"""One paired test per table row, over the row's blocks, Holm over the table's rows.

The frontier and beyond tables report per-(task, method) differences (slice − rest, the
student − its supervisor on the target, PGR against the supervisors' average). Each is tested
as the board's pairs are: a sign-flip test that flips whole blocks (the runs that share a
split draw), corrected over the rows the table shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchmark.core.metrics import small_gap
from benchmark.core.paired import holm, sign_flip_p
from benchmark.results.records import RunRecord
from benchmark.site.frame import record_rows
from benchmark.site.standings import references


def block_p(values: Sequence[float], blocks: Sequence[str]) -> float | None:
    """Two-sided sign-flip p of the mean of ``values`` over their blocks (None: under two
    values)."""
    if len(values) < 2:
        return None
    d = np.asarray(values, dtype=float)
    return sign_flip_p(d, np.full(len(d), 1.0 / len(d)), np.asarray(blocks))


def kept_pgr(pgr: float | None, weak: float | None, ceiling: float | None, n: int | None
             ) -> float | None:
    """A PGR, or None where its gap is under two standard errors of an accuracy on ``n``
    examples: left out of a table's means and tests, as the board leaves it out."""
    if pgr is None or weak is None or ceiling is None or not n:
        return pgr
    return None if small_gap(weak, ceiling, n) else pgr


def holm_over(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values of the rows that have one, None elsewhere."""
    tested = [i for i, p in enumerate(p_values) if p is not None]
    out: list[float | None] = [None] * len(p_values)
    for i, adjusted in zip(tested, holm([p_values[i] for i in tested]), strict=True):
        out[i] = adjusted
    return out


def comparable(records: Sequence[RunRecord]) -> list[RunRecord]:
    """The ok records the board would rank together: per suite, each (task, replicate) on its
    reference task version and weak-label file (the board's guard), so a table's rows and
    their tests never mix a re-frozen task's old runs with its new ones. Controls are left
    out: like the board, a table tests methods only (a control in a Holm family would also
    weaken every method's correction)."""
    by_suite: dict[str, list[RunRecord]] = {}
    for r in records:
        if r.status == "ok" and not (r.method_info and r.method_info.control):
            by_suite.setdefault(r.suite, []).append(r)
    out = []
    for mine in by_suite.values():
        refs = references(record_rows(mine))
        out += [r for r in mine if refs.get((r.task, r.replicate))
                == (r.provenance.task_version, r.provenance.weak_labels_sha256)]
    return out
