"""Standings: who is ranked with whom, in what order, and what is left out and why.

The comparability guard lives here. Within a suite, each (task, replicate) has one reference
fingerprint: the newest task version, and among its records the weak-label file most of them
were measured against. Only records matching it are ranked together. A method that lacks a
successful comparable run on some task of the suite is *incomplete*: it is listed apart with
what is missing, never averaged over fewer tasks. Records measured against another task
version or other weak labels are listed as *not comparable*.

Ranks: complete entries are ordered by mean PGR; those whose 95% interval overlaps the
leader's are statistically tied with it and share the rank range "1–k".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace

import pandas as pd

from benchmark.metrics import Interval, bootstrap_ci, mean_ci

FINGERPRINT = ["task", "replicate", "task_version", "weak_labels_sha256"]


@dataclass(frozen=True)
class Entry:
    """One method's line in a suite's table."""

    method: str
    versions: str
    position: int                 # 1-based order among complete entries; 0 if incomplete
    rank_label: str               # "1", "1–3" (tied with the leader), "—" (incomplete)
    tied_with_leader: bool
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

    @property
    def pgr_undefined(self) -> int:
        return sum(p is None for p in self.pgrs)


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


def _nan_to_none(value: float | None) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _mean(series: pd.Series) -> float | None:
    return _nan_to_none(series.mean()) if len(series) else None


def references(frame: pd.DataFrame) -> pd.DataFrame:
    """The fingerprint each (task, replicate) of one suite is ranked against."""
    newest = frame.groupby("task").task_version.transform("max")
    counts = (frame[frame.task_version == newest].groupby(FINGERPRINT).size()
              .reset_index(name="n"))
    counts = counts.sort_values(["task", "replicate", "n", "weak_labels_sha256"],
                                ascending=[True, True, False, True], kind="stable")
    return counts.drop_duplicates(["task", "replicate"])[FINGERPRINT].reset_index(drop=True)


def _fingerprint(refs: pd.DataFrame) -> str:
    text = json.dumps(refs.astype(str).values.tolist(), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _why_missing(task: str, rows: pd.DataFrame, ref_version: int) -> str:
    comparable = rows[rows.comparable]
    if len(comparable):
        return f"{task}: all {len(comparable)} run(s) failed"
    if len(rows):
        versions = sorted(set(rows.task_version))
        if versions != [ref_version]:
            shown = ", ".join(f"v{v}" for v in versions)
            return f"{task}: measured on task {shown}; this suite ranks v{ref_version}"
        return f"{task}: measured against other weak labels than the ranked ones"
    return f"{task}: not run"


def _entry(method: str, rows: pd.DataFrame, tasks: list[str], ref_versions: dict[str, int],
           naive: tuple[float | None, float | None]) -> Entry:
    ok = rows[rows.comparable & (rows.status == "ok")]
    by_task = {t: g for t, g in ok.groupby("task", sort=True)}
    missing = tuple(_why_missing(t, rows[rows.task == t], ref_versions[t])
                    for t in tasks if t not in by_task)
    flops, wall = _mean(ok.train_flops), _mean(ok.wall_s)
    return Entry(
        method=method, versions=",".join(sorted(set(rows.method_version))), position=0,
        rank_label="—", tied_with_leader=False,
        pgr=bootstrap_ci([g.pgr.dropna().tolist() for g in by_task.values()]),
        accuracy=bootstrap_ci([g.accuracy.tolist() for g in by_task.values()]),
        tasks_covered=len(by_task), tasks_total=len(tasks), runs=len(ok),
        failed=int((rows.comparable & (rows.status != "ok")).sum()),
        train_flops=flops, flops_vs_naive=_ratio(flops, naive[0]),
        wall_s=wall, wall_vs_naive=_ratio(wall, naive[1]),
        peak_rss_mb=_nan_to_none(ok.peak_rss_mb.max()) if len(ok) else None, missing=missing)


def _ratio(value: float | None, base: float | None) -> float | None:
    return value / base if value is not None and base else None


def rank(entries: list[Entry]) -> list[Entry]:
    """Order complete entries by mean PGR and mark those statistically tied with the leader."""
    order = sorted(entries, key=lambda e: (e.pgr is None, -(e.pgr.mean if e.pgr else 0),
                                           e.method))
    leader = order[0].pgr if order else None
    tied = [i for i, e in enumerate(order)
            if leader is not None and e.pgr is not None and e.pgr.high >= leader.low]
    last_tied = max(tied) + 1 if len(tied) > 1 else 0
    ranked = []
    for i, e in enumerate(order):
        shared = i in tied and last_tied > 1
        ranked.append(replace(e, position=i + 1, tied_with_leader=shared and i > 0,
                               rank_label=f"1–{last_tied}" if shared else str(i + 1)))
    return ranked


def _task_summary(task: str, rows: pd.DataFrame) -> TaskSummary:
    ok = rows[rows.status == "ok"]
    per_replicate = ok.drop_duplicates("replicate")
    results = []
    for method, g in rows.groupby("method", sort=True):
        good = g[g.status == "ok"]
        pgrs = tuple(_nan_to_none(v) for v in good.pgr)
        results.append(TaskResult(
            method=method, versions=",".join(sorted(set(g.method_version))),
            replicates=tuple(int(r) for r in good.replicate),
            accuracies=tuple(float(a) for a in good.accuracy), pgrs=pgrs,
            accuracy=mean_ci(good.accuracy.tolist()),
            pgr=mean_ci([p for p in pgrs if p is not None]),
            failed=int((g.status != "ok").sum()), train_flops=_mean(good.train_flops),
            wall_s=_mean(good.wall_s)))
    results.sort(key=lambda r: (r.pgr is None, -(r.pgr.mean if r.pgr else 0), r.method))
    first = rows.iloc[0]
    shas = rows.drop_duplicates("replicate")
    return TaskSummary(
        task=task, dataset=str(first.dataset), task_version=int(first.task_version),
        weak_model=str(first.weak_model), strong_model=str(first.strong_model),
        strong_params=_nan_to_none(ok.strong_params.max()) if len(ok) else None,
        weak_labels_sha256=tuple((int(r), str(s)) for r, s in
                                 zip(shas.replicate, shas.weak_labels_sha256, strict=True)),
        weak_accuracy=mean_ci(per_replicate.weak_accuracy.tolist()),
        ceiling_accuracy=mean_ci(per_replicate.ceiling_accuracy.tolist()),
        results=tuple(results))


def _not_comparable(frame: pd.DataFrame, refs: pd.DataFrame) -> tuple[dict, ...]:
    odd = frame[~frame.comparable]
    if odd.empty:
        return ()
    ranked_version = refs.groupby("task").task_version.first()
    out = []
    for (method, task, version), g in odd.groupby(["method", "task", "task_version"],
                                                  sort=True):
        out.append({"method": method, "task": task, "runs": len(g),
                    "replicates": sorted(int(r) for r in set(g.replicate)),
                    "task_version": int(version),
                    "ranked_task_version": int(ranked_version.get(task, version)),
                    "reason": "older task version" if version != ranked_version.get(task)
                    else "other weak labels"})
    return tuple(out)


def suite_board(suite: str, frame: pd.DataFrame) -> SuiteBoard:
    """Standings of one suite from its records (``frame`` holds that suite's rows only)."""
    refs = references(frame)
    keyed = frame.merge(refs.assign(comparable=True), on=FINGERPRINT, how="left")
    frame = keyed.assign(comparable=keyed.comparable.eq(True))
    comparable = frame[frame.comparable]
    tasks = sorted(set(comparable.task))
    ref_versions = {t: int(v) for t, v in refs.groupby("task").task_version.first().items()}
    naive_ok = comparable[(comparable.method == "naive") & (comparable.status == "ok")]
    naive = (_mean(naive_ok.train_flops), _mean(naive_ok.wall_s))
    entries = [_entry(m, g, tasks, ref_versions, naive) for m, g in frame.groupby("method",
                                                                                  sort=True)]
    failed = comparable[comparable.status != "ok"]
    return SuiteBoard(
        suite=suite, fingerprint=_fingerprint(refs), records=len(frame),
        tasks=tuple(_task_summary(t, g) for t, g in comparable.groupby("task", sort=True)),
        ranked=tuple(rank([e for e in entries if not e.missing])),
        incomplete=tuple(sorted((e for e in entries if e.missing),
                                key=lambda e: (-e.tasks_covered, e.method))),
        not_comparable=_not_comparable(frame, refs),
        failed_runs=tuple({"task": r.task, "method": r.method, "replicate": int(r.replicate),
                           "error": r.error[:300]} for r in failed.itertuples()))


def standings(frame: pd.DataFrame) -> list[SuiteBoard]:
    """One board per suite, in suite-name order."""
    return [suite_board(str(s), g.reset_index(drop=True))
            for s, g in frame.groupby("suite", sort=True)]


def best_method(board: SuiteBoard) -> str | None:
    """The suite's leader (first complete entry with a PGR), for plots and summaries."""
    return next((e.method for e in board.ranked if e.pgr is not None), None)
