"""Flagged entries (``submissions/flags.yaml``): shown beside their public reason, never
ranked or tested; a malformed or doubled flag is refused, naming the file."""

from __future__ import annotations

import json

import pytest

from benchmark.core.errors import SpecError
from tests.site_records import make_record


def _records():
    """Three methods over four blocks: ``cheat`` highest, ``good`` above ``naive``."""
    return [make_record("t", method, k, pgr)
            for method, pgr in (("cheat", 0.9), ("good", 0.6), ("naive", 0.3))
            for k in range(4)]


def test_a_flagged_entry_stays_visible_but_takes_no_rank(tiny_world, tmp_path) -> None:
    from benchmark.site.build import build_site

    (tiny_world.root / "submissions" / "flags.yaml").write_text(
        "flags:\n  - method: cheat\n    reason: its runs read the test split's labels\n"
        "    link: https://example.org/issues/7\n    since: 2026-12-07\n")
    try:
        build_site(_records(), tmp_path, build_time="2026-01-01T00:00:00Z", git_commit="c")
    finally:
        (tiny_world.root / "submissions" / "flags.yaml").unlink()
    (suite,) = json.loads((tmp_path / "leaderboard.json").read_text())["suites"]
    by_method = {e["method"]: e for e in suite["ranked"]}
    assert by_method["cheat"]["rank_label"] == "flagged" and by_method["cheat"]["position"] == 0
    assert by_method["cheat"]["flag"].startswith("its runs read the test split's labels")
    # the top entry among the ranked is `good` (four blocks cannot separate it from naive)
    assert by_method["good"]["position"] == 1 and by_method["good"]["rank_label"] == "1–2"
    tested = {(c["better"], c["worse"]) for c in suite["comparisons"]}
    assert tested and not any("cheat" in pair for pair in tested)   # out of the family
    html = (tmp_path / "index.html").read_text()
    assert "(flagged: its runs read the test split" in html and "example.org/issues/7" in html


@pytest.mark.parametrize("body, says", [
    ("flags:\n  - method: cheat\n    reason: short\n    since: 2026-12-07\n", "reason"),
    ("flags:\n  - method: cheat\n    reason: a reason long enough\n    since: 2026-12-07\n"
     "    link: not-a-link\n", "http"),
    ("flags:\n  - {method: cheat, reason: a reason long enough, since: 2026-12-07}\n"
     "  - {method: cheat, reason: another reason entirely, since: 2026-12-08}\n",
     "flagged twice"),
])
def test_a_bad_flags_file_is_refused_by_name(tiny_world, body, says) -> None:
    from benchmark.core.flags import read_flags

    path = tiny_world.root / "submissions" / "flags.yaml"
    path.write_text(body)
    try:
        with pytest.raises(SpecError, match=says) as refused:
            read_flags()
        assert "flags.yaml" in str(refused.value)
    finally:
        path.unlink()
