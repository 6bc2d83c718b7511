"""Tasks on datasets declared in their YAML (`source: file`), run on their own or in a
user's suite file; every mistake in a declaration is named with its fix."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

from benchmark.cli.main import main
from benchmark.core.errors import IntegrityError, SpecError
from benchmark.results.records import iter_records
from tests.conftest import TASK_YAML, TINY_TASK

FILE_DATASET = """\
dataset:
  source: file
  name: {name}
  path: {path}
  sha256: {sha}
{columns}
"""
LABELS = {0: "bad", 1: "good"}


def _frame(corpus) -> pd.DataFrame:
    """The tiny corpus split into two text columns, labels stored as words."""
    heads, tails = zip(*(t.split(" ", 1) if " " in t else (t, "") for t, _ in corpus),
                       strict=True)
    return pd.DataFrame({"head": heads, "tail": tails, "review": [t for t, _ in corpus],
                         "verdict": [LABELS[y] for _, y in corpus]})


def _write(frame: pd.DataFrame, path) -> str:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, index=False)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def task_yaml(task_id: str, path, sha: str, columns: str, name: str = "reviews") -> str:
    base = TASK_YAML.format(id=task_id)
    start, end = base.index("dataset:"), base.index("label_names:")
    return (base[:start] + FILE_DATASET.format(name=name, path=path, sha=sha, columns=columns)
            + base[end:])


MAPPED = "  text: review\n  label: verdict\n  label_map: {bad: negative, good: positive}"


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_a_declared_file_freezes_to_the_same_pool_in_every_format(tiny_world, suffix) -> None:
    from benchmark.tasks.splits import example_pool

    data = tiny_world.root / "data"
    data.mkdir(exist_ok=True)
    path = data / f"reviews{suffix}"
    sha = _write(_frame(tiny_world.corpus), path)
    with tiny_world.frozen_task("file-task", task_yaml("file-task", f"data/{path.name}", sha,
                                                       MAPPED)) as spec:
        pool = example_pool(spec)
        asset_pool = example_pool(__import__("benchmark.tasks.spec", fromlist=["TASKS"])
                                  .TASKS.get(TINY_TASK))
        assert [e.id for e in pool] == [e.id for e in asset_pool]  # same texts, same classes
        assert list(pool.labels) == list(asset_pool.labels)
        assert (tiny_world.root / "tasks" / "frozen" / "file-task").is_dir()


def test_a_template_joins_columns(tiny_world) -> None:
    from benchmark.tasks.splits import task_examples

    path = tiny_world.root / "pairs.csv"
    sha = _write(_frame(tiny_world.corpus), path)
    columns = ("  template: \"{head} {tail}\"\n  label: verdict\n"
               "  label_map: {bad: negative, good: positive}")
    spec_yaml = task_yaml("pair-task", "pairs.csv", sha, columns)
    (tiny_world.root / "tasks" / "pair-task.yaml").write_text(spec_yaml)
    from benchmark.tasks.spec import TASKS

    TASKS.reset()
    try:
        examples = task_examples(TASKS.get("pair-task"))
    finally:
        (tiny_world.root / "tasks" / "pair-task.yaml").unlink()
        TASKS.reset()
    joined = {" ".join(p for p in t.split(" ", 1)) for t, _ in tiny_world.corpus}
    assert {e.text for e in examples} <= joined and len(examples) > 100


@pytest.mark.parametrize(("columns", "edit", "error", "message"), [
    ("  text: body\n  label: verdict", None, SpecError,
     r"no column 'body' \(text\); it has columns: head, tail, review, verdict"),
    ("  text: review\n  label: verdict", None, SpecError,
     r"label values not in `label_names` \['negative', 'positive'\]: '(bad|good)' \(\d+\), "
     r"'(bad|good)' \(\d+\); map each"),
    ("  text: review\n  label: verdict\n  label_map: {bad: negative}", None, SpecError,
     r"'good' \(\d+\)"),
    (MAPPED, "tamper", IntegrityError, "sha256 is [0-9a-f]{64}, the task pins [0-9a-f]{64}"),
])
def test_bad_declarations_name_the_fix(tiny_world, columns, edit, error, message) -> None:
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.splits import task_examples

    path = tiny_world.root / "bad.csv"
    sha = _write(_frame(tiny_world.corpus), path)
    if edit == "tamper":
        path.write_text(path.read_text().replace("good", "bad", 1))
    (tiny_world.root / "tasks" / "bad-task.yaml").write_text(
        task_yaml("bad-task", "bad.csv", sha, columns))
    TASKS.reset()
    try:
        with pytest.raises(error, match=message):
            task_examples(TASKS.get("bad-task"))
    finally:
        (tiny_world.root / "tasks" / "bad-task.yaml").unlink()
        TASKS.reset()


@pytest.mark.parametrize(("dataset", "message"), [
    ("  source: file\n  name: x\n  path: a.csv\n  text: t\n  label: y",
     r"needs `path`, `sha256` \(`sha256sum FILE`\) and `label`"),
    (f"  source: file\n  name: x\n  path: a.csv\n  sha256: {'a' * 64}\n  label: y",
     "one of `text`"),
    ("  source: asset\n  name: x\n  asset: a\n  label: y", "needs `path` \\(the file inside"),
    ("  source: asset\n  name: x\n  asset: a\n  sha256: " + "a" * 64,
     "sha256: not for a `source: asset` dataset read by a registered formatter"),
])
def test_the_declaration_itself_is_checked(tmp_path, dataset, message) -> None:
    from benchmark.tasks.spec import parse_task

    base = TASK_YAML.format(id="t")
    start, end = base.index("dataset:"), base.index("label_names:")
    path = tmp_path / "t.yaml"
    path.write_text(base[:start] + "dataset:\n" + dataset + "\n" + base[end:])
    with pytest.raises(SpecError, match=message):
        parse_task(path)


def test_a_task_in_no_suite_runs_under_its_own_name(tiny_world, tmp_path, capsys) -> None:
    path = tiny_world.root / "own.csv"
    sha = _write(_frame(tiny_world.corpus), path)
    results, site = tmp_path / "results", tmp_path / "site"
    with tiny_world.frozen_task("own-task", task_yaml("own-task", "own.csv", sha, MAPPED)):
        assert main(["run", "--tasks", "own-task", "--methods", "naive", "--replicates", "1",
                     "--results-dir", str(results), "--leaderboard-dir", str(site),
                     "--no-progress", "--workers", "1"]) == 0
        (record,) = iter_records(results)
        assert (record.suite, record.task, record.status) == ("own-task", "own-task", "ok")
        board = json.loads((site / "leaderboard.json").read_text())["suites"]
        assert [(b["suite"], [e["method"] for e in b["ranked"]]) for b in board] == [
            ("own-task", ["naive"])]
        # naming a suite that lacks the task says how to run it on its own
        assert main(["run", "--suite", "tiny", "--tasks", "own-task", "--results-dir",
                     str(results), "--no-progress"]) == 2
        assert "leave out --suite to run it on its own" in capsys.readouterr().err


def test_users_declare_suites_in_a_file_of_their_own(tiny_world) -> None:
    from benchmark.tasks.suites import SUITES, suite_tasks

    own = tiny_world.root / "tasks" / "suites"
    own.mkdir(exist_ok=True)
    (own / "mine.yaml").write_text(f"mine:\n  description: my suite\n  tasks: [{TINY_TASK}]\n")
    SUITES.reset()
    try:
        assert [t.id for t in suite_tasks("mine")] == [TINY_TASK]
        (own / "dup.yaml").write_text(f"mine:\n  description: again\n  tasks: [{TINY_TASK}]\n")
        SUITES.reset()
        with pytest.raises(Exception, match="mine"):
            SUITES.get("mine")
    finally:
        for file in own.glob("*.yaml"):
            file.unlink()
        SUITES.reset()


def test_new_task_checks_the_data_and_writes_a_task_that_freezes(tiny_world, capsys) -> None:
    path = tiny_world.root / "scaffold.csv"
    _write(_frame(tiny_world.corpus), path)
    args = ["new-task", "scaffolded", "--file", str(path), "--text", "review", "--label",
            "verdict", "--label-map", "bad=negative,good=positive", "--weak", "tfidf-logreg",
            "--strong", "tiny-bert", "--replicates", "2"]
    task_file = tiny_world.root / "tasks" / "scaffolded.yaml"
    try:
        assert main([*args, "--splits", "100,400,100"]) == 2  # unequal gold
        assert "must learn from as much gold" in capsys.readouterr().err
        assert main([*args, "--splits", "200,200,400"]) == 2  # 800 > the 600 rows
        assert "sizes that fit: {'weak_train': 150, 'student_train': 150, 'test': 300}" in \
            capsys.readouterr().err
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "600 rows (0 dropped: empty, duplicate or conflicting texts, or labels mapped " \
               "to null); columns head, tail, review, verdict; classes: negative 300, " \
               "positive 300; largest balanced pool 600" in out
        assert "A 150 gold (supervisor) · B 150 (student; its gold trains the ceiling) · " \
               "test 300; supervisor tfidf-logreg@1" in out
        assert "w2s-bench freeze scaffolded" in out
        from benchmark.labels.freeze import freeze_task
        from benchmark.tasks.spec import TASKS

        TASKS.reset()
        spec = TASKS.get("scaffolded")
        assert spec.dataset.path == "scaffold.csv" and spec.label_names == ["negative",
                                                                            "positive"]
        assert spec.splits.total == 600 and spec.replicates == 2
        # each written task draws its own splits: one seed for all would give every task
        # on this file the same draws, counted as separate blocks
        from benchmark.tasks.scaffold import draw_seed

        assert spec.seed == draw_seed("scaffolded") != draw_seed("scaffolded-layer1")
        # the tiny encoder is no stronger than tf-idf: freezing refuses, writing nothing
        with pytest.raises(SpecError, match="(?s)not clearly positive.*under 2 se"):
            freeze_task(spec, progress=False)
        from benchmark.labels.frozen import is_frozen

        assert not is_frozen("scaffolded")
        with task_file.open("a") as out:
            out.write("gap_exception: the tiny test encoder is weaker than tf-idf\n")
        TASKS.reset()
        freeze_task(TASKS.get("scaffolded"), progress=False)
        assert is_frozen("scaffolded")
        assert main(args) == 2 and "exists; pass --force" in capsys.readouterr().err
    finally:
        task_file.unlink(missing_ok=True)
        import shutil

        shutil.rmtree(tiny_world.root / "tasks" / "frozen" / "scaffolded", ignore_errors=True)
        from benchmark.tasks.spec import TASKS

        TASKS.reset()


def _reload_assets(world) -> None:
    """Re-read the manifests, keeping the miniature world's own asset."""
    from benchmark.assets.catalog import ASSETS

    ASSETS.reset()
    ASSETS.names()
    for registry, name, obj in world.entries:
        if registry is ASSETS and name not in ASSETS:
            ASSETS.add(name, obj)


def test_a_corpus_in_a_users_own_pinned_wheel(tiny_world, capsys) -> None:
    """An asset declared in tasks/assets/*.yaml, read by the task's columns: no Python."""
    from benchmark.assets import catalog
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.splits import example_pool
    from tests.conftest import build_wheel

    frame = _frame(tiny_world.corpus)
    wheel = build_wheel(catalog.wheels_root() / "mycorpus-2.0-py3-none-any.whl",
                        "mycorpus/data/reviews.jsonl",
                        frame.to_json(orient="records", lines=True).encode())
    manifests = tiny_world.root / "tasks" / "assets"
    manifests.mkdir(exist_ok=True)
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (manifests / "mine.yaml").write_text(
        "assets:\n  - name: my-corpus\n    description: reviews in a wheel (tests)\n"
        "    tier: default\n    wheels:\n"
        f"      - {{name: mycorpus, version: '2.0', sha256: {sha}}}\n"
        "    members: {\"mycorpus/data/\": \"data/\"}\n")
    _reload_assets(tiny_world)
    base = TASK_YAML.format(id="wheel-task")
    start, end = base.index("dataset:"), base.index("label_names:")
    declared = ("dataset:\n  source: asset\n  name: my-reviews\n  asset: my-corpus\n"
                "  path: data/reviews.jsonl\n" + MAPPED + "\n")
    (tiny_world.root / "tasks" / "wheel-task.yaml").write_text(base[:start] + declared
                                                                + base[end:])
    TASKS.reset()
    try:
        assert main(["freeze", "wheel-task", "--no-progress", "--legacy-protocol"]) == 0
        assert [e.id for e in example_pool(TASKS.get("wheel-task"))] == \
            [e.id for e in example_pool(TASKS.get(TINY_TASK))]
        escaping = declared.replace("data/reviews.jsonl", "../../../etc/passwd")
        (tiny_world.root / "tasks" / "wheel-task.yaml").write_text(base[:start] + escaping
                                                                    + base[end:])
        TASKS.reset()
        with pytest.raises(SpecError, match="leaves the asset's folder"):
            example_pool(TASKS.get("wheel-task"))
    finally:
        (tiny_world.root / "tasks" / "wheel-task.yaml").unlink()
        (manifests / "mine.yaml").unlink()
        import shutil

        shutil.rmtree(tiny_world.root / "tasks" / "frozen" / "wheel-task", ignore_errors=True)
        _reload_assets(tiny_world)
        TASKS.reset()


def test_any_hub_dataset_by_its_columns(tiny_world, tmp_path, monkeypatch) -> None:
    """A hub id, config, split names and a pinned revision, with the YAML's column mapping
    (read here from a mirror, as on machines without hub access)."""
    from benchmark.datasets.hub import MIRROR_ENV
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.splits import draw_splits, example_pool

    folder = tmp_path / "org__reviews" / "main"
    folder.mkdir(parents=True)
    rows = [{"sentence": t, "label": y} for t, y in tiny_world.corpus]
    for split, part in (("train", rows[:400]), ("validation", rows[400:])):
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    base = TASK_YAML.format(id="hub-task").replace(
        "splits:\n  weak_train: 60\n  student_train: 240\n  test: 200",
        "splits:\n  weak_train: 60\n  student_train: 240\n  test: 100")
    start, end = base.index("dataset:"), base.index("label_names:")
    declared = ("dataset:\n  source: hub\n  name: my-reviews\n  hub_id: org/reviews\n"
                f"  revision: {'b' * 40}\n  config: main\n"
                "  hub_splits: {train: train, test: validation}\n  text: sentence\n"
                "  label: label\n  label_map: {'0': negative, '1': positive}\n")
    task_file = tiny_world.root / "tasks" / "hub-task.yaml"
    task_file.write_text(base[:start] + declared + base[end:])
    TASKS.reset()
    try:
        spec = TASKS.get("hub-task")
        pool = example_pool(spec)
        assert len(pool) == 400
        test_ids = set(draw_splits(spec, pool.examples, 0)["test"])
        validation = {e.id for e in pool if e.text in {t for t, _ in tiny_world.corpus[400:]}}
        assert test_ids <= validation and len(test_ids) == 100
        task_file.write_text(base[:start] + declared.replace("'1': positive", "'1': null")
                             + base[end:])
        TASKS.reset()
        from benchmark.tasks import splits

        splits._HUB_PARTS.clear()
        with pytest.raises(SpecError, match="needs 50 examples of class 1, the dataset has 0; "
                           "lower the split sizes to a total of at most 0"):
            example_pool(TASKS.get("hub-task"))  # every positive dropped: the pool cannot fit
    finally:
        task_file.unlink()
        TASKS.reset()


def test_data_the_method_sandbox_can_see_are_refused(tiny_world) -> None:
    """Gold labels in a file under submissions/ (shown to method code) must never be used."""
    from benchmark.tasks.spec import TASKS
    from benchmark.tasks.splits import task_examples

    folder = tiny_world.root / "submissions" / "someone"
    folder.mkdir(parents=True, exist_ok=True)
    sha = _write(_frame(tiny_world.corpus), folder / "gold.csv")
    task_file = tiny_world.root / "tasks" / "leaky-task.yaml"
    task_file.write_text(task_yaml("leaky-task", "submissions/someone/gold.csv", sha, MAPPED))
    TASKS.reset()
    try:
        with pytest.raises(SpecError, match="the method sandbox shows to method code"):
            task_examples(TASKS.get("leaky-task"))
    finally:
        task_file.unlink()
        TASKS.reset()
