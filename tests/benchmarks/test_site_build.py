"""Leaderboard build time for 10,000 records (target: < 2 s on 2 cores).

The corpus is leaderboard-shaped: 50 methods × (8 + 12 tasks in two suites) × 10
replicates, every run with diagnostics, so the build ranks 2 × 1,225 pairs and draws 2 × 50
suite rows, 1,000 task rows, 63 pages (12 distinct tasks) and 14 plots (the
gain-vs-misfit scatters hold 4,000 and 6,000 runs; two strong sizes add the scaling view).
``build`` times ``build_site`` on records in memory (what the target is about);
``from disk`` adds reading and validating the 10,000 JSON records, i.e. the whole
``w2s-bench leaderboard`` command. Run with::

    python -m pytest tests/benchmarks/test_site_build.py --benchmark-only
"""

from __future__ import annotations

import pytest

from benchmark.results.records import collect_records, write_record
from benchmark.site.build import build_site
from tests.site_records import synthetic_records

TARGET_S = 2.0


@pytest.fixture(scope="module")
def records():
    corpus = synthetic_records(methods=50, suites={"main": 8, "large": 12}, replicates=10)
    assert len(corpus) == 10_000
    return corpus


def _build(records, out):
    return build_site(records, out, build_time="0", git_commit="benchmark")


def test_build_10000_records(benchmark, records, tmp_path) -> None:
    _build(records[:200], tmp_path / "warm-up")  # imports and matplotlib's font cache
    fresh = iter(range(100))

    def new_folder():  # every round writes every file (a rebuild skips unchanged ones)
        return (records, tmp_path / f"site-{next(fresh)}"), {}

    site = benchmark.pedantic(_build, setup=new_folder, rounds=3, iterations=1)
    assert site.pages == 1 + 12 + 50 and site.plots == 2 * 7
    assert benchmark.stats.stats.median < TARGET_S


def test_build_10000_records_from_disk(benchmark, records, tmp_path) -> None:
    results = tmp_path / "results"
    for record in records:
        write_record(results, record)
    _build(records[:200], tmp_path / "warm-up")

    fresh = iter(range(100))

    def read_and_build():
        return _build(collect_records(results), tmp_path / f"site-{next(fresh)}")

    site = benchmark.pedantic(read_and_build, rounds=3, iterations=1)
    assert site.pages == 63
