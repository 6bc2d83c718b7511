"""What every verb group of the console shares: argument types and the messages a user reads
after a stage (plugin problems, where the leaderboard is)."""

from __future__ import annotations

import sys
from pathlib import Path


def csv_list(text: str) -> list[str]:
    """``a,b, c`` → ``["a", "b", "c"]`` (an argparse type)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def print_plugin_problems() -> None:
    from benchmark.methods.catalog import plugin_problems

    for problem in plugin_problems():
        print(f"warning: plugin {problem.name!r} ({problem.source}): {problem.message}",
              file=sys.stderr)


def declared_suites() -> dict[str, frozenset[str]]:
    """Each declared suite's tasks now, so the board ranks only those. A task or suite file
    that does not load is an error (raised by the registry, naming the file): ranking every
    record instead would put dropped tasks back on the board."""
    from benchmark.tasks.suites import ranked_suite_tasks

    return ranked_suite_tasks()


def declared_replicates() -> dict[str, int]:
    """The declared suites that rank only their tasks' first N replicate draws, with N."""
    from benchmark.tasks.suites import ranked_suite_replicates

    return ranked_suite_replicates()


def build_leaderboard(results: Path, out: Path, build_time: str | None = None,
                      rank_by: str = "pgr", heldout_dir: Path | None = None) -> None:
    """Build the static site from every record and say where it is."""
    from benchmark.site.build import build_leaderboard as build

    site = build(results, out, build_time=build_time, suite_tasks=declared_suites(),
                 suite_replicates=declared_replicates(), rank_by=rank_by,
                 heldout_dir=heldout_dir)
    print(f"leaderboard: {site.index.resolve().as_uri()}  ({site.pages} pages, {site.plots} "
          f"plots; data: {', '.join(p.name for p in site.files.values())} in {out})")
