"""Records of tasks their suite no longer lists, kept out of its board and listed apart.

A suite re-frozen under a new protocol lists new tasks (new ids), so no version or weak-label guard
catches the old records: they would join the board as more tasks. Given the suites as declared now
(the caller reads them; the site never reads task files), a record whose suite is declared and whose
task it no longer lists (none, for a retired suite) is *retired*: never ranked, averaged or tested,
shown under "not comparable" with the reason. Records of suites not declared here (a suite named for
ad-hoc tasks, or a results folder from elsewhere) are kept as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence

from benchmark.results.records import RunRecord

RETIRED_REASON = ("no longer in the suite (a dropped task or a retired suite; kept for its "
                  "record, not ranked)")


def split_retired(records: Sequence[RunRecord],
                  suite_tasks: Mapping[str, Collection[str]] | None
                  ) -> tuple[list[RunRecord], dict[str, list[RunRecord]]]:
    """The records the boards use, and the retired ones by suite."""
    if not suite_tasks:
        return list(records), {}
    kept: list[RunRecord] = []
    retired: dict[str, list[RunRecord]] = defaultdict(list)
    for record in records:
        listed = suite_tasks.get(record.suite)
        if listed is not None and record.task not in listed:
            retired[record.suite].append(record)
        else:
            kept.append(record)
    return kept, dict(retired)


def retired_lines(records: Sequence[RunRecord]) -> tuple[dict, ...]:
    """One line per (method, task, task version), in the shape of the board's
    not-comparable lines (no ranked version: the suite ranks no such task)."""
    groups: dict[tuple[str, str, int], list[RunRecord]] = defaultdict(list)
    for r in records:
        groups[(r.method, r.task, r.provenance.task_version)].append(r)
    return tuple({"method": method, "task": task, "runs": len(group),
                  "replicates": sorted({r.replicate for r in group}),
                  "task_version": version, "ranked_task_version": None,
                  "reason": RETIRED_REASON}
                 for (method, task, version), group in sorted(groups.items()))
