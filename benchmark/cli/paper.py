"""CLI verbs for paper-scale work: ``ladder``, ``pin``, ``weak-labels push/pull`` and
``reproduce``."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_weak_labels(args: argparse.Namespace) -> int:
    from benchmark.labels.hub import pull, push

    if args.action == "push":
        if not args.repo:
            from benchmark.core.errors import SpecError

            raise SpecError("push needs --repo OWNER/NAME (a hub dataset repo)")
        pin = push(args.task, args.repo)
        print(f"pushed {args.task} to {pin.repo_id}@{pin.revision}; pinned in hub.json")
    else:
        folder = pull(args.task)
        print(f"pulled {args.task} into {folder}; every file matched its sha256")
    return 0


def cmd_ladder(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from benchmark.models.hub_ladder import LADDER

    rows = [[r.name, r.hub_id, f"{r.params / 1e9:.2f}B", r.lr, r.eval_batch_size,
             "yes" if r.gradient_checkpointing else "", r.revision[:12] if r.revision
             else "unpinned", r.revision_source or "", r.recipe_source]
            for _, r in sorted(LADDER.items(), key=lambda item: (item[1].family, item[1].params))]
    print(tabulate(rows, headers=["rung", "hub id", "params", "lr", "eval batch", "ckpt",
                                  "revision", "pinned from", "recipe from"]))
    unpinned = [r.name for _, r in LADDER.items() if not r.pinned]
    if unpinned:
        print(f"\n{len(unpinned)} rung(s) unpinned: `w2s-bench pin --all` pins them (needs hub "
              "access).")
    from benchmark.assets.hub_pins import read_pins
    from benchmark.datasets.hub import HUB_DATASETS

    pins = read_pins()["datasets"]
    rows = []
    for name, dataset in HUB_DATASETS.items():
        pin = pins.get(name, {}) if pins.get(name, {}).get("hub_id") == dataset.hub_id else {}
        revision = dataset.revision or pin.get("revision")
        rows.append([name, dataset.hub_id, revision[:12] if revision else "unpinned",
                     pin.get("source", "")])
    print()
    print(tabulate(rows, headers=["hub dataset", "hub id", "revision", "pinned from"]))
    return 0


def cmd_pin(args: argparse.Namespace) -> int:
    from benchmark.assets.hub_pins import pins_path, resolve_main, write_pin
    from benchmark.core.errors import SpecError, UnknownNameError
    from benchmark.datasets.hub import HUB_DATASETS
    from benchmark.models.hub_ladder import LADDER

    names = list(args.names)
    if args.all:
        names += [n for n, r in LADDER.items() if not r.pinned and n not in names]
    if not names:
        raise SpecError("name ladder rungs or hub datasets to pin, or pass --all")
    for name in names:
        if name in LADDER:
            rung = LADDER.get(name)
            if rung.revision and not args.repin:
                print(f"{name}: already pinned at {rung.revision} ({rung.revision_source}); "
                      "--repin replaces it")
                continue
            kind, hub_id = "models", rung.hub_id
        elif name in HUB_DATASETS:
            kind, hub_id = "datasets", HUB_DATASETS.get(name).hub_id
        else:
            raise UnknownNameError(LADDER.unknown_message(name) + " (or a hub dataset: "
                                   + ", ".join(HUB_DATASETS.names()) + ")")
        revision = resolve_main(kind, hub_id)  # type: ignore[arg-type]
        write_pin(kind, name, hub_id, revision, "HfApi info of `main`")  # type: ignore[arg-type]
        print(f"{name}: {hub_id} pinned at {revision} in {pins_path()}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    from benchmark.core.paths import default_results_dir
    from benchmark.library.reproduce import current_records, reproduce, study_specs
    from benchmark.paper.compare import render_plan, render_table
    from benchmark.paper.study import RunOptions, chosen, load_study, study_tasks

    study = load_study(args.study)
    results = Path(args.results_dir) if args.results_dir else default_results_dir()
    opts = RunOptions.from_study(study, n_docs=args.n_docs, n_test_docs=args.n_test_docs,
                                 epochs=args.epochs, max_ctx=args.max_ctx, mirror=args.mirror,
                                 logconf_schedule=args.logconf_schedule)
    suite = opts.tag(study)
    if args.dry_run:
        every = study_tasks(study, opts)
        tasks = chosen(every, study, _csv(args.models), _csv(args.datasets))
        print(render_plan(study, opts, tasks, study_specs(study, opts, every, write=False),
                          current_records(results, suite), results, suite, opts.methods(study)))
        return 0
    done = reproduce(study, opts, results, models=_csv(args.models),
                     datasets=_csv(args.datasets), pull=args.pull_labels,
                     push=args.push_labels, compare_only=args.compare_only)
    if not args.compare_only:
        print(f"\n{len(done.frozen)} task(s) frozen now, {done.recorded} run(s) recorded, "
              f"{len(done.failed)} failed; suite {suite!r}, records in {results / suite}\n")
        for what, why in done.failed:
            print(f"  {what}: {why}")
    print(render_table(done.rows))
    if suite != study["name"]:
        print(f"\nnote: recipe variant {suite!r}; the published numbers used the full recipe, "
              "so deltas here are a smoke check, not a reproduction")
    missing = sum(r["result"] == "missing" for r in done.rows)
    broken = sum(r["result"] == "FAIL" for r in done.rows)
    if missing:
        print(f"\n{missing} row(s) have no frozen task or record in suite {suite!r}"
              + (": rerun without --compare-only to freeze and run them (a GPU and hub "
                 "access, or --mirror)" if args.compare_only else ""))
    return 1 if broken or missing or done.failed else 0


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ladder", help="the paper-scale model ladder and hub datasets: hub "
                       "ids, pinned revisions (and their sources), per-model recipes")
    p.set_defaults(func=cmd_ladder)

    p = sub.add_parser("pin", help="pin hub models/datasets at the commit `main` points at "
                       "now (needs hub access; writes benchmark/hub_pins.yaml)")
    p.add_argument("names", nargs="*", help="ladder rungs or hub datasets")
    p.add_argument("--all", action="store_true", help="every unpinned ladder rung")
    p.add_argument("--repin", action="store_true", help="replace an existing pin")
    p.set_defaults(func=cmd_pin)

    p = sub.add_parser("weak-labels", help="push/pull frozen weak-label sets to/from a hub "
                       "dataset repo (pinned commit, sha256-verified)")
    p.add_argument("action", choices=["push", "pull"])
    p.add_argument("task")
    p.add_argument("--repo", help="push: the hub dataset repo, OWNER/NAME")
    p.set_defaults(func=cmd_weak_labels)

    p = sub.add_parser("reproduce", help="compare against a paper's published numbers")
    p.add_argument("study", help="e.g. burns2023")
    p.add_argument("--dry-run", action="store_true",
                   help="list the tasks and runs, estimated GPU-hours and what is done")
    p.add_argument("--compare-only", action="store_true",
                   help="print the table from the records present; run nothing")
    p.add_argument("--results-dir", help="where records are (default: results/)")
    p.add_argument("--pull-labels", action="store_true",
                   help="first install each task's shared frozen set pinned in "
                   "tasks/frozen/<task>/hub.json (sha256-checked), so every reproduction "
                   "trains on the same supervision")
    p.add_argument("--push-labels", metavar="OWNER/NAME",
                   help="afterwards, upload each frozen task's set to this hub dataset repo "
                   "and pin it for everyone (commit the hub.json files)")
    p.add_argument("--models", help="only these rungs (comma list; pairs within them)")
    p.add_argument("--datasets", help="only these datasets (comma list)")
    p.add_argument("--mirror", help="read datasets from this local mirror folder instead of "
                   "the hub (default: $W2S_BENCH_HF_MIRROR)")
    p.add_argument("--logconf-schedule", choices=["paper", "openai"], default="paper",
                   help="paper: alpha ramps to its max over 20%% of training (method "
                   "logconf); openai: the released code's ramp to 0.05 then jump to 0.5 (the "
                   "variant logconf-openai-schedule)")
    smoke = p.add_argument_group("recipe overrides (a smoke run: tasks and a suite of its "
                                 "own, never compared as the reproduction)")
    smoke.add_argument("--n-docs", type=int)
    smoke.add_argument("--n-test-docs", type=int)
    smoke.add_argument("--epochs", type=int)
    smoke.add_argument("--max-ctx", type=int)
    p.set_defaults(func=cmd_reproduce)
