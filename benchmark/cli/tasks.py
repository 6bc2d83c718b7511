"""CLI verb for bringing a task: ``new-task`` (scaffold a task file from a data file)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmark.cli.common import csv_list
from benchmark.core.errors import SpecError


def _label_map(pairs: list[str] | None) -> dict[str, str | None] | None:
    """``raw=name`` pairs; ``raw=`` drops that value's rows."""
    if not pairs:
        return None
    out: dict[str, str | None] = {}
    for pair in pairs:
        raw, sep, name = pair.partition("=")
        if not sep:
            raise SpecError(f"--label-map {pair!r}: write VALUE=CLASS (VALUE= drops its rows)")
        out[raw] = name or None
    return out


def _splits(text: str | None) -> dict[str, int] | None:
    if text is None:
        return None
    try:
        weak, student, test = (int(v) for v in text.split(","))
    except ValueError:
        raise SpecError(f"--splits {text!r}: write WEAK_TRAIN,STUDENT_TRAIN,TEST, e.g. "
                        "500,3000,1500") from None
    return {"weak_train": weak, "student_train": student, "test": test}


def cmd_new_task(args: argparse.Namespace) -> int:
    from benchmark.tasks.scaffold import scaffold_task
    from benchmark.tasks.spec import TASKS

    if (args.text is None) == (args.template is None):
        raise SpecError("give the text as --text COLUMN or --template \"{a} {b}\"")
    path, check = scaffold_task(
        args.id, Path(args.file), text=args.text, template=args.template, label=args.label,
        label_map=_label_map(args.label_map), weak_model=args.weak, strong_model=args.strong,
        fmt=args.format, replicates=args.replicates, splits=_splits(args.splits),
        force=args.force)
    spec = TASKS.get(args.id)
    sizes = spec.splits
    print(f"{args.file}: {check.summary()}\n"
          f"splits per replicate: A {sizes.weak_train:,} gold (supervisor) · B "
          f"{sizes.student_train:,} (student; its gold trains the ceiling) · test "
          f"{sizes.test:,}; supervisor {spec.weak_supervisor}\n"
          f"wrote {path}\nnext:\n  w2s-bench freeze {args.id}\n"
          f"  w2s-bench run --tasks {args.id}")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("new-task", help="scaffold a task from a CSV/TSV/JSONL/Parquet file "
                                        "(checks columns, classes and split sizes)")
    p.add_argument("id", help="task id (lower case, digits, . _ -)")
    p.add_argument("--file", required=True, help="the data file (kept where it is; pinned "
                                                 "by its sha256)")
    p.add_argument("--text", help="the text column")
    p.add_argument("--template", help="or a template over columns, e.g. \"{question} "
                                      "{answer}\"")
    p.add_argument("--label", required=True, help="the label column")
    p.add_argument("--label-map", type=csv_list,
                   help="VALUE=CLASS pairs, comma separated (VALUE= drops those rows); "
                        "default: the column's values are the classes")
    p.add_argument("--weak", required=True, help="weak supervisor (`w2s-bench list models`)")
    p.add_argument("--strong", required=True, help="strong student (an encoder model)")
    p.add_argument("--format", choices=["csv", "tsv", "jsonl", "parquet"],
                   help="default: from the file name")
    p.add_argument("--splits", help="WEAK_TRAIN,STUDENT_TRAIN,TEST (default: 1:6:3 of the "
                                    "largest balanced pool, at most 10,000)")
    p.add_argument("--replicates", type=int, default=5)
    p.add_argument("--force", action="store_true", help="overwrite an existing task file")
    p.set_defaults(func=cmd_new_task)
    add_grid_parser(sub)


def cmd_grid(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from benchmark.tasks.grid import LADDER, grid_tasks, write_grid

    rungs = args.rungs or list(LADDER)
    tasks = grid_tasks(rungs)
    print(tabulate([[t.spec.id, t.spec.weak_model, t.spec.strong_model,
                     "exists" if t.exists else ("written" if args.write else "new")]
                    for t in tasks], headers=["task", "weak", "strong", "file"]))
    if args.write:
        paths = write_grid(tasks, args.suite, f"the weak × strong grid over {', '.join(rungs)}",
                           force=args.force)
        print(f"wrote {len(paths) - 1} task file(s) and {paths[-1]}; next:\n"
              f"  w2s-bench freeze --suite {args.suite}\n  w2s-bench run --suite {args.suite}")
    return 0


def add_grid_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grid", help="the weak × strong grid over ladder rungs, as task files")
    p.add_argument("--rungs", type=csv_list, help="rungs weakest first (default: the whole "
                                                  "embedded ladder)")
    p.add_argument("--suite", default="ladder", help="suite to write (tasks/suites/NAME.yaml)")
    p.add_argument("--write", action="store_true", help="write the missing task files and "
                                                        "the suite (default: only list)")
    p.add_argument("--force", action="store_true", help="with --write: replace a suite of "
                                                        "the same name that lists other tasks")
    p.set_defaults(func=cmd_grid)
