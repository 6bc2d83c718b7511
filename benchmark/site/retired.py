"""Records kept out of their suite's board and listed apart: tasks the suite no longer lists,
replicate draws beyond the first N a suite ranks, and method versions it holds a newer one of.

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
BEYOND_REASON = ("beyond the suite's first {n} replicate draws (it ranks those; kept for its "
                 "record, not ranked)")
SUPERSEDED_REASON = "method version {old} superseded by {new} (kept for its record, not ranked)"


def version_key(version: str) -> tuple:
    """Order of method versions: numeric parts as numbers (``10`` after ``9``), so the
    newest is the largest; a version that is not numeric sorts after every numeric one."""
    parts = version.split(".")
    return (0, tuple(int(p) for p in parts)) if all(p.isdigit() for p in parts) \
        else (1, (version,))


def split_retired(records: Sequence[RunRecord],
                  suite_tasks: Mapping[str, Collection[str]] | None,
                  suite_replicates: Mapping[str, int] | None = None
                  ) -> tuple[list[RunRecord], dict[str, list[tuple[RunRecord, str]]]]:
    """The records the boards use, and by suite the ones set apart with their reason: a
    task its suite no longer lists, a replicate past the first N its suite ranks
    (``suite_replicates``: methods run with more would be averaged over other draws), or a
    method version older than the newest that suite holds (a method keeps its name across
    versions, and a new version may run elsewhere or measure something else: pooled, the
    two would rank as one)."""
    apart: dict[str, list[tuple[RunRecord, str]]] = defaultdict(list)
    live: list[RunRecord] = []
    for record in records:
        listed = (suite_tasks or {}).get(record.suite)
        draws = (suite_replicates or {}).get(record.suite)
        if listed is not None and record.task not in listed:
            apart[record.suite].append((record, RETIRED_REASON))
        elif draws is not None and record.replicate >= draws:
            apart[record.suite].append((record, BEYOND_REASON.format(n=draws)))
        else:
            live.append(record)
    # the newest version among what the suite ranks: one run only on a dropped task or a
    # draw past the ranked ones must not set the ranked records aside
    newest: dict[tuple[str, str], str] = {}
    for r in live:
        key, version = (r.suite, r.method), r.provenance.method_version
        if key not in newest or version_key(version) > version_key(newest[key]):
            newest[key] = version
    kept: list[RunRecord] = []
    for record in live:
        latest = newest[(record.suite, record.method)]
        if record.provenance.method_version != latest:
            apart[record.suite].append((record, SUPERSEDED_REASON.format(
                old=record.provenance.method_version, new=latest)))
        else:
            kept.append(record)
    return kept, dict(apart)


def retired_lines(records: Sequence[tuple[RunRecord, str]]) -> tuple[dict, ...]:
    """One line per (method, task, task version, reason), in the shape of the board's
    not-comparable lines (no ranked version: the suite ranks no such record)."""
    groups: dict[tuple[str, str, int, str], list[RunRecord]] = defaultdict(list)
    for r, reason in records:
        groups[(r.method, r.task, r.provenance.task_version, reason)].append(r)
    return tuple({"method": method, "task": task, "runs": len(group),
                  "replicates": sorted({r.replicate for r in group}),
                  "task_version": version, "ranked_task_version": None, "reason": reason}
                 for (method, task, version, reason), group in sorted(groups.items()))
