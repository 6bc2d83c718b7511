"""The front door as written: the README's and the guides' shell blocks, run from a checkout.

Every ```bash block of README.md and docs/*.md carries a marker on the line before it:
``<!-- docs-test: run -->`` (run here, as written, from the root of a copy of this checkout,
one document's blocks in order in one copy) or ``<!-- docs-test: skip: why -->`` (it needs
a cluster, the hub or a fresh machine; the reason names what tests that path instead). A
block without a marker fails the suite, so a new command cannot go untested silently.
Python blocks must import only the plugin API, as submissions do.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
MARKER = re.compile(r"<!-- docs-test: (run|skip: [^>]+?) -->\s*$")


@dataclass(frozen=True)
class Block:
    document: Path
    line: int
    language: str
    body: str
    marker: str | None

    def __str__(self) -> str:
        return f"{self.document.relative_to(REPO)}:{self.line}"


def blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = MARKER.search(before)
        found.append(Block(document, text[:match.start()].count("\n") + 1, match.group(1),
                           match.group(2), marker.group(1) if marker else None))
    return found


def shell_blocks() -> list[Block]:
    return [b for d in DOCUMENTS for b in blocks(d) if b.language == "bash"]


def test_every_shell_block_is_run_or_says_why_not() -> None:
    unmarked = [str(b) for b in shell_blocks() if b.marker is None]
    assert not unmarked, ("shell blocks without a <!-- docs-test: run --> or "
                          f"<!-- docs-test: skip: why --> marker: {unmarked}")
    assert any(b.marker == "run" for b in shell_blocks())


def test_ci_runs_the_quick_start_exactly() -> None:
    """The quick start is the one block this suite cannot run (it installs the package that
    runs the suite); .ci/run runs each of its commands verbatim on a clean clone instead."""
    quick = blocks(REPO / "README.md")[0]
    assert quick.language == "bash" and quick.marker and "ci/run" in quick.marker
    ci = (REPO / ".ci" / "run").read_text()
    commands = [c.strip() for line in quick.body.splitlines()
                if line.strip() and not line.startswith("#") for c in line.split("&&")]
    missing = [c for c in commands if c not in ci]
    assert not missing, f".ci/run does not run these quick-start commands: {missing}"


def test_python_blocks_import_only_the_plugin_api() -> None:
    from benchmark.methods.codescan import refusal

    for block in (b for d in DOCUMENTS for b in blocks(d) if b.language == "python"):
        tree = ast.parse(block.body)
        modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                    for a in n.names]
        refused = [m for m in modules if m and refusal(m)]
        assert not refused, f"{block} imports {refused}: examples use benchmark.api only"


def _checkout_copy(into: Path) -> Path:
    """The tracked files of this checkout (what a clone has), without results or caches."""
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.splitlines()
    for name in listed:
        source = REPO / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return into


@pytest.mark.assets
@pytest.mark.parametrize("document", sorted({b.document for b in shell_blocks()
                                             if b.marker == "run"}), ids=lambda p: p.name)
def test_the_runnable_shell_blocks_run_as_written(document: Path, tmp_path: Path) -> None:
    root = _checkout_copy(tmp_path / "checkout")
    env = {**os.environ, "W2S_BENCH_ROOT": str(root), "EDITOR": "true",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for block in (b for b in blocks(document) if b.language == "bash" and b.marker == "run"):
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.body], cwd=root,
                              env=env, capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, (f"{block} failed ({done.returncode}):\n"
                                      f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def test_the_citation_file_is_valid_cff_and_names_this_version() -> None:
    """CITATION.cff carries what CFF 1.2.0 requires, and the package's version (a release
    that forgets to bump it would be cited as the last one)."""
    import tomllib
    import yaml

    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert {"message", "title", "authors"} <= set(cff) and cff["authors"]
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert cff["version"] == version
    assert any("Weak-to-Strong" in ref["title"] for ref in cff["references"])
