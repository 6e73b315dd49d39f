"""A clinician in a real browser: Playwright driving Debian's Chromium, headless, against
`dystonia-box serve` on simulated hardware."""

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.test_serve import config_for, free_port

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(tests/run.sh installs it)")
PASSWORD = "a long enough secret"


@pytest.fixture
def server(tmp_path, trained):
    _, models = trained
    cfg = config_for(tmp_path, models)
    data = tmp_path / "data"
    base = [sys.executable, "-m", "device", "--config", str(cfg), "--data-dir", str(data)]
    subprocess.run([*base, "user", "add", "dr-browser"], input=PASSWORD + "\n", text=True,
                   check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([*base, "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/login", timeout=2).close()
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        yield browser.new_page()
        browser.close()


def test_clinician_runs_the_quick_screen(server, page, tmp_path):
    page.goto(f"{server}/")
    assert "/login" in page.url
    page.fill("input[name=name]", "dr-browser")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    page.fill("input[name=pseudonym]", "P-042")
    page.select_option("select[name=handedness]", "right")
    page.click("text=Add patient")
    page.wait_for_selector("h1:has-text('P-042')")
    page.click("text=Start a new session")
    page.wait_for_selector("text=Next: Task 1")
    assert page.locator(".keys svg").count() == 1
    for _ in range(16):
        page.click("text=Start recording")
        page.wait_for_selector("button.stop")
        page.click("button.stop")
        page.wait_for_selector("text=Takes")
    page.wait_for_selector("text=All takes are recorded")
    page.screenshot(path=str(tmp_path / "session.png"), full_page=True)
    for _ in range(120):
        page.reload()
        if page.locator("td:has-text('recorded')").count() == 0 and \
                page.locator("td:has-text('processing')").count() == 0:
            break
        time.sleep(0.5)
    assert page.locator("td:has-text('scored')").count() == 16
    page.click("text=See the results")
    page.wait_for_selector("h2:has-text('Summary')")
    assert "not for clinical use" in page.content()
    page.screenshot(path=str(tmp_path / "results.png"), full_page=True)
    with page.expect_download() as download:
        page.click("text=Download the PDF report")
    path = tmp_path / "report.pdf"
    download.value.save_as(path)
    assert path.read_bytes()[:5] == b"%PDF-"
