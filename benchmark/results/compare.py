"""``w2s-bench compare``: paired differences between a method and its rivals.

Runs are paired on (suite, task, replicate): both methods saw the same split draw, the same
frozen weak labels and the same seed, so the difference removes the replicate-to-replicate
noise that a comparison of two means would keep. Per task: mean difference with a bootstrap
95% interval over replicates; overall: a bootstrap over tasks × replicates. A pair is a win,
tie or loss by test accuracy (PGR has the same sign, since both runs share the references).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.core.errors import W2SBenchError
from benchmark.core.metrics import Interval, bootstrap_ci
from benchmark.results.records import RunRecord


@dataclass(frozen=True)
class PairedRow:
    against: str
    task: str           # a task id, or "(all tasks)"
    pairs: int
    pgr: Interval | None
    accuracy: Interval | None
    wins: int
    ties: int
    losses: int

    @property
    def verdict(self) -> str:
        """'better' / 'worse' when the PGR interval (accuracy where PGR is undefined) excludes 0."""
        interval = self.pgr or self.accuracy
        if interval is None or self.pairs < 2:
            return "too few pairs"
        if interval.low > 0:
            return "better"
        if interval.high < 0:
            return "worse"
        return "no clear difference"


def _index(records: list[RunRecord], method: str, suite: str | None
           ) -> dict[tuple[str, str, int], RunRecord]:
    return {(r.suite, r.task, r.replicate): r for r in records
            if r.method == method and r.status == "ok" and (suite is None or r.suite == suite)}


def paired_rows(records: list[RunRecord], method: str, against: list[str],
                suite: str | None = None) -> list[PairedRow]:
    """One row per (rival, task) and one overall row per rival."""
    mine = _index(records, method, suite)
    if not mine:
        raise W2SBenchError(f"no successful records of {method!r}"
                            + (f" in suite {suite!r}" if suite else "")
                            + f"; run `w2s-bench run --methods {method}` first")
    rows: list[PairedRow] = []
    for rival in against:
        theirs = _index(records, rival, suite)
        keys = sorted(mine.keys() & theirs.keys())
        if not keys:
            raise W2SBenchError(f"no runs of {rival!r} pair with {method!r} (same suite, task "
                                f"and replicate); run `w2s-bench run --methods {rival}` first")
        by_task: dict[str, list[tuple[float | None, float]]] = {}
        for key in keys:
            a, b = mine[key].metrics, theirs[key].metrics
            d_pgr = None if a.pgr is None or b.pgr is None else a.pgr - b.pgr
            by_task.setdefault(key[1], []).append((d_pgr, a.accuracy - b.accuracy))
        for task, diffs in sorted(by_task.items()):
            rows.append(_row(rival, task, [diffs]))
        rows.append(_row(rival, "(all tasks)", list(by_task.values())))
    return rows


def _row(rival: str, task: str, groups: list[list[tuple[float | None, float]]]) -> PairedRow:
    accs = [[d[1] for d in g] for g in groups]
    flat = np.concatenate([np.asarray(a) for a in accs])
    return PairedRow(rival, task, len(flat),
                     bootstrap_ci([[d[0] for d in g if d[0] is not None] for g in groups]),
                     bootstrap_ci(accs), int((flat > 0).sum()), int((flat == 0).sum()),
                     int((flat < 0).sum()))


def render(rows: list[PairedRow], method: str) -> str:
    from tabulate import tabulate

    def fmt(i: Interval | None, digits: int) -> str:
        if i is None:
            return "n/a"
        return f"{i.mean:+.{digits}f} [{i.low:+.{digits}f}, {i.high:+.{digits}f}]"

    table = [[r.against, r.task, r.pairs, fmt(r.pgr, 3), fmt(r.accuracy, 4),
              f"{r.wins}/{r.ties}/{r.losses}", r.verdict] for r in rows]
    head = (f"{method} minus each rival, paired by (suite, task, replicate); 95% bootstrap "
            "intervals; W/T/L by test accuracy.")
    return head + "\n\n" + tabulate(table, headers=["vs", "task", "pairs", "Δ PGR [95% CI]",
                                                    "Δ accuracy [95% CI]", "W/T/L", "verdict"],
                                    tablefmt="github")
