"""Reports in English and Chinese: readable periods and durations (``complianceengine.words``),
findings worded in the audit's language with the same verdicts, the obligation-weighted rate, and
``--lang`` on the command line."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import complianceengine as ce
from complianceengine.findings import ObligationSummary, StatusCounts
from complianceengine.model import Label
from complianceengine.timeframes import Period, date_range, periods
from complianceengine.words import LANGS, delay_text, duration_text, in_lang, period_text, status_text, text

from conftest import ROOT

TZ = "Asia/Shanghai"
EXE = Path(sys.executable).parent / "complianceengine"
BUNDLED = ["xiangshan", "shanghai", "zhangjiagang", "zhongshan"]


def first(unit: str, day: dt.date, week_start: str = "monday") -> Period:
    return next(iter(periods(unit, date_range(day, day, TZ), TZ, week_start)))


@pytest.mark.parametrize(("unit", "en", "zh"), [
    ("day", "Sep 17, 2026", "2026年9月17日"),
    ("week", "week of Sep 14, 2026", "2026年9月第3周"),
    ("month", "September 2026", "2026年9月"),
    ("quarter", "Q3 2026", "2026年第3季度"),
    ("year", "2026", "2026年"),
])
def test_calendar_periods_read_as_people_write_them(unit, en, zh):
    period = first(unit, dt.date(2026, 9, 17))
    assert (period_text(period, TZ, "en"), period_text(period, TZ, "zh")) == (en, zh)


def test_a_week_across_two_months_belongs_to_the_month_of_its_thursday():
    # Mon 28 Sep .. Sun 4 Oct 2026: Thursday is 1 October, so it is October's first week
    assert period_text(first("week", dt.date(2026, 9, 30)), TZ, "zh") == "2026年10月第1周"
    # Mon 29 Dec 2025 .. Sun 4 Jan 2026: Thursday 1 January 2026
    assert period_text(first("week", dt.date(2025, 12, 30)), TZ, "zh") == "2026年1月第1周"


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2099, 12, 31)), st.sampled_from(["monday", "sunday", "saturday"]))
def test_every_day_of_a_week_names_the_same_week_and_the_ordinal_is_that_of_its_middle_day(day, week_start):
    week = first("week", day, week_start)
    names = {period_text(first("week", week.start.date() + dt.timedelta(days=k), week_start), TZ, "zh") for k in range(7)}
    assert len(names) == 1
    middle = week.start.date() + dt.timedelta(days=3)
    assert names == {f"{middle.year}年{middle.month}月第{(middle.day - 1) // 7 + 1}周"}


def test_other_spans_read_as_their_ends():
    whole_days = Period(label="x", start=pendulum.datetime(2026, 8, 1, tz=TZ), end=pendulum.datetime(2026, 11, 1, tz=TZ))
    assert period_text(whole_days, TZ, "en") == "Aug 1, 2026 to Oct 31, 2026"
    assert period_text(whole_days, TZ, "zh") == "2026年8月1日至2026年10月31日"
    gap = Period(label="x", start=pendulum.datetime(2026, 9, 25, 15, tz=TZ), end=pendulum.datetime(2026, 10, 20, 15, tz=TZ))
    assert period_text(gap, TZ, "en") == "2026-09-25 15:00 to 2026-10-20 15:00"
    assert period_text(gap, TZ, "zh") == "2026-09-25 15:00 至 2026-10-20 15:00"
    instant = Period(label="handled after the previous step", start=gap.start, end=gap.start)
    assert period_text(instant, TZ, "zh") == "handled after the previous step"


@pytest.mark.parametrize(("iso", "en", "zh"), [
    ("PT2H", "2 hours", "2小时"), ("PT1H30M", "1 hour 30 minutes", "1小时30分钟"), ("P1D", "1 day", "1天"), ("P3D", "3 days", "3天"),
    ("P14D", "2 weeks", "2周"), ("P31D", "31 days", "31天"), ("P1M", "1 month", "1个月"), ("P1Y", "1 year", "1年"),
])
def test_durations_read_as_words(iso, en, zh):
    duration = ce.model._parse_duration(iso)  # the ruleset's own parser
    assert (duration_text(duration, "en"), duration_text(duration, "zh")) == (en, zh)


def test_delays_to_the_minute_under_a_day_and_to_the_hour_beyond():
    assert delay_text(dt.timedelta(days=5, hours=15, minutes=59), "en") == "5 days 15 hours"
    assert delay_text(dt.timedelta(hours=6), "zh") == "6小时"
    assert delay_text(dt.timedelta(minutes=45), "en") == "45 minutes"
    assert delay_text(dt.timedelta(0), "en") == "0 minutes"


def test_every_phrase_and_status_exists_in_both_languages():
    from complianceengine import words

    for key, phrases in words._TEXT.items():
        assert set(phrases) == set(LANGS), key
        # the same placeholders in both languages
        assert {tuple(sorted(re.findall(r"{(\w+)", p))) for p in phrases.values()} == {tuple(sorted(re.findall(r"{(\w+)", phrases["en"])))}, key
    for status in ce.findings.SEVERITY:
        assert status_text(status, "zh") != status and re.search(r"[\u4e00-\u9fff]", status_text(status, "zh"))
    assert in_lang(Label(en="dock"), "zh") == "dock" and in_lang(Label(en="dock", zh="码头"), "zh") == "码头"
    assert text("title", "zh", title="x") == "履职合规审计：x"


@pytest.fixture(scope="module")
def both(request):
    """Each bundled sample audited in English and in Chinese."""
    out = {}
    for name in BUNDLED:
        folder = ROOT / "rulesets" / name
        ruleset = ce.load_ruleset(folder / "ruleset.yaml")
        registry = ce.load_registry(folder / "sample" / "registry.yaml", ruleset)
        events = ce.read_events([folder / "sample" / "events.jsonl"], ruleset, registry)
        days = json.loads((ROOT / "tests" / "golden" / f"{name}.json").read_text(encoding="utf-8"))
        kwargs = dict(first_day=dt.date.fromisoformat(days["first_day"]), last_day=dt.date.fromisoformat(days["last_day"]),
                      as_of=dt.datetime.fromisoformat(days["as_of"]))
        out[name] = tuple(ce.audit(ruleset, registry, events, **kwargs, lang=lang) for lang in ("en", "zh"))
    return out


@pytest.mark.parametrize("name", BUNDLED)
def test_the_language_changes_the_words_and_nothing_else(both, name):
    en, zh = both[name]
    assert (en.lang, zh.lang) == ("en", "zh")
    assert len(en.findings) == len(zh.findings) > 0
    words = ("required", "observed", "note")
    for a, b in zip(en.findings, zh.findings, strict=True):
        assert a.model_dump(exclude=set(words)) == b.model_dump(exclude=set(words))
    assert en.obligations == zh.obligations and en.units == zh.units


@pytest.mark.parametrize("name", BUNDLED)
def test_every_kind_words_its_findings_in_chinese(both, name):
    """No word of the kinds' English templates is left in a Chinese finding, except where the
    ruleset itself says it (an English-only label, an id, a field name)."""
    from complianceengine.kinds import cadence, completeness, frequency, response, staffing

    _, zh = both[name]
    engine = {w.lower() for module in (cadence, completeness, frequency, response, staffing)
              for template in module._WORDS["en"].values() for w in re.findall(r"(?<!{)\b[A-Za-z]{3,}\b(?![^{]*})", template)}
    given = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", " ".join(_given(name)))}
    kinds = set()
    for f in zh.findings:
        for sentence in (f.required, f.observed, f.note or ""):
            left = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", sentence)} & engine - given
            assert not left, (f.id, sentence)
        assert re.search(r"[\u4e00-\u9fff]", f.required + f.observed), (f.id, f.required, f.observed)
        kinds.add(f.obligation_kind)
    assert kinds & {"frequency", "cadence", "response", "staffing", "completeness"}


def _given(name: str) -> list[str]:
    """What the input may put into a sentence in English: the ruleset's keys and ids, its English
    labels that have no Chinese, and every text of the sample registry and events (names,
    exemption reasons)."""
    folder = ROOT / "rulesets" / name
    out = [(folder / "sample" / "registry.yaml").read_text(encoding="utf-8"), (folder / "sample" / "events.jsonl").read_text(encoding="utf-8")]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if set(node) == {"en", "zh"} and not node["zh"]:
                out.append(str(node["en"]))
            out.extend(str(k) for k in node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and re.fullmatch(r"[A-Za-z0-9_\-]+", node):
            out.append(node)

    walk(ce.load_ruleset(folder / "ruleset.yaml").model_dump(mode="json"))
    return out


def test_the_weighted_rate_is_the_mean_of_the_obligations_rates(both):
    report = both["xiangshan"][0]
    rates = [o.rate for o in report.obligations if o.rate is not None]
    assert report.weighted_rate == pytest.approx(sum(rates) / len(rates))
    assert report.weighted_rate < report.counts.rate  # daily patrols lift the raw rate
    empty = report.model_copy(update={"obligations": (ObligationSummary(
        obligation="x", kind="frequency", title=Label(en="x"), cited="x", assumed=False, counts=StatusCounts(), rate=None),)})
    assert empty.weighted_rate is None


def sample(name: str = "xiangshan") -> list[str]:
    folder = f"rulesets/{name}"
    return [f"{folder}/ruleset.yaml", "--registry", f"{folder}/sample/registry.yaml", "--events", f"{folder}/sample/events.jsonl",
            "--from", "2026-08-01", "--to", "2026-10-31", "--as-of", "2026-11-01T00:00:00+08:00", "--fail-on", "none"]


def test_lang_zh_on_the_command_line_gives_the_golden_chinese_report():
    """The Chinese Markdown report of the Xiangshan sample, byte for byte (UPDATE_GOLDEN=1 rewrites it)."""
    result = subprocess.run([str(EXE), "audit", *sample(), "--lang", "zh"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    golden = ROOT / "tests" / "golden" / "xiangshan.zh.md"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")
    assert "## 未达标结论 (27)" in result.stdout and "达标 706，逾期 3，未完成 24" in result.stdout


def test_the_report_names_its_inputs_with_their_checksums():
    result = subprocess.run([str(EXE), "audit", *sample(), "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    inputs = json.loads(result.stdout)["inputs"]
    assert [i["kind"] for i in inputs] == ["ruleset", "registry", "events"]
    for i in inputs:
        assert i["sha256"] == hashlib.sha256((ROOT / i["path"]).read_bytes()).hexdigest()


def test_a_naive_instant_is_read_as_utc_whatever_the_host_zone(monkeypatch):
    import time

    from complianceengine.words import when_text

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert when_text(dt.datetime(2026, 11, 1), "Asia/Shanghai") == "2026-11-01 08:00"
        assert when_text(dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc), "Asia/Shanghai") == "2026-11-01 08:00"
    finally:
        monkeypatch.undo()
        time.tzset()
