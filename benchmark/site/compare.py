"""``w2s-bench compare``: a method against its rivals, by the leaderboard's own procedure.

One procedure everywhere: records pass the board's comparability guard (each (task,
replicate) is ranked on one task version and one weak-label file), and a suite's verdict
is the board's blocked sign-flip test, Holm-corrected over the board's family of pairs. Where
both methods are ranked on a suite, the row *is* the board's comparison, so the two never
disagree. Where one is not ranked (it misses a task), the row is off the board: the mean
difference over the units both have, descriptive, with no test (the board's family holds
no such pair). Per-task rows are descriptive (mean differences, wins/ties/losses), never verdicts:
a task's few blocks would be tested once per task and rival, uncorrected.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

from benchmark.core.errors import W2SBenchError
from benchmark.core.paired import Units
from benchmark.core.resampled import scores
from benchmark.results.records import RunRecord
from benchmark.site.frame import Row, record_rows
from benchmark.site.retired import split_retired
from benchmark.site.standings import (
    SuiteBoard,
    ranked_methods,
    references,
    suite_board,
    unit_values,
)

ALL_TASKS = "(all tasks)"


@dataclass(frozen=True)
class PairedRow:
    suite: str
    against: str
    task: str            # a task id, or ALL_TASKS
    units: int
    blocks: int | None   # ALL_TASKS rows only
    pgr: float | None    # method − rival: the suite's score difference, or the task's mean
    accuracy: float | None
    wins: int
    ties: int
    losses: int
    p_holm: float | None = None   # ALL_TASKS rows only
    verdict: str = ""
    source: str = ""              # "board" or why it is off the board


def _guarded(rows: list[Row]) -> list[Row]:
    """The suite's ok rows that pass the board's comparability guard."""
    refs = references(rows)
    return [r for r in rows if r.status == "ok"
            and refs.get((r.task, r.replicate)) == (r.task_version, r.weak_labels_sha256)]


def _task_rows(suite: str, method: str, rival: str, ok: list[Row]) -> list[PairedRow]:
    mine = {(r.task, r.replicate): r for r in ok if r.method == method}
    theirs = {(r.task, r.replicate): r for r in ok if r.method == rival}
    out = []
    for task in sorted({t for t, _ in mine.keys() & theirs.keys()}):
        keys = sorted(k for k in mine.keys() & theirs.keys() if k[0] == task)
        accuracy = np.array([mine[k].accuracy - theirs[k].accuracy for k in keys])
        pgrs = [mine[k].pgr - theirs[k].pgr for k in keys
                if mine[k].pgr is not None and theirs[k].pgr is not None]
        out.append(PairedRow(suite, rival, task, len(keys), None,
                             float(np.mean(pgrs)) if pgrs else None, float(accuracy.mean()),
                             int((accuracy > 0).sum()), int((accuracy == 0).sum()),
                             int((accuracy < 0).sum()), verdict="descriptive"))
    return out


def _verdict(difference: float, significant: bool) -> str:
    if not significant:
        return "not separated"
    return "better" if difference > 0 else "worse"


def _from_board(board: SuiteBoard, method: str, rival: str) -> tuple | None:
    """(difference method − rival, p_holm, significant, units, blocks) from the board."""
    for c in board.comparisons:
        if {c.better, c.worse} == {method, rival}:
            sign = 1.0 if c.better == method else -1.0
            return sign * c.difference, c.p_holm, c.significant, c.units, c.blocks
    return None


def _why_off(board: SuiteBoard, name: str) -> str:
    if any(e.method == name for e in ranked_methods(board)):
        return ""
    if any(e.method == name for e in board.ranked):
        return f"{name} is a control (shown on the board, never ranked or tested)"
    found = next((e for e in board.incomplete if e.method == name), None)
    return f"{name} not ranked" + (f" ({found.missing[0]})" if found and found.missing else "")


def _suite_rows(suite: str, rows: list[Row], method: str, against: list[str]
                ) -> list[PairedRow]:
    board = suite_board(suite, rows)
    ok = _guarded(rows)
    overall: dict[str, PairedRow] = {}
    for rival in against:
        found = _from_board(board, method, rival)
        accuracies = unit_values([method, rival], ok, "accuracy")
        both = accuracies.values[:, ~np.isnan(accuracies.values).any(axis=0)]
        accuracy = both[0] - both[1]
        wins = (int((accuracy > 0).sum()), int((accuracy == 0).sum()), int((accuracy < 0).sum()))
        if found is not None:   # the board's own comparison: the two never disagree
            difference, p_holm, significant, units, blocks = found
            overall[rival] = PairedRow(
                suite, rival, ALL_TASKS, units, blocks, difference if units else None,
                _stratified_mean(accuracies), *wins, p_holm if units else None,
                _verdict(difference, significant) if units else "no shared units with a PGR",
                "board")
            continue
        pgrs = unit_values([method, rival], ok)
        shared = ~np.isnan(pgrs.values).any(axis=0)
        why = "; ".join(w for w in (_why_off(board, method), _why_off(board, rival)) if w)
        verdict = ("descriptive (not on the board: no test)" if why
                   else "no shared units with a PGR")   # both ranked, neither with a PGR
        overall[rival] = PairedRow(
            suite, rival, ALL_TASKS, int(shared.sum()), None, _stratified_mean(pgrs),
            _stratified_mean(accuracies), *wins, None, verdict, why or "board")
    out = []
    for rival in against:
        out += _task_rows(suite, method, rival, ok) + [overall[rival]]
    return out


def _stratified_mean(units: Units) -> float | None:
    """Mean over tasks of the mean difference of the two methods on the units both have:
    the board's score of the difference."""
    values = units.values
    shared = ~np.isnan(values).any(axis=0)
    if not shared.any():
        return None
    difference = (values[0] - values[1])[None, shared]
    return float(scores(np.ones((1, int(shared.sum()))), difference,
                        np.asarray(units.tasks)[shared])[0, 0])


def paired_rows(records: list[RunRecord], method: str, against: list[str],
                suite: str | None = None,
                suite_tasks: Mapping[str, Collection[str]] | None = None,
                suite_replicates: Mapping[str, int] | None = None) -> list[PairedRow]:
    """Per suite and rival: descriptive per-task rows, then the suite's tested row, over the
    records the board ranks (``suite_tasks`` and ``suite_replicates``: the declared suites,
    so records of tasks a suite no longer lists, or of draws past those it ranks, are left
    out, as on the board)."""
    kept, _ = split_retired(records, suite_tasks, suite_replicates)
    rows = [r for r in record_rows(kept) if suite is None or r.suite == suite]
    if suite is not None and suite_tasks and suite in suite_tasks and not suite_tasks[suite]:
        raise W2SBenchError(f"suite {suite!r} ranks no task (it is retired): its records are "
                            "listed apart on the site and compared with nothing")
    if not any(r.method == method and r.status == "ok" for r in rows):
        raise W2SBenchError(f"no successful records of {method!r}"
                            + (f" in suite {suite!r}" if suite else "")
                            + f"; run `w2s-bench run --methods {method}` first")
    out = []
    for name in sorted({r.suite for r in rows}):
        in_suite = [r for r in rows if r.suite == name]
        methods = {r.method for r in in_suite if r.status == "ok"}
        if method not in methods:
            continue
        present = [rival for rival in against if rival in methods]
        if present:
            out += _suite_rows(name, in_suite, method, present)
    for rival in against:
        if not any(r.against == rival for r in out):
            raise W2SBenchError(f"no runs of {rival!r} pair with {method!r} (same suite, task "
                                f"and replicate); run `w2s-bench run --methods {rival}` first")
    return out


def render(rows: list[PairedRow], method: str) -> str:
    from tabulate import tabulate

    def number(value: float | None, digits: int) -> str:
        return "n/a" if value is None else f"{value:+.{digits}f}"

    table = [[r.suite, r.against, r.task, r.units, "" if r.blocks is None else r.blocks,
              number(r.pgr, 3), number(r.accuracy, 4), f"{r.wins}/{r.ties}/{r.losses}",
              "" if r.p_holm is None else f"{r.p_holm:.3g}", r.verdict, r.source]
             for r in rows]
    head = (f"{method} minus each rival on the records the leaderboard ranks together. "
            f"{ALL_TASKS}: the board's paired sign-flip test over blocks (split draws), Holm "
            "over the board's pairs (source 'board'; rows off the board are descriptive, no test); "
            "task rows are descriptive, W/T/L by test accuracy.")
    return head + "\n\n" + tabulate(table, headers=[
        "suite", "vs", "task", "units", "blocks", "Δ PGR", "Δ accuracy", "W/T/L", "Holm p",
        "verdict", "source"], tablefmt="github", disable_numparse=True)
