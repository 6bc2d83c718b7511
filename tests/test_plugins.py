"""The plugin flow: submissions, entry points, broken plugins, scaffold, compare, verify."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark.cli.main import main
from benchmark.methods.catalog import METHODS, plugin_problems
from benchmark.results.records import iter_records, read_record
from benchmark.run.harness import Harness, RunSpec
from tests.conftest import TINY_SUITE, TINY_TASK

HEADER = "import numpy as np\nfrom benchmark.api.method import Method, register\n"


def sweep(results, methods, tiny_task, replicates=2):
    runs = [RunSpec(TINY_SUITE, TINY_TASK, m, k) for m in methods for k in range(replicates)]
    return Harness(results, workers=1, progress=False).run(runs, {TINY_TASK: tiny_task})


def returning(name: str, expression: str) -> str:
    return HEADER + f'''
@register("{name}")
class Returns(Method):
    """Returns a fixed array (tests)."""
    def fit_predict(self, inp):
        n = len(inp.test_ids)
        return {expression}
'''


BROKEN = {  # submission name → (method.py source or None, submission.yaml overrides, message)
    "syntax-error": (HEADER + "def oops(:\n", {}, "failed to import: SyntaxError"),
    "no-method": (HEADER + "X = 1\n", {}, "registers no method named 'no-method'"),
    "wrong-shape": (returning("wrong-shape", "np.full((3, 2), 0.5)"), {},
                    "returned shape (3, 2); expected (200, 2)"),
    "nan-probs": (returning("nan-probs", "np.full((n, 2), np.nan)"), {},
                  "NaN or infinite probabilities"),
    "unnormalised": (returning("unnormalised", "np.full((n, 2), 0.7)"), {},
                     "non-negative rows summing to 1"),
    "clash": (HEADER + '@register("naive")\nclass N(Method):\n    pass\n', {},
              "'naive' is registered twice"),
    "bad-yaml": (returning("bad-yaml", "np.full((n, 2), 0.5)"), {"licnce": "MIT"},
                 "unknown key `licnce`"),
    "old-version": (returning("old-version", "np.full((n, 2), 0.5)"), {"version": "2"},
                    "the class says version '1' but submission.yaml says '2'"),
    "bad-option": (returning("bad-option", "np.full((n, 2), 0.5)"),
                   {"hyperparameters": {"lr": 1}}, "has no option 'lr'"),
    "no-plugin": (None, {}, "method.py is missing"),
}


def test_broken_plugins_fail_only_their_own_runs(tiny_world, tiny_task, tmp_path):
    for name, (source, meta, _) in BROKEN.items():
        tiny_world.add_submission(name, source, meta)
    summary = sweep(tmp_path, ["naive", *BROKEN], tiny_task)
    assert summary.done == 2  # naive, both replicates
    records = {(r.method, r.replicate): r for r in iter_records(tmp_path)}
    assert len(records) == 2 * (1 + len(BROKEN))
    assert records[("naive", 0)].status == "ok"
    for name, (_, _, message) in BROKEN.items():
        record = records[(name, 1)]
        assert record.status == "failed", name
        assert message in record.error.message, (name, record.error.message)
    assert {p.name for p in plugin_problems()} >= set(BROKEN) - {"wrong-shape", "nan-probs",
                                                        "unnormalised"}


def test_list_methods_names_refused_plugins(tiny_world, capsys):
    tiny_world.add_submission("syntax-error", HEADER + "def oops(:\n")
    assert main(["list", "methods"]) == 0
    captured = capsys.readouterr()
    assert "logconf" in captured.out and "BROKEN" in captured.out
    assert "plugin 'syntax-error'" in captured.err and "SyntaxError" in captured.err


def test_submission_hyperparameters_reach_the_method_and_the_record(tiny_world, tiny_task,
                                                                    tmp_path):
    source = HEADER + '''
@register("scaled")
class Scaled(Method):
    """Predicts a constant that its option sets (tests)."""
    defaults = {"p1": 0.5}
    def fit_predict(self, inp):
        return np.tile([1 - self.config["p1"], self.config["p1"]], (len(inp.test_ids), 1))
'''
    tiny_world.add_submission("scaled", source, {"hyperparameters": {"p1": 0.9}})
    sweep(tmp_path, ["scaled"], tiny_task, replicates=1)
    record = next(iter_records(tmp_path))
    assert record.status == "ok" and record.provenance.method_config == {"p1": 0.9}
    assert record.metrics.accuracy == pytest.approx(0.5)  # always class 1 on a balanced test

    tiny_world.add_submission("scaled", source, {"hyperparameters": {"p1": 0.2}})
    again = sweep(tmp_path, ["scaled"], tiny_task, replicates=1)
    assert again.done == 1 and again.skipped == 0  # new options: the old record is stale
    assert next(iter_records(tmp_path)).provenance.method_config == {"p1": 0.2}


ENTRY_POINT_MODULE = '''
import numpy as np
from benchmark.api.method import Method


class PriorOnly(Method):
    """Predicts the weak labels' class prior for every test example (entry-point demo)."""
    version = "3"

    def fit_predict(self, inp):
        return np.tile(inp.train_weak_probs.mean(0), (len(inp.test_ids), 1))
'''


def test_entry_point_plugin_from_an_installed_distribution(tiny_world, tiny_task, tmp_path,
                                                           monkeypatch):
    site = tmp_path / "site"
    (site / "w2s_demo_plugin").mkdir(parents=True)
    (site / "w2s_demo_plugin" / "__init__.py").write_text(ENTRY_POINT_MODULE)
    info = site / "w2s_demo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: w2s-demo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[w2s_bench.methods]\nprior-only = w2s_demo_plugin:PriorOnly\n"
        "naive = w2s_demo_plugin:PriorOnly\n")
    monkeypatch.syspath_prepend(str(site))
    METHODS.reset()
    assert "prior-only" in METHODS.names()
    assert METHODS.origin("prior-only").startswith("entry point prior-only")
    clash = [p for p in plugin_problems() if p.name == "naive"]
    assert clash and "already defined in" in clash[0].message
    assert METHODS.origin("naive").endswith("baselines/naive.py")  # the clash changed nothing

    summary = sweep(tmp_path / "results", ["prior-only"], tiny_task, replicates=1)
    assert summary.done == 1
    record = next(iter_records(tmp_path / "results"))
    assert record.provenance.method_version == "3"
    assert record.provenance.method_origin.startswith("entry point")
    METHODS.reset()


def test_new_method_scaffold_runs_as_is_and_matches_naive(tiny_world, tmp_path, capsys):
    assert main(["new-method", "my-idea"]) == 0
    folder = tiny_world.root / "submissions" / "my-idea"
    assert (folder / "method.py").is_file() and (folder / "submission.yaml").is_file()
    assert "w2s-bench run --methods my-idea" in capsys.readouterr().out
    assert main(["new-method", "my-idea"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["new-method", "Bad Name"]) == 2

    results = tmp_path / "results"
    argv = ["run", "--suite", TINY_SUITE, "--methods", "my-idea,naive,logconf",
            "--results-dir", str(results), "--leaderboard-dir", str(tmp_path / "board"),
            "--workers", "1", "--no-progress"]
    assert main(argv) == 0
    by = {(r.method, r.replicate): r.metrics for r in iter_records(results)}
    for k in range(2):  # a copy of naive: same numbers
        assert by[("my-idea", k)] == by[("naive", k)]
    assert "my-idea" in (tmp_path / "board" / "leaderboard.md").read_text()
    capsys.readouterr()

    assert main(["compare", "my-idea", "--against", "naive,logconf", "--results-dir",
                 str(results)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "| naive " in line]
    assert len(lines) == 2 and all("+0.000" in line and "0/2/0" in line for line in lines)
    assert "descriptive" in lines[0] and "(all tasks)" in lines[1]   # the tiny gaps: no PGR
    # the tiny tasks' gaps are under two standard errors: no PGR, on the board or here
    diffs = [by[("my-idea", k)].accuracy - by[("logconf", k)].accuracy for k in range(2)]
    assert f"{np.mean(diffs):+.4f}" in out and "no shared units with a PGR" in out
    assert main(["compare", "my-idea", "--against", "window", "--results-dir",
                 str(results)]) == 2
    assert "run `w2s-bench run --methods window` first" in capsys.readouterr().err


def test_verify_reproduces_records_and_catches_tampering(tiny_world, tmp_path, capsys):
    assert main(["new-method", "honest"]) == 0
    committed = tiny_world.root / "submissions" / "honest" / "results"
    assert main(["run", "--suite", TINY_SUITE, "--methods", "honest", "--results-dir",
                 str(committed), "--leaderboard-dir", str(tmp_path / "board"), "--workers", "1",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["verify", "submissions/honest"]) == 0
    out = capsys.readouterr().out
    assert "OK: all 2 record(s)" in out and "exact match" in out
    assert "TODO placeholders" in out

    path = committed / TINY_SUITE / TINY_TASK / "honest" / "replicate-1.json"
    data = json.loads(path.read_text())
    data["metrics"]["accuracy"] = round(data["metrics"]["accuracy"] + 0.05, 6)
    path.write_text(json.dumps(data))
    read_record(path)  # still a schema-valid record: only the re-run can tell
    assert main(["verify", "honest"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out
    rows = [line for line in out.splitlines() if TINY_TASK in line]
    assert rows and all("|           1 |" in line for line in rows)
    assert any("reproduced" in line and "accuracy: recorded" in line for line in rows)
    assert any("consistent" in line and "does not follow from accuracy" in line for line in rows)

    assert main(["verify", "honset"]) == 2
    assert "Did you mean 'honest'" in capsys.readouterr().err


PEEKING = HEADER + '''
import importlib
from benchmark import datasets as ds
from benchmark.tasks.splits import load_dataset


@register("peeker")
class Peeker(Method):
    """Reaches for the raw data (tests)."""
    def fit_predict(self, inp):
        importlib.import_module("benchmark.run.harness")
        return np.full((len(inp.test_ids), 2), 0.5)
'''


def test_code_that_imports_gold_loaders_is_flagged(tiny_world, tmp_path, capsys):
    from benchmark.methods.codescan import scan_submission

    folder = tiny_world.add_submission("peeker", PEEKING)
    (folder / "helpers.py").write_text("import datasets\n")
    flags = scan_submission(folder)
    line = {text: n for n, text in enumerate(PEEKING.splitlines(), start=1)}
    assert [(f.file.name, f.line, f.module) for f in flags] == [
        ("helpers.py", 1, "datasets"),
        ("method.py", line["from benchmark import datasets as ds"], "benchmark.datasets"),
        ("method.py", line["from benchmark.tasks.splits import load_dataset"],
         "benchmark.tasks.splits"),
        ("method.py", line['        importlib.import_module("benchmark.run.harness")'],
         "benchmark.run.harness")]
    assert main(["list", "methods"]) == 0
    splits_line = line["from benchmark.tasks.splits import load_dataset"]
    assert f"line {splits_line} imports benchmark.tasks.splits" in capsys.readouterr().err

    committed = folder / "results"
    assert main(["run", "--suite", TINY_SUITE, "--methods", "peeker", "--results-dir",
                 str(committed), "--leaderboard-dir", str(tmp_path / "b"), "--workers", "1",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["verify", "peeker"]) == 1  # the records reproduce, but the code is flagged
    out = capsys.readouterr().out
    assert "gold access:" in out and "4 gold-access import(s)" in out
    assert "0 record problem(s)" in out


LEAKS_THE_DENY_LIST_MISSED = HEADER + """
import benchmark.paper.compare as repro
from benchmark.run.verify import Harness
from benchmark.api import soft_cross_entropy
from benchmark import api
from . import helpers
import sklearn.linear_model
"""


def test_the_scan_is_an_allow_list_of_the_plugin_api(tmp_path):
    """Everything of ``benchmark`` outside ``benchmark.api`` is flagged, whatever its name or
    re-export (a deny-list missed both of the first two); the API, own modules and other
    third-party packages are not."""
    from benchmark.methods.codescan import scan_submission

    (tmp_path / "method.py").write_text(LEAKS_THE_DENY_LIST_MISSED)
    flags = scan_submission(tmp_path)
    assert [f.module for f in flags] == ["benchmark.paper.compare", "benchmark.run.verify"]
    assert all("only benchmark.api is public" in f.why for f in flags)


def test_baselines_and_the_scaffold_import_only_the_plugin_api(tiny_world):
    from benchmark.core.paths import baselines_dir
    from benchmark.methods.codescan import scan_submission

    assert scan_submission(baselines_dir()) == []
    assert main(["new-method", "fresh-idea"]) == 0
    assert scan_submission(tiny_world.root / "submissions" / "fresh-idea") == []

