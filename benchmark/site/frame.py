"""Run records as one flat table, the leaderboard's only input.

Everything the site shows is computed from this frame (plus each record's method info), so
the leaderboard stays a pure function of the record files.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from benchmark.records import MethodInfo, RunRecord

COLUMNS = ("suite", "task", "method", "replicate", "seed", "status", "method_version",
           "dataset", "task_version", "weak_labels_sha256", "weak_model", "strong_model",
           "strong_params", "accuracy", "pgr", "pgr_note", "weak_accuracy", "ceiling_accuracy",
           "train_flops", "wall_s", "peak_rss_mb", "error")


def records_frame(records: Iterable[RunRecord]) -> pd.DataFrame:
    """One row per record, sorted by (suite, task, method, replicate)."""
    rows = []
    for r in records:
        m, c, p = r.metrics, r.compute, r.provenance
        rows.append((
            r.suite, r.task, r.method, r.replicate, r.seed, r.status, p.method_version,
            p.dataset or r.task, p.task_version, p.weak_labels_sha256, p.weak_model,
            p.strong_model, c.strong_model_params if c else None,
            m.accuracy if m else None, m.pgr if m else None, m.pgr_note if m else "",
            m.weak_accuracy if m else None, m.ceiling_accuracy if m else None,
            c.train_flops if c else None, c.wall_s if c else None,
            c.peak_rss_mb if c else None,
            f"{r.error.type}: {r.error.message}" if r.error else ""))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    numeric = ["strong_params", "accuracy", "pgr", "weak_accuracy", "ceiling_accuracy",
               "train_flops", "wall_s", "peak_rss_mb"]
    frame[numeric] = frame[numeric].astype(float)
    return frame.sort_values(["suite", "task", "method", "replicate"], kind="stable",
                             ignore_index=True)


def method_infos(records: Iterable[RunRecord]) -> dict[str, MethodInfo]:
    """Each method's info from its newest-version record (the name's latest description)."""
    best: dict[str, tuple[str, MethodInfo]] = {}
    for r in records:
        if r.method_info is None:
            continue
        version = r.provenance.method_version
        if r.method not in best or _version_key(version) > _version_key(best[r.method][0]):
            best[r.method] = (version, r.method_info)
    return {name: info for name, (_, info) in sorted(best.items())}


def _version_key(version: str) -> tuple:
    """Order versions numerically where they are numbers ("10" after "9"), else as text."""
    parts = version.replace("-", ".").split(".")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)
