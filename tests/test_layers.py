"""The package's shape, checked: import contracts, no module over ~400 lines, stages only.

The contracts live in pyproject.toml (``[tool.importlinter]``); ``lint-imports`` reads them.
Data flows one way (task → weak labels → method → record → leaderboard), and a module that
reached back up the chain, or a leaderboard that could reach a gold label, fails here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

MAX_LINES = 400


def test_the_import_contracts_hold() -> None:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(lint).exists():
        pytest.fail("lint-imports is missing: install the test extra (pip install -e '.[test]')")
    done = subprocess.run([lint, "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_benchmark_holds_only_stage_packages() -> None:
    loose = sorted(p.name for p in (REPO / "benchmark").iterdir()
                   if p.is_file() and p.name != "__init__.py")
    assert loose == [], f"modules outside a stage package: {loose}"


def test_no_module_is_a_giant() -> None:
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines())
             for p in (REPO / "benchmark").rglob("*.py")}
    big = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines (split them by what they do): {big}"
