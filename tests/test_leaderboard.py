"""The leaderboard is a pure function of records: its numbers, ranks, guard and files."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from benchmark.results.records import Diagnostics, MethodInfo
from benchmark.site.build import build_site, resolve_build_time
from benchmark.site.frame import record_rows
from benchmark.site.standings import standings
from tests.site_records import make_record as record

TIME = "2026-01-31T12:00:00Z"


def build(records, out, **kwargs):
    return build_site(records, out, build_time=TIME, git_commit="abc123", **kwargs)


def test_ranks_means_and_intervals(tmp_path) -> None:
    records = ([record("t1", "good", k, p) for k, p in enumerate([0.5, 0.6, 0.7])]
               + [record("t2", "good", k, p) for k, p in enumerate([0.3, 0.3, 0.3])]
               + [record("t1", "meh", k, p) for k, p in enumerate([0.1, 0.2, 0.3])]
               + [record("t2", "meh", 0, None), record("t2", "meh", 1, 0.0),
                  record("t2", "meh", 2, None, ok=False)])
    site = build(records, tmp_path)
    csv = pd.read_csv(site.files["csv"])
    suite = csv[csv.level == "suite"].set_index("method")
    assert list(csv[csv.level == "suite"].method) == ["good", "meh"]  # ranked by mean PGR
    assert suite.loc["good", "rank"] == 1 and suite.loc["meh", "rank"] == 2
    assert suite.loc["good", "pgr_mean"] == pytest.approx(np.mean([0.6, 0.3]))
    assert suite.loc["meh", "pgr_mean"] == pytest.approx(np.mean([0.2, 0.0]))
    assert suite.loc["meh", "failed"] == 1
    task = csv[csv.level == "task"].set_index(["task", "method"])
    row = task.loc[("t1", "good")]
    half = 4.302653 * 0.1 / np.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert row.pgr_mean == pytest.approx(0.6)
    assert (row.pgr_ci_low, row.pgr_ci_high) == pytest.approx((0.6 - half, 0.6 + half), rel=1e-4)
    assert task.loc[("t2", "meh")].pgr_undefined == 1
    markdown = site.files["markdown"].read_text()
    assert "(1 undefined)" in markdown and "### Failed runs" in markdown


def test_paired_ranks_separate_what_overlapping_intervals_cannot() -> None:
    """Methods differ little but consistently: c's and b's intervals overlap, as do
    their paired differences' signs; a's lead is clear on the shared units."""
    rng = np.random.default_rng(0)
    task_level = {f"t{i}": rng.normal(0, 0.4) for i in range(6)}
    records = []
    for task, base in task_level.items():
        for k in range(5):
            unit = base + rng.normal(0, 0.1)  # what every method shares on this unit
            records += [record(task, "a", k, unit + 0.10), record(task, "b", k, unit),
                        record(task, "c", k, unit + 0.02 * (-1) ** k)]
    (board,) = standings(record_rows(records))
    a, c, b = (e.pgr for e in board.ranked)  # c: b ± .02, +.004 on average
    assert c.low < b.high and b.low < c.high
    assert [(e.method, e.rank_label, e.tied_with_leader) for e in board.ranked] == [
        ("a", "1", False), ("c", "2–3", False), ("b", "2–3", False)]
    pairs = {(x.better, x.worse): x for x in board.comparisons}
    assert pairs[("a", "b")].difference == pytest.approx(0.10)
    assert pairs[("a", "b")].significant and pairs[("a", "c")].significant
    assert not pairs[("c", "b")].significant and pairs[("c", "b")].units == 30
    assert board.detectable_pgr is not None and board.detectable_pgr < 0.05


def test_a_control_is_shown_where_it_scores_but_never_ranked_tested_or_leader(tmp_path
                                                                                ) -> None:
    """A control that beats every method stays a control: no rank, no paired test, not the
    leader, and the methods' ranks and family are what they are without it."""
    control = MethodInfo(kind="baseline", control=True, summary="a reference point")
    records = []
    for task in ("t1", "t2"):
        for k in range(6):
            records += [record(task, "prior", k, 0.9 + 0.01 * k, info=control),
                        record(task, "a", k, 0.5 + 0.01 * k), record(task, "b", k, 0.2)]
    (board,) = standings(record_rows(records))
    assert [(e.method, e.rank_label, e.position) for e in board.ranked] == [
        ("prior", "control", 0), ("a", "1", 1), ("b", "2", 2)]
    assert {(c.better, c.worse) for c in board.comparisons} == {("a", "b")}
    from benchmark.site.standings import best_method

    assert best_method(board) == "a"
    (without,) = standings(record_rows([r for r in records if r.method != "prior"]))
    assert [c.p_value for c in without.comparisons] == [c.p_value for c in board.comparisons]
    site = build(records, tmp_path)
    suite = pd.read_csv(site.files["csv"]).query("level == 'suite'").set_index("method")
    assert suite.loc["prior", "rank_label"] == "control" and np.isnan(suite.loc["prior", "rank"])
    assert "(control)" in (tmp_path / "index.html").read_text()


def test_only_identical_task_versions_and_weak_labels_are_ranked_together(tmp_path) -> None:
    tasks = ("t1", "t2")
    records = [record(t, m, k, p, task_version=2) for t in tasks for k in range(3)
               for m, p in (("a", 0.5), ("b", 0.4))]
    records += [record("t1", "old", k, 0.9, task_version=2) for k in range(3)]
    records += [record("t2", "old", k, 0.9, task_version=1) for k in range(3)]  # stale version
    records += [record(t, "relabelled", k, 0.9, task_version=2,
                       weak_sha=f"other-weak-labels-{k}" if t == "t2" else None)
                for t in tasks for k in range(3)]
    records += [record("t1", "broken", k, 0.9, task_version=2) for k in range(3)]
    records += [record("t2", "broken", k, None, ok=False, task_version=2) for k in range(3)]
    records += [record("t1", "partial", k, 0.95, task_version=2) for k in range(3)]

    (board,) = standings(record_rows(records))
    assert [e.method for e in board.ranked] == ["a", "b"]  # never averaged over fewer tasks
    missing = {e.method: e.missing for e in board.incomplete}
    assert missing == {
        "old": ("t2: measured on task v1; this suite ranks v2",),
        "relabelled": ("t2: measured against other weak labels than the ranked ones",),
        "broken": ("t2: all 3 run(s) failed",),
        "partial": ("t2: not run",)}
    assert {(n["method"], n["task"], n["reason"]) for n in board.not_comparable} == {
        ("old", "t2", "older task version"), ("relabelled", "t2", "other weak labels")}
    site = build(records, tmp_path)
    data = json.loads(site.files["json"].read_text())["suites"][0]
    assert [e["method"] for e in data["ranked"]] == ["a", "b"]
    assert {e["method"] for e in data["incomplete"]} == set(missing)
    html = site.index.read_text()
    assert "Incomplete entries (not ranked)" in html and "t2: not run" in html


def test_a_task_the_suite_no_longer_lists_is_listed_apart_never_ranked(tmp_path) -> None:
    """A suite re-frozen under new task ids: the old tasks' records (no version or label
    guard can catch them) stay out of its board, its frontier/beyond tables and its tests."""
    records = [record(t, m, k, p, suite="s") for t in ("new1", "new2") for k in range(3)
               for m, p in (("a", 0.5), ("b", 0.4))]
    records += [record("old", m, k, p, suite="s") for k in range(3)
                for m, p in (("a", -2.0), ("b", 1.5))]   # would reverse the ranks if joined
    records += [record("x", "a", k, 0.1, suite="ad-hoc") for k in range(2)]  # not declared
    site = build_site(records, tmp_path, build_time="0",
                      suite_tasks={"s": {"new1", "new2"}})
    data = {s["suite"]: s for s in json.loads(site.files["json"].read_text())["suites"]}
    assert [e["method"] for e in data["s"]["ranked"]] == ["a", "b"]
    assert {t["task"] for t in data["s"]["tasks"]} == {"new1", "new2"}
    assert {t["task"] for t in data["ad-hoc"]["tasks"]} == {"x"}
    markdown = site.files["markdown"].read_text()
    assert "| a        | old    | 3      | v1            | —           | no longer in the suite" \
        in markdown
    assert "no longer in the suite" in site.index.read_text()
    everything = build_site(records, tmp_path / "all", build_time="0")   # no suites given
    data = {s["suite"]: s for s in json.loads(everything.files["json"].read_text())["suites"]}
    assert [e["method"] for e in data["s"]["ranked"]] == ["b", "a"]
    # compare tests what the board ranks: without the dropped task b is not above a
    from benchmark.site.compare import paired_rows

    tested = [r for r in paired_rows(records, "b", ["a"], "s", suite_tasks={"s": {"new1",
                                                                               "new2"}})
              if r.task == "(all tasks)"]
    assert tested and tested[0].pgr < 0
    # a suite whose every record is of a dropped task keeps them listed, on an empty board
    only_old = build_site([r for r in records if r.task == "old"], tmp_path / "old",
                          build_time="0", suite_tasks={"s": {"new1"}})
    (board,) = json.loads(only_old.files["json"].read_text())["suites"]
    assert board["ranked"] == [] and "no longer in the suite" in \
        only_old.files["markdown"].read_text()


def test_an_older_method_version_is_listed_apart_never_pooled_with_the_newer(tmp_path) -> None:
    """A method renamed away and its name reused (``bootstrap`` v1, the layer variant, then v2
    through intermediate models on half the tasks): pooled, the two versions ranked as one
    complete entry. Only the newest version the suite holds is ranked (9 after 10 is older);
    the rest is listed apart, in the board, the frontier tables and compare alike."""
    from benchmark.site.compare import paired_rows
    from benchmark.site.retired import version_key

    assert version_key("10") > version_key("9") > version_key("1.5") > version_key("1")
    records = [record(t, "naive", k, 0.3) for t in ("t1", "t2") for k in range(4)]
    records += [record(t, "chain", k, 0.9, version="1") for t in ("t1", "t2")
                for k in range(4)]
    records += [record("t1", "chain", k, 0.1, version="2") for k in range(4)]
    site = build_site(records, tmp_path, build_time="0", suite_tasks={"s": {"t1", "t2"}})
    (board,) = json.loads(site.files["json"].read_text())["suites"]
    assert [e["method"] for e in board["ranked"]] == ["naive"]
    (chain,) = board["incomplete"]
    assert chain["method"] == "chain" and chain["pgr"]["mean"] == pytest.approx(0.1)
    assert "method version 1 superseded by 2" in site.files["markdown"].read_text()
    rows = [r for r in paired_rows(records, "chain", ["naive"], "s") if r.task == "(all tasks)"]
    assert rows and rows[0].pgr == pytest.approx(-0.2)      # v2 on t1 only, never v1


def test_draws_past_the_first_n_a_suite_ranks_are_listed_apart(tmp_path) -> None:
    """A suite that ranks its tasks' first 3 replicate draws (``replicates: 3``, as ``mini``
    does to fit its time budget): a method run on more draws would be averaged over others
    than its rivals. Its extra draws are listed apart, in the board and in compare alike."""
    from benchmark.site.compare import paired_rows

    records = [record("t", "a", k, 0.5) for k in range(3)]
    records += [record("t", "b", k, 0.4) for k in range(3)]
    records += [record("t", "b", k, 2.0) for k in range(3, 6)]  # would lift b past a
    scope = {"suite_tasks": {"s": {"t"}}, "suite_replicates": {"s": 3}}
    site = build_site(records, tmp_path, build_time="0", **scope)
    (board,) = json.loads(site.files["json"].read_text())["suites"]
    assert [e["method"] for e in board["ranked"]] == ["a", "b"]
    assert "beyond the suite's first 3 replicate draws" in site.files["markdown"].read_text()
    tested = [r for r in paired_rows(records, "b", ["a"], "s", **scope)
              if r.task == "(all tasks)"]
    assert tested and tested[0].pgr == pytest.approx(-0.1)
    unscoped = build_site(records, tmp_path / "all", build_time="0", suite_tasks={"s": {"t"}})
    (board,) = json.loads(unscoped.files["json"].read_text())["suites"]
    assert [e["method"] for e in board["ranked"]] == ["b", "a"]
    # a newer version run only on a draw the suite does not rank sets nothing aside
    newer = [*records, record("t", "a", 4, 0.9, version="2")]
    site = build_site(newer, tmp_path / "newer", build_time="0", **scope)
    (board,) = json.loads(site.files["json"].read_text())["suites"]
    assert [e["method"] for e in board["ranked"]] == ["a", "b"]


def test_compute_is_relative_to_naive_and_peak_memory_is_the_largest(tmp_path) -> None:
    records = [record("t", "naive", k, 0.3, flops=100.0, wall_s=1.0) for k in range(2)]
    records += [record("t", "heavy", k, 0.5, flops=300.0, wall_s=k + 1.0) for k in range(2)]
    (board,) = standings(record_rows(records))
    heavy = next(e for e in board.ranked if e.method == "heavy")
    assert heavy.flops_vs_naive == pytest.approx(3.0)
    assert heavy.wall_vs_naive == pytest.approx(1.5)
    assert "3.00×" in build(records, tmp_path).files["markdown"].read_text()


HOSTILE = '<script>alert("x")</script>$^_'


def test_markup_in_names_and_metadata_shows_as_text(tmp_path) -> None:
    # a name is a file-name part: markup in one is refused where the record is read
    with pytest.raises(ValueError, match="method"):
        record("t1", HOSTILE, 0, 0.5)
    with pytest.raises(ValueError, match="task"):
        record("t<1>", "naive", 0, 0.5)
    info = MethodInfo(kind="plugin", summary=HOSTILE + " <b>bold</b> claim",
                      description="<img src=x onerror=alert(1)>", authors=[HOSTILE],
                      paper="javascript:alert(1)", code="https://ok.example")
    records = [record("t1", "m_1", k, 0.5, info=info) for k in range(2)]
    records += [record("t1", "naive", k, 0.2) for k in range(2)]
    site = build(records, tmp_path)
    pages = [site.index, *tmp_path.glob("methods/*.html"), *tmp_path.glob("tasks/*.html")]
    assert len(pages) == 1 + 2 + 1
    for page in pages:
        html = page.read_text()
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "<b>bold" not in html and "javascript:" not in html
    index = site.index.read_text()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;$^_" in index
    assert 'href="https://ok.example"' in index
    assert all(p.resolve().parent.parent == tmp_path.resolve() for p in pages[1:])
    assert r"m\_1" in site.files["latex"].read_text()


def test_same_records_give_byte_identical_files(tmp_path, monkeypatch) -> None:
    records = ([record(t, m, k, 0.1 * k + len(m) / 10, dataset=d) for t, d in
                (("t1", "d1"), ("t2", "d2")) for m in ("naive", "alpha", "beta")
                for k in range(3)])
    build(records, tmp_path / "x")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1769860800")  # = TIME
    build_site(records[::-1], tmp_path / "y", git_commit="abc123")

    def tree(root):
        return {p.relative_to(root).as_posix(): p.read_bytes()
                for p in sorted(root.rglob("*")) if p.is_file()}

    first, second = tree(tmp_path / "x"), tree(tmp_path / "y")
    assert first == second
    assert {"index.html", "leaderboard.md", "leaderboard.csv", "leaderboard.json",
            "leaderboard.tex", "methods/naive.html", "tasks/t1.html"} <= set(first)
    with_time = {name for name, data in first.items() if TIME.encode() in data}
    assert with_time == {n for n in first if n.endswith(".html")}  # footers only
    assert not any(b"abc123" in first[n] for n in first if not n.endswith(".html"))


def test_a_rebuild_removes_pages_of_methods_whose_records_are_gone(tmp_path) -> None:
    both = [record("t", m, k, 0.3) for m in ("naive", "gone") for k in range(2)]
    build(both, tmp_path)
    assert (tmp_path / "methods" / "gone.html").is_file()
    build(both[:2], tmp_path)
    assert not (tmp_path / "methods" / "gone.html").exists()
    assert (tmp_path / "methods" / "naive.html").is_file()


def test_exports_agree_and_pages_embed_valid_plots(tmp_path) -> None:
    records = [record(t, m, k, p + 0.05 * k, dataset=d, strong_params=s)
               for t, d, s in (("t1", "d1", 22_000_000), ("t2", "d1", 110_000_000))
               for m, p in (("naive", 0.2), ("best_one", 0.6)) for k in range(3)]
    site = build(records, tmp_path)
    data = json.loads(site.files["json"].read_text())
    csv = pd.read_csv(site.files["csv"])
    markdown = site.files["markdown"].read_text()
    for entry in data["suites"][0]["ranked"]:
        row = csv[(csv.level == "suite") & (csv.method == entry["method"])].iloc[0]
        assert row.pgr_mean == pytest.approx(entry["pgr"]["mean"], rel=1e-5)
        assert f"{entry['pgr']['mean']:.3f}" in markdown
    assert r"best\_one" in site.files["latex"].read_text()
    index = site.index.read_text()
    plots = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("plots/*.svg"))
    assert plots == ["plots/s-accuracy-vs-size.svg", "plots/s-pgr-by-task.svg",
                     "plots/s-pgr-vs-compute.svg", "plots/s-pgr-vs-gap.svg",
                     "plots/s-scaling.svg"]  # two strong sizes: the scaling view too
    for plot in plots:
        assert f'src="{plot}"' in index
        assert ET.parse(tmp_path / plot).getroot().tag.endswith("svg")


def test_footer_carries_the_build_provenance(tmp_path) -> None:
    records = [record(t, "naive", k, 0.2, task_version=3) for t in ("t1", "t2")
               for k in range(2)]
    site = build(records, tmp_path)
    (board,) = standings(record_rows(records))
    footer = site.index.read_text().split('<footer id="provenance">')[1]
    from benchmark import __version__

    for fact in (__version__, "abc123", ">4</span> run records", TIME, board.fingerprint,
                 "t1 v3"):
        assert fact in footer


def test_build_time_is_pinnable_and_checked() -> None:
    assert resolve_build_time("1769860800") == TIME
    assert resolve_build_time("2026-01-31T13:00:00+01:00") == TIME
    from benchmark.core.errors import SpecError

    with pytest.raises(SpecError, match="neither ISO 8601"):
        resolve_build_time("last tuesday")


def test_cli_builds_the_site_and_explains_bad_input(tmp_path, capsys) -> None:
    from benchmark.cli.main import main
    from benchmark.results.records import write_record

    results = tmp_path / "results"
    for k in range(2):
        write_record(results, record("t", "naive", k, 0.3))
    out = tmp_path / "site"
    assert main(["leaderboard", "--results-dir", str(results), "--out", str(out),
                 "--build-time", TIME]) == 0
    assert (out / "index.html").resolve().as_uri() in capsys.readouterr().out
    assert main(["leaderboard", "--results-dir", str(results), "--out", str(out),
                 "--build-time", "soon"]) == 2
    assert "neither ISO 8601" in capsys.readouterr().err
    assert main(["leaderboard", "--results-dir", str(tmp_path / "none"), "--out",
                 str(out)]) == 2
    assert "no run records found" in capsys.readouterr().err


def _diagnosed(agreement: float, misfit: float, gain: float) -> Diagnostics:
    return Diagnostics(agreement=agreement, fixed=1 - agreement, copied=agreement, kept=1.0,
                       misfit=misfit, weak_error=0.5, student_error=0.5 - gain, gain=gain)


def test_diagnostics_reach_the_exports_pages_and_plots(tmp_path) -> None:
    # naive: agreement .9 / .7 on t1 (mean .8) and .6 on t2 → suite mean (.8 + .6) / 2 = .7
    runs = {("naive", "t1"): [(0.9, 0.1, 0.02), (0.7, 0.1, 0.2)],
            ("naive", "t2"): [(0.6, 0.2, 0.3), (0.6, 0.2, 0.3)],
            ("product", "t1"): [(0.5, 0.3, 0.1), (0.5, 0.3, 0.1)],
            ("product", "t2"): [(0.5, 0.3, 0.1), (0.5, 0.3, 0.1)]}
    records = [record(t, m, k, 0.2 if m == "naive" else 0.5 + 0.01 * k,
                      diagnostics=_diagnosed(*values))
               for (m, t), per_run in runs.items() for k, values in enumerate(per_run)]
    site = build(records, tmp_path)
    csv = pd.read_csv(site.files["csv"])
    suite = csv[csv.level == "suite"].set_index("method")
    assert suite.loc["naive", "diag_agreement"] == pytest.approx(0.7)
    assert suite.loc["product", "diag_misfit"] == pytest.approx(0.3)
    task = csv[csv.level == "task"].set_index(["task", "method"])
    assert task.loc[("t1", "naive"), "diag_gain"] == pytest.approx(0.11)
    (pair,) = csv[csv.level == "pair"].itertuples()
    assert (pair.method, pair.versus, pair.units) == ("product", "naive", 4)
    assert pair.difference == pytest.approx(0.3 + 0.005)
    data = json.loads(site.files["json"].read_text())
    (board,) = data["suites"]
    assert board["comparisons"][0]["better"] == "product"
    assert board["ranked"][1]["diagnostics"]["means"]["agreement"] == pytest.approx(0.7)
    markdown = site.files["markdown"].read_text()
    assert re.search(r"\| naive +\| 0\.700 +\| 0\.300 +\| 0\.700 +\| 1\.000 +\| 0\.150", markdown)
    assert "0 of 1 pairs separated" in markdown  # 4 units: the exact p is 2/16
    assert "Agree." in site.files["latex"].read_text()
    page = (tmp_path / "tasks" / "t1.html").read_text()
    assert "no stored predictions" not in page and ">0.80<" in page  # naive's t1 agreement
    scatter = (tmp_path / "plots" / "s-gain-vs-misfit.svg").read_text()
    # 8 runs; gain ≥ misfit only for naive's (.7, .1, .2) and (.6, .2, .3) × 2
    assert "8 runs (3 with gain ≥ misfit)" in scatter
    assert 'src="plots/s-agreement.svg"' in site.index.read_text()
    assert site.plots == 5


def test_the_size_gap_trend_is_a_least_squares_line_with_a_cluster_bootstrap() -> None:
    from benchmark.site.scaling import gap_trend

    exact = [(x, 0.1 + 0.2 * x) for x in (0.5, 1.0, 1.5, 2.0)]
    trend = gap_trend(exact)
    assert trend.slope == pytest.approx(0.2) and trend.points == 4
    assert trend.low == pytest.approx(0.2) and trend.high == pytest.approx(0.2)  # no noise
    noisy = [(x, 0.2 * x + e) for x, e in zip((0.5, 1.0, 1.5, 2.0, 2.5), (.1, -.1, .05, -.05, 0),
                                             strict=True)]
    spread = gap_trend(noisy)
    assert spread.low < spread.slope < spread.high
    assert gap_trend(exact[:2]) is None and gap_trend([(1.0, 0.1)] * 4) is None
    # tasks of one student × dataset move together: the cluster, not the task, is resampled,
    # and one cluster alone gives no interval
    assert gap_trend([(x, y, "one") for x, y in noisy]) is None
    clustered = [(x, y, f"c{i % 2}") for i, (x, y) in enumerate(noisy)]
    wide = gap_trend(clustered)
    assert wide.clusters == 2 and wide.slope == pytest.approx(spread.slope)
