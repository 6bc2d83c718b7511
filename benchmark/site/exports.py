"""Machine- and paper-readable exports of the standings: markdown, CSV, JSON and LaTeX.

All four carry the same numbers as the HTML pages and nothing that changes between builds
of the same records (no timestamps, no commit), so they can be diffed and committed. The
CSV holds one row per suite entry (level ``suite``), per task result (``task``) and per
paired comparison (``pair``), with the diagnostics as columns; the JSON holds the boards
whole (comparisons, diagnostics and per-run misfit/gain included).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from tabulate import tabulate

from benchmark.core.metrics import Interval
from benchmark.results.records import MethodInfo
from benchmark.site.diagnosis import REGIONS, SCALARS, DiagnosticSummary
from benchmark.site.inference import INTERVAL_NOTE, family_text, rank_rows
from benchmark.site.links import slug
from benchmark.site.protocol_tables import protocol_markdown
from benchmark.site.regimes import regime_agreement
from benchmark.site.standings import Entry, SuiteBoard

SCHEMA_VERSION = 1
PGR_NOTE = ("PGR = (student accuracy − weak accuracy) / (ceiling − weak accuracy): 0 means "
            "the student only matched its weak supervisor, 1 means it recovered the whole gap "
            "to a student trained on gold labels. " + INTERVAL_NOTE + " Ranks come from paired "
            "sign-flip tests over the blocks (split draws) two entries share, Holm-corrected "
            "over all pairs: a range \"2–4\" means the tests place the entry no higher than 2nd "
            "and no lower than 4th. Rows ranked \"control\" are reference points (a label-free "
            "search, the known test prior, prompting): shown where they score, never ranked "
            "nor tested, and never the leader.")


def fmt(interval: Interval | None, digits: int = 3, ci: bool = True) -> str:
    if interval is None:
        return "n/a"
    text = f"{interval.mean:.{digits}f}"
    if ci and interval.high > interval.low:
        text += f" [{interval.low:.{digits}f}, {interval.high:.{digits}f}]"
        text += "†" if interval.clipped else ""
    return text


def fmt_p(value: float | None) -> str:
    """A p-value as the tables print it."""
    return "n/a" if value is None else f"{value:.3g}"


def mean_of(values: Any) -> float | None:
    """The mean of the values present (None: none is)."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def markdown_table(rows: list[list[str]], headers: list[str]) -> list[str]:
    """A GitHub-markdown table and the blank line after it (cells already formatted)."""
    return [tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


def fmt_sci(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2e}"


def fmt_number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _entry_row(e: Entry) -> list[Any]:
    return [e.rank_label, e.method + (UNSANDBOXED if e.unsandboxed else ""), e.versions,
            fmt(e.pgr), fmt_number(e.pgr_median, 3), fmt_number(e.pgr_of_means, 3),
            fmt_number(e.above_floor, 3), fmt(e.accuracy),
            f"{e.tasks_covered}/{e.tasks_total}", e.runs, e.failed,
            f"{fmt_sci(e.train_flops)} ({fmt_ratio(e.flops_vs_naive)})",
            f"{fmt_number(e.wall_s, 2)} ({fmt_ratio(e.wall_vs_naive)})",
            fmt_number(e.peak_rss_mb, 0)]


UNSANDBOXED = " (no sandbox)"  # some of its runs ran as trusted code, outside the sandbox
ENTRY_HEADERS = ["rank", "method", "version", "mean PGR [95% CI]", "median PGR", "PGR of means",
                 "above floor", "mean accuracy [95% CI]",
                 "tasks", "runs", "failed", "train FLOPs/run (vs naive)",
                 "wall s/run (vs naive)", "peak MB"]


DIAGNOSTIC_COLUMNS = ("agreement", "fixed", "copied", "kept", "misfit", "gain", "misfit_kl",
                      "gain_kl", "deception_error")
DIAGNOSTIC_HEADERS = ["agreement", "fixes weak errors", "copies weak errors",
                      "keeps weak right", "misfit", "gain", "misfit (KL)", "gain (KL)",
                      "unchecked error (SK∩WU)"]


def render_markdown(boards: list[SuiteBoard], benchmark: str = "") -> str:
    out = ["# W2S-Bench leaderboard", "", f"Benchmark version {benchmark}.", "", PGR_NOTE, ""]
    agreements = {a.finetune_suite: a for a in regime_agreement(boards)}
    for b in boards:
        out += [f"## Suite `{b.suite}` (tasks @ `{b.fingerprint}`, {b.records} records)", "",
                f"Regime: {', '.join(b.regimes) or 'not recorded'}.", ""]
        out += [tabulate([_entry_row(e) for e in b.ranked], headers=ENTRY_HEADERS,
                         tablefmt="github", disable_numparse=True), ""]
        out += protocol_markdown(b)
        if b.suite in agreements:
            a = agreements[b.suite]
            out += [f"Agreement with the probe board `{a.probe_suite}`: Spearman ρ = "
                    f"{a.spearman:.2f} [{a.low:.2f}, {a.high:.2f}] over {len(a.methods)} "
                    f"methods, on the task pairs both suites hold ({', '.join(a.tasks)}); "
                    f"95% bootstrap over each suite's replicates of those tasks, {a.draws} "
                    f"draws ({a.undefined} undefined).", ""]
        words = family_text(b)
        if words is not None:
            out += [words.test, "", words.reach, "", words.stability, ""]
            out += [f"### Ranks over block resamples (`{b.suite}`)", ""]
            out += markdown_table(rank_rows(b), ["method", "rank", "share of resamples at it",
                                                 "95% range"])
        diagnosed = [e for e in (*b.ranked, *b.incomplete) if e.diagnostics]
        if diagnosed:
            out += [f"### Diagnostics (`{b.suite}`, mean over tasks)", ""]
            out += [tabulate([[e.method, *(fmt_number(e.diagnostics.means[n], 3)
                                           for n in DIAGNOSTIC_COLUMNS)] for e in diagnosed],
                             headers=["method", *DIAGNOSTIC_HEADERS], tablefmt="github",
                             disable_numparse=True), ""]
        if b.incomplete:
            out += ["### Incomplete (not ranked: missing tasks)", ""]
            out += [tabulate([[e.method, e.versions, fmt(e.pgr),
                               f"{e.tasks_covered}/{e.tasks_total}", "; ".join(e.missing)]
                              for e in b.incomplete],
                             headers=["method", "version", "PGR over covered tasks", "tasks",
                                      "missing"], tablefmt="github", disable_numparse=True),
                    ""]
        if b.not_comparable:
            out += ["### Not comparable (other task version or weak labels, a task the suite "
                    "no longer lists, or a draw past those it ranks)", ""]
            out += [tabulate([[n["method"], n["task"], n["runs"], f"v{n['task_version']}",
                               "—" if n["ranked_task_version"] is None
                               else f"v{n['ranked_task_version']}", n["reason"]]
                              for n in b.not_comparable],
                             headers=["method", "task", "runs", "measured on", "ranked on",
                                      "why"], tablefmt="github", disable_numparse=True), ""]
        out += [f"### Per task (`{b.suite}`)", ""]
        rows = [[t.task, f"{t.weak_model} → {t.strong_model}", fmt(t.weak_accuracy, ci=False),
                 fmt(t.ceiling_accuracy, ci=False), r.method, fmt(r.accuracy),
                 fmt(r.pgr) + (f" ({r.pgr_undefined} undefined)" if r.pgr_undefined else "")
                 + (f" ({r.small_gaps} small gap)" if r.small_gaps else ""),
                 fmt_number(r.pgr_median, 3), fmt_number(r.pgr_of_means, 3),
                 len(r.replicates)]
                for t in b.tasks for r in t.results]
        out += [tabulate(rows, headers=["task", "weak → strong", "weak acc", "ceiling",
                                        "method", "accuracy [95% CI]", "PGR [95% CI]",
                                        "median PGR", "PGR of means", "replicates"],
                         tablefmt="github",
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


def _diagnostic_cols(d: DiagnosticSummary | None) -> dict[str, float | None]:
    """The diagnostics as flat columns (empty where the runs stored no predictions)."""
    out: dict[str, float | None] = {f"diag_{n}": d.means[n] if d else None for n in SCALARS}
    for region in REGIONS:
        share, accuracy = d.regions[region] if d and d.regions else (None, None)
        out[f"region_{region}_share"] = share
        out[f"region_{region}_student_accuracy"] = accuracy
    return out


def csv_frame(boards: list[SuiteBoard]) -> pd.DataFrame:
    """One row per suite entry (``suite``), task result (``task``) and comparison (``pair``)."""
    rows = []
    for b in boards:
        for section, entries in (("ranked", b.ranked), ("incomplete", b.incomplete)):
            rows += [{"level": "suite", "suite": b.suite, "section": section,
                      "rank": e.position or None, "rank_label": e.rank_label,
                      "tied_with_leader": e.tied_with_leader, "task": "(all tasks)",
                      "method": e.method, "method_version": e.versions,
                      **_interval_cols("pgr", e.pgr), **_interval_cols("accuracy", e.accuracy),
                      **_interval_cols("pgr_auroc", e.pgr_auroc),
                      "tasks_covered": e.tasks_covered, "tasks_total": e.tasks_total,
                      "runs": e.runs, "failed": e.failed, "train_flops_per_run": e.train_flops,
                      "flops_vs_naive": e.flops_vs_naive, "wall_s_per_run": e.wall_s,
                      "wall_vs_naive": e.wall_vs_naive, "peak_rss_mb": e.peak_rss_mb,
                      "missing": "; ".join(e.missing), "pgr_median": e.pgr_median,
                      "pgr_of_means": e.pgr_of_means, "above_floor": e.above_floor,
                      **_diagnostic_cols(e.diagnostics)}
                     for e in entries]
        for t in b.tasks:
            rows += [{"level": "task", "suite": b.suite, "section": "task", "task": t.task,
                      "method": r.method, "method_version": r.versions,
                      "task_version": t.task_version, **_interval_cols("pgr", r.pgr),
                      **_interval_cols("accuracy", r.accuracy), "runs": len(r.replicates),
                      "failed": r.failed, "pgr_undefined": r.pgr_undefined,
                      "pgr_small_gap": r.small_gaps, "pgr_median": r.pgr_median,
                      "pgr_of_means": r.pgr_of_means,
                      "weak_accuracy_mean": t.weak_accuracy.mean if t.weak_accuracy else None,
                      "ceiling_accuracy_mean":
                          t.ceiling_accuracy.mean if t.ceiling_accuracy else None,
                      "train_flops_per_run": r.train_flops, "wall_s_per_run": r.wall_s,
                      **_diagnostic_cols(r.diagnostics)}
                     for r in t.results]
        rows += [{"level": "pair", "suite": b.suite, "section": "comparison",
                  "task": "(all tasks)", "method": c.better, "versus": c.worse,
                  "difference": c.difference, "p_value": c.p_value, "p_holm": c.p_holm,
                  "significant": c.significant, "units": c.units, "difference_se": c.se}
                 for c in b.comparisons]
    return pd.DataFrame(rows)


def render_csv(boards: list[SuiteBoard], benchmark: str = "") -> str:
    frame = csv_frame(boards)
    frame.insert(0, "benchmark_version", benchmark)
    if "rank" in frame:
        frame["rank"] = frame["rank"].astype("Int64")
    return frame.to_csv(index=False, float_format="%.6g")


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass as a dict of its fields (for the encoder; nested values stay as they are)."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: getattr(value, name) for name in value.__dataclass_fields__}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=False, ensure_ascii=False,
                      default=_fields)


def _layout(value: Any, depth: int, indent: str = "") -> str:
    """JSON with the outer ``depth`` levels one item per line and everything below compact.

    One line per entry, task and comparison keeps a diff of two builds readable, and the
    compact leaves go through the C encoder: fully indented output is pure-Python encoding,
    several times slower on a large board.
    """
    if hasattr(value, "__dataclass_fields__"):
        value = _fields(value)
    if depth == 0 or not isinstance(value, dict | list | tuple) or not value:
        return _compact(value)
    inner = indent + " "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(key, ensure_ascii=False)}: "
                 f"{_layout(value[key], depth - 1, inner)}" for key in sorted(value)]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return ("[\n" + ",\n".join(inner + _layout(v, depth - 1, inner) for v in value) + "\n"
            + indent + "]")


def render_json(boards: list[SuiteBoard], infos: dict[str, MethodInfo],
                benchmark: str = "") -> str:
    data = {"schema_version": SCHEMA_VERSION, "benchmark_version": benchmark,
            "note": PGR_NOTE, "suites": boards,
            "methods": {name: info.model_dump(mode="json") for name, info in infos.items()}}
    return _layout(data, depth=4) + "\n"


def _latex_escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"),
                          ("$", r"\$"), ("#", r"\#"), ("_", r"\_"), ("{", r"\{"),
                          ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\^{}")):
        text = text.replace(char, escaped)
    return text


def render_latex(boards: list[SuiteBoard], benchmark: str = "") -> str:
    """One booktabs table per suite (needs ``\\usepackage{booktabs}``)."""
    out = ["% W2S-Bench leaderboard, generated by `w2s-bench leaderboard`; needs booktabs.",
           f"% Benchmark version {benchmark}."]
    for b in boards:
        diagnosed = any(e.diagnostics for e in b.ranked)
        rows = [[e.rank_label, e.method, fmt(e.pgr, 2),
                 fmt(e.accuracy, 3, ci=False), fmt_ratio(e.flops_vs_naive).replace("×", "x"),
                 *((fmt_number(e.diagnostics.agreement if e.diagnostics else None, 2),
                    fmt_number(e.diagnostics.fixed if e.diagnostics else None, 2))
                   if diagnosed else ())] for e in b.ranked]
        headers = ["Rank", "Method", "PGR [95% CI]", "Accuracy", "FLOPs vs naive",
                   *(("Agree.", "Fixed") if diagnosed else ())]
        table = tabulate(rows, headers=headers, tablefmt="latex_booktabs",
                         disable_numparse=True)
        out += ["", r"\begin{table}[t]", r"\centering", table.replace("–", "--"),
                rf"\caption{{W2S-Bench suite \texttt{{{_latex_escape(b.suite)}}} "
                rf"({len(b.tasks)} tasks, fingerprint \texttt{{{b.fingerprint}}}): mean PGR "
                r"with 95\% bootstrap intervals over split draws (blocks, tasks fixed); ranks "
                r"from paired sign-flip tests over shared blocks, Holm-corrected over all "
                r"pairs ($\alpha = 0.05$)"
                + (r"; Agree.: share of test predictions equal to the weak supervisor's, "
                   r"Fixed: share of its mistakes the student gets right (mean over tasks)"
                   if diagnosed else "") + ".}",
                rf"\label{{tab:w2s-bench-{slug(b.suite)}}}", r"\end{table}"]
    return "\n".join(out) + "\n"
