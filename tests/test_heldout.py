"""Held-out draws: a secret the submitter never sees seeds fresh split draws of a suite's
tasks, in a world outside the repository; the board shows each method's held-out score and
its gap beside the public one, from records only."""

from __future__ import annotations

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
    seed = heldout_seed(SECRET, "task-a", public_seed=0, replicates=20)
    assert seed == heldout_seed(SECRET, "task-a", 0, 20)   # the maintainer can redo it
    assert seed != heldout_seed(SECRET + b"!", "task-a", 0, 20)
    assert seed != heldout_seed(SECRET, "task-b", 0, 20)
    # never a seed whose replicate draws overlap the public ones, even next to them
    for public in range(seed - 25, seed + 25):
        assert abs(heldout_seed(SECRET, "task-a", public, 20) - public) >= 20


def test_the_world_changes_only_the_split_seed_and_stays_outside(tiny_world, tmp_path):
    with pytest.raises(SpecError, match="outside the repository"):
        make_world(TINY_SUITE, tiny_world.root / "heldout", SECRET)
    name = make_world(TINY_SUITE, tmp_path / "world", SECRET)
    assert name == f"{TINY_SUITE}-heldout"
    public = yaml.safe_load((tiny_world.root / "tasks" / f"{TINY_TASK}.yaml").read_text())
    held = yaml.safe_load((tmp_path / "world" / "tasks" / f"{TINY_TASK}.yaml").read_text())
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
    assert f'data-suite="{TINY_SUITE}-heldout"' in index   # and a board of its own
    # a public suite's records are never read from a held-out folder
    assert main(["leaderboard", "--results-dir", str(public), "--out", str(board),
                 "--heldout-dir", str(public)]) == 2
    assert "not held-out suites" in capsys.readouterr().err
