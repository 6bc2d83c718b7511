"""What the sandbox costs: the default job (``w2s-bench run``: every baseline on ``mini``,
warm feature cache, empty results folder), with and without it, side by side, alternating.

    python -m tests.benchmarks.sandbox_overhead [--rounds 2]

Prints each wall time, the ratio of the medians, and whether every record's metrics
(accuracy, AUROC, PGR) are identical with and without the sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

W2S_BENCH = str(Path(sys.executable).with_name("w2s-bench"))  # the README's command


def sweep(results: Path, sandbox: str) -> float:
    env = {**os.environ, "W2S_BENCH_SANDBOX": sandbox}
    env.pop("W2S_BENCH_TRUST_CODE", None)
    start = time.perf_counter()
    subprocess.run([W2S_BENCH, "run", "--no-progress", "--results-dir", str(results),
                    "--leaderboard-dir", str(results.with_name(results.name + "-board"))],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def records(results: Path) -> dict[str, dict]:
    return {str(p.relative_to(results)): json.loads(p.read_text())
            for p in sorted(results.rglob("replicate-*.json"))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    rounds = parser.parse_args().rounds
    times: dict[str, list[float]] = {"none": [], "bwrap": []}
    with tempfile.TemporaryDirectory(prefix="w2s-sandbox-bench-") as tmp:
        base = Path(tmp)
        for k in range(rounds):
            for sandbox in ("none", "bwrap"):
                times[sandbox].append(sweep(base / f"{sandbox}-{k}", sandbox))
        plain, boxed = records(base / "none-0"), records(base / "bwrap-0")
    same = plain.keys() == boxed.keys() and all(
        plain[k]["metrics"] == boxed[k]["metrics"] for k in plain)
    kinds = {r["provenance"]["sandbox"] for r in boxed.values()}
    ratio = statistics.median(times["bwrap"]) / statistics.median(times["none"])
    print(f"default job, {len(plain)} runs, {rounds} rounds alternating")
    for sandbox, seconds in times.items():
        print(f"  {sandbox:5s}: " + ", ".join(f"{s:.1f} s" for s in seconds))
    print(f"ratio (median bwrap / median none): {ratio:.3f}; metrics identical: {same}; "
          f"sandboxed records say: {sorted(kinds)}")


if __name__ == "__main__":
    main()
