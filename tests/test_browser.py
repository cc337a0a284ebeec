"""Open the report in a real headless browser with the network off: every image renders,
nothing fails to load, and every page shows its title, its links to the index and its
neighbours, and the provenance footer. A screenshot of every page is kept in test-artifacts/
for a person to look at."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURE_CUT, ROOT

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
ARTIFACTS = ROOT / "test-artifacts"

if not (CHROMIUM and DRIVER):
    if os.environ.get("CI"):
        raise RuntimeError("CI needs Debian's chromium and chromium-driver; `make test` installs them")
    pytest.skip("chromium and chromedriver are not installed (make test installs them as root)",
                allow_module_level=True)

webdriver = pytest.importorskip("selenium.webdriver")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    proc = subprocess.run([sys.executable, "-m", "msc_analysis.cli", "run", str(FIXTURE_CUT),
                           "--out", str(out), "--no-pdf"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out / "fixture-valid"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,2000",
                 # network off: every host name fails to resolve and any proxy use goes nowhere
                 "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def _check_page(browser, page: Path, shot: str):
    browser.get(page.as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.src.slice(0, 30)])")
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(r => r.name)")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / shot))
    return images, resources, errors


def test_index_page_opens_offline_with_nothing_failing(browser, report):
    images, resources, errors = _check_page(browser, report / "index.html", "index.png")
    assert resources == [] and errors == []
    assert "Report for data cut fixture-valid" in browser.title


def test_overview_page_renders_every_figure_offline(browser, report):
    images, resources, errors = _check_page(browser, report / "00_overview.html", "00_overview.png")
    assert len(images) >= 3
    assert all(complete and width > 0 for complete, width, _ in images), images
    assert [r for r in resources if not r.startswith("data:")] == []
    assert errors == [], errors


def _report_pages(report: Path) -> list[Path]:
    return sorted(report.glob("[0-9]*.html"))


def test_every_page_shows_title_navigation_and_footer_and_is_screenshotted(browser, report):
    from selenium.webdriver.common.by import By

    record = json.loads((report / "provenance.json").read_text())
    pages = _report_pages(report)
    assert len(pages) >= 11
    shots = ARTIFACTS / "pages"
    shots.mkdir(parents=True, exist_ok=True)
    for i, page in enumerate(pages):
        images, resources, errors = _check_page(browser, page, f"pages/{page.stem}.png")
        assert (shots / f"{page.stem}.png").stat().st_size > 0
        assert [r for r in resources if not r.startswith("data:")] == [] and errors == [], page.name
        title = browser.title
        assert title.endswith(f" - {record['study_id']} - fixture-valid") and title != "Notebook", title
        headings = browser.find_elements(By.TAG_NAME, "h1")
        assert [h.text for h in headings] == [title], page.name
        for where in ("top", "bottom"):
            nav = browser.find_element(By.CSS_SELECTOR, f"nav.msc-nav-{where}")
            links = {a.get_attribute("class"): a.get_attribute("href").rsplit("/", 1)[-1]
                     for a in nav.find_elements(By.TAG_NAME, "a")}
            assert links["msc-index"] == "index.html"
            assert links.get("msc-previous") == (pages[i - 1].name if i else None), (page.name, links)
            assert links.get("msc-next") == (pages[i + 1].name if i + 1 < len(pages) else None), (page.name, links)
        footer = browser.find_element(By.CSS_SELECTOR, "footer.msc-footer").text
        assert record["fingerprint"] in footer and record["kit_version"] in footer
