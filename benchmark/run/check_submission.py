"""``w2s-bench check-submission submissions/NAME``: everything a reviewer runs on a submission,
in one command with one exit code and a Markdown report (what CI attaches to a pull request).

Checks, in order; each failure says what is wrong and how to fix it:
1. **card** — ``submission.yaml`` passes the strict schema, ``uses`` included (transductive
   use of test inputs, extra data, extra models, gold for tuning, compute budget), with no
   TODO left in it;
2. **code** — the scan finds no import of a gold-label loader or raw corpus, and no task's
   secret string;
3. **plugin** — the sandbox's examination registers the method under its name and version;
4. **records** — committed records exist under ``submissions/NAME/results/``;
5. **comparable** — each record was measured on today's task definition and frozen weak
   labels (sha256), with the method's current version and options: what the board ranks;
6. **consistent**, **rescored**, **reproduced** — :mod:`benchmark.run.verify`: every record
   re-runs in the sandbox and matches, exactly on the same machine type, within the stated
   tolerance otherwise;
7. **flags** — the method is not flagged in ``submissions/flags.yaml``.
A check that cannot run because an earlier one failed is reported as skipped, never passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchmark.core.errors import W2SBenchError
from benchmark.core.flags import FLAGS_FILE, read_flags
from benchmark.core.suite_names import is_heldout
from benchmark.methods.codescan import scan_submission
from benchmark.methods.submissions import METADATA_FILE, SubmissionMeta, load_submission_meta
from benchmark.results.records import RunRecord, iter_records, submission_results_dir
from benchmark.run.verify import DEFAULT_TOLERANCE, verify_submission

PASS, FAIL, SKIP = "pass", "FAIL", "skipped"
VERIFY_CHECKS = {"current": "comparable", "consistent": "consistent", "rescored": "rescored",
                 "reproduced": "reproduced"}
SHOWN = 20   # problems listed per check (the count says how many more)


@dataclass
class Check:
    name: str
    status: str = PASS
    problems: list[str] = field(default_factory=list)
    fix: str = ""
    note: str = ""

    def fail(self, problem: str, fix: str = "") -> None:
        self.status = FAIL
        self.problems.append(problem)
        self.fix = self.fix or fix


@dataclass
class SubmissionReport:
    name: str
    checks: list[Check]
    sandbox: str

    @property
    def ok(self) -> bool:
        return all(c.status == PASS for c in self.checks)

    def markdown(self) -> str:
        verdict = "passes" if self.ok else "does not pass"
        lines = [f"# Submission check: `{self.name}`", "",
                 f"**The submission {verdict}** ({sum(c.status == PASS for c in self.checks)} "
                 f"of {len(self.checks)} checks passed; re-runs: {self.sandbox}).", "",
                 "| check | result | note |", "|---|---|---|"]
        lines += [f"| {c.name} | {c.status} | "
                  + " ".join((c.note or (c.problems[0] if c.problems else "")).split())[:400]
                  + " |" for c in self.checks]
        for c in self.checks:
            if c.status != FAIL:
                continue
            lines += ["", f"## {c.name}: what is wrong", ""]
            # one line each: a problem quotes records, and must not start a line of its own
            lines += [f"- {' '.join(p.split())}" for p in c.problems[:SHOWN]]
            if len(c.problems) > SHOWN:
                lines.append(f"- … and {len(c.problems) - SHOWN} more")
            if c.fix:
                lines += ["", f"**Fix:** {c.fix}"]
        return "\n".join(lines) + "\n"


def _card(folder: Path) -> tuple[Check, SubmissionMeta | None]:
    check = Check("card")
    try:
        meta = load_submission_meta(folder)
    except W2SBenchError as exc:
        check.fail(str(exc), f"complete {folder / METADATA_FILE}; `w2s-bench new-method NAME` "
                   "writes a template with every key, and docs/submit-a-method.md says what "
                   "each means")
        return check, None
    # the raw text, comments included: the scaffold's answers are valid defaults, each with a
    # TODO beside it, so an unreviewed `uses` cannot pass by omission
    todo = [n for n, line in enumerate((folder / METADATA_FILE).read_text(
        encoding="utf-8").splitlines(), start=1) if "TODO" in line]
    if todo:
        check.fail(f"{METADATA_FILE} still has TODO on line(s) {', '.join(map(str, todo))}",
                   "answer each line (authors, description, every `uses` key) and delete "
                   "its TODO")
    check.note = "uses: " + (", ".join(meta.uses.marks()) or "nothing beyond the weak labels")
    return check, meta


def _code(folder: Path) -> Check:
    check = Check("code scan")
    for flag in scan_submission(folder):
        check.fail(str(flag), "a method may use only its MethodInput (`benchmark.api`); remove "
                   "the import or string the scan names")
    return check


def _plugin(name: str) -> Check:
    from benchmark.methods.catalog import METHODS, method_config

    check = Check("plugin")
    try:
        METHODS.get(name)
        method_config(name)
    except W2SBenchError as exc:
        check.fail(str(exc), f"run `w2s-bench list methods` and fix what it says of {name}")
    return check


def _records(name: str, meta: SubmissionMeta | None) -> tuple[Check, list[RunRecord]]:
    """The committed records: present, every draw of every task of each suite they claim
    (a left-out replicate would be a chosen one), of no held-out suite, and saying what the
    card says the method uses (the board's marks come from the records)."""
    check = Check("records")
    folder = submission_results_dir(name)
    fix = (f"score it into its folder: `w2s-bench run --methods {name} --no-resume "
           f"--results-dir submissions/{name}/results`, and commit the records")
    try:
        records = [r for r in iter_records(folder) if r.method == name] \
            if folder.is_dir() else []
    except W2SBenchError as exc:
        check.fail(str(exc), fix)
        return check, []
    if not records:
        check.fail(f"no records of {name!r} under {folder}", fix)
        return check, records
    for r in records:
        if is_heldout(r.suite):
            check.fail(f"{r.suite}/{r.task} replicate {r.replicate}: a held-out suite's "
                       "record; only a maintainer makes those", "delete it")
        elif meta is not None and (r.method_info is None or r.method_info.uses != meta.uses):
            check.fail(f"{r.suite}/{r.task} replicate {r.replicate}: its `uses` is not "
                       f"{METADATA_FILE}'s", fix)
    for suite in sorted({r.suite for r in records}):
        claimed = {r.task for r in records if r.suite == suite}
        for task, draws in _expected(name, suite, claimed):
            have = {r.replicate for r in records if r.suite == suite and r.task == task}
            missing = [k for k in range(draws) if k not in have]
            if missing:
                check.fail(f"{suite}/{task}: no record of replicate(s) "
                           f"{', '.join(map(str, missing[:10]))}"
                           + (" …" if len(missing) > 10 else ""), fix)
    if check.status == PASS:
        suites = sorted({r.suite for r in records})
        check.note = f"{len(records)} record(s), every draw of suite(s) {', '.join(suites)}"
    return check, records


def _expected(name: str, suite: str, claimed: set[str]) -> list[tuple[str, int]]:
    """(task, draws) the method's records of ``suite`` must cover: every task of a declared
    suite the method can run (or, for a suite of ad-hoc tasks, every task it claims), each
    with every draw the suite runs."""
    from benchmark.methods.applicable import skip_reason
    from benchmark.methods.catalog import METHODS
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.suites import SUITES, suite_replicates

    tasks = SUITES.get(suite).tasks if suite in SUITES.names() else sorted(claimed)
    method = METHODS.get(name)
    out = []
    for task in tasks:
        if task not in TASKS.names():
            continue   # a task gone from the repository: the comparable check says so
        spec = TASKS.get(task)
        if skip_reason(method, spec) is None:
            out.append((task, suite_replicates(suite, spec)))
    return out


def _flags(name: str) -> Check:
    check = Check("flags")
    flag = read_flags().get(name)
    if flag is not None:
        check.fail(f"{name} is flagged in submissions/{FLAGS_FILE} since {flag.since}: "
                   f"{flag.reason}" + (f" ({flag.link})" if flag.link else ""),
                   "resolve the issue the flag links to; a maintainer removes the flag")
    return check


def _verified(meta: SubmissionMeta, records: list[RunRecord], folder: Path,
              tolerance: float, workers: int, trust_code: bool | None) -> list[Check]:
    checks = {key: Check(name) for key, name in VERIFY_CHECKS.items()}
    try:
        report = verify_submission(meta, records, submission_results_dir(meta.name),
                                   tolerance=tolerance, workers=workers, folder=folder,
                                   trust_code=trust_code)
    except W2SBenchError as exc:   # the re-run could not start here (assets, a task gone)
        checks["reproduced"].fail(f"the records could not be re-run here: {exc}",
                                  "run `w2s-bench fetch` first; a record of a task this "
                                  "repository no longer has must be re-scored on its suites")
        return [*(Check(n, SKIP, note="the records could not be re-run")
                  for k, n in VERIFY_CHECKS.items() if k != "reproduced"),
                checks["reproduced"]]
    fixes = {
        "current": f"the record predates the task, weak labels, method version or options "
                   f"now in the repository: re-run `w2s-bench run --methods {meta.name} "
                   f"--results-dir submissions/{meta.name}/results` and commit the records",
        "consistent": "a record's numbers do not follow from the frozen references: "
                      "regenerate it with `w2s-bench run`; never edit a record",
        "rescored": "its predictions file is missing or does not give its numbers: "
                    "regenerate the record with `w2s-bench run` and commit both files",
        "reproduced": "re-running the code does not give the recorded numbers: make the "
                      "method deterministic for its seed (seed every generator from "
                      "inp.seed) and regenerate the records"}
    for finding in report.findings:
        checks[finding.check].fail(f"{finding.suite}/{finding.task} replicate "
                                   f"{finding.replicate}: {finding.detail}",
                                   fixes[finding.check])
    rule = "exact (same machine type)" if report.exact else f"within ±{tolerance}"
    checks["reproduced"].note = f"{len(records)} re-run(s), match {rule}"
    return list(checks.values())


def check_submission(folder: Path, tolerance: float = DEFAULT_TOLERANCE, workers: int = 1,
                     trust_code: bool | None = None) -> SubmissionReport:
    """Every check above on the submission in ``folder``."""
    from benchmark.core.bwrap import NONE, sandbox_kind

    sandbox = "in the bwrap sandbox" if sandbox_kind() != NONE else \
        "WITHOUT a sandbox (trusted with --trust-code)" if trust_code else \
        "not possible here: no sandbox"
    card, meta = _card(folder)
    checks = [card, _code(folder)]
    name = folder.name
    plugin = _plugin(name) if meta is not None else Check("plugin", SKIP, note="no valid card")
    records_check, records = _records(name, meta)
    checks += [plugin, records_check]
    if meta is None or plugin.status != PASS or not records:
        checks += [Check(n, SKIP, note="needs a valid card, plugin and records")
                   for n in VERIFY_CHECKS.values()]
    elif sandbox_kind() == NONE and not trust_code:
        checks += [Check(n, FAIL, problems=["no sandbox can be made on this machine"],
                         fix="run it where bwrap works (Linux with user namespaces), as CI "
                             "does; --trust-code runs the code with your permissions")
                   for n in VERIFY_CHECKS.values()]
    else:
        checks += _verified(meta, records, folder, tolerance, workers, trust_code)
    checks.append(_flags(name))
    return SubmissionReport(name, checks, sandbox)
