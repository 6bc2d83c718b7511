"""The beyond track's tables, from run records only: several weak supervisors (PGR against
the best single one and their average), and each beyond kind's own (distribution shift and
reward modelling: :mod:`benchmark.kinds`), a kind of negative table order shown first. Intervals are
Student-t over replicates (:func:`~benchmark.core.metrics.mean_ci`), PGRs whose gap is under
two standard errors left out as on the board; the shift's student − supervisor and the
ensemble's PGR against the average are tested per row over blocks, Holm over each table's
rows (:mod:`benchmark.site.row_tests`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from benchmark.core.kinds import KINDS, KindTable
from benchmark.core.metrics import Interval, accuracy_ci, mean_ci
from benchmark.results.records import RunRecord
from benchmark.site.exports import fmt
from benchmark.site.exports import markdown_table as _table
from benchmark.site.frame import record_block as block_of
from benchmark.site.kind_tables import kind_markdown, kind_tables, suite_groups, twin_finder
from benchmark.site.row_tests import block_p, comparable, holm_over, kept_pgr


@dataclass(frozen=True)
class EnsembleRow:
    task: str
    method: str
    n: int
    supervisors: tuple[str, ...]
    best: str                          # the most frequent best single supervisor
    accuracy: Interval | None
    pgr_vs_best: Interval | None
    pgr_vs_mean: Interval | None
    best_accuracy: float
    mean_accuracy: float
    ceiling: float
    vs_mean_p: float | None = None     # PGR against the average: sign-flip, Holm


@dataclass(frozen=True)
class BeyondTables:
    ensemble: tuple[EnsembleRow, ...] = ()
    kind_tables: tuple[KindTable, ...] = ()   # the beyond kinds' own (benchmark.kinds)

    @property
    def leading(self) -> tuple[KindTable, ...]:
        """The kinds' tables shown before the several supervisors' (negative table order)."""
        return tuple(t for t in self.kind_tables if KINDS.get(t.kind).table_order < 0)

    @property
    def trailing(self) -> tuple[KindTable, ...]:
        return tuple(t for t in self.kind_tables if KINDS.get(t.kind).table_order >= 0)

    def __bool__(self) -> bool:
        return bool(self.ensemble or self.kind_tables)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _ensemble_row(task: str, method: str, runs: list[RunRecord]) -> EnsembleRow | None:
    kept = [r for r in runs if r.metrics and r.metrics.ensemble]
    scored = [r.metrics for r in kept]
    if not scored:
        return None
    versus = [(v, block_of(r)) for r, m in zip(kept, scored, strict=True)
              if (v := kept_pgr(m.ensemble.pgr_vs_mean, m.ensemble.mean_accuracy,
                            m.ceiling_accuracy, m.n_test)) is not None]
    best = Counter(m.ensemble.best_supervisor for m in scored).most_common(1)[0][0]
    return EnsembleRow(
        task, method, len(scored), tuple(runs[0].setting.supervisors or ()), best,
        accuracy_ci([m.accuracy for m in scored]),
        mean_ci([kept_pgr(m.pgr, m.weak_accuracy, m.ceiling_accuracy, m.n_test) for m in scored]),
        mean_ci([v for v, _ in versus]),
        _mean([m.weak_accuracy for m in scored]), _mean([m.ensemble.mean_accuracy for m in scored]),
        _mean([m.ceiling_accuracy for m in scored]),
        block_p([v for v, _ in versus], [b for _, b in versus]))


def beyond_tables(records: list[RunRecord]) -> dict[str, BeyondTables]:
    """Each suite's beyond tables (suites without such tasks are left out)."""
    groups: dict[str, dict[tuple[str, str], list[RunRecord]]] = defaultdict(
        lambda: defaultdict(list))
    ok = comparable(records)   # the board's guard: one task version, one labels file
    for r in ok:
        if r.setting is not None:
            groups[r.suite][(r.task, r.method)].append(r)
    twin_of, kind_groups = twin_finder(ok), suite_groups(ok)
    tables = {}
    for suite, by_key in sorted(groups.items()):
        ensemble = []
        for (task, method), runs in sorted(by_key.items()):
            if runs[0].setting.supervisors:
                ensemble.append(_ensemble_row(task, method, runs))
        ensemble = [r for r in ensemble if r]
        ensemble = [replace(r, vs_mean_p=p) for r, p in
                    zip(ensemble, holm_over([r.vs_mean_p for r in ensemble]), strict=True)]
        table = BeyondTables(tuple(ensemble), kind_tables("beyond", kind_groups[suite], twin_of))
        if table:
            tables[suite] = table
    return tables


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def beyond_markdown(tables: dict[str, BeyondTables]) -> str:
    """The beyond tables for ``leaderboard.md`` (the same numbers as the site's)."""
    out: list[str] = []
    for suite, t in tables.items():
        out += [f"## Beyond tables (`{suite}`)", ""]
        out += kind_markdown(t.leading)
        if t.ensemble:
            out += ["### Several weak supervisors", "",
                    "Holm p: sign-flip test of PGR against the average over the row's "
                    "blocks, Holm over the table's rows.", ""]
            out += _table([[r.task, r.method, f"{r.best} {r.best_accuracy:.3f}",
                            f"{r.mean_accuracy:.3f}", fmt(r.accuracy), fmt(r.pgr_vs_best, 2),
                            fmt(r.pgr_vs_mean, 2), _p(r.vs_mean_p)] for r in t.ensemble],
                          ["task", "method", "best single", "average", "accuracy",
                           "PGR vs best", "PGR vs average", "Holm p"])
        out += kind_markdown(t.trailing)
    return "\n".join(out)
