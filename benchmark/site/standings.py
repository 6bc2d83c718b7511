"""Standings: who is ranked with whom, in what order, and what is left out and why.

The comparability guard lives here. Within a suite, each (task, replicate) has one reference
fingerprint: the newest task version, and among its records the weak-label file most of them
were measured against. Only records matching it are ranked together. A method that lacks a
successful comparable run on some task of the suite is *incomplete*: it is listed apart with
what is missing, never averaged over fewer tasks. Records measured against another task
version or other weak labels are listed as *not comparable*.

Ranks: complete entries are ordered by mean PGR (the mean over tasks of the mean over
replicates) and compared pairwise on the (task, replicate) units they share, with a
sign-flip test Holm-corrected over all pairs (:mod:`benchmark.core.paired`). An entry's rank
is a range only where that test cannot separate it from its neighbours: "1–3" means no
entry is significantly above it and it is significantly above all but the first three.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from benchmark.core.blocks import legacy_block
from benchmark.core.metrics import REFERENCE_METHOD, Interval, accuracy_ci, mean_ci
from benchmark.core.paired import Comparison, Family, Units, compare_all, family, rank_ranges
from benchmark.core.resampled import RankStability, rank_stability, suite_intervals
from benchmark.site.diagnosis import DiagnosticSummary, over_tasks, summarize
from benchmark.site.frame import Row, group_rows, not_comparable
from benchmark.site.protocol import (
    ControlLine,
    TaskControls,
    above_floor,
    control_lines,
    median,
    pgr_of_means,
    task_controls,
)


@dataclass(frozen=True)
class Entry:
    """One method's line in a suite's table."""

    method: str
    versions: str
    position: int                 # 1-based order among ranked methods; 0: incomplete, control
    rank_label: str               # "1", "1–3" (not separable from 1st to 3rd), "—"
                                  # (incomplete), "control" (shown, never ranked)
    tied_with_leader: bool        # the paired test cannot separate it from the leader
    pgr: Interval | None
    accuracy: Interval | None
    tasks_covered: int
    tasks_total: int
    runs: int
    failed: int
    train_flops: float | None     # mean per run
    flops_vs_naive: float | None
    wall_s: float | None          # mean per run
    wall_vs_naive: float | None
    peak_rss_mb: float | None     # the largest run's
    missing: tuple[str, ...] = ()
    unsandboxed: bool = False     # some run had no sandbox (trusted code): marked on the site
    diagnostics: DiagnosticSummary | None = None   # mean over tasks of the task means
    pgr_median: float | None = None    # over tasks, of each task's PGR of mean accuracies
    pgr_of_means: float | None = None  # mean over tasks of each task's PGR of mean accuracies
    above_floor: float | None = None   # mean accuracy − max(weak, label-free floor)
    control: bool = False   # a reference point (label-free, prior, prompting): never ranked
    flag: str | None = None  # flagged (submissions/flags.yaml): the reason; shown, not ranked
    pgr_auroc: Interval | None = None  # PGR on AUROC, the same block bootstrap (shown beside)
    # the same method on the suite's held-out draws (``<suite>-heldout``), and held-out −
    # public with the two independent intervals' half-widths combined
    heldout_pgr: Interval | None = None
    heldout_gap: Interval | None = None


@dataclass(frozen=True)
class TaskResult:
    """One method on one task: per-replicate values and their Student-t intervals."""

    method: str
    versions: str
    replicates: tuple[int, ...]
    accuracies: tuple[float, ...]
    pgrs: tuple[float | None, ...]
    accuracy: Interval | None
    pgr: Interval | None
    failed: int
    train_flops: float | None
    wall_s: float | None
    diagnostics: DiagnosticSummary | None = None   # mean over replicates
    misfit_gain: tuple[tuple[float, float], ...] = ()   # (misfit, gain) of each run that has them
    pgr_median: float | None = None
    pgr_of_means: float | None = None
    small_gaps: int = 0   # replicates whose gap is under two standard errors (no PGR)

    @property
    def pgr_undefined(self) -> int:
        return sum(p is None for p in self.pgrs) - self.small_gaps


@dataclass(frozen=True)
class TaskSummary:
    task: str
    dataset: str
    task_version: int
    weak_model: str
    strong_model: str
    strong_params: float | None
    weak_labels_sha256: tuple[tuple[int, str], ...]   # (replicate, sha256) ranked against
    weak_accuracy: Interval | None
    ceiling_accuracy: Interval | None
    results: tuple[TaskResult, ...]
    weak_params: float | None = None   # the weak supervisor's parameters (None: tf-idf)
    controls: TaskControls | None = None
    regime: str = ""
    n_gold: int | None = None


@dataclass(frozen=True)
class SuiteBoard:
    suite: str
    fingerprint: str              # short hash of the (task, replicate) references ranked
    records: int
    tasks: tuple[TaskSummary, ...]
    ranked: tuple[Entry, ...]
    incomplete: tuple[Entry, ...]
    not_comparable: tuple[dict, ...] = field(default=())
    failed_runs: tuple[dict, ...] = field(default=())
    comparisons: tuple[Comparison, ...] = field(default=())   # every pair of ranked entries
    detectable_pgr: float | None = None   # found at 80% power at the family's corrected level
    family: Family | None = None          # blocks, smallest p, threshold of the ranked pairs
    stability: RankStability | None = None   # split-half and resampled ranks
    controls: tuple[ControlLine, ...] = ()   # harness-side controls scored like methods
    regimes: tuple[str, ...] = ()
    heldout: str | None = None   # the suite of its held-out draws, where records hold one


Key = tuple[str, int]  # (task, replicate)


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def references(rows: list[Row]) -> dict[Key, tuple[int, str]]:
    """The (task version, weak-label sha256) each (task, replicate) of a suite is ranked on."""
    newest: dict[str, int] = {}
    for r in rows:
        newest[r.task] = max(newest.get(r.task, r.task_version), r.task_version)
    counts = Counter((r.task, r.replicate, r.weak_labels_sha256) for r in rows
                     if r.task_version == newest[r.task])
    chosen: dict[Key, tuple[int, str]] = {}
    for (task, replicate, sha), _ in sorted(counts.items(),
                                            key=lambda kv: (kv[0][:2], -kv[1], kv[0][2])):
        chosen.setdefault((task, replicate), (newest[task], sha))
    return chosen


def _fingerprint(refs: dict[Key, tuple[int, str]]) -> str:
    text = json.dumps(sorted([t, k, v, s] for (t, k), (v, s) in refs.items()),
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _why_missing(task: str, rows: list[Row], comparable: list[Row], ref_version: int) -> str:
    if comparable:
        return f"{task}: all {len(comparable)} run(s) failed"
    if rows:
        versions = sorted({r.task_version for r in rows})
        if versions != [ref_version]:
            shown = ", ".join(f"v{v}" for v in versions)
            return f"{task}: measured on task {shown}; this suite ranks v{ref_version}"
        return f"{task}: measured against other weak labels than the ranked ones"
    return f"{task}: not run"


def _entry(method: str, rows: list[Row], is_ref, tasks: list[str],
           ref_versions: dict[str, int], naive: tuple[float | None, float | None],
           diagnosed: dict[tuple[str, str], DiagnosticSummary | None]) -> Entry:
    """``diagnosed``: the task results' summaries by (task, method), averaged here over the
    method's tasks (the same runs, so they are not summarised twice)."""
    comparable = [r for r in rows if is_ref(r)]
    ok = [r for r in comparable if r.status == "ok"]
    by_task = group_rows(ok, "task")
    covered = {task for (task,) in by_task}
    missing = tuple(_why_missing(t, [r for r in rows if r.task == t],
                                 [r for r in comparable if r.task == t], ref_versions[t])
                    for t in tasks if t not in covered)
    flops, wall = _mean([r.train_flops for r in ok]), _mean([r.wall_s for r in ok])
    peaks = [r.peak_rss_mb for r in ok if r.peak_rss_mb is not None]
    return Entry(
        method=method, versions=",".join(sorted({r.method_version for r in rows})),
        position=0, rank_label="—", tied_with_leader=False,
        pgr=None, accuracy=None,  # the suite's intervals are drawn for all entries at once
        tasks_covered=len(by_task), tasks_total=len(tasks), runs=len(ok),
        failed=len(comparable) - len(ok), train_flops=flops,
        flops_vs_naive=_ratio(flops, naive[0]), wall_s=wall,
        wall_vs_naive=_ratio(wall, naive[1]), peak_rss_mb=max(peaks) if peaks else None,
        missing=missing, unsandboxed=any(r.sandbox == "none" for r in ok),
        diagnostics=over_tasks([diagnosed.get((task, method)) for (task,) in by_task]),
        pgr_median=median([pgr_of_means(group) for group in by_task.values()]),
        pgr_of_means=_mean([pgr_of_means(group) for group in by_task.values()]),
        above_floor=above_floor(ok), control=any(r.control for r in rows))


def _with_intervals(entries: list[Entry], rows: list[Row], is_ref) -> list[Entry]:
    """Each entry's intervals of PGR and accuracy over stratified block resamples, from the
    same ok comparable runs :func:`_entry` counted (one resampling for the suite)."""
    ok = [r for r in rows if r.status == "ok" and is_ref(r)]
    methods = [e.method for e in entries]
    if not ok or not methods:
        return entries
    pgr_units = unit_values(methods, ok)
    accuracy_units = unit_values(methods, ok, "accuracy")
    pgrs = suite_intervals(pgr_units.values, pgr_units.tasks, pgr_units.blocks)
    accuracies = suite_intervals(accuracy_units.values, accuracy_units.tasks,
                                 accuracy_units.blocks)
    on_auroc: list[Interval | None] = [None] * len(entries)
    if any(r.pgr_auroc is not None for r in ok):
        auroc_units = unit_values(methods, ok, "pgr_auroc")
        on_auroc = suite_intervals(auroc_units.values, auroc_units.tasks, auroc_units.blocks)
    return [replace(e, pgr=p, accuracy=a, pgr_auroc=u)
            for e, p, a, u in zip(entries, pgrs, accuracies, on_auroc, strict=True)]


def unit_values(methods: list[str], rows: list[Row], value: str = "pgr") -> Units:
    """Each method's PGR (or ``value``) per (task, replicate) unit, NaN where it has none,
    with each unit's block: its split draw. Where any record of a dataset's replicate names
    no draw (written before records kept it), every unit of that dataset and replicate takes
    the coarse legacy block, so old and new records of one draw never split it in two."""
    keys = sorted({(r.task, r.replicate) for r in rows if r.method in set(methods)})
    column = {key: i for i, key in enumerate(keys)}
    row_of = {m: i for i, m in enumerate(methods)}
    values = np.full((len(methods), len(keys)), np.nan)
    drawn: dict[Key, str] = {}
    dataset_of: dict[str, str] = {}
    coarse: set[tuple[str, int]] = set()
    for r in rows:
        if r.method not in row_of:
            continue
        if getattr(r, value) is not None and r.status == "ok":
            values[row_of[r.method], column[(r.task, r.replicate)]] = getattr(r, value)
        dataset_of[r.task] = r.dataset
        if r.block.startswith("legacy:"):
            coarse.add((r.dataset, r.replicate))
        else:
            drawn.setdefault((r.task, r.replicate), r.block)
    blocks = tuple(legacy_block(dataset_of[t], k) if (dataset_of[t], k) in coarse
                   else drawn[(t, k)] for t, k in keys)
    return Units(tuple(methods), tuple(t for t, _ in keys), values, blocks)


def rank(entries: list[Entry], rows: list[Row]
         ) -> tuple[list[Entry], list[Comparison], RankStability | None]:
    """Order complete entries by mean PGR; rank ranges from the paired family of tests over
    blocks, and how stable the order is under resampled blocks. Controls keep their place in
    the order (what a reference point scores is worth seeing beside the methods) but take no
    rank and no test: the family and the ranks are the methods' alone."""
    order = sorted(entries, key=lambda e: (e.pgr is None, -(e.pgr.mean if e.pgr else 0),
                                           e.method))
    scored = [e.method for e in order if e.pgr is not None and not e.control and not e.flag]
    units = unit_values(scored, rows)
    comparisons = compare_all(units) if len(scored) > 1 else []
    ranges = rank_ranges(scored, comparisons)
    stability = None
    if len(scored) > 1:   # the contested: entries the tests do not place at one rank
        contested = [m for m in scored if ranges[m][0] != ranges[m][1]]
        stability = rank_stability(scored, units.values, units.tasks, units.blocks,
                                   contested=contested)
    leader = scored[0] if scored else None
    separated = {c.worse for c in comparisons if c.better == leader and c.significant}
    ranked, position = [], 0
    for e in order:
        if e.control or e.flag:
            ranked.append(replace(e, position=0, tied_with_leader=False,
                                  rank_label="control" if e.control else "flagged"))
            continue
        position += 1
        low, high = ranges.get(e.method, (position, position))
        ranked.append(replace(
            e, position=position, rank_label=str(low) if low == high else f"{low}–{high}",
            tied_with_leader=position > 1 and e.method in ranges
            and e.method not in separated))
    return ranked, comparisons, stability


def _task_summary(task: str, rows: list[Row]) -> TaskSummary:
    ok = [r for r in rows if r.status == "ok"]
    first_per_replicate = list({r.replicate: r for r in reversed(ok)}.values())
    results = []
    for (method,), group in group_rows(rows, "method").items():
        good = sorted((r for r in group if r.status == "ok"), key=lambda r: r.replicate)
        pgrs = tuple(r.pgr for r in good)
        results.append(TaskResult(
            method=method, versions=",".join(sorted({r.method_version for r in group})),
            replicates=tuple(r.replicate for r in good),
            accuracies=tuple(r.accuracy for r in good), pgrs=pgrs,
            accuracy=accuracy_ci([r.accuracy for r in good]),
            pgr=mean_ci([p for p in pgrs if p is not None]),
            failed=len(group) - len(good), train_flops=_mean([r.train_flops for r in good]),
            wall_s=_mean([r.wall_s for r in good]),
            diagnostics=summarize([r.diagnostics for r in good]),
            misfit_gain=tuple((r.diagnostics.misfit, r.diagnostics.gain) for r in good
                              if r.diagnostics is not None),
            pgr_median=median(pgrs), pgr_of_means=pgr_of_means(good),
            small_gaps=sum(r.small_gap for r in good)))
    results.sort(key=lambda r: (r.pgr is None, -(r.pgr.mean if r.pgr else 0), r.method))
    shas = sorted({(r.replicate, r.weak_labels_sha256) for r in rows})
    sizes = [r.strong_params for r in ok if r.strong_params is not None]
    weak_sizes = [r.weak_params for r in ok if r.weak_params is not None]
    first = rows[0]
    return TaskSummary(
        task=task, dataset=first.dataset, task_version=first.task_version,
        weak_model=first.weak_model, strong_model=first.strong_model,
        strong_params=max(sizes) if sizes else None, weak_labels_sha256=tuple(shas),
        weak_accuracy=accuracy_ci([r.weak_accuracy for r in first_per_replicate]),
        ceiling_accuracy=accuracy_ci([r.ceiling_accuracy for r in first_per_replicate]),
        results=tuple(results), weak_params=max(weak_sizes) if weak_sizes else None,
        controls=task_controls(first_per_replicate), regime=first.regime,
        n_gold=first.n_gold)


def suite_board(suite: str, rows: list[Row], flags: Mapping[str, str] | None = None
                ) -> SuiteBoard:
    """Standings of one suite from its rows (``flags``: flagged methods' reasons)."""
    refs = references(rows)

    def is_ref(r: Row) -> bool:
        return refs.get((r.task, r.replicate)) == (r.task_version, r.weak_labels_sha256)

    comparable = [r for r in rows if is_ref(r)]
    tasks = sorted({r.task for r in comparable})
    ref_versions = {task: version for (task, _), (version, _) in refs.items()}
    naive_ok = [r for r in comparable if r.method == REFERENCE_METHOD and r.status == "ok"]
    naive = (_mean([r.train_flops for r in naive_ok]), _mean([r.wall_s for r in naive_ok]))
    summaries = tuple(_task_summary(t, g) for (t,), g in group_rows(comparable, "task").items())
    diagnosed = {(t.task, r.method): r.diagnostics for t in summaries for r in t.results}
    entries = _with_intervals([replace(_entry(m, group, is_ref, tasks, ref_versions, naive,
                                              diagnosed), flag=(flags or {}).get(m))
                               for (m,), group in group_rows(rows, "method").items()], rows, is_ref)
    ranked, comparisons, stability = rank([e for e in entries if not e.missing], comparable)
    tested = family(comparisons)
    return SuiteBoard(
        suite=suite, fingerprint=_fingerprint(refs), records=len(rows),
        tasks=summaries,
        ranked=tuple(ranked), comparisons=tuple(comparisons),
        detectable_pgr=tested.detectable, family=tested if comparisons else None,
        stability=stability,
        controls=tuple(control_lines(list({(r.task, r.replicate): r for r in comparable
                                           if r.status == "ok"}.values()))),
        regimes=tuple(sorted({r.regime for r in comparable if r.regime})),
        incomplete=tuple(sorted((e for e in entries if e.missing),
                                key=lambda e: (-e.tasks_covered, e.method))),
        not_comparable=not_comparable([r for r in rows if not is_ref(r)], ref_versions),
        failed_runs=tuple({"task": r.task, "method": r.method, "replicate": r.replicate,
                           "error": r.error[:300]} for r in comparable if r.status != "ok"))


def standings(rows: list[Row], retired: Mapping[str, tuple[dict, ...]] | None = None,
              flags: Mapping[str, str] | None = None) -> list[SuiteBoard]:
    """One board per suite, in suite-name order; ``retired``: per suite, the lines of records
    of tasks it no longer lists (:mod:`benchmark.site.retired`), listed as not comparable (on
    an empty board where the suite has no other record, so none of them vanishes)."""
    boards = {suite: suite_board(suite, group, flags)
              for (suite,), group in group_rows(rows, "suite").items()}
    for suite, lines in (retired or {}).items():
        board = boards.get(suite) or SuiteBoard(suite=suite, fingerprint="none", records=0,
                                                tasks=(), ranked=(), incomplete=())
        boards[suite] = replace(board, not_comparable=board.not_comparable + lines)
    return [boards[suite] for suite in sorted(boards)]


def best_method(board: SuiteBoard) -> str | None:
    """The suite's leader (first ranked method with a PGR; never a control)."""
    return next((e.method for e in ranked_methods(board) if e.pgr is not None), None)


def ranked_methods(board: SuiteBoard) -> list[Entry]:
    """The ranked entries that are methods (controls and flagged entries left out)."""
    return [e for e in board.ranked if not e.control and not e.flag]
