"""``w2s-bench check-submission``: one command, one exit code and a Markdown report that
passes a good submission and fails each broken one naming the problem and the fix; the CI
workflow runs exactly that command; the pull-request template carries the checklist."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest
import yaml

from benchmark.cli.main import main
from tests.conftest import PLAIN_USES, REPO, TINY_SUITE, TINY_TASK

WORKFLOW = REPO / ".github" / "workflows" / "submission.yml"


def scored(world, tmp_path, capsys, name: str = "good-idea") -> Path:
    """A submission scaffolded, its TODOs filled in, scored into its own results folder."""
    assert main(["new-method", name]) == 0
    folder = world.root / "submissions" / name
    meta = yaml.safe_load((folder / "submission.yaml").read_text())
    meta.update(authors=["Ada Lovelace"], description="Cross-entropy on the weak labels.",
                uses=PLAIN_USES)
    (folder / "submission.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    source = (folder / "method.py").read_text().replace("TODO: ", "")
    (folder / "method.py").write_text(source)
    assert main(["run", "--suite", TINY_SUITE, "--methods", name, "--results-dir",
                 str(folder / "results"), "--leaderboard-dir", str(tmp_path / "board"),
                 "--workers", "1", "--no-progress"]) == 0
    capsys.readouterr()
    return folder


def check(folder: Path, tmp_path: Path, capsys) -> tuple[int, str, str]:
    report = tmp_path / "report.md"
    code = main(["check-submission", str(folder), "--report", str(report)])
    out = capsys.readouterr().out
    assert report.read_text() == out   # the file CI attaches is what was printed
    return code, out, out.split("\n## ", 1)[-1] if "\n## " in out else ""


def test_a_good_submission_passes_every_check(tiny_world, tmp_path, capsys):
    folder = scored(tiny_world, tmp_path, capsys)
    code, out, _ = check(folder, tmp_path, capsys)
    assert code == 0, out
    assert "**The submission passes** (9 of 9 checks passed; re-runs: in the bwrap sandbox)" \
        in out
    for name in ("card", "code scan", "plugin", "records", "comparable", "consistent",
                 "rescored", "reproduced", "flags"):
        assert f"| {name} | pass |" in out
    assert "2 re-run(s), match exact (same machine type)" in out


def test_a_missing_card_field_fails_naming_it_and_the_fix(tiny_world, tmp_path, capsys):
    folder = scored(tiny_world, tmp_path, capsys, "no-compute")
    meta = yaml.safe_load((folder / "submission.yaml").read_text())
    del meta["uses"]["compute"]
    (folder / "submission.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    code, out, detail = check(folder, tmp_path, capsys)
    assert code == 1 and "does not pass" in out
    assert "| card | FAIL |" in out and "missing required key `uses.compute`" in detail
    assert "**Fix:** complete" in detail and "new-method NAME" in detail
    assert "| reproduced | skipped |" in out   # never passed by default

    del meta["uses"]
    (folder / "submission.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    assert check(folder, tmp_path, capsys)[0] == 1
    assert main(["check-submission", str(folder)]) == 1
    assert "missing required key `uses`" in capsys.readouterr().out


def test_a_record_that_does_not_re_run_fails(tiny_world, tmp_path, capsys):
    folder = scored(tiny_world, tmp_path, capsys, "drifting")
    path = folder / "results" / TINY_SUITE / TINY_TASK / "drifting" / "replicate-0.json"
    data = json.loads(path.read_text())
    data["metrics"]["accuracy"] = round(data["metrics"]["accuracy"] - 0.03, 6)
    path.write_text(json.dumps(data))
    code, out, detail = check(folder, tmp_path, capsys)
    assert code == 1
    assert "| reproduced | FAIL |" in out and "| card | pass |" in out
    assert f"{TINY_SUITE}/{TINY_TASK} replicate 0: accuracy: recorded" in detail
    assert "make the method deterministic" in detail


def test_a_stale_task_version_fails_as_not_comparable(tiny_world, tmp_path, capsys):
    folder = scored(tiny_world, tmp_path, capsys, "stale")
    path = folder / "results" / TINY_SUITE / TINY_TASK / "stale" / "replicate-1.json"
    data = json.loads(path.read_text())
    data["provenance"]["task_version"] -= 1
    data["provenance"]["task_sha256"] = "0" * 64
    path.write_text(json.dumps(data))
    code, out, detail = check(folder, tmp_path, capsys)
    assert code == 1 and "| comparable | FAIL |" in out
    assert "replicate 1: task_sha256 is '0000" in detail
    assert "--results-dir submissions/stale/results" in detail


def test_a_left_out_replicate_or_an_edited_use_fails_the_records(tiny_world, tmp_path,
                                                                   capsys):
    folder = scored(tiny_world, tmp_path, capsys, "choosy")
    kept = folder / "results" / TINY_SUITE / TINY_TASK / "choosy"
    for stale in kept.glob("replicate-1.*"):
        stale.unlink()   # the draw it did worse on, left out
    code, out, detail = check(folder, tmp_path, capsys)
    assert code == 1 and "| records | FAIL |" in out
    assert f"{TINY_SUITE}/{TINY_TASK}: no record of replicate(s) 1" in detail

    folder = scored(tiny_world, tmp_path, capsys, "unmarked")
    meta = yaml.safe_load((folder / "submission.yaml").read_text())
    meta["uses"]["transductive"] = True   # the card says so; the record was edited not to
    (folder / "submission.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    code, out, detail = check(folder, tmp_path, capsys)
    assert code == 1 and "replicate 0: its `uses` is not submission.yaml's" in detail


def test_an_unreviewed_scaffold_fails_on_its_todo_lines(tiny_world, tmp_path, capsys):
    assert main(["new-method", "as-scaffolded"]) == 0
    folder = tiny_world.root / "submissions" / "as-scaffolded"
    text = (folder / "submission.yaml").read_text()
    lines = [n for n, line in enumerate(text.splitlines(), 1) if "TODO" in line]
    assert len(lines) >= 6   # authors, description and every `uses` key
    capsys.readouterr()
    code, out, detail = check(folder, tmp_path, capsys)
    assert code == 1 and f"TODO on line(s) {', '.join(map(str, lines))}" in detail


def test_missing_records_and_a_flag_each_fail(tiny_world, tmp_path, capsys):
    assert main(["new-method", "unscored"]) == 0
    capsys.readouterr()
    code, out, _ = check(tiny_world.root / "submissions" / "unscored", tmp_path, capsys)
    assert code == 1 and "| records | FAIL |" in out and "still has TODO on line(s)" in out
    assert "--results-dir submissions/unscored/results" in out

    folder = scored(tiny_world, tmp_path, capsys, "flagged-one")
    flags = tiny_world.root / "submissions" / "flags.yaml"
    flags.write_text(yaml.safe_dump({"flags": [{
        "method": "flagged-one", "reason": "its records were tuned on the test split",
        "link": "https://example.org/issues/1", "since": "2026-12-01"}]}))
    try:
        code, out, detail = check(folder, tmp_path, capsys)
    finally:
        flags.unlink()
    assert code == 1 and "| flags | FAIL |" in out and "tuned on the test split" in detail
    assert "| reproduced | pass |" in out


def test_the_workflow_runs_exactly_check_submission_and_lints():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    # yaml reads `on` as True; the base branch's copy of this file runs, never the PR's
    assert workflow[True]["pull_request_target"]["paths"] == ["submissions/**"]
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["check-submission"]["steps"]
    commands = [line.strip() for step in steps
                for line in step.get("run", "").replace("\\\n", " ").splitlines()]
    words = [shlex.split(c) for c in commands if "w2s-bench" in c]
    invoked = [[t.rstrip(")") for t in w[w.index("w2s-bench"):][:5]] for w in words]
    assert invoked == [["w2s-bench", "fetch"], ["w2s-bench", "check-submission",
                                                 "submissions/$name", "--report",
                                                 "../reports/$name.md"]]
    # the verdict is the base branch's harness's: the pull request only adds its folders
    harness = next(s for s in steps if s.get("with", {}).get("path") == "harness")
    assert harness["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert "pip install -e ./harness" in commands
    assert any("grep -v -E '^submissions/[a-z0-9][a-z0-9-]{0,62}/'" in c for c in commands)
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in steps)
    from check_jsonschema.cli.main_command import main as lint

    with pytest.raises(SystemExit) as done:
        lint(["--builtin-schema", "vendor.github-workflows", str(WORKFLOW)])
    assert done.value.code == 0


def test_the_pull_request_template_has_the_checklist():
    text = (REPO / ".github" / "pull_request_template.md").read_text()
    assert "w2s-bench check-submission submissions/NAME" in text
    for item in ("transductive", "extra data", "gold", "compute", "version", "benchmark.api"):
        assert item in text


@pytest.mark.parametrize(("changed", "names"), [
    (["submissions/good-idea/method.py", "submissions/good-idea/results/x.json"], "good-idea"),
    (["submissions/good-idea/method.py", "benchmark/run/verify.py"], None),   # the harness
    (["submissions/flags.yaml"], None),                     # un-flagging oneself
    (["submissions/good-idea/method.py", "tasks/frozen/t/lock.json"], None),
    (["submissions/Bad Name/method.py"], None),             # not a submission's name
    (["rename:benchmark/run/verify.py:submissions/good-idea/verify.py"], None),   # a move
])
def test_the_workflow_refuses_a_pull_request_that_reaches_outside_its_folder(
        tmp_path, changed, names):
    import subprocess

    step = next(s for s in yaml.safe_load(WORKFLOW.read_text())["jobs"]["check-submission"]
                ["steps"] if s.get("id") == "touched")
    pr = tmp_path / "pr"
    pr.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=pr, check=True, capture_output=True,
                              text=True, env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                                              "GIT_COMMITTER_NAME": "t",
                                              "GIT_COMMITTER_EMAIL": "t@t",
                                              "PATH": os.environ["PATH"]}).stdout.strip()

    git("init", "-q")
    (pr / "README.md").write_text("base\n")
    (pr / "benchmark" / "run").mkdir(parents=True)
    (pr / "benchmark" / "run" / "verify.py").write_text("the harness\n" * 20)
    git("add", "-A")
    git("commit", "-qm", "base")
    base = git("rev-parse", "HEAD")
    git("remote", "add", "origin", str(pr))   # the step fetches the base from `origin`
    for name in changed:
        if name.startswith("rename:"):
            _, old, new = name.split(":")
            (pr / new).parent.mkdir(parents=True, exist_ok=True)
            git("mv", old, new)
            continue
        (pr / name).parent.mkdir(parents=True, exist_ok=True)
        (pr / name).write_text("changed\n")
    git("add", "-A")
    git("commit", "-qm", "pull request")
    output = tmp_path / "output"
    done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, capture_output=True,
                          text=True, env={"BASE": base, "GITHUB_OUTPUT": str(output),
                                          "PATH": os.environ["PATH"]})
    if names is None:
        assert done.returncode != 0 and "outside a submission folder" in done.stdout
    else:
        assert done.returncode == 0, done.stdout + done.stderr
        assert output.read_text().strip() == f"names={names}"
