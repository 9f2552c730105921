"""Open a real run's report in headless Chromium: it renders, runs without errors, and its evidence panel works.

Needs `apt-get install -y chromium` (or PROMPTLEARN_CHROMIUM=/path/to/chrome) and `pip install playwright`;
no Playwright browser download is used.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from promptlearn.report import write_report
from promptlearn.store import Store
from tests.report.conftest import CRITIQUE, make_run

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
CHROMIUM = os.environ.get("PROMPTLEARN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: apt-get install -y chromium "
                                                         "(or set PROMPTLEARN_CHROMIUM)")


def test_the_report_renders_and_shows_a_rules_evidence(stored_run: tuple[Store, str], tmp_path: Path) -> None:
    store, run_id = stored_run
    path = write_report(store, run_id, tmp_path / "report.html")
    problems: list[str] = []
    requests: list[str] = []
    with playwright_api.sync_playwright() as p:
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in (
                "error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            assert problems == []

            assert page.locator("#scores svg.chart polyline").count() >= 1  # the val line
            assert page.locator("#scores svg.chart circle").count() >= 4  # test, candidates, val points
            assert page.locator("svg.chart").count() >= 3  # scores, failure modes, tokens
            timeline = page.locator("ol.timeline > li")
            assert timeline.count() == 3
            assert "rejected" in (timeline.nth(1).get_attribute("class") or "")
            assert "p=" in timeline.nth(2).locator(".gate").inner_text()

            panel = page.locator("#evidence-body")
            assert CRITIQUE not in panel.inner_text()
            page.locator("#final button.rule").first.click()
            page.locator("#evidence-body .critique-text").first.wait_for(timeout=5000)
            assert CRITIQUE in panel.inner_text()
            assert page.locator("#evidence-body .evidence-item").count() >= 1

            page.locator("ol.timeline > li").nth(2).locator("button.rule").click()  # the delta that added it
            assert page.locator("#evidence-title").inner_text().startswith("v2 add")
            assert CRITIQUE in panel.inner_text()
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert all(url.startswith("file://") for url in requests), requests  # self-contained: no network
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_injected_markup_shows_as_text_and_never_runs(tmp_path: Path) -> None:
    rule, critique = "<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>"
    store, run_id = make_run(tmp_path / "run", rule=rule, critique=critique, gate={"method": "none"})
    path = write_report(store, run_id, tmp_path / "report.html")
    dialogs: list[str] = []
    with playwright_api.sync_playwright() as p:
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page()

            def on_dialog(dialog: Any) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.goto(path.as_uri(), wait_until="load")
            button = page.locator("#final button.rule", has_text="onerror")
            button.click(timeout=5000)
            assert button.inner_text() == rule
            assert critique in page.locator("#evidence-body").inner_text()
            assert page.locator("img").count() == 0
        finally:
            browser.close()
    assert dialogs == []
