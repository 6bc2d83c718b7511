"""The frontier track's tables, from run records only: each frontier kind writes its own
(per-slice scores of blind-spot supervisors, class-reward drift, elicitation of
password-locked students: :mod:`benchmark.kinds`). A task that names ``compare_with`` is
paired with that task's records (:func:`~benchmark.site.kind_tables.twin_finder`)."""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.core.kinds import KindTable
from benchmark.results.records import RunRecord
from benchmark.site.kind_tables import kind_markdown, kind_tables, suite_groups, twin_finder
from benchmark.site.row_tests import comparable


@dataclass(frozen=True)
class FrontierTables:
    kind_tables: tuple[KindTable, ...] = ()    # the frontier kinds' own (benchmark.kinds)

    def __bool__(self) -> bool:
        return bool(self.kind_tables)


def frontier_tables(records: list[RunRecord]) -> dict[str, FrontierTables]:
    """Each suite's frontier tables (suites without frontier tasks are left out), from the
    records the board ranks together (twins too)."""
    ok = comparable(records)
    twin_of = twin_finder(ok)
    tables = {}
    for suite, groups in suite_groups(ok).items():
        tables[suite] = FrontierTables(kind_tables("frontier", groups, twin_of))
    return {suite: t for suite, t in tables.items() if t}


def frontier_markdown(tables: dict[str, FrontierTables]) -> str:
    """The frontier tables for ``leaderboard.md`` (the same numbers as the site's)."""
    out: list[str] = []
    for suite, t in tables.items():
        out += [f"## Frontier tables (`{suite}`)", ""]
        out += kind_markdown(t.kind_tables)
    return "\n".join(out)
