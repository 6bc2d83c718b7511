"""Where things live: the repository's folders and the asset/feature cache.

The cache is ``~/.cache/w2s-bench`` unless ``W2S_BENCH_CACHE`` names another place; the
repository root is found from the package (editable install) or ``W2S_BENCH_ROOT``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


def repo_root() -> Path:
    return _repo_root(os.environ.get("W2S_BENCH_ROOT"), os.getcwd())


@lru_cache(maxsize=8)
def _repo_root(env: str | None, cwd: str) -> Path:
    """Memoised on what it depends on: a sweep asks ~35 times per run, and each answer costs
    a few ``stat`` and ``resolve`` calls."""
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]  # benchmark/core/paths.py → the checkout
    if (here / "tasks").is_dir():
        return here
    for candidate in [Path(cwd), *Path(cwd).parents]:
        if (candidate / "tasks").is_dir() and (candidate / "pyproject.toml").is_file():
            return candidate
    return Path(cwd)


def cache_dir() -> Path:
    env = os.environ.get("W2S_BENCH_CACHE")
    return Path(env).expanduser().resolve() if env else Path.home() / ".cache" / "w2s-bench"


def tasks_dir() -> Path:
    return _under(repo_root(), "tasks")


def frozen_dir() -> Path:
    return _under(repo_root(), "tasks/frozen")


@lru_cache(maxsize=64)
def _under(root: Path, relative: str) -> Path:
    """``root / relative``, memoised: a sweep asks for the frozen folder ~20 times a run."""
    return root / relative


def baselines_dir() -> Path:
    return repo_root() / "baselines"


def submissions_dir() -> Path:
    return repo_root() / "submissions"


def default_results_dir() -> Path:
    return repo_root() / "results"


def leaderboard_dir() -> Path:
    return repo_root() / "leaderboard"
