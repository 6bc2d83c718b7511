"""The default job (`w2s-bench run`: every baseline on `mini`), this checkout against an older
commit, cold and warm, side by side in one script; then whether their records agree.

    python -m tests.benchmarks.default_job [--old 08dd311] [--modes cold,warm] [--warm-rounds 3]

- cold: an empty cache (``W2S_BENCH_CACHE``), so the assets are downloaded and checked and
  every feature is embedded, then the 480 runs and the leaderboard;
- warm: the features cached by the cold run, an empty results folder.

The old commit runs from a ``git worktree`` with this checkout's Python environment
(``PYTHONPATH`` and ``W2S_BENCH_ROOT`` point at it; sandboxed workers see its code). Runs
alternate old, new, old, new so that drift in the machine's speed hits both alike. Each
record pair is compared on its metrics and the sha256 of its stored predictions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def job(root: Path, cache: Path, results: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(root), "W2S_BENCH_ROOT": str(root),
           "W2S_BENCH_CACHE": str(cache)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "benchmark.cli.main", "run", "--no-progress",
                    "--results-dir", str(results), "--leaderboard-dir",
                    str(results.parent / f"{results.name}-site")],
                   cwd=root, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def records(results: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for path in results.rglob("replicate-*.json"):
        record = json.loads(path.read_text())
        out[str(path.relative_to(results))] = (json.dumps(record["metrics"], sort_keys=True),
                                               record["predictions"]["sha256"])
    return out


def agreement(old: Path, new: Path) -> str:
    a, b = records(old), records(new)
    same = sum(a[k] == b.get(k) for k in a)
    return f"{same}/{len(a)} records identical (metrics and predictions sha256)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="08dd311", help="the commit to compare against")
    parser.add_argument("--modes", default="cold,warm")
    parser.add_argument("--warm-rounds", type=int, default=3,
                        help="warm jobs per side, alternating (the machines are noisy)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="warm: one feature cache both sides use, already filled (e.g. "
                             "~/.cache/w2s-bench after a run), instead of priming one each")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="w2s-default-job-"))
    old_root = work / "old"
    subprocess.run(["git", "worktree", "add", "--detach", str(old_root), args.old], cwd=ROOT,
                   check=True, capture_output=True)
    try:
        paths = {"old": old_root, "new": ROOT}
        times: dict[tuple[str, str], list[float]] = {}
        modes = args.modes.split(",")
        for mode in modes:
            for attempt in range(args.warm_rounds if mode == "warm" else 1):
                for name, root in paths.items():
                    cache = work / f"cache-{name}"
                    if mode == "warm" and args.cache is not None:
                        cache = args.cache
                    elif mode == "cold":
                        cache = work / f"cache-{name}-cold"
                    elif not cache.exists():  # warm: the features a cold run left, or make them
                        cold = work / f"cache-{name}-cold"
                        if cold.exists():
                            cache = cold
                        else:
                            job(root, cache, work / f"prime-{name}")
                    took = job(root, cache, work / f"{mode}-{name}-{attempt}")
                    times.setdefault((mode, name), []).append(took)
                    print(f"{mode:<5} {name}: {took:6.1f} s", flush=True)
        print(f"\n{'mode':<6} {'old (' + args.old + ')':>16} {'this checkout':>14} {'ratio':>7}")
        for mode in modes:
            old, new = (sum(times[mode, n]) / len(times[mode, n]) for n in ("old", "new"))
            rounds = f" (mean of {len(times[mode, 'new'])})" if len(times[mode, "new"]) > 1 else ""
            print(f"{mode:<6} {old:>14.1f} s {new:>12.1f} s {old / new:>6.2f}x   "
                  f"{agreement(work / f'{mode}-old-0', work / f'{mode}-new-0')}{rounds}")
            if len(times[mode, "new"]) > 1:
                median = {n: sorted(times[mode, n])[len(times[mode, n]) // 2]
                          for n in ("old", "new")}
                print(f"{'':<6} medians {median['old']:.1f} s and {median['new']:.1f} s: "
                      f"{median['old'] / median['new']:.2f}x; every job: "
                      + ", ".join(f"{n} {' '.join(f'{t:.1f}' for t in times[mode, n])}"
                                  for n in ("old", "new")))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(old_root)], cwd=ROOT,
                       check=False, capture_output=True)


if __name__ == "__main__":
    main()
