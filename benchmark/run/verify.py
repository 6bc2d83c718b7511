"""``w2s-bench verify submissions/NAME``: re-run a submission and check its records.

First the submission's code is scanned for imports of the harness's gold-label loaders and
the raw corpora (:mod:`benchmark.methods.codescan`); any is a failure. Then three checks per record,
reported by task and replicate:
1. **current** — measured against today's task definition, frozen weak labels, method version
   and configured options (else the record is stale, whatever its numbers);
2. **consistent** — its weak accuracy and ceiling are the frozen references, and its PGR is
   what those give for its accuracy (an edited number rarely survives this);
3. **rescored** — its stored predictions match the sha256 it records, and recomputing its
   metrics and diagnostics from them gives exactly what it says (:mod:`benchmark.run.rescore`);
4. **reproduced** — re-running the method from its code gives the same accuracy, AUROC and
   PGR: exactly when the record comes from the same machine type (CPU architecture and model,
   OS, torch and numpy versions), within ``tolerance`` otherwise.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.core.errors import SpecError, W2SBenchError
from benchmark.core.metrics import pgr
from benchmark.core.provenance import hardware, package_versions
from benchmark.labels.cached import missing_replicates
from benchmark.labels.frozen import load_references
from benchmark.methods.catalog import METHODS, method_config
from benchmark.methods.codescan import Flag, scan_submission
from benchmark.methods.submissions import SubmissionMeta, load_submission_meta
from benchmark.results.records import (
    RunRecord,
    iter_records,
    record_path,
    submission_results_dir,
)
from benchmark.run.harness import Harness
from benchmark.run.rescore import Rescorer, predates_upgrade
from benchmark.run.spec import RunSpec
from benchmark.run.state import expected_provenance
from benchmark.tasks.spec import TASKS

DEFAULT_TOLERANCE = 0.01  # absolute, on accuracy, AUROC and PGR across machine types
SAME_MACHINE_KEYS = ("machine", "cpu_model", "system")
SAME_PACKAGE_KEYS = ("torch", "numpy")


@dataclass(frozen=True)
class Finding:
    suite: str
    task: str
    replicate: int
    check: str       # current | consistent | rescored | reproduced
    detail: str


@dataclass
class Report:
    method: str
    source: Path
    records: int = 0
    exact: bool = True
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    code_flags: list[Flag] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings and not self.code_flags


def same_machine_type(record: RunRecord) -> bool:
    here, there = hardware(), record.provenance.hardware
    packages, theirs = package_versions(), record.provenance.packages
    return (all(here.get(k) == there.get(k) for k in SAME_MACHINE_KEYS)
            and all(packages.get(k) == theirs.get(k) for k in SAME_PACKAGE_KEYS))


def _current(record: RunRecord) -> list[str]:
    expected = expected_provenance(TASKS.get(record.task), record.method, record.replicate)
    p = record.provenance
    return [f"{key} is {getattr(p, key)!r}, now {value!r}" for key, value in expected.items()
            if getattr(p, key) != value]


def _consistent(record: RunRecord) -> list[str]:
    if record.status != "ok" or record.metrics is None:
        return [f"the record is a failed run ({record.error.type if record.error else '?'})"]
    m = record.metrics
    ref = load_references(TASKS.get(record.task)).replicates[record.replicate]
    problems = []
    if (m.weak_accuracy, m.ceiling_accuracy) != (ref.weak_accuracy, ref.ceiling_accuracy):
        problems.append(f"weak/ceiling {m.weak_accuracy}/{m.ceiling_accuracy} are not the frozen "
                        f"references {ref.weak_accuracy}/{ref.ceiling_accuracy}")
    implied = pgr(m.accuracy, ref.weak_accuracy, ref.ceiling_accuracy).value
    if (implied is None) != (m.pgr is None) or (
            implied is not None and abs(implied - m.pgr) > 1e-9):
        problems.append(f"pgr {m.pgr} does not follow from accuracy {m.accuracy} (→ {implied})")
    return problems


def _rescored(rescorer: Rescorer, source: Path, record: RunRecord) -> list[str]:
    if record.status != "ok":
        return []
    try:
        found = rescorer.differences(record_path(source, record.suite, record.task,
                                                 record.method, record.replicate), record,
                                     strict=True)
    except W2SBenchError as exc:  # no predictions, a tampered file, other frozen files
        return [str(exc)]
    if found and predates_upgrade(record):
        found.append("it predates AUROC-PGR and CAPA: add them with `w2s-bench rescore "
                     "--upgrade --results-dir FOLDER` (or re-run it)")
    return found


def _reproduced(record: RunRecord, rerun: RunRecord, tolerance: float) -> list[str]:
    if rerun.status != "ok":
        return [f"the re-run failed: {rerun.error.type}: {rerun.error.message}"]
    exact = same_machine_type(record)
    out = []
    for name in ("accuracy", "auroc", "pgr"):
        a, b = getattr(record.metrics, name), getattr(rerun.metrics, name)
        if a is None or b is None:
            if a != b:
                out.append(f"{name}: recorded {a}, re-run {b}")
        elif (a != b) if exact else abs(a - b) > tolerance:
            out.append(f"{name}: recorded {a:.6f}, re-run {b:.6f}"
                       + ("" if exact else f" (|Δ| > {tolerance})"))
    return out


def verify_submission(meta: SubmissionMeta, records: list[RunRecord], source: Path,
                      tolerance: float = DEFAULT_TOLERANCE, workers: int = 1,
                      folder: Path | None = None, trust_code: bool | None = None) -> Report:
    report = Report(meta.name, source, records=len(records))
    if folder is not None:
        report.code_flags = scan_submission(folder)
    report.exact = all(same_machine_type(r) for r in records)
    if any("TODO" in text for text in (meta.description, *meta.authors)):
        report.warnings.append("submission.yaml still has TODO placeholders (authors or "
                               "description); fill them in before submitting")
    rerunnable = []
    rescorer = Rescorer()
    for r in records:
        for check, problems in (("current", _current(r)), ("consistent", _consistent(r)),
                                ("rescored", _rescored(rescorer, source, r))):
            report.findings += [Finding(r.suite, r.task, r.replicate, check, p) for p in problems]
        if r.status == "ok":
            rerunnable.append(r)
    specs = {r.task: TASKS.get(r.task) for r in rerunnable}
    for task, spec in specs.items():   # the freeze stage's part, as `run` does before a sweep
        missing = missing_replicates(spec, sorted({r.replicate for r in rerunnable
                                                   if r.task == task}))
        if missing:
            from benchmark.labels.freeze import rebuild_missing

            rebuild_missing(spec, missing, progress=False)
    with tempfile.TemporaryDirectory(prefix="w2s-verify-") as tmp:
        Harness(Path(tmp), workers=workers, resume=False, progress=False,
                trust_code=trust_code).run(
            [RunSpec(r.suite, r.task, r.method, r.replicate) for r in rerunnable], specs)
        fresh = {(x.suite, x.task, x.replicate): x for x in iter_records(Path(tmp))}
    for r in rerunnable:
        for problem in _reproduced(r, fresh[(r.suite, r.task, r.replicate)], tolerance):
            report.findings.append(Finding(r.suite, r.task, r.replicate, "reproduced", problem))
    return report


def load_for_verify(folder: Path, results_dir: Path | None) -> tuple[SubmissionMeta,
                                                                     list[RunRecord], Path]:
    """The submission's metadata and the records to check (committed ones first)."""
    meta = load_submission_meta(folder)
    METHODS.get(meta.name)
    method_config(meta.name)  # a broken plugin says why, here
    committed = submission_results_dir(meta.name)
    source = results_dir or (committed if committed.is_dir() else None)
    if source is None:
        from benchmark.core.paths import default_results_dir

        source = default_results_dir()
    records = [r for r in iter_records(source) if r.method == meta.name] if source.is_dir() else []
    if not records:
        raise SpecError(f"no records of {meta.name!r} in {source}; produce them with "
                        f"`w2s-bench run --methods {meta.name} --results-dir {committed}`")
    return meta, records, source
