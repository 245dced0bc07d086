"""A real browser (Debian's chromium driven by Playwright) logs in to Airflow, opens the
Aurora nav entry, a job, a task and a log tail; screenshots are kept under the test's tmp dir
(the path is printed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.observer_plugin.conftest import MARKER, RunningJob
from tests.observer_plugin.servers import USER, ApiServer

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"


def log_in(page: Page, server: ApiServer) -> None:
    page.goto(f"{server.url}/")
    page.wait_for_selector("input[name=username]", timeout=30_000)
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", server.password())
    page.locator("button[type=submit], input[type=submit]").first.click()
    page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)


def test_browser_walks_the_aurora_pages(api_server: ApiServer, running_job: RunningJob,
                                        tmp_path_factory: pytest.TempPathFactory,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    # The test command installs it; a run without it must fail, not pass by skipping.
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium"
    shots = Path(tmp_path_factory.getbasetemp()) / f"screenshots-{api_server.auth}"
    shots.mkdir(exist_ok=True)
    with capsys.disabled():
        print(f"\nscreenshots ({api_server.auth}): {shots}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            log_in(page, api_server)
            page.screenshot(path=shots / "1-airflow.png")

            page.get_by_role("link", name="Aurora").first.click()  # the nav entry
            page.wait_for_url("**/plugin/aurora", timeout=30_000)
            frame = page.frame_locator("iframe").first
            expect(frame.get_by_text("Cluster devcluster")).to_be_visible(timeout=30_000)
            expect(frame.get_by_text("ui-demo").first).to_be_visible()
            page.screenshot(path=shots / "2-aurora-nav.png")

            page.goto(f"{api_server.url}/aurora/jobs/{running_job.key}")
            expect(page.get_by_role("heading", name=f"Job {running_job.key}")).to_be_visible()
            expect(page.locator("table.instances td.running").first).to_have_text("RUNNING")
            page.screenshot(path=shots / "3-job.png", full_page=True)

            page.click(f"a[href$='/tasks/{running_job.task_id}']")
            expect(page.locator("table.processes")).to_contain_text("main")
            page.screenshot(path=shots / "4-task.png", full_page=True)

            page.click("table.processes a:text('stdout')")
            expect(page.locator("pre#log")).to_contain_text(MARKER)
            expect(page.locator("pre#log")).to_contain_text("<b>not bold</b>")  # as text
            page.screenshot(path=shots / "5-log-tail.png", full_page=True)
        finally:
            browser.close()
    assert len(list(shots.glob("*.png"))) == 5
