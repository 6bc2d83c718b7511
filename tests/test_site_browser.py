"""The generated site in a real headless Chromium: rows, numbers, sorting, links, no network.

Uses Debian's ``chromium`` through Playwright's driver (never a browser download). Without a
browser the test is skipped locally, but fails under CI (``CI`` set), where ``.ci/run``
installs one: a leaderboard nobody opened in a browser is not tested.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from benchmark.site.build import build_site
from tests.site_records import make_record

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run"]


def _chromium() -> str:
    found = os.environ.get("W2S_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        found = None
    if not found:
        if os.environ.get("CI"):
            pytest.fail("CI must test the site in Chromium: install `chromium` (apt) and the "
                        "`playwright` package (.ci/run does both)")
        pytest.skip("no chromium/playwright here (apt-get install chromium; pip install "
                    "'.[test]')")
    return found


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("W2S_TEST_ARTIFACTS",
                                 Path(__file__).resolve().parents[1] / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture()
def site(tmp_path):
    skills = {"naive": 0.30, "logconf": 0.55, "product": 0.50, "window": -0.10}
    records = [make_record(t, m, k, p + 0.03 * k - 0.01 * i, suite=suite, dataset=t[:2])
               for suite, tasks in (("main", ("rt-a", "tw-b")), ("other", ("rt-a",)))
               for i, t in enumerate(tasks) for m, p in skills.items() for k in range(3)]
    out = tmp_path / "site"
    build_site(records, out, build_time="2026-01-31T12:00:00Z", git_commit="abc123")
    return out


def test_the_leaderboard_works_in_a_real_browser(site, tmp_path) -> None:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    expected = json.loads((site / "leaderboard.json").read_text())["suites"][0]
    requests: list[str] = []
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 1000})
        context.on("request", lambda r: requests.append(r.url))
        page = context.new_page()
        page.goto((site / "index.html").as_uri())

        rows = page.locator("#board-1 tbody tr")
        assert rows.count() == len(expected["ranked"]) == 4
        shown = [(r.get_attribute("data-method"),
                  r.locator("td").nth(2).inner_text().split(" ")[0])
                 for r in rows.all()]
        assert shown == [(e["method"], f"{e['pgr']['mean']:.3f}") for e in expected["ranked"]]
        assert page.locator("section[data-suite=other]").is_hidden()

        def order() -> list[str | None]:
            return [r.get_attribute("data-method") for r in rows.all()]

        page.locator("#board-1 th", has_text="Method").click()
        assert order() == ["logconf", "naive", "product", "window"]  # was ranked by PGR
        pgr_header = page.locator("#board-1 th", has_text="Mean PGR")
        pgr_header.click()
        assert order() == [e["method"] for e in reversed(expected["ranked"])]  # ascending
        pgr_header.click()
        assert order() == [e["method"] for e in expected["ranked"]]
        assert pgr_header.get_attribute("aria-sort") == "descending"

        images = page.locator("section[data-suite=main] figure img")
        assert images.count() == 3  # by task, vs compute, vs strong size (one panel per dataset)
        for img in images.all():
            img.scroll_into_view_if_needed()
            assert img.evaluate("i => i.complete && i.naturalWidth > 0"), img.get_attribute("src")
        page.screenshot(path=str(artifacts_dir() / "leaderboard-index.png"), full_page=True)

        page.select_option("#suite-select", "other")
        assert page.locator("section[data-suite=other]").is_visible()
        assert page.locator("section[data-suite=main]").is_hidden()
        assert page.url.endswith("#suite=other")

        page.locator("section[data-suite=other] a.task-link", has_text="rt-a").click()
        page.wait_for_load_state()
        assert page.url.endswith("/tasks/rt-a.html")
        assert page.locator("h1").inner_text() == "Task rt-a"
        assert page.locator("table.task-results tbody tr").count() == 8  # 4 methods × 2 suites
        context.close()
    assert requests and all(url.startswith("file://") for url in requests), requests
