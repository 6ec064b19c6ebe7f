"""Take docs/xiangshan-report.png: the top of the HTML report of the bundled Xiangshan sample (the
audit's facts, the summary per obligation, the heat map), 1280 px wide, in headless Chromium.

    .venv/bin/python docs/screenshot.py

Needs Debian's chromium and chromium-driver, and a CJK font (fonts-noto-cjk) for the names of the
registry's units and people.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from complianceengine.findings import Report
from complianceengine.htmlreport import render_html

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1280
SAMPLE = [
    "rulesets/xiangshan/ruleset.yaml",
    "--registry", "rulesets/xiangshan/sample/registry.yaml",
    "--events", "rulesets/xiangshan/sample/events.jsonl",
    "--from", "2026-08-01", "--to", "2026-10-31", "--as-of", "2026-11-01T00:00:00+08:00",
]


def xiangshan_report(*options: str) -> Report:
    """The Xiangshan sample's report as the command line makes it (its inputs and checksums too)."""
    exe = Path(sys.executable).parent / "complianceengine"
    result = subprocess.run([str(exe), "audit", *SAMPLE, "--format", "json", "--fail-on", "none", *options],
                            cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    return Report.model_validate_json(result.stdout)


def chromium(profile: str, *extra: str) -> webdriver.Chrome:
    """Headless Chromium with a fresh profile, no network of its own, and the console logged."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", *extra):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main() -> None:
    out = ROOT / "docs" / "xiangshan-report.png"
    with tempfile.TemporaryDirectory() as work:
        page = Path(work) / "xiangshan.html"
        page.write_text(render_html(xiangshan_report()), encoding="utf-8")
        driver = chromium(str(Path(work) / "profile"), "--hide-scrollbars")
        try:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": WIDTH, "height": 800, "deviceScaleFactor": 1, "mobile": False})
            driver.get(page.as_uri())
            bottom = driver.execute_script("return Math.ceil(document.getElementById('units').getBoundingClientRect().bottom) + 24")
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": WIDTH, "height": int(bottom), "deviceScaleFactor": 1, "mobile": False})
            out.write_bytes(driver.get_screenshot_as_png())
        finally:
            driver.quit()
    print(f"{out.relative_to(ROOT)}: {out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
