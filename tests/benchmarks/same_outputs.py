"""Does a refactor change any output? This checkout against an older commit, on the same
machine and feature cache: every task's hash, every frozen lock, every record of the suites
named, and the generated site.

    python -m tests.benchmarks.same_outputs --old REV [--suites mini,beyond] [--cache DIR]
        [--refreeze TASK,...] [--site-from results] [--ignore provenance.boosting_sha256]

Records are compared whole, less what differs by nature between two checkouts: timings
(``TIMINGS``), the git commit and the method's file path under each root. The site's
``leaderboard.json`` and ``leaderboard.md`` (every table, the frontier's and beyond's
included) are compared less their timings, with each side's commit replaced by one
placeholder; and both sides build the whole site (every page, export and plot) from the
same records, the old side's, which must give the same bytes less the commit
(``--site-from DIR``: from that folder's records too). ``--refreeze TASK,…`` also freezes
those tasks again on both sides (each in a worktree of its own, this checkout's committed
HEAD for the new side, so the suites still run on the committed frozen files) and compares
the files.

Exit status 1 on any difference, with the first few named.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TIMINGS = ("wall_s", "cpu_s", "peak_rss_mb")
SITE_TIMINGS = ("wall_vs_naive",)
SITE_TIMING_COLUMNS = ("wall s", "peak MB")
FACTS = """
import json, hashlib
from benchmark.tasks.spec import TASKS
from benchmark.core.paths import frozen_dir
tasks = {}
for name in TASKS.names():
    try:
        tasks[name] = TASKS.get(name).sha256
    except Exception as exc:
        tasks[name] = f"error: {type(exc).__name__}"
locks = {p.parent.name: hashlib.sha256(p.read_bytes()).hexdigest()
         for p in sorted(frozen_dir().glob("*/lock.json"))}
print(json.dumps({"tasks": tasks, "locks": locks}))
"""


def env_for(root: Path, cache: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(root), "W2S_BENCH_ROOT": str(root),
            "W2S_BENCH_CACHE": str(cache)}


def facts(root: Path, cache: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", FACTS], cwd=root, env=env_for(root, cache),
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def refrozen(root: Path, cache: Path, tasks: list[str]) -> dict[str, str]:
    """Freeze ``tasks`` again with --force in the worktree ``root``; every file's sha256 and
    the lock's hashes (its packages and hardware are this machine's on both sides)."""
    subprocess.run([sys.executable, "-m", "benchmark.cli.main", "freeze", *tasks, "--force",
                    "--no-progress"], cwd=root, env=env_for(root, cache), check=True,
                   stdout=subprocess.DEVNULL)
    found = {}
    for task in tasks:
        lock = json.loads((root / "tasks" / "frozen" / task / "lock.json").read_text())
        found |= {f"{task}/{name}": digest for name, digest in lock["files"].items()}
        found[f"{task}/task_sha256"] = lock["task_sha256"]
    return found


def run_suite(root: Path, cache: Path, suite: str, out: Path) -> None:
    subprocess.run([sys.executable, "-m", "benchmark.cli.main", "run", "--suite", suite,
                    "--no-progress", "--results-dir", str(out / "results"),
                    "--leaderboard-dir", str(out / "site")],
                   cwd=root, env=env_for(root, cache), check=True, stdout=subprocess.DEVNULL)


def commit_of(root: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True,
                          capture_output=True, text=True).stdout.strip()


def normalised(record: dict[str, Any], root: Path, ignore: list[str]) -> dict[str, Any]:
    for field in TIMINGS:
        (record.get("compute") or {}).pop(field, None)
    provenance = record.get("provenance") or {}
    provenance.pop("git_commit", None)
    origin = provenance.get("method_origin") or ""
    if origin.startswith(str(root)):
        provenance["method_origin"] = origin[len(str(root)):]
    for dotted in ignore:
        *parents, last = dotted.split(".")
        node = record
        for key in parents:
            node = node.get(key) or {}
        node.pop(last, None)
    return record


def records(out: Path, root: Path, ignore: list[str]) -> dict[str, str]:
    folder = out / "results"
    return {str(p.relative_to(folder)): json.dumps(normalised(json.loads(p.read_text()), root,
                                                              ignore), sort_keys=True)
            for p in sorted(folder.rglob("replicate-*.json"))}


def _without_timings(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_timings(v) for k, v in node.items()
                if k not in TIMINGS and k not in SITE_TIMINGS}
    if isinstance(node, list):
        return [_without_timings(v) for v in node]
    return node


def _markdown_without_timings(text: str) -> str:
    """The Markdown tables with their timing columns blanked (a table's header names them)."""
    out, drop = [], []
    for line in text.splitlines():
        if not line.startswith("|"):
            drop = []
            out.append(line)
            continue
        cells = line.split("|")
        if not drop and not set(line) <= set("|-: "):
            drop = [i for i, c in enumerate(cells)
                    if any(word in c for word in SITE_TIMING_COLUMNS)]
        out.append("|".join("" if i in drop else c.strip() for i, c in enumerate(cells)))
    return "\n".join(out)


def site(out: Path, commit: str) -> dict[str, str]:
    """The site's complete table (``leaderboard.json``) and its Markdown page (every table,
    the frontier's and beyond's included), less timings, with the commit replaced by a
    placeholder."""
    files = {}
    for name in ("leaderboard.json", "leaderboard.md"):
        path = out / "site" / name
        if path.is_file():
            text = path.read_text().replace(commit, "<commit>").replace(commit[:7], "<commit>")
            files[name] = json.dumps(_without_timings(json.loads(text)), sort_keys=True) \
                if name.endswith(".json") else _markdown_without_timings(text)
    return files


def built_site(root: Path, cache: Path, results: Path, out: Path) -> dict[str, str]:
    """Every file of the site ``root``'s code builds from ``results`` (HTML pages, tables,
    exports, plots), with the commit in the footer replaced by a placeholder: given the same
    records, both sides must write the same bytes."""
    subprocess.run([sys.executable, "-m", "benchmark.cli.main", "leaderboard", "--results-dir",
                    str(results), "--out", str(out), "--build-time", "2026-01-01T00:00:00Z"],
                   cwd=root, env=env_for(root, cache), check=True, stdout=subprocess.DEVNULL)
    commit = commit_of(root)
    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for text in (commit + "+dirty", commit, commit[:7]):
            data = data.replace(text.encode(), b"<commit>")
        files[str(path.relative_to(out))] = hashlib.sha256(data).hexdigest()
    return files


def differences(label: str, old: dict[str, str], new: dict[str, str]) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [f"{label} {k}: " + ("only in old" if k not in new else "only in new"
                                if k not in old else "differs")
            for k in keys if old.get(k) != new.get(k)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the commit to compare against")
    parser.add_argument("--suites", default="mini")
    parser.add_argument("--cache", type=Path, default=None,
                        help="a filled feature cache both sides use (default: the user's)")
    parser.add_argument("--refreeze", default="",
                        help="comma list of tasks to freeze again on both sides")
    parser.add_argument("--site-from", type=Path, default=None,
                        help="a results folder both sides also build the whole site from")
    parser.add_argument("--ignore", action="append", default=[],
                        help="a record field (dotted) one side adds by design")
    args = parser.parse_args()
    if args.site_from is not None:   # each side runs in its own root: one folder for both
        args.site_from = args.site_from.resolve()
    cache = args.cache or Path(os.environ.get("W2S_BENCH_CACHE",
                                              Path.home() / ".cache" / "w2s-bench"))
    work = Path(tempfile.mkdtemp(prefix="w2s-same-outputs-"))
    old_root = work / "old"
    subprocess.run(["git", "worktree", "add", "--detach", str(old_root), args.old], cwd=ROOT,
                   check=True, capture_output=True)
    try:
        roots = {"old": old_root, "new": ROOT}
        found = {side: facts(root, cache) for side, root in roots.items()}
        problems = differences("task hash", found["old"]["tasks"], found["new"]["tasks"])
        problems += differences("frozen lock", found["old"]["locks"], found["new"]["locks"])
        print(f"task hashes: {len(found['new']['tasks'])}; frozen locks: "
              f"{len(found['new']['locks'])}")
        if args.refreeze:   # in worktrees of their own: the suites run on the frozen files
            trees = {"old": (work / "old-freeze", args.old), "new": (work / "head", "HEAD")}
            for tree, rev in trees.values():
                subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev],
                               cwd=ROOT, check=True, capture_output=True)
            try:
                tasks = args.refreeze.split(",")
                again = {side: refrozen(tree, cache, tasks)
                         for side, (tree, _) in trees.items()}
                problems += differences("refrozen", again["old"], again["new"])
                print(f"refrozen {len(tasks)} task(s): {len(again['new'])} files and hashes")
            finally:
                for tree, _ in trees.values():
                    subprocess.run(["git", "worktree", "remove", "--force", str(tree)],
                                   cwd=ROOT, check=False, capture_output=True)
        for suite in filter(None, args.suites.split(",")):
            outs = {side: work / f"{suite}-{side}" for side in roots}
            for side, root in roots.items():
                run_suite(root, cache, suite, outs[side])
            old, new = (records(outs[s], roots[s], args.ignore) for s in ("old", "new"))
            same = sum(old[k] == new.get(k) for k in old)
            print(f"{suite}: {same}/{len(old)} records identical ({len(new)} new side)")
            problems += differences(f"{suite} record", old, new)
            problems += differences(f"{suite} site", site(outs["old"], commit_of(old_root)),
                                    site(outs["new"], commit_of(ROOT)))
            results = outs["old"] / "results"
            pages = {side: built_site(root, cache, results, work / f"{suite}-pages-{side}")
                     for side, root in roots.items()}
            print(f"{suite}: {len(pages['new'])} site files built from the same records")
            problems += differences(f"{suite} pages", pages["old"], pages["new"])
        if args.site_from is not None:
            pages = {side: built_site(root, cache, args.site_from, work / f"pages-{side}")
                     for side, root in roots.items()}
            print(f"{args.site_from}: {len(pages['new'])} site files built from its records")
            problems += differences("pages", pages["old"], pages["new"])
        for line in problems[:20]:
            print("  " + line)
        print("identical" if not problems else f"{len(problems)} difference(s)")
        return 1 if problems else 0
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(old_root)], cwd=ROOT,
                       check=False, capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
