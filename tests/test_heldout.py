"""Held-out draws: a secret the submitter never sees seeds fresh split draws of a suite's
tasks, in a world outside the repository; the board shows each method's held-out score and
its gap beside the public one, from records only."""

from __future__ import annotations

import re

import pytest
import yaml

from benchmark.cli.main import main
from benchmark.core.errors import SpecError
from benchmark.library.heldout import SECRET_ENV, heldout_seed, make_world, read_secret
from tests.conftest import TINY_SUITE, TINY_TASK, reset_registries

SECRET = b"a-maintainer-secret-of-enough-length"


def test_the_secret_is_refused_when_missing_short_or_inside_the_repo(
        tiny_world, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(SpecError, match=f"set {SECRET_ENV} or pass --secret-file"):
        read_secret()
    monkeypatch.setenv(SECRET_ENV, "short")
    with pytest.raises(SpecError, match="at least 16"):
        read_secret()
    inside = tiny_world.root / "secret.txt"
    inside.write_text(SECRET.decode())
    try:
        with pytest.raises(SpecError, match="outside the repository"):
            read_secret(inside)
    finally:
        inside.unlink()
    outside = tmp_path / "secret.txt"
    outside.write_text(SECRET.decode() + "\n")
    assert read_secret(outside) == SECRET


def test_held_out_seeds_come_from_the_secret_and_miss_the_public_draws() -> None:
    seed = heldout_seed(SECRET, public_seed=1000, replicates=20)
    assert seed == heldout_seed(SECRET, 1000, 20)   # the maintainer can redo it
    assert seed != heldout_seed(SECRET + b"!", 1000, 20)
    # tasks that share a public draw (one block, twins) share a held-out one; others do not
    assert seed != heldout_seed(SECRET, 2000, 20)
    # never a seed whose replicate draws overlap the public ones
    for public in range(0, 2000, 7):
        assert abs(heldout_seed(SECRET, public, 20) - public) >= 20


def test_a_world_root_never_binds_the_repository_into_the_sandbox(tiny_world,
                                                                  monkeypatch) -> None:
    """Under another root (a held-out world, the tests' world), the checkout the package
    runs from is on sys.path (``python -m`` from it) but its task data must stay invisible
    to methods."""
    from benchmark.core.bwrap import visible_to_methods
    from tests.conftest import REPO

    monkeypatch.syspath_prepend(str(REPO))
    assert not visible_to_methods(REPO / "tasks" / "frozen")
    assert not visible_to_methods(REPO / "results")
    assert visible_to_methods(REPO / "benchmark" / "api")


def test_the_world_changes_only_the_split_seed_and_stays_outside(tiny_world, tmp_path):
    with pytest.raises(SpecError, match="outside the repository"):
        make_world(TINY_SUITE, tiny_world.root / "heldout", SECRET)
    name = make_world(TINY_SUITE, tmp_path / "world", SECRET)
    assert name == f"{TINY_SUITE}-heldout"
    public = yaml.safe_load((tiny_world.root / "tasks" / f"{TINY_TASK}.yaml").read_text())
    held = yaml.safe_load((tmp_path / "world" / "tasks" / f"{TINY_TASK}.yaml").read_text())
    # only the split seed changes; the methods' runs get the public one, and a task without
    # a pool block keeps the pool its public seed drew
    assert held.pop("run_seed") == public["seed"]
    assert "pool" not in public and held.pop("pool") == {
        "size": sum(public["splits"].values()), "seed": public["seed"]}
    assert held.pop("seed") != public.pop("seed") and held == public
    suites = yaml.safe_load((tmp_path / "world" / "tasks" / "suites.yaml").read_text())
    assert suites[name]["tasks"] == [TINY_TASK]
    assert (tmp_path / "world" / "submissions").resolve() == \
        (tiny_world.root / "submissions").resolve()


def test_a_held_out_run_is_shown_beside_the_public_score(tiny_world, tmp_path, monkeypatch,
                                                         capsys) -> None:
    from benchmark.library.heldout import run_heldout
    from benchmark.results.records import iter_records

    public = tmp_path / "public"
    assert main(["run", "--suite", TINY_SUITE, "--methods", "naive,logconf", "--results-dir",
                 str(public), "--leaderboard-dir", str(tmp_path / "b0"), "--workers", "1",
                 "--no-progress"]) == 0

    def in_process(argv: list[str], env: dict[str, str]) -> int:
        monkeypatch.setenv("W2S_BENCH_ROOT", env["W2S_BENCH_ROOT"])
        assert SECRET_ENV not in env   # the runs never see the secret
        reset_registries()
        try:
            return main(argv)
        finally:
            monkeypatch.setenv("W2S_BENCH_ROOT", str(tiny_world.root))
            reset_registries()

    world = tmp_path / "world"
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    assert run_heldout(TINY_SUITE, world, SECRET, ["naive", "logconf"],
                       ["--workers", "1", "--no-progress"], runner=in_process) == 0
    held = list(iter_records(world / "results"))
    assert {r.suite for r in held} == {f"{TINY_SUITE}-heldout"} and len(held) == 4
    mine = {r.provenance.split_sha256 for r in iter_records(public)}
    assert not mine & {r.provenance.split_sha256 for r in held}   # fresh draws
    capsys.readouterr()

    board = tmp_path / "board"
    assert main(["leaderboard", "--results-dir", str(public), "--out", str(board),
                 "--heldout-dir", str(world / "results")]) == 0
    index = (board / "index.html").read_text()
    assert "Held-out PGR [95% CI]" in index and "Held-out − public" in index
    row = re.search(r'data-method="naive".*?</tr>', index, re.S).group(0)
    cells = re.findall(r'<td class="num" data-sort="([^"]*)">', row)
    assert cells[1] != ""   # after the public PGR (n/a here: the tiny task's gaps are small)
    # nothing a held-out run wrote is published: no board, page or curve of its own
    assert f'data-suite="{TINY_SUITE}-heldout"' not in index
    exported = (board / "leaderboard.json").read_text()
    assert f'"heldout": "{TINY_SUITE}-heldout"' in exported   # its scores, by name
    assert f'"suite": "{TINY_SUITE}-heldout"' not in exported   # never a board of its own
    assert not list((board / "plots").glob("*heldout*"))
    # the runs got the public seeds: a run cannot write out a split seed it never had
    assert {r.seed for r in held} == {r.seed for r in iter_records(public)}
    # a public suite's records are never read from a held-out folder
    assert main(["leaderboard", "--results-dir", str(public), "--out", str(board),
                 "--heldout-dir", str(public)]) == 2
    assert "not held-out suites" in capsys.readouterr().err


def test_the_gap_pairs_only_complete_same_version_entries() -> None:
    """The board's held-out columns on hand-made records: the gap is held-out − public with
    the two half-widths combined; a held-out entry of another method version, or one missing
    a task, gives none."""
    import math

    from benchmark.site.frame import record_rows
    from benchmark.site.heldout import paired_heldout
    from benchmark.site.standings import standings
    from tests.site_records import make_record

    records = []
    for suite, shift in (("s", 0.0), ("s-heldout", -0.1)):
        for name, pgr in (("a", 0.5), ("b", 0.3), ("c", 0.4)):
            for task in ("t1", "t2"):
                if suite == "s-heldout" and name == "c" and task == "t2":
                    continue   # c's held-out entry misses a task
                for k in range(5):
                    version = "2" if suite == "s-heldout" and name == "b" else "1"
                    records.append(make_record(task, name, k, pgr + shift + 0.02 * k,
                                               suite=suite, version=version,
                                               weak_sha=f"{suite}-{task}-{k}"))
    public = {b.suite: b for b in paired_heldout(standings(record_rows(records)))}["s"]
    entries = {e.method: e for e in public.ranked}
    a = entries["a"]
    assert a.heldout_pgr.mean == pytest.approx(a.pgr.mean - 0.1)
    assert a.heldout_gap.mean == pytest.approx(-0.1)
    half = math.hypot((a.pgr.high - a.pgr.low) / 2,
                      (a.heldout_pgr.high - a.heldout_pgr.low) / 2)
    assert a.heldout_gap.high - a.heldout_gap.low == pytest.approx(2 * half)
    assert entries["b"].heldout_pgr is None and entries["b"].heldout_gap is None   # version
    assert entries["c"].heldout_pgr is None   # incomplete on the held-out draws
    assert public.heldout == "s-heldout"
