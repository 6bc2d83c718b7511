"""Machine- and paper-readable exports of the standings: markdown, CSV, JSON and LaTeX.

All four carry the same numbers as the HTML pages and nothing that changes between builds
of the same records (no timestamps, no commit), so they can be diffed and committed.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from tabulate import tabulate

from benchmark.core.metrics import Interval
from benchmark.results.records import MethodInfo
from benchmark.site.links import slug
from benchmark.site.standings import Entry, SuiteBoard

SCHEMA_VERSION = 1
PGR_NOTE = ("PGR = (student accuracy − weak accuracy) / (ceiling − weak accuracy): 0 means "
            "the student only matched its weak supervisor, 1 means it recovered the whole gap "
            "to a student trained on gold labels. Suite intervals: 95% bootstrap over tasks × "
            "replicates; task intervals: 95% Student-t over replicates. Ranks \"1–k\": tied "
            "with the leader (95% intervals overlap).")


def fmt(interval: Interval | None, digits: int = 3, ci: bool = True) -> str:
    if interval is None:
        return "n/a"
    text = f"{interval.mean:.{digits}f}"
    if ci and interval.high > interval.low:
        text += f" [{interval.low:.{digits}f}, {interval.high:.{digits}f}]"
    return text


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


def fmt_sci(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2e}"


def fmt_number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _entry_row(e: Entry) -> list[Any]:
    return [e.rank_label, e.method + (UNSANDBOXED if e.unsandboxed else ""), e.versions,
            fmt(e.pgr), fmt(e.accuracy),
            f"{e.tasks_covered}/{e.tasks_total}", e.runs, e.failed,
            f"{fmt_sci(e.train_flops)} ({fmt_ratio(e.flops_vs_naive)})",
            f"{fmt_number(e.wall_s, 2)} ({fmt_ratio(e.wall_vs_naive)})",
            fmt_number(e.peak_rss_mb, 0)]


UNSANDBOXED = " (no sandbox)"  # some of its runs ran as trusted code, outside the sandbox
ENTRY_HEADERS = ["rank", "method", "version", "mean PGR [95% CI]", "mean accuracy [95% CI]",
                 "tasks", "runs", "failed", "train FLOPs/run (vs naive)",
                 "wall s/run (vs naive)", "peak MB"]


def render_markdown(boards: list[SuiteBoard]) -> str:
    out = ["# W2S-Bench leaderboard", "", PGR_NOTE, ""]
    for b in boards:
        out += [f"## Suite `{b.suite}` (tasks @ `{b.fingerprint}`, {b.records} records)", ""]
        out += [tabulate([_entry_row(e) for e in b.ranked], headers=ENTRY_HEADERS,
                         tablefmt="github", disable_numparse=True), ""]
        if b.incomplete:
            out += ["### Incomplete (not ranked: missing tasks)", ""]
            out += [tabulate([[e.method, e.versions, fmt(e.pgr),
                               f"{e.tasks_covered}/{e.tasks_total}", "; ".join(e.missing)]
                              for e in b.incomplete],
                             headers=["method", "version", "PGR over covered tasks", "tasks",
                                      "missing"], tablefmt="github", disable_numparse=True),
                    ""]
        if b.not_comparable:
            out += ["### Not comparable (other task version or weak labels)", ""]
            out += [tabulate([[n["method"], n["task"], n["runs"], f"v{n['task_version']}",
                               f"v{n['ranked_task_version']}", n["reason"]]
                              for n in b.not_comparable],
                             headers=["method", "task", "runs", "measured on", "ranked on",
                                      "why"], tablefmt="github", disable_numparse=True), ""]
        out += [f"### Per task (`{b.suite}`)", ""]
        rows = [[t.task, f"{t.weak_model} → {t.strong_model}", fmt(t.weak_accuracy, ci=False),
                 fmt(t.ceiling_accuracy, ci=False), r.method, fmt(r.accuracy),
                 fmt(r.pgr) + (f" ({r.pgr_undefined} undefined)" if r.pgr_undefined else ""),
                 len(r.replicates)]
                for t in b.tasks for r in t.results]
        out += [tabulate(rows, headers=["task", "weak → strong", "weak acc", "ceiling",
                                        "method", "accuracy [95% CI]", "PGR [95% CI]",
                                        "replicates"], tablefmt="github",
                         disable_numparse=True), ""]
        if b.failed_runs:
            out += [f"### Failed runs (`{b.suite}`)", ""]
            out += [tabulate([[f["task"], f["method"], f["replicate"], f["error"]]
                              for f in b.failed_runs],
                             headers=["task", "method", "replicate", "error"],
                             tablefmt="github", disable_numparse=True), ""]
    return "\n".join(out)


def _interval_cols(prefix: str, interval: Interval | None) -> dict[str, float | None]:
    if interval is None:
        return {f"{prefix}_mean": None, f"{prefix}_ci_low": None, f"{prefix}_ci_high": None}
    return {f"{prefix}_mean": interval.mean, f"{prefix}_ci_low": interval.low,
            f"{prefix}_ci_high": interval.high}


def csv_frame(boards: list[SuiteBoard]) -> pd.DataFrame:
    """One row per suite entry (level ``suite``) and per task result (level ``task``)."""
    rows = []
    for b in boards:
        for section, entries in (("ranked", b.ranked), ("incomplete", b.incomplete)):
            rows += [{"level": "suite", "suite": b.suite, "section": section,
                      "rank": e.position or None, "rank_label": e.rank_label,
                      "tied_with_leader": e.tied_with_leader, "task": "(all tasks)",
                      "method": e.method, "method_version": e.versions,
                      **_interval_cols("pgr", e.pgr), **_interval_cols("accuracy", e.accuracy),
                      "tasks_covered": e.tasks_covered, "tasks_total": e.tasks_total,
                      "runs": e.runs, "failed": e.failed, "train_flops_per_run": e.train_flops,
                      "flops_vs_naive": e.flops_vs_naive, "wall_s_per_run": e.wall_s,
                      "wall_vs_naive": e.wall_vs_naive, "peak_rss_mb": e.peak_rss_mb,
                      "missing": "; ".join(e.missing)} for e in entries]
        for t in b.tasks:
            rows += [{"level": "task", "suite": b.suite, "section": "task", "task": t.task,
                      "method": r.method, "method_version": r.versions,
                      "task_version": t.task_version, **_interval_cols("pgr", r.pgr),
                      **_interval_cols("accuracy", r.accuracy), "runs": len(r.replicates),
                      "failed": r.failed, "pgr_undefined": r.pgr_undefined,
                      "weak_accuracy_mean": t.weak_accuracy.mean if t.weak_accuracy else None,
                      "ceiling_accuracy_mean":
                          t.ceiling_accuracy.mean if t.ceiling_accuracy else None,
                      "train_flops_per_run": r.train_flops, "wall_s_per_run": r.wall_s}
                     for r in t.results]
    return pd.DataFrame(rows)


def render_csv(boards: list[SuiteBoard]) -> str:
    frame = csv_frame(boards)
    if "rank" in frame:
        frame["rank"] = frame["rank"].astype("Int64")
    return frame.to_csv(index=False, float_format="%.6g")


def _plain(value: Any) -> Any:
    """Dataclasses → dicts, tuples → lists (``dataclasses.asdict`` deep-copies: 5× slower)."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def render_json(boards: list[SuiteBoard], infos: dict[str, MethodInfo]) -> str:
    data = {"schema_version": SCHEMA_VERSION, "note": PGR_NOTE,
            "suites": [_plain(b) for b in boards],
            "methods": {name: info.model_dump(mode="json") for name, info in infos.items()}}
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"


def _latex_escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"),
                          ("$", r"\$"), ("#", r"\#"), ("_", r"\_"), ("{", r"\{"),
                          ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\^{}")):
        text = text.replace(char, escaped)
    return text


def render_latex(boards: list[SuiteBoard]) -> str:
    """One booktabs table per suite (needs ``\\usepackage{booktabs}``)."""
    out = ["% W2S-Bench leaderboard, generated by `w2s-bench leaderboard`; needs booktabs."]
    for b in boards:
        rows = [[e.rank_label, e.method, fmt(e.pgr, 2), fmt(e.accuracy, 3, ci=False),
                 fmt_ratio(e.flops_vs_naive).replace("×", "x")] for e in b.ranked]
        table = tabulate(rows, headers=["Rank", "Method", "PGR [95% CI]", "Accuracy",
                                        "FLOPs vs naive"],
                         tablefmt="latex_booktabs", disable_numparse=True)
        out += ["", r"\begin{table}[t]", r"\centering", table.replace("–", "--"),
                rf"\caption{{W2S-Bench suite \texttt{{{_latex_escape(b.suite)}}} "
                rf"({len(b.tasks)} tasks, fingerprint \texttt{{{b.fingerprint}}}): mean PGR "
                r"with 95\% bootstrap intervals over tasks $\times$ replicates; ranks "
                r"``1--k'' are tied with the leader.}",
                rf"\label{{tab:w2s-bench-{slug(b.suite)}}}", r"\end{table}"]
    return "\n".join(out) + "\n"
