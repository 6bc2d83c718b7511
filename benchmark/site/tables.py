"""Leaderboard tables: per-task and per-suite summaries of run records.

Reads records only. Per (suite, task, method): mean accuracy and PGR with 95% Student-t
intervals across replicates. Per (suite, method): the mean over tasks of task-mean PGR, with
a bootstrap interval over tasks × replicates. The weak supervisor and the gold ceiling are
shown as reference rows from the numbers each record carries.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from benchmark.metrics import Interval, bootstrap_ci, mean_ci
from benchmark.records import RunRecord
from benchmark.storage import atomic_write_text


def records_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    rows = []
    for r in records:
        m, c = r.metrics, r.compute
        rows.append({
            "suite": r.suite, "task": r.task, "method": r.method, "replicate": r.replicate,
            "status": r.status, "method_version": r.provenance.method_version,
            "weak_model": r.provenance.weak_model, "strong_model": r.provenance.strong_model,
            "accuracy": m.accuracy if m else None, "pgr": m.pgr if m else None,
            "weak_accuracy": m.weak_accuracy if m else None,
            "ceiling_accuracy": m.ceiling_accuracy if m else None,
            "train_flops": c.train_flops if c else None, "wall_s": c.wall_s if c else None,
            "peak_rss_mb": c.peak_rss_mb if c else None,
            "error": f"{r.error.type}: {r.error.message}" if r.error else "",
        })
    return pd.DataFrame(rows)


def _ci_cols(prefix: str, interval: Interval | None) -> dict[str, float | None]:
    if interval is None:
        return {f"{prefix}_mean": None, f"{prefix}_ci_low": None, f"{prefix}_ci_high": None}
    return {f"{prefix}_mean": interval.mean, f"{prefix}_ci_low": interval.low,
            f"{prefix}_ci_high": interval.high}


def task_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (suite, task, method)."""
    rows = []
    for (suite, task, method), group in frame.groupby(["suite", "task", "method"], sort=True):
        ok = group[group.status == "ok"]
        pgrs = [v for v in ok.pgr if pd.notna(v)]
        rows.append({
            "suite": suite, "task": task, "method": method,
            "method_version": ",".join(sorted(set(group.method_version))),
            "weak_model": group.weak_model.iloc[0], "strong_model": group.strong_model.iloc[0],
            "replicates": len(ok), "failed": int((group.status != "ok").sum()),
            "pgr_undefined": len(ok) - len(pgrs),
            **_ci_cols("accuracy", mean_ci(list(ok.accuracy))),
            **_ci_cols("pgr", mean_ci(pgrs)),
            "weak_accuracy_mean": ok.weak_accuracy.mean() if len(ok) else None,
            "ceiling_accuracy_mean": ok.ceiling_accuracy.mean() if len(ok) else None,
            "train_flops_mean": ok.train_flops.mean() if len(ok) else None,
            "wall_s_mean": ok.wall_s.mean() if len(ok) else None,
            "peak_rss_mb_max": ok.peak_rss_mb.max() if len(ok) else None,
        })
    return pd.DataFrame(rows)


def suite_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (suite, method), ranked by mean PGR within each suite."""
    rows = []
    for (suite, method), group in frame.groupby(["suite", "method"], sort=True):
        ok = group[group.status == "ok"]
        by_task = [[v for v in g.pgr if pd.notna(v)] for _, g in ok.groupby("task", sort=True)]
        acc_by_task = [list(g.accuracy) for _, g in ok.groupby("task", sort=True)]
        rows.append({
            "suite": suite, "method": method,
            "method_version": ",".join(sorted(set(group.method_version))),
            "tasks": ok.task.nunique(), "runs": len(ok),
            "failed": int((group.status != "ok").sum()),
            **_ci_cols("pgr", bootstrap_ci(by_task)),
            **_ci_cols("accuracy", bootstrap_ci(acc_by_task)),
            "weak_accuracy_mean": ok.weak_accuracy.mean() if len(ok) else None,
            "ceiling_accuracy_mean": ok.ceiling_accuracy.mean() if len(ok) else None,
            "train_flops_mean": ok.train_flops.mean() if len(ok) else None,
            "wall_s_mean": ok.wall_s.mean() if len(ok) else None,
        })
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table.sort_values(["suite", "pgr_mean", "method"], ascending=[True, False, True],
                              na_position="last")
    table.insert(1, "rank", table.groupby("suite").cumcount() + 1)
    return table.reset_index(drop=True)


def _fmt(mean: float | None, low: float | None = None, high: float | None = None,
         digits: int = 3) -> str:
    if mean is None or pd.isna(mean):
        return "n/a"
    text = f"{mean:.{digits}f}"
    if low is not None and high is not None and pd.notna(low) and high > low:
        text += f" [{low:.{digits}f}, {high:.{digits}f}]"
    return text


def _sci(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.2e}"


def render_markdown(suites: pd.DataFrame, tasks: pd.DataFrame, frame: pd.DataFrame) -> str:
    from tabulate import tabulate

    out = ["# W2S-Bench leaderboard", "",
           "PGR = (student accuracy − weak accuracy) / (ceiling − weak accuracy): 0 means the "
           "student only matched its weak supervisor, 1 means it recovered the whole gap to a "
           "student trained on gold labels. Intervals are 95% (suite: bootstrap over tasks × "
           "replicates; task: Student-t over replicates).", ""]
    for suite, table in suites.groupby("suite", sort=True):
        out += [f"## Suite `{suite}`", ""]
        rows = [[r.rank, r.method, r.method_version, _fmt(r.pgr_mean, r.pgr_ci_low, r.pgr_ci_high),
                 _fmt(r.accuracy_mean, r.accuracy_ci_low, r.accuracy_ci_high), r.tasks, r.runs,
                 r.failed, _sci(r.train_flops_mean), _fmt(r.wall_s_mean, digits=2)]
                for r in table.itertuples()]
        first = table.iloc[0]
        rows.append(["—", "weak supervisor (reference)", "", "0 (by definition)",
                     _fmt(first.weak_accuracy_mean), "", "", "", "", ""])
        rows.append(["—", "gold ceiling (reference)", "", "1 (by definition)",
                     _fmt(first.ceiling_accuracy_mean), "", "", "", "", ""])
        out += [tabulate(rows, headers=["rank", "method", "version", "mean PGR [95% CI]",
                                        "mean accuracy [95% CI]", "tasks", "runs", "failed",
                                        "train FLOPs/run", "wall s/run"],
                         tablefmt="github"), ""]
        out += [f"### Per task (`{suite}`)", ""]
        sub = tasks[tasks.suite == suite]
        rows = [[r.task, f"{r.weak_model} → {r.strong_model}", _fmt(r.weak_accuracy_mean),
                 _fmt(r.ceiling_accuracy_mean), r.method,
                 _fmt(r.accuracy_mean, r.accuracy_ci_low, r.accuracy_ci_high),
                 _fmt(r.pgr_mean, r.pgr_ci_low, r.pgr_ci_high)
                 + (f" ({r.pgr_undefined} undefined)" if r.pgr_undefined else ""), r.replicates]
                for r in sub.itertuples()]
        out += [tabulate(rows, headers=["task", "weak → strong", "weak acc", "ceiling", "method",
                                        "accuracy [95% CI]", "PGR [95% CI]", "replicates"],
                         tablefmt="github"), ""]
    failed = frame[frame.status != "ok"] if len(frame) else frame
    if len(failed):
        out += ["## Failed runs", ""]
        out += [tabulate([[r.suite, r.task, r.method, r.replicate, r.error]
                          for r in failed.itertuples()],
                         headers=["suite", "task", "method", "replicate", "error"],
                         tablefmt="github"), ""]
    return "\n".join(out)


def write_leaderboard(records: list[RunRecord], out_dir: Path) -> dict[str, Path]:
    """Write ``leaderboard.md`` and ``leaderboard.csv``; returns their paths."""
    frame = records_frame(records)
    if frame.empty:
        from benchmark.errors import W2SBenchError

        raise W2SBenchError("no run records found; run `w2s-bench run` first")
    tasks = task_table(frame)
    suites = suite_table(frame)
    summary = suites.assign(task="(all tasks)", level="suite")
    csv = pd.concat([summary, tasks.assign(level="task")], ignore_index=True)
    columns = ["level", "suite", "rank", "task", "method", "method_version"]
    csv = csv[columns + [c for c in csv.columns if c not in columns]]
    paths = {"markdown": out_dir / "leaderboard.md", "csv": out_dir / "leaderboard.csv"}
    atomic_write_text(paths["markdown"], render_markdown(suites, tasks, frame))
    atomic_write_text(paths["csv"], csv.to_csv(index=False, float_format="%.6g"))
    return paths
