"""``w2s-bench``: one verb per stage (fetch, freeze, run, leaderboard), ``list``, ``status``,
and the submission verbs (``new-method``, ``compare``, ``verify``).

Errors the user can act on (:class:`~benchmark.core.errors.W2SBenchError`) print as one line and
exit with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmark.cli.common import build_leaderboard, print_plugin_problems
from benchmark.core.bwrap import TRUST_ENV
from benchmark.core.errors import W2SBenchError
from benchmark.library import DEFAULT_SUITE


def cmd_fetch(args: argparse.Namespace) -> int:
    from benchmark.assets.catalog import ASSETS, assets_for_tier, fetch

    names = args.assets or assets_for_tier(args.large, args.ladder)
    for name in names:
        ASSETS.get(name)
    for path in fetch(names, progress=not args.no_progress):
        print(path)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from benchmark.assets.catalog import ASSETS, is_fetched
    from benchmark.datasets import DATASETS
    from benchmark.labels.frozen import is_frozen
    from benchmark.methods.catalog import METHODS
    from benchmark.models import MODELS
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.suites import SUITES

    kind = args.kind
    if kind == "tasks":
        rows = [[t.id, t.version, t.dataset.name, t.weak_model, t.strong_model, t.regime,
                 t.replicates, "yes" if is_frozen(t.id) else "no"] for _, t in TASKS.items()]
        headers = ["task", "version", "dataset", "weak", "strong", "regime", "replicates",
                   "frozen"]
    elif kind == "models":
        rows = [[m.name, m.family, m.kind, m.params or "data-dependent", m.tier, m.description]
                for _, m in MODELS.items()]
        headers = ["model", "family", "kind", "params", "tier", "description"]
    elif kind == "methods":
        rows = [[n, c.version, "control" if c.control else "method",
                 (c.__doc__ or "").strip().splitlines()[0] if c.__doc__ else "",
                 c.code or c.paper or "(none: a variant of ours)",
                 _relative(METHODS.origin(n))] for n, c in METHODS.items()]
        headers = ["method", "version", "kind", "summary", "source", "defined in"]
    elif kind == "suites":
        rows = [[n, len(s.tasks), f"RETIRED: {s.retired}" if s.retired else s.description]
                for n, s in SUITES.items()]
        headers = ["suite", "tasks", "description"]
    elif kind == "executors":
        from benchmark.run.executors import EXECUTORS

        rows = [[n, c.needs or "(built in)", "yes" if c.reattachable else "no",
                 (c.__doc__ or "").strip().splitlines()[0]] for n, c in EXECUTORS.items()]
        headers = ["executor", "needs", "jobs outlive the driver", "summary"]
    elif kind == "kinds":
        from benchmark.core.kinds import KINDS

        rows = [[n, k.track, k.summary, sum(getattr(t, n) is not None for _, t in TASKS.items()),
                 KINDS.origin(n)] for n, k in KINDS.items()]
        headers = ["kind", "track", "summary", "tasks", "module"]
    elif kind == "datasets":
        rows = [[n, d.asset, "/".join(d.label_names), d.description] for n, d in DATASETS.items()]
        headers = ["dataset", "asset", "labels", "description"]
    else:
        rows = [[n, a.tier, "yes" if is_fetched(n) else "no", a.description]
                for n, a in ASSETS.items()]
        headers = ["asset", "tier", "fetched", "description"]
    print(tabulate(rows, headers=headers, tablefmt="simple"))
    if kind == "methods":
        print_plugin_problems()
    return 0


def _relative(origin: str) -> str:
    """A plugin's file relative to the repository, when it lives there."""
    from benchmark.core.paths import repo_root

    root = str(repo_root()) + "/"
    return origin[len(root):] if origin.startswith(root) else origin


def _add_boosting(specs: list, args: argparse.Namespace) -> int:
    """``freeze --add-boosting``: the frozen ensembles among ``specs`` that lack it get it."""
    from benchmark.assets.catalog import ensure_fetched
    from benchmark.labels.boosting import boostable, freeze_boosting, has_boosting
    from benchmark.labels.frozen import is_frozen
    from benchmark.tasks.requirements import required_assets

    for spec in specs:
        if spec.id in args.tasks and not boostable(spec):
            raise W2SBenchError(f"task {spec.id!r} has no supervisors to boost (it needs "
                                "several `weak_models` fitted as probes or regressions)")
        if spec.id in args.tasks and not is_frozen(spec.id):
            raise W2SBenchError(f"task {spec.id!r} is not frozen; `w2s-bench freeze "
                                f"{spec.id}` freezes it with its boosted supervisors")
    todo = []
    for spec in specs:
        if not boostable(spec):
            continue   # a suite's task with one supervisor: nothing to boost
        if not is_frozen(spec.id):
            print(f"{spec.id} is not frozen; `w2s-bench freeze {spec.id}` boosts as it freezes")
        elif has_boosting(spec) and not args.force:
            print(f"{spec.id} has its boosted supervisors already; --force boosts again")
        else:
            todo.append(spec)
    ensure_fetched(required_assets(todo, include_weak=True), not args.no_progress)
    for spec in todo:
        freeze_boosting(spec, progress=not args.no_progress)
        print(f"added boosted supervisors to {spec.id}: weak labels and references unchanged")
    return 0


def cmd_freeze(args: argparse.Namespace) -> int:
    from benchmark.assets.catalog import ensure_fetched
    from benchmark.labels.freeze import freeze_ceilings, freeze_task
    from benchmark.labels.frozen import has_ceilings, load_references
    from benchmark.labels.protocol import freeze_report
    from benchmark.tasks.requirements import required_assets
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.suites import suite_tasks

    chosen = [f for f in ("add_ceilings", "add_boosting", "rebuild_locked") if getattr(args, f)]
    if len(chosen) > 1 or (chosen == ["rebuild_locked"] and args.force):
        said = ", ".join("--" + f.replace("_", "-") for f in chosen + ["force"] * args.force)
        raise W2SBenchError(f"{said}: these do different things; run them one at a time")
    specs = [TASKS.get(t) for t in args.tasks]
    if args.suite:  # a suite's tasks that are frozen already are skipped, not refused
        from benchmark.labels.frozen import is_frozen

        members = [s for s in suite_tasks(args.suite) if s.id not in args.tasks]
        done = [s.id for s in members if is_frozen(s.id)]
        if done and not args.force and not (args.add_ceilings or args.add_boosting
                                            or args.rebuild_locked):
            print(f"{len(done)} task(s) of suite {args.suite!r} are frozen already; skipped")
            members = [s for s in members if s.id not in done]
        specs += members
    if not specs:
        raise W2SBenchError("name at least one task, or --suite SUITE")
    if args.rebuild_locked:
        from benchmark.core.kinds import rebuilt_noun
        from benchmark.labels.freeze import rebuild_missing

        ensure_fetched(required_assets(specs, include_weak=True), not args.no_progress)
        for spec in specs:
            count = rebuild_missing(spec, progress=not args.no_progress)
            noun = rebuilt_noun(spec)
            print(f"{spec.id}: {count} {noun}(s) rebuilt into the cache" if noun
                  else f"{spec.id}: freezes nothing into the cache; nothing to rebuild")
        return 0
    if args.add_ceilings:
        specs = [s for s in specs if not has_ceilings(s)]
        ensure_fetched(required_assets(specs, include_weak=False), not args.no_progress)
        for spec in specs:
            freeze_ceilings(spec, progress=not args.no_progress)
            print(f"added ceiling predictions to {spec.id}: weak labels and references "
                  "unchanged")
        return 0
    if args.add_boosting:
        return _add_boosting(specs, args)
    ensure_fetched(required_assets(specs, include_weak=True), not args.no_progress)
    for spec in specs:
        lock = freeze_task(spec, force=args.force, progress=not args.no_progress,
                           legacy=args.legacy_protocol)
        print(f"froze {spec.id} (version {spec.version}, {lock.replicates} replicates) "
              f"→ tasks/frozen/{spec.id}/")
        print("\n".join(freeze_report(spec, load_references(spec).replicates)))
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from benchmark.core.paths import default_results_dir, leaderboard_dir

    results = Path(args.results_dir) if args.results_dir else default_results_dir()
    build_leaderboard(results, Path(args.out) if args.out else leaderboard_dir(),
                      build_time=args.build_time, rank_by=args.rank_by,
                      heldout_dir=Path(args.heldout_dir) if args.heldout_dir else None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="w2s-bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch", help="download and verify the embedded assets")
    p.add_argument("assets", nargs="*", help="asset names (default: the whole tier)")
    p.add_argument("--large", action="store_true", help="include the large tier (mpnet, 404 MB)")
    p.add_argument("--ladder", action="store_true",
                   help="every rung of the ladder: the large tier and the decoder "
                        "(SmolLM2-135M, 4-bit GGUF, 93 MB)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("list", help="list registered tasks, models, methods, suites, ...")
    p.add_argument("kind", choices=["tasks", "models", "methods", "suites", "datasets",
                                    "assets", "executors", "kinds"])
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("freeze", help="train weak supervisors and ceilings; lock their outputs")
    p.add_argument("tasks", nargs="*", default=[])
    p.add_argument("--suite", help="freeze every task of this suite")
    p.add_argument("--force", action="store_true", help="re-freeze a task that is already locked")
    p.add_argument("--legacy-protocol", action="store_true",
                   help="freeze a task that names no supervisor definition as tasks were "
                        "frozen before the equal-gold protocol (no checks, no controls)")
    p.add_argument("--add-ceilings", action="store_true",
                   help="only add the ceiling's test predictions to tasks frozen without them "
                        "(weak labels untouched; refused unless the frozen ceiling accuracy "
                        "is reproduced exactly)")
    p.add_argument("--add-boosting", action="store_true",
                   help="only add an ensemble task's AdaBoost-weighted supervisors (EnsemW2S; "
                        "weak labels untouched; refused unless the frozen supervisors are "
                        "reproduced exactly)")
    p.add_argument("--rebuild-locked", action="store_true",
                   help="only rebuild a sandbagging task's locked students the cache lacks "
                        "(checked against their frozen weights; `run` does this itself)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_freeze)

    from benchmark.cli.sweep import add_parsers as add_sweep_parsers

    add_sweep_parsers(sub, DEFAULT_SUITE)

    from benchmark.cli.methods import add_parsers
    from benchmark.cli.tasks import add_parsers as add_task_parsers

    add_task_parsers(sub)

    add_parsers(sub)

    from benchmark.cli.paper import add_parsers as add_paper_parsers

    add_paper_parsers(sub)

    p = sub.add_parser("leaderboard", help="build the static leaderboard site from records")
    p.add_argument("--results-dir", help="records to read (default: results/; the committed "
                   "submissions/*/results/ are always read too)")
    p.add_argument("--out", help="output folder (default: leaderboard/)")
    p.add_argument("--build-time", help="time shown in the footer, ISO 8601 or Unix seconds "
                   "(default: $SOURCE_DATE_EPOCH, else now); pin it for byte-identical builds")
    p.add_argument("--rank-by", choices=["pgr", "pgr-auroc"], default="pgr",
                   help="what every rank, interval and test is on: PGR of accuracy (default) "
                   "or of AUROC (EleutherAI w2s's statistic); give --out another folder to "
                   "keep both boards")
    p.add_argument("--heldout-dir", help="a held-out world's records (`w2s-bench heldout`): "
                   "each suite's held-out score and gap are shown beside its public one")
    p.set_defaults(func=cmd_leaderboard)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    saved = os.environ.get(TRUST_ENV)
    if getattr(args, "trust_code", False):  # before any discovery: it decides what it imports
        os.environ[TRUST_ENV] = "1"
    try:
        return args.func(args)
    except W2SBenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:  # for this command only (main() is also called in-process, by tests)
        if saved is None:
            os.environ.pop(TRUST_ENV, None)
        else:
            os.environ[TRUST_ENV] = saved


def cli() -> None:
    """The ``w2s-bench`` command: :func:`main`, then a quick exit (the interpreter's
    teardown with torch loaded is slow; see ``exit_now``). Tests
    call ``main`` in-process instead."""
    from benchmark.core.exiting import exit_now

    exit_now(main())


if __name__ == "__main__":
    cli()
