"""HTML pages from jinja2 templates: the index, one page per task, one per method.

Autoescaping is on for every template, so a method name or description holding markup shows
as text; links from plugins pass :func:`safe_url`, so only http(s) links are ever clickable.
Pages link to each other and to ``plots/`` relatively, so the site works from ``file://``
and from any static host; styles and scripts are inline, so nothing is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    FunctionLoader,
    StrictUndefined,
    select_autoescape,
)

from benchmark.core.kinds import KINDS
from benchmark.core.method_card import MARKS
from benchmark.results.records import MethodInfo
from benchmark.site import cells, exports, inference
from benchmark.site.beyond import BeyondTables
from benchmark.site.budget import budget_lines
from benchmark.site.diagnosis import REGION_NAMES
from benchmark.site.frontier import FrontierTables
from benchmark.site.links import method_page, task_page
from benchmark.site.method_matrix import matrix
from benchmark.site.regimes import regime_agreement
from benchmark.site.standings import SuiteBoard

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class BuildInfo:
    """The build's provenance, shown in every page's footer (and nowhere else)."""

    version: str
    git_commit: str
    build_time: str   # ISO 8601, UTC
    records: int
    benchmark: str = ""   # the benchmark version (frozen tasks), as printed
    ranked_by: str = "accuracy-PGR"   # what ranks, intervals and tests are on


@dataclass(frozen=True)
class Figure:
    file: str
    caption: str


def safe_url(url: str | None) -> str:
    """The link if it is http(s), else nothing (no ``javascript:`` from a plugin's metadata)."""
    return url if url and url.lower().startswith(("http://", "https://")) else ""


def kind_template(name: str) -> str | None:
    """``kinds/<key>.html``: a task kind's table, as its module writes it."""
    folder, _, file = name.partition("/")
    key = file.removesuffix(".html")
    if folder != "kinds" or key not in KINDS:
        return None
    return KINDS.get(key).table_html


def marks_of(info: MethodInfo | None) -> list[str]:
    """The card's marks (what it uses beyond the weak labels); ``undeclared`` where the
    records carry no ``uses`` (older records, or a plugin that declares none)."""
    if info is None or info.uses is None:
        return ["undeclared"]
    return info.uses.marks()


def environment() -> Environment:
    loader = ChoiceLoader([FileSystemLoader(TEMPLATES), FunctionLoader(kind_template)])
    env = Environment(loader=loader, autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters.update(fmt=exports.fmt, ratio=exports.fmt_ratio, sci=exports.fmt_sci,
                       number=exports.fmt_number, safe_url=safe_url)
    env.globals.update(method_page=method_page, task_page=task_page, note=exports.PGR_NOTE,
                       zip=zip, pairwise=matrix, budget_lines=budget_lines,
                       family_text=inference.family_text, rank_rows=inference.rank_rows,
                       region_names=REGION_NAMES,
                       interval_cell=cells.interval_cell, value_cell=cells.value_cell,
                       share_cell=cells.share_cell, diagnostics_cells=cells.diagnostics_cells,
                       replicate_values=cells.replicate_values, marks=marks_of, MARKS=MARKS)
    return env


def render_site(boards: list[SuiteBoard], infos: dict[str, MethodInfo],
                figures: dict[str, list[Figure]], build: BuildInfo,
                frontier: dict[str, FrontierTables] | None = None,
                beyond: dict[str, BeyondTables] | None = None,
                curve_files: dict[tuple[str, str], str] | None = None) -> dict[str, str]:
    """Every page as {relative path: html} (``curve_files``: (suite, method) → the plot of
    its training curves)."""
    env = environment()
    common = {"boards": boards, "infos": infos, "build": build,
              "agreements": regime_agreement(boards)}
    pages = {"index.html": env.get_template("index.html").render(
        root="", figures=figures, frontier=frontier or {}, beyond=beyond or {}, **common)}
    task_template = env.get_template("task.html")
    for task in sorted({t.task for b in boards for t in b.tasks}):
        sections = [(b, t) for b in boards for t in b.tasks if t.task == task]
        pages[task_page(task)] = task_template.render(root="../", task=task, sections=sections,
                                                      **common)
    method_template = env.get_template("method.html")
    methods = sorted({e.method for b in boards for e in (*b.ranked, *b.incomplete)})
    for method in methods:
        sections = []
        for b in boards:
            entry = next((e for e in (*b.ranked, *b.incomplete) if e.method == method), None)
            if entry is not None:
                results = [(t, r) for t in b.tasks for r in t.results if r.method == method]
                sections.append((b, entry, results))
        pages[method_page(method)] = method_template.render(
            root="../", method=method, info=infos.get(method), sections=sections,
            curves={suite: file for (suite, m), file in (curve_files or {}).items()
                    if m == method}, **common)
    return pages
