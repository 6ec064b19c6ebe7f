"""The HTML report: one page that loads nothing from elsewhere, escapes what comes from the input,
speaks the report's language, and buckets findings by the day they were decided; the golden page
of the Xiangshan sample (UPDATE_GOLDEN=1 refreshes it); and the page at work in headless Chromium
(marked ``browser``: skipped without Chromium, except under CI, which must run them)."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from complianceengine import Report, audit
from complianceengine.htmlreport import render_html
from complianceengine.words import text

from conftest import ROOT, base_registry, base_ruleset, event, local

SAMPLE = [
    "rulesets/xiangshan/ruleset.yaml",
    "--registry", "rulesets/xiangshan/sample/registry.yaml",
    "--events", "rulesets/xiangshan/sample/events.jsonl",
    "--from", "2026-08-01", "--to", "2026-10-31", "--as-of", "2026-11-01T00:00:00+08:00",
]
DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day",
         "at_least": 1}
HOSTILE = "</script><script>alert(1)</script><!--"


def xiangshan(*options: str) -> Report:
    """The Xiangshan sample's report as the command line makes it (with its inputs' checksums)."""
    exe = Path(sys.executable).parent / "complianceengine"
    result = subprocess.run([str(exe), "audit", *SAMPLE, "--format", "json", "--fail-on", "none", *options],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return Report.model_validate_json(result.stdout)


@pytest.fixture(scope="module")
def report_en() -> Report:
    return xiangshan()


@pytest.fixture(scope="module")
def page_en(report_en: Report) -> str:
    return render_html(report_en)


@pytest.fixture(scope="module")
def small() -> Report:
    """Two guards' daily patrols over nine days, Saturday 1 August to Sunday 9 August 2026 (ISO
    weeks 31 and 32); one patrol in all."""
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d1")]
    return audit(base_ruleset(DAILY), base_registry(), events, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 9),
                 as_of=local(2026, 9, 1, 0))


def embedded(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert match, "the findings are embedded as JSON"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


# ------------------------------------------------------------------------------------ the page


def test_the_page_loads_nothing_from_the_network(page_en: str) -> None:
    assert "http://" not in page_en and "https://" not in page_en
    assert not re.search(r"\b(src|href|srcset|action)\s*=", page_en, re.I)
    assert "@import" not in page_en and "url(" not in page_en


def test_the_header_gives_the_audits_facts(report_en: Report, page_en: str) -> None:
    for fact in ("xiangshan", "2022.1", "Xiangshan county rules for grid-based anti-smuggling governance", "2026-08-01 – 2026-10-31",
                 "2026-11-01 00:00", "Asia/Shanghai", "<b>725</b> events used", "<b>3</b> rejected", "<b>1</b> duplicate ids",
                 "The verdicts look back to 2026-07-25 15:00."):
        assert fact in page_en, fact
    assert len(report_en.inputs) == 3
    for file in report_en.inputs:
        assert html.escape(file.path) in page_en and file.sha256 in page_en


def test_the_summary_has_a_row_per_obligation_and_both_rates(report_en: Report, page_en: str) -> None:
    summary = page_en.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    assert summary.count("<tr>") == len(report_en.obligations) + 2  # the header row and the total
    for o in report_en.obligations:
        row = summary.split(f"<code>{o.obligation}</code>", 1)[1].split("</tr>", 1)[0]
        assert html.escape(o.cited) in row and html.escape(o.title.en) in row
        assert ("assumed</span>" in row) == o.assumed
        assert f"{o.rate:.0%}</span>" in row
    assert f"{report_en.counts.rate:.0%}" == "96%" and f"{report_en.weighted_rate:.0%}" == "78%"
    assert '">96%</div><div class="label">rate over all findings' in summary
    assert '">78%</div><div class="label">obligation-weighted rate' in summary
    assert html.escape(text("rates_explained", "en")) in summary


def test_the_page_has_the_heat_map_the_trend_and_the_findings(report_en: Report, page_en: str) -> None:
    for part in ('id="heatmap"', '<svg id="trend"', 'id="findings"', 'id="filter-status"', 'id="filter-unit"', 'id="filter-role"',
                 'id="filter-obligation"', 'id="match-count"'):
        assert part in page_en, part
    heatmap = page_en.split('id="heatmap"', 1)[1].split("</table>", 1)[0]
    assert heatmap.count('<th scope="row"') == len(report_en.units)  # one row per unit, in the hierarchy's order
    assert heatmap.count('<th scope="col"') == 1 + 14 + 1  # unit, ISO weeks 31 to 44, total
    assert heatmap.index("(xiangshan)") < heatmap.index("(shipu)") < heatmap.index("(dongmen-north)") < heatmap.index("(hepu)")
    assert "<tr><td" not in page_en.split('id="findings"', 1)[1].split("</table>", 1)[0]  # the script draws the rows
    data = embedded(page_en)
    assert len(data["rows"]) == len(report_en.findings)
    assert [o[0] for o in data["o"]] == [o.obligation for o in report_en.obligations]


def test_the_not_met_filter_is_the_default(page_en: str) -> None:
    status = page_en.split('id="filter-status">', 1)[1].split("</select>", 1)[0]
    assert status.startswith('<option value="notmet">not met (open, late, missed)</option><option value="all">all</option>')


def test_a_chinese_report_is_written_in_chinese() -> None:
    page = render_html(xiangshan("--lang", "zh"))
    assert '<html lang="zh-CN">' in page
    for heading in ("概要", "按职责", "各单位按周达标率", "达标率趋势", "结论", "全部结论达标率", "按职责平均达标率", "第31周"):
        assert heading in page, heading
    assert "象山县反走私网格化综合治理实施细则" in page
    assert ">Summary<" not in page and ">Findings<" not in page and "rate over all findings" not in page


def hostile(small: Report) -> Report:
    """``small`` with a script in the names, sentences and citations the page shows."""
    first = small.findings[0]
    hostile = first.model_copy(update={"note": HOSTILE, "observed": HOSTILE, "step": HOSTILE,
                                       "subject": first.subject.model_copy(update={"name": HOSTILE, "role": HOSTILE})})
    obligation = small.obligations[0].model_copy(update={"cited": HOSTILE})
    return small.model_copy(update={"findings": (hostile, *small.findings[1:]), "obligations": (obligation,),
                                    "warnings": (HOSTILE,), "ruleset": HOSTILE})


def test_text_from_the_input_cannot_break_out(small: Report) -> None:
    page = render_html(hostile(small))
    opening = '<script type="application/json" id="data">'
    before, rest = page.split(opening, 1)
    data, after = rest.split("</script>", 1)  # the first end tag is the data's own
    assert "</" not in data and "<!--" not in data and "<\\/script>" in data
    assert HOSTILE in json.loads(data)["s"]  # and the data reads back as it was
    outside = before + after
    assert "<script>alert(1)" not in outside and "<!--" not in outside
    assert outside.count("<script") == 1 and outside.count("</script>") == 1  # the page's own code
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in outside  # the warning, the citation, a filter's option


def test_findings_are_bucketed_by_the_day_they_were_decided(small: Report) -> None:
    """A day's verdict is decided at the next midnight, and counts in the week of the day it ends:
    Sunday 2 August's in ISO week 31, with Saturday's (one patrol of four), not in week 32."""
    page = render_html(small)
    assert 'title="t · week of Jul 27, 2026: 25% · 1 met, 0 late, 3 missed' in page  # t is the town of d1 and d2
    assert 'title="t · week of Aug 3, 2026: 0% · 0 met, 0 late, 14 missed' in page
    assert 'title="d1 · week of Jul 27, 2026: 50% · 1 met, 0 late, 1 missed' in page
    assert "week of Aug 3, 2026: 0% · 0 met" in page.split('<svg id="trend"', 1)[1]


def test_a_long_range_is_shown_by_month(small: Report) -> None:
    page = render_html(small.model_copy(update={"first_day": dt.date(2026, 1, 1), "last_day": dt.date(2026, 12, 31)}))
    assert "Compliance rate by unit and month" in page
    heatmap = page.split('id="heatmap"', 1)[1].split("</thead>", 1)[0]
    assert [m for m in re.findall(r">(\d{4}-\d\d)<", heatmap)] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert heatmap.count('title="August 2026"') == 1
    cells = page.split('id="heatmap"', 1)[1].split("</table>", 1)[0]
    assert cells.count('class="empty"') == 3 * 11  # three units with nothing judged in eleven months


def test_the_embedded_findings_stay_small(small: Report) -> None:
    """A string is stored once however many findings repeat it: a finding costs a few dozen bytes."""
    many = small.model_copy(update={"findings": small.findings * 500})
    extra = len(render_html(many)) - len(render_html(small))
    assert extra / (len(many.findings) - len(small.findings)) < 80


def test_golden_html_report(page_en: str) -> None:
    """The Xiangshan sample's page, byte for byte (UPDATE_GOLDEN=1 refreshes it)."""
    golden = ROOT / "tests" / "golden" / "xiangshan.html"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(page_en, encoding="utf-8")
    assert page_en == golden.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------ in a browser

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the browser tests; missing: {', '.join(missing)}")
        pytest.skip(f"no headless browser: missing {', '.join(missing)}")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tmp_path_factory.mktemp("chromium-profile")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                     "--window-size=1280,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def opened(browser: Any, page_en: str, tmp_path: Path) -> Any:
    page = tmp_path / "xiangshan.html"
    page.write_text(page_en, encoding="utf-8")
    browser.get_log("browser")  # what an earlier test left
    browser.get(page.as_uri())
    return browser


def choose(driver: Any, select: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", select)).select_by_value(value)


def rows(driver: Any) -> list[Any]:
    return driver.find_elements("css selector", "#findings tbody tr")


@pytest.mark.browser
def test_the_page_opens_without_errors_and_shows_its_parts(opened: Any) -> None:
    severe = [entry for entry in opened.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    for part in ("heatmap", "trend", "findings", "match-count"):
        assert opened.find_element("id", part).is_displayed(), part
    assert opened.find_element("id", "heatmap").size["height"] > 200


@pytest.mark.browser
def test_filters_change_the_rows_and_the_count(opened: Any, report_en: Report) -> None:
    not_met = sum(1 for f in report_en.findings if f.status in ("open", "late", "missed"))
    count = opened.find_element("id", "match-count")
    assert count.text == f"{not_met} of {len(report_en.findings)} findings match" and len(rows(opened)) == not_met == 27
    assert {r.find_element("css selector", ".st").text for r in rows(opened)} == {"missed", "late"}
    choose(opened, "filter-status", "4")  # late
    assert count.text == "3 of 739 findings match" and len(rows(opened)) == 3
    choose(opened, "filter-status", "notmet")
    fanxi = [f for f in report_en.findings if f.status in ("late", "missed") and f.unit in ("fanxi", "fanxi-g1", "fanxi-dock")]
    units = [o.get_attribute("value") for o in opened.find_elements("css selector", "#filter-unit option")]
    choose(opened, "filter-unit", units[[u.unit for u in report_en.units].index("fanxi") + 1])  # a village and what is below it
    assert count.text == f"{len(fanxi)} of 739 findings match" and len(rows(opened)) == len(fanxi) == 9
    choose(opened, "filter-role", "dock_staff")
    assert len(rows(opened)) == sum(1 for f in fanxi if f.subject.role == "dock_staff")


@pytest.mark.browser
def test_a_script_in_the_data_is_shown_not_run(browser: Any, small: Report, tmp_path: Path) -> None:
    page = tmp_path / "hostile.html"
    page.write_text(render_html(hostile(small)), encoding="utf-8")
    browser.get(page.as_uri())
    assert browser.execute_script("return document.querySelectorAll('script').length") == 2
    choose(browser, "filter-status", "all")
    cells = [c.text for c in browser.find_elements("css selector", "#findings tbody td")]
    assert HOSTILE in cells  # the note and the observed, as text
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.mark.browser
def test_pages_of_a_hundred_rows(opened: Any) -> None:
    choose(opened, "filter-status", "all")
    info, previous, following = (opened.find_element("id", i) for i in ("page-info", "page-prev", "page-next"))
    assert opened.find_element("id", "match-count").text == "739 of 739 findings match"
    assert info.text == "page 1 of 8" and len(rows(opened)) == 100 and not previous.is_enabled()
    first = rows(opened)[0].text
    following.click()
    assert info.text == "page 2 of 8" and rows(opened)[0].text != first and previous.is_enabled()
    for _ in range(6):
        following.click()
    assert info.text == "page 8 of 8" and len(rows(opened)) == 39 and not following.is_enabled()
    choose(opened, "filter-obligation", "0")
    assert info.text == "page 1 of 4"  # a new filter starts at the first page
