"""Run records as flat rows, the leaderboard's only input.

Everything the site shows is computed from these rows (plus each record's method info), so
the leaderboard stays a pure function of the record files.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from benchmark.core.blocks import legacy_block
from benchmark.core.controls import Controls
from benchmark.core.kind_fields import further_metrics
from benchmark.core.metrics import small_auroc_gap, small_gap
from benchmark.results.records import Diagnostics, MethodInfo, RunRecord


class Row(NamedTuple):
    """The fields of one record the leaderboard uses (None where a failed run has none)."""

    suite: str
    task: str
    method: str
    replicate: int
    status: str
    method_version: str
    dataset: str
    task_version: int
    weak_labels_sha256: str
    weak_model: str
    strong_model: str
    strong_params: float | None
    accuracy: float | None
    pgr: float | None
    weak_accuracy: float | None
    ceiling_accuracy: float | None
    train_flops: float | None
    wall_s: float | None
    peak_rss_mb: float | None
    error: str
    sandbox: str = ""  # "none": the method ran unconfined (--trust-code); "" in old records
    diagnostics: Diagnostics | None = None  # None in records written before predictions
    weak_params: float | None = None  # None: tf-idf, or a record from before it was kept
    regime: str = ""                  # "" in records from before it was kept
    controls: Controls | None = None  # tasks frozen under the equal-gold protocol
    small_gap: bool = False   # gap under 2 standard errors: its PGR is left out (pgr None)
    n_gold: int | None = None  # the gold budget of supervisor and ceiling (equal-gold tasks)
    block: str = ""   # the split draw (benchmark.core.blocks): the unit of every test
    control: bool = False  # the method is a control (a reference point), never ranked
    pgr_auroc: float | None = None  # PGR on AUROC (None: older record, or a noise-sized gap)


RANK_BY = {"pgr": "accuracy-PGR", "pgr-auroc": "AUROC-PGR"}


def record_rows(records: Iterable[RunRecord], rank_by: str = "pgr") -> list[Row]:
    """One row per record, sorted by (suite, task, method, replicate). ``rank_by``
    ``pgr-auroc``: the rows' PGR is the AUROC-PGR, so every rank, interval and test of the
    board is on it (a record without one has no PGR there)."""
    if rank_by not in RANK_BY:
        raise ValueError(f"rank by {rank_by!r}: choose one of {', '.join(RANK_BY)}")
    rows = []
    for r in records:
        m, c, p = r.metrics, r.compute, r.provenance
        auroc_noise = m is not None and _small_auroc_gap(r)
        on_auroc = None if m is None or auroc_noise else m.pgr_auroc
        # the small-gap count follows the PGR the board ranks
        noise = m is not None and (auroc_noise if rank_by == "pgr-auroc" else _small_gap(r))
        headline = on_auroc if rank_by == "pgr-auroc" else (None if noise or not m else m.pgr)
        rows.append(Row(
            r.suite, r.task, r.method, r.replicate, r.status, p.method_version,
            p.dataset or r.task, p.task_version, p.weak_labels_sha256, p.weak_model,
            p.strong_model, c.strong_model_params if c else None,
            m.accuracy if m else None, headline,
            m.weak_accuracy if m else None, m.ceiling_accuracy if m else None,
            c.train_flops if c else None, c.wall_s if c else None,
            c.peak_rss_mb if c else None,
            f"{r.error.type}: {r.error.message}" if r.error else "", p.sandbox,
            r.diagnostics, c.weak_model_params if c else None, p.regime,
            m.controls if m else None, noise, m.n_gold if m else None,
            record_block(r), bool(r.method_info and r.method_info.control), on_auroc))
    return sorted(rows, key=lambda row: (row.suite, row.task, row.method, row.replicate))


def record_block(record: RunRecord) -> str:
    """The record's block: its split draw, or the coarse legacy block where it names none."""
    p = record.provenance
    return p.split_sha256 or legacy_block(p.dataset or record.task, record.replicate)


def _small_auroc_gap(record: RunRecord) -> bool:
    """The AUROC gap under two standard errors of an AUROC (Hanley-McNeil, classes taken
    as balanced over the test rows): as with accuracy, that replicate's ratio is noise."""
    m = record.metrics
    n = _n_test(record)
    if n is None or m.weak_auroc is None or m.ceiling_auroc is None:
        return False
    return small_auroc_gap(m.weak_auroc, m.ceiling_auroc, n)


def _n_test(record: RunRecord) -> int | None:
    """The test rows: recorded, or the predictions' rows where no shifted rows follow."""
    m = record.metrics
    n = m.n_test
    if n is None and record.predictions is not None \
            and all(getattr(m, name, None) is None for name in further_metrics()):
        n = record.predictions.shape[0]
    return n


def _small_gap(record: RunRecord) -> bool:
    """Whether the record's replicate has a gap under two standard errors of its test
    accuracy (n_test from the record, or from its predictions where no shifted rows follow)."""
    m, n = record.metrics, _n_test(record)
    return n is not None and small_gap(m.weak_accuracy, m.ceiling_accuracy, n)


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


def group_rows(rows: list[Row], *fields: str) -> dict[tuple, list[Row]]:
    """Rows by the values of ``fields``, keys in sorted order, rows in input order."""
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for row in rows:
        groups[tuple(getattr(row, f) for f in fields)].append(row)
    return {key: groups[key] for key in sorted(groups)}


def not_comparable(odd: list[Row], ref_versions: dict[str, int]) -> tuple[dict, ...]:
    """Records of a suite the board does not rank (another task version or weak-label file
    than the ranked one), one line per method, task and version."""
    out = []
    for (method, task, version), group in group_rows(odd, "method", "task", "task_version").items():
        ranked = ref_versions.get(task, version)
        out.append({"method": method, "task": task, "runs": len(group),
                    "replicates": sorted({r.replicate for r in group}),
                    "task_version": version, "ranked_task_version": ranked,
                    "reason": "older task version" if version != ranked
                    else "other weak labels"})
    return tuple(out)
