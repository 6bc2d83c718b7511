"""The beyond track's tables, from run records only: each beyond kind writes its own
(distribution shift, several weak supervisors, reward modelling: :mod:`benchmark.kinds`), in
the kinds' table order."""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.core.kinds import KindTable
from benchmark.results.records import RunRecord
from benchmark.site.kind_tables import kind_markdown, kind_tables, suite_groups, twin_finder
from benchmark.site.row_tests import comparable


@dataclass(frozen=True)
class BeyondTables:
    kind_tables: tuple[KindTable, ...] = ()   # the beyond kinds' own (benchmark.kinds)

    def __bool__(self) -> bool:
        return bool(self.kind_tables)


def beyond_tables(records: list[RunRecord]) -> dict[str, BeyondTables]:
    """Each suite's beyond tables (suites without such tasks are left out)."""
    ok = comparable(records)   # the board's guard: one task version, one labels file
    twin_of = twin_finder(ok)
    tables = {suite: BeyondTables(kind_tables("beyond", groups, twin_of))
              for suite, groups in suite_groups(ok).items()}
    return {suite: t for suite, t in tables.items() if t}


def beyond_markdown(tables: dict[str, BeyondTables]) -> str:
    """The beyond tables for ``leaderboard.md`` (the same numbers as the site's)."""
    out: list[str] = []
    for suite, t in tables.items():
        out += [f"## Beyond tables (`{suite}`)", ""]
        out += kind_markdown(t.kind_tables)
    return "\n".join(out)
