"""CLI verbs for the submit-a-method flow: ``new-method``, ``compare``, ``verify``,
``check-submission`` (every check a reviewer runs, as CI runs it on a pull request), and
``rescore`` (recompute every record from its stored predictions)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli.common import csv_list
from benchmark.core.metrics import REFERENCE_METHOD


def cmd_new_method(args: argparse.Namespace) -> int:
    from benchmark.methods.scaffold import new_method

    folder = new_method(args.name)
    print(f"created {folder}/ (method.py, submission.yaml): a copy of `naive` with TODOs.\n"
          f"next: edit the loss in {folder / 'method.py'}, then\n"
          f"  w2s-bench run --methods {args.name}\n"
          f"  w2s-bench compare {args.name} --against naive,logconf")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from benchmark.cli.common import declared_replicates, declared_suites
    from benchmark.core.paths import default_results_dir
    from benchmark.methods.catalog import METHODS
    from benchmark.results.records import collect_records
    from benchmark.site.compare import paired_rows, render

    for name in [args.method, *args.against]:
        METHODS.get(name)
    results = Path(args.results_dir) if args.results_dir else default_results_dir()
    rows = paired_rows(collect_records(results), args.method, args.against, args.suite,
                       suite_tasks=declared_suites(),
                       suite_replicates=declared_replicates())
    print(render(rows, args.method))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from benchmark.methods.submissions import submission_folder
    from benchmark.run.verify import load_for_verify, verify_submission

    folder = submission_folder(args.submission)
    meta, records, source = load_for_verify(
        folder, Path(args.results_dir) if args.results_dir else None)
    from benchmark.core.bwrap import NONE, bwrap_works, sandbox_kind

    sandbox = sandbox_kind()
    print(f"verifying {meta.name} v{meta.version}: {len(records)} record(s) from {source}; "
          "re-running each from the submission's code "
          + ("in the bwrap sandbox …" if sandbox != NONE else
             f"WITHOUT a sandbox ({bwrap_works() or 'switched off'}): a submission's code "
             "runs only with --trust-code, and then with your permissions …"))
    report = verify_submission(meta, records, source, tolerance=args.tolerance,
                               workers=args.workers, folder=folder,
                               trust_code=args.trust_code or None)
    rule = ("exact match (same machine type)" if report.exact
            else f"within ±{args.tolerance} (different machine type)")
    for warning in report.warnings:
        print(f"warning: {warning}")
    if report.ok:
        print(f"OK: all {report.records} record(s) are current, consistent, rescored and "
              f"reproduced ({rule}).")
        return 0
    for flag in report.code_flags:
        print(f"{'trigger' if flag.module == '(a string)' else 'gold access'}: {flag}")
    if report.findings:
        print(tabulate([[f.suite, f.task, f.replicate, f.check, f.detail]
                        for f in report.findings],
                       headers=["suite", "task", "replicate", "check", "problem"],
                       tablefmt="github"))
    print(f"FAILED: {len(report.findings)} record problem(s) in {report.records} record(s) "
          f"({rule}); {len(report.code_flags)} gold-access import(s) or trigger(s) in the code.")
    return 1


def cmd_check_submission(args: argparse.Namespace) -> int:
    from benchmark.core.storage import atomic_write_text
    from benchmark.methods.submissions import submission_folder
    from benchmark.run.check_submission import check_submission

    report = check_submission(submission_folder(args.submission), tolerance=args.tolerance,
                              workers=args.workers, trust_code=args.trust_code or None)
    text = report.markdown()
    print(text, end="")
    if args.report:
        atomic_write_text(Path(args.report), text)
    return 0 if report.ok else 1


def cmd_rescore(args: argparse.Namespace) -> int:
    from benchmark.core.paths import default_results_dir
    from benchmark.run.rescore import rescore

    results = Path(args.results_dir) if args.results_dir else default_results_dir()
    report = rescore(results, upgrade=args.upgrade)
    for problem in report.problems:
        where = problem.path.relative_to(results) if problem.path.is_relative_to(results) \
            else problem.path
        print(f"{problem.kind}: {where}: {problem.detail}")
    verdict = "OK" if report.ok else "FAILED"
    print(f"{verdict}: {report.agreed} of {report.checked} record(s) reproduced exactly from "
          f"their stored predictions ({results})"
          + (f"; {report.upgraded} upgraded with AUROC-PGR and CAPA" if args.upgrade else ""))
    return 0 if report.ok else 1


def add_rerun_options(p: argparse.ArgumentParser) -> None:
    """What ``verify`` and ``check-submission`` share: how records are re-run and matched."""
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="allowed |difference| when the records come from another machine type")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--trust-code", action="store_true",
                   help="re-run the submission even where no sandbox can be made")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new-method", help="scaffold submissions/NAME (a working copy of naive)")
    p.add_argument("name")
    p.set_defaults(func=cmd_new_method)

    p = sub.add_parser("compare", help="a method against rivals: the board's blocked test")
    p.add_argument("method")
    p.add_argument("--against", type=csv_list, default=[REFERENCE_METHOD],
                   help=f"comma list of methods (default: {REFERENCE_METHOD})")
    p.add_argument("--suite", help="only this suite (default: every suite with pairs)")
    p.add_argument("--results-dir", help="records folder (default: results/); committed "
                   "submission records are read too")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("verify", help="re-run a submission and check its recorded results")
    p.add_argument("submission", help="submissions/NAME, or NAME")
    p.add_argument("--results-dir", help="records to check (default: submissions/NAME/results "
                   "if it exists, else results/)")
    add_rerun_options(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("check-submission", help="every check a reviewer runs on a submission "
                       "(card, code scan, records re-run in the sandbox, comparability, "
                       "flags): one exit code and a Markdown report")
    p.add_argument("submission", help="submissions/NAME, or NAME")
    p.add_argument("--report", help="also write the Markdown report to this file")
    add_rerun_options(p)
    p.set_defaults(func=cmd_check_submission)

    p = sub.add_parser("rescore", help="recompute every record's metrics and diagnostics from "
                       "its stored predictions; report disagreements and tampered files")
    p.add_argument("--results-dir", help="records folder (default: results/)")
    p.add_argument("--upgrade", action="store_true",
                   help="rewrite records that agree but predate a derived field (AUROC-PGR, "
                   "CAPA) with it, computed from their stored predictions")
    p.set_defaults(func=cmd_rescore)
