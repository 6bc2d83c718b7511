"""Held-out scores beside public ones: a suite's board gains, per method, its PGR on the
suite's held-out draws (the board ``<suite>-heldout``, :mod:`benchmark.library.heldout`) and
the gap between the two. From records only."""

from __future__ import annotations

import math
from dataclasses import replace

from benchmark.core.metrics import Interval
from benchmark.core.suite_names import heldout_of, is_heldout
from benchmark.site.standings import Entry, SuiteBoard


def paired_heldout(boards: list[SuiteBoard]) -> list[SuiteBoard]:
    """Each public board with a held-out twin gets the twin's scores (the twin stays a board
    of its own)."""
    by_suite = {b.suite: b for b in boards}
    return [with_heldout(b, by_suite[heldout_of(b.suite)])
            if not is_heldout(b.suite) and heldout_of(b.suite) in by_suite
            and _draws(b) == _draws(by_suite[heldout_of(b.suite)]) else b
            for b in boards]


def _draws(board: SuiteBoard) -> dict[str, int]:
    """Each task of the board with its number of draws: a held-out board is paired only when
    it holds the same tasks with as many draws, so the gap compares like with like."""
    return {t.task: len(t.weak_labels_sha256) for t in board.tasks}


def with_heldout(board: SuiteBoard, twin: SuiteBoard) -> SuiteBoard:
    """``board``'s entries with their held-out score (from ``twin``) and the gap, whose
    half-width is the root sum of squares of the two intervals' half-widths: the draws are
    disjoint cuts of one pool, so the two scores correlate positively and this is wider than
    the gap's own interval (conservative; an approximation, said so on the page)."""
    # only a held-out entry that covers every task, with the public entry's versions
    versions = {e.method: e.versions for e in (*board.ranked, *board.incomplete)}
    held = {e.method: e.pgr for e in twin.ranked if versions.get(e.method) == e.versions}

    def gap(public: Interval | None, other: Interval | None) -> Interval | None:
        if public is None or other is None:
            return None
        half = math.hypot((public.high - public.low) / 2, (other.high - other.low) / 2)
        mean = other.mean - public.mean
        return Interval(mean, mean - half, mean + half, min(public.n, other.n))

    def add(entries: tuple[Entry, ...]) -> tuple[Entry, ...]:
        return tuple(replace(e, heldout_pgr=held.get(e.method),
                             heldout_gap=gap(e.pgr, held.get(e.method))) for e in entries)

    return replace(board, ranked=add(board.ranked), incomplete=add(board.incomplete),
                   heldout=twin.suite)
