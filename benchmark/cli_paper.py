"""CLI verbs for paper-scale work: ``weak-labels push/pull`` and ``reproduce``."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_weak_labels(args: argparse.Namespace) -> int:
    from benchmark.hub_labels import pull, push

    if args.action == "push":
        if not args.repo:
            from benchmark.errors import SpecError

            raise SpecError("push needs --repo OWNER/NAME (a hub dataset repo)")
        pin = push(args.task, args.repo)
        print(f"pushed {args.task} to {pin.repo_id}@{pin.revision}; pinned in hub.json")
    else:
        folder = pull(args.task)
        print(f"pulled {args.task} into {folder}; every file matched its sha256")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from benchmark.paths import default_results_dir
    from benchmark.reproduce import compare, load_study, plan, render_dry_run, render_table

    study = load_study(args.study)
    runs = plan(study)
    results = Path(args.results_dir) if args.results_dir else default_results_dir()
    if args.dry_run:
        print(render_dry_run(study, runs, results))
        return 0
    rows = compare(study, runs, results)
    print(render_table(rows))
    missing = sum(r["result"] == "missing" for r in rows)
    failed = sum(r["result"] == "FAIL" for r in rows)
    if missing:
        print(f"\n{missing} row(s) have no records under {results / 'burns2023'}: the ladder "
              "runs need a GPU and hub access (see `--dry-run` for the plan).")
    return 1 if failed or missing else 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("weak-labels", help="push/pull frozen weak-label sets to/from a hub "
                       "dataset repo (pinned commit, sha256-verified)")
    p.add_argument("action", choices=["push", "pull"])
    p.add_argument("task")
    p.add_argument("--repo", help="push: the hub dataset repo, OWNER/NAME")
    p.set_defaults(func=cmd_weak_labels)

    p = sub.add_parser("reproduce", help="compare against a paper's published numbers")
    p.add_argument("study", help="e.g. burns2023")
    p.add_argument("--dry-run", action="store_true",
                   help="list the runs, estimated GPU-hours and what is cached")
    p.add_argument("--results-dir", help="where records are (default: results/)")
    p.set_defaults(func=cmd_reproduce)
