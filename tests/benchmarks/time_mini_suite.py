"""Time the README's main job: ``w2s-bench run`` on the ``mini`` suite, cold and warm.

Targets (issue 2, for the ``naive`` sweep): cold < 180 s (features not cached; the one-time
asset download is excluded, so assets are fetched first) and warm < 20 s (features cached,
empty results directory). Then the default job itself, every reference baseline, warm; it
has no target and is reported with its cost per run. Runs the real CLI in subprocesses, as
a user would, against a fresh feature cache that shares the already-fetched assets.

    python tests/benchmarks/time_mini_suite.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"cold": 180.0, "warm": 20.0}


def timed_run(env: dict[str, str], results: Path, board: Path, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "benchmark.cli.main", "run", "--no-progress",
                    "--results-dir", str(results), "--leaderboard-dir", str(board), *extra],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    from benchmark.assets.catalog import fetch
    from benchmark.cli.main import required_assets
    from benchmark.core.paths import cache_dir
    from benchmark.tasks.suites import suite_tasks

    fetch(required_assets(suite_tasks("mini")), progress=False)  # excluded from the timing
    shared = cache_dir()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        cache.mkdir()
        for part in ("assets", "wheels", "converted"):
            if (shared / part).exists():
                os.symlink(shared / part, cache / part)
        env = {**os.environ, "W2S_BENCH_CACHE": str(cache)}
        naive = ("--methods", "naive")
        times = {"cold": timed_run(env, Path(tmp) / "r1", Path(tmp) / "b1", *naive),
                 "warm": timed_run(env, Path(tmp) / "r2", Path(tmp) / "b2", *naive)}
        every = timed_run(env, Path(tmp) / "r3", Path(tmp) / "b3")
        runs = len(list((Path(tmp) / "r3").glob("*/*/*/replicate-*.json")))
    for name, seconds in times.items():
        ratio = seconds / TARGETS[name]
        print(f"{name}: {seconds:6.1f} s  target < {TARGETS[name]:.0f} s  "
              f"ratio {ratio:.2f}  {'OK' if ratio < 1 else 'OVER'}")
    print(f"cold/warm: {times['cold'] / times['warm']:.1f}x")
    print(f"default job (every baseline), warm: {every:.1f} s for {runs} runs "
          f"({every / runs:.2f} s per run; {every / times['warm']:.1f}x the naive sweep)")
    return 0 if all(times[n] < TARGETS[n] for n in TARGETS) else 1


if __name__ == "__main__":
    sys.exit(main())
