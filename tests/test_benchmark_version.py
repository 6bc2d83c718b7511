"""The benchmark version names one set of frozen tasks: a re-freeze that is not announced (a
new version in tasks/versions/benchmark.yaml and its CHANGELOG.md entry) fails here, and every page
and export of the leaderboard prints the version."""

from __future__ import annotations

import json
import shutil

import pytest

from benchmark.core.benchmark_version import (
    benchmark_version,
    covered_tasks,
    declared,
    frozen_sha256,
)
from tests.conftest import REPO


def test_the_declared_version_is_this_checkouts_frozen_tasks() -> None:
    found = declared()
    tasks = covered_tasks(found.suites)
    here = frozen_sha256(tasks)
    assert here == found.frozen_sha256, (
        "the frozen tasks of the suites tasks/versions/benchmark.yaml covers changed (a "
        "re-freeze): "
        f"bump its version, set frozen_sha256 to {here} and add the version to CHANGELOG.md "
        "with what the change did to the numbers")
    assert benchmark_version().matches
    from benchmark.tasks.suites import SUITES

    live = {name for name, s in SUITES.items() if not s.retired}
    assert set(found.suites) == live, "every suite that runs is covered by the version"


def test_every_version_has_a_changelog_entry() -> None:
    text = (REPO / "CHANGELOG.md").read_text()
    assert f"## {declared().version} ({declared().released})" in text


def test_a_refreeze_changes_the_digest_and_the_label_says_so(tmp_path) -> None:
    tasks = covered_tasks(declared().suites)[:2]
    root = tmp_path / "frozen"
    for task in tasks:
        shutil.copytree(REPO / "tasks" / "frozen" / task, root / task)
    before = frozen_sha256(tasks, root)
    lock = root / tasks[0] / "lock.json"
    lock.write_text(lock.read_text().replace("\n", "\n ", 1))
    assert frozen_sha256(tasks, root) != before
    (root / tasks[1] / "lock.json").unlink()
    assert frozen_sha256(tasks, root) not in (before,)
    from benchmark.core.benchmark_version import BenchmarkVersion

    assert BenchmarkVersion("1.0", "a" * 64, False).label.endswith("differ from it)")


@pytest.mark.parametrize("file", ["index.html", "leaderboard.md", "leaderboard.json",
                                  "leaderboard.csv", "leaderboard.tex"])
def test_the_board_prints_the_version(tmp_path, file) -> None:
    from benchmark.site.build import build_site
    from tests.site_records import make_record

    build_site([make_record("t", "naive", k, 0.5) for k in range(2)], tmp_path,
               build_time="2026-01-01T00:00:00Z", git_commit="c")
    label = benchmark_version().label
    text = (tmp_path / file).read_text()
    if file.endswith(".json"):
        assert json.loads(text)["benchmark_version"] == label
    else:
        assert label in text
