"""`promptlearn serve` in headless Chromium: open a run waiting for review, click accept, see v1 accepted.

Needs Chromium (apt-get install -y chromium, or PROMPTLEARN_CHROMIUM) and playwright; no browser download."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from promptlearn.localhost import free_port
from promptlearn.webapp import create_app
from tests.unit.test_review_cli import paused_run

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
uvicorn = pytest.importorskip("uvicorn", reason="pip install promptlearn[server]")
CHROMIUM = os.environ.get("PROMPTLEARN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: apt-get install -y chromium "
                                                         "(or set PROMPTLEARN_CHROMIUM)")


def test_click_accept_and_see_the_version_accepted(tmp_path: Path) -> None:
    store, run_id, _db = paused_run(tmp_path)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    problems: list[str] = []
    try:
        with playwright_api.sync_playwright() as p:
            args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
            browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
            try:
                page = browser.new_page()
                page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
                page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
                page.locator(f"a[href='/runs/{run_id}']").click()
                assert page.locator("#status-v1").inner_text() == "pending"
                assert "waits for review" in page.locator("#pending-v1").inner_text()
                page.locator("#accept-v1").click()
                page.wait_for_load_state("load")
                assert page.locator("#status-v1").inner_text() == "accepted"
                assert page.locator("#pending-v1").count() == 0
            finally:
                browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert problems == []
    assert store.get_version(run_id, 1).status == "accepted"  # type: ignore[union-attr]
    assert store.review_decisions(run_id)[0].decision == "accept"
