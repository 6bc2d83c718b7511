"""The task kinds' own leaderboard tables (:mod:`benchmark.core.kinds`), from records only:
each kind of a track writes its table of a suite from that suite's records, and the site
shows them in the track's section (frontier or beyond) in the kinds' table order."""

from __future__ import annotations

from collections import defaultdict

from benchmark.core.kinds import KINDS, KindTable, TwinOf, kinds_of_track
from benchmark.results.records import RunRecord

Groups = dict[tuple[str, str], list[RunRecord]]


def twin_finder(ok: list[RunRecord]) -> TwinOf:
    """A record's twin on its task's ``compare_with`` task: the same method, replicate and
    weak labels, from the same suite where it holds one, else from any suite (``ok``: the
    records the board compares, :func:`~benchmark.site.row_tests.comparable`)."""
    index: dict[tuple[str, str, int], list[RunRecord]] = defaultdict(list)
    for r in ok:
        index[(r.task, r.method, r.replicate)].append(r)

    def twin_of(record: RunRecord) -> RunRecord | None:
        target = record.setting.compare_with if record.setting else None
        if not target:
            return None
        same_labels = [t for t in index.get((target, record.method, record.replicate), [])
                       if t.provenance.weak_labels_sha256
                       == record.provenance.weak_labels_sha256]
        same_suite = [t for t in same_labels if t.suite == record.suite]
        return (same_suite or same_labels or [None])[0]

    return twin_of


def suite_groups(ok: list[RunRecord]) -> dict[str, Groups]:
    """Per suite, the comparable records (``ok``) of tasks with a setting, by (task,
    method), each group sorted by replicate."""
    groups: dict[str, dict[tuple[str, str], list[RunRecord]]] = defaultdict(
        lambda: defaultdict(list))
    for r in ok:
        if r.setting is not None:
            groups[r.suite][(r.task, r.method)].append(r)
    return {suite: {key: sorted(by_key[key], key=lambda r: r.replicate)
                    for key in sorted(by_key)}
            for suite, by_key in sorted(groups.items())}


def kind_tables(track: str, groups: Groups, twin_of: TwinOf) -> tuple[KindTable, ...]:
    """The track's kinds' tables of one suite (the kinds with nothing to show left out)."""
    return tuple(table for kind in kinds_of_track(track)
                 if (table := kind.table(groups, twin_of)) is not None)


def kind_markdown(tables: tuple[KindTable, ...]) -> list[str]:
    return [line for table in tables for line in KINDS.get(table.kind).table_markdown(table)]
