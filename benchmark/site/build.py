"""Build the whole static leaderboard from run records: ``build_site(records, out_dir)``.

records → frame → standings → exports, plots, pages. Every file is written atomically, and
files a previous build generated that this one did not (a method whose records are gone) are
removed, so the folder always shows exactly the current records. Unchanged files are
not rewritten. The only thing that varies
between two builds of the same records is the footer's commit and build time; pin the time
with ``build_time=`` or the ``SOURCE_DATE_EPOCH`` environment variable (the reproducible-
builds convention) to get byte-identical output.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from benchmark.core.errors import SpecError, W2SBenchError
from benchmark.core.storage import atomic_write_bytes
from benchmark.core.suite_names import HELDOUT_SUFFIX, in_heldout_world, is_heldout
from benchmark.results.records import RunRecord, collect_records, iter_records
from benchmark.site import exports
from benchmark.site.beyond import beyond_markdown, beyond_tables
from benchmark.site.curves import curve_plot, mean_curves
from benchmark.site.frame import RANK_BY, method_infos, record_rows
from benchmark.site.frontier import frontier_markdown, frontier_tables
from benchmark.site.heldout import paired_heldout
from benchmark.site.pages import BuildInfo, Figure, render_site
from benchmark.site.plots import suite_plots
from benchmark.site.retired import retired_lines, split_retired
from benchmark.site.standings import standings

GENERATED_FOLDERS = ("methods", "tasks", "plots")
DATA_FILES = {"markdown": "leaderboard.md", "csv": "leaderboard.csv",
              "json": "leaderboard.json", "latex": "leaderboard.tex"}


@dataclass(frozen=True)
class SiteResult:
    index: Path
    files: dict[str, Path]   # data exports by kind: markdown, csv, json, latex
    pages: int
    plots: int


def resolve_build_time(build_time: str | None = None) -> str:
    """``build_time`` (ISO 8601 or Unix seconds), else ``SOURCE_DATE_EPOCH``, else now (UTC)."""
    raw = build_time if build_time is not None else os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw == "":
        moment = datetime.now(timezone.utc)
    elif raw.strip().lstrip("-").isdigit():
        moment = datetime.fromtimestamp(int(raw), timezone.utc)
    else:
        try:
            moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise SpecError(f"build time {raw!r} is neither ISO 8601 (2026-01-31T12:00:00Z) "
                            "nor Unix seconds") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_if_changed(path: Path, data: bytes) -> None:
    """Atomic, and untouched when the bytes are the same (static hosts sync by mtime)."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return
    except OSError:
        pass
    atomic_write_bytes(path, data, durable=False)  # regenerable: atomic is enough


def _remove_stale(out_dir: Path, written: set[str]) -> None:
    for folder in GENERATED_FOLDERS:
        for path in sorted((out_dir / folder).glob("*")):
            if path.is_file() and path.relative_to(out_dir).as_posix() not in written:
                path.unlink()


@contextmanager
def _records_out_of_gc() -> Iterator[None]:
    """Keep the collector off the objects that exist before the build (the records).

    A build allocates millions of small objects, so the cyclic collector runs its full pass
    several times, and each pass walks every record already in memory (10,000 records are
    ~10⁶ objects) though none of them can become garbage here. ``gc.freeze`` moves them out
    of its reach for the build, so those passes skip them. (It
    unfreezes everything on exit, including objects a caller froze itself.)
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def build_site(records: list[RunRecord], out_dir: Path, build_time: str | None = None,
               git_commit: str | None = None,
               suite_tasks: Mapping[str, Collection[str]] | None = None,
               suite_replicates: Mapping[str, int] | None = None,
               rank_by: str = "pgr") -> SiteResult:
    """Write index.html, task and method pages, plots and the data exports to ``out_dir``.
    ``suite_tasks`` and ``suite_replicates``: the suites as declared now, so records of
    tasks a suite no longer lists, or of replicates past the first N it ranks, are listed
    apart instead of ranked (:mod:`benchmark.site.retired`). ``rank_by``: ``pgr-auroc``
    ranks and tests on PGR of AUROC instead of accuracy (the pages say which)."""
    with _records_out_of_gc():
        return _build_site(records, out_dir, build_time, git_commit, suite_tasks,
                           suite_replicates, rank_by)


def _build_site(all_records: list[RunRecord], out_dir: Path, build_time: str | None,
                git_commit: str | None,
                suite_tasks: Mapping[str, Collection[str]] | None,
                suite_replicates: Mapping[str, int] | None = None,
                rank_by: str = "pgr") -> SiteResult:
    if not all_records:
        raise W2SBenchError("no run records found; run `w2s-bench run` first (or point "
                            "--results-dir at a folder of records)")
    from benchmark import __version__
    from benchmark.core.benchmark_version import version_label
    from benchmark.core.flags import read_flags
    from benchmark.core.provenance import git_commit as current_commit

    records, retired = split_retired(all_records, suite_tasks, suite_replicates)
    flags = read_flags()
    # held-out suites give their scores to their public boards and nothing else: no board,
    # page, curve or string of their own (what a held-out run wrote is never published)
    boards = paired_heldout(standings(record_rows(records, rank_by),
                       {suite: retired_lines(group) for suite, group in retired.items()},
                       {method: flag.reason + (f" ({flag.link})" if flag.link else "")
                        for method, flag in flags.items()}))
    if not in_heldout_world():   # a world's own board shows them
        boards = [b for b in boards if not is_heldout(b.suite)]
        records = [r for r in records if not is_heldout(r.suite)]
    frontier = frontier_tables(records)
    beyond = beyond_tables(records)
    infos = method_infos(records)
    build = BuildInfo(version=__version__, git_commit=git_commit or current_commit(),
                      build_time=resolve_build_time(build_time), records=len(all_records),
                      benchmark=version_label(), ranked_by=RANK_BY[rank_by])
    # an AUROC board says so in every export: which columns moved to AUROC, which did not
    label = build.benchmark + ("" if rank_by == "pgr" else
                               f"; ranked by {RANK_BY[rank_by]}: rank, pgr and its interval "
                               "and the tests are on AUROC; pgr_median, pgr_of_means, the "
                               "controls and the frontier and beyond tables stay on accuracy")
    outputs = {DATA_FILES["markdown"]: exports.render_markdown(boards, label)
               + (("\n" + frontier_markdown(frontier)) if frontier else "")
               + (("\n" + beyond_markdown(beyond)) if beyond else ""),
               DATA_FILES["csv"]: exports.render_csv(boards, label),
               DATA_FILES["json"]: exports.render_json(boards, infos, label),
               DATA_FILES["latex"]: exports.render_latex(boards, label)}
    figures: dict[str, list[Figure]] = {}
    for board in boards:
        figures[board.suite] = []
        for file, caption, svg in suite_plots(board):
            outputs[file] = svg
            figures[board.suite].append(Figure(file, caption))
    curves = mean_curves(records)
    for curve in curves.values():
        outputs[curve.file] = curve_plot(curve)
    pages = render_site(boards, infos, figures, build, frontier, beyond,
                        {key: c.file for key, c in curves.items()})
    outputs.update(pages)
    for relative, text in outputs.items():
        _write_if_changed(out_dir / relative, text.encode("utf-8"))
    _remove_stale(out_dir, set(outputs))
    return SiteResult(index=out_dir / "index.html",
                      files={kind: out_dir / name for kind, name in DATA_FILES.items()},
                      pages=len(pages),
                      plots=sum(len(f) for f in figures.values()) + len(curves))


def heldout_records(folder: Path) -> list[RunRecord]:
    """The held-out suites' records in ``folder``; a record of any other suite is refused
    (a public suite's records come from the results folder, never from a held-out world)."""
    if not folder.is_dir():
        raise SpecError(f"{folder}: no such folder of held-out records; make them with "
                        "`w2s-bench heldout SUITE --out DIR`")
    records = list(iter_records(folder))
    public = sorted({r.suite for r in records if not is_heldout(r.suite)})
    if public:
        raise SpecError(f"{folder} holds records of suite(s) {', '.join(public)}, which are "
                        f"not held-out suites (*{HELDOUT_SUFFIX}); point --heldout-dir at "
                        "the held-out world's results only")
    return records


def build_leaderboard(results_dir: Path, out_dir: Path, build_time: str | None = None,
                      suite_tasks: Mapping[str, Collection[str]] | None = None,
                      suite_replicates: Mapping[str, int] | None = None,
                      rank_by: str = "pgr", heldout_dir: Path | None = None) -> SiteResult:
    """The site from every record in ``results_dir`` and every ``submissions/*/results/``
    (``heldout_dir``: a held-out world's records, its ``*-heldout`` suites only)."""
    # a held-out suite's records count only from --heldout-dir (never from a results folder
    # or a submission's committed records, where anyone could name a suite so), except on
    # the private board a held-out world's own `run` builds
    in_world = in_heldout_world()
    records = [r for r in collect_records(results_dir) if in_world or not is_heldout(r.suite)]
    if heldout_dir is not None:
        records += heldout_records(heldout_dir)
    return build_site(records, out_dir, build_time=build_time,
                      suite_tasks=suite_tasks, suite_replicates=suite_replicates,
                      rank_by=rank_by)
