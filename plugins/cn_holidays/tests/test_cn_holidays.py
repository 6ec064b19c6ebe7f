import datetime as dt
import sys
from pathlib import Path

import chinese_calendar
import complianceengine_cn_holidays as provider
import pytest
from complianceengine_cn_holidays.days import HolidayCalendarError, HolidayOptions, runs

import complianceengine as ce

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
from conftest import base_registry, base_ruleset, local  # noqa: E402

ONE_DAY = dt.timedelta(days=1)
CN = HolidayOptions(country="CN")
# Where the two libraries disagree, and why (checked against the notice).
KNOWN_DIFFERENCES = {
    # 国办发明电〔2005〕35号 (the 2006 arrangement): "12月31日（星期六）上班". holidays has this working
    # Saturday; chinese-calendar, whose 2005 data comes from the 2005 notice, has a plain weekend day.
    dt.date(2005, 12, 31): "working Saturday announced by the 2006 notice",
}


def ruleset(obligation, options, provider_name="public-holidays"):
    return base_ruleset(obligation, calendars={"holidays": {"label": {"en": "holidays"}, "provider": provider_name, "options": options}})


DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day",
         "at_least": 1}


def audit(obligation, options, first, last, provider_name="public-holidays"):
    return ce.audit(ruleset(obligation, options, provider_name), base_registry(), [], first_day=first, last_day=last,
                    as_of=local(2027, 1, 1, 0), plugins=ce.Plugins([provider]))


def days_of(found):
    return {a + ONE_DAY * i for a, b in found for i in range((b - a).days + 1)}


def each_day(first, last):
    return [first + ONE_DAY * i for i in range((last - first).days + 1)]


def test_national_day_excuses_daily_patrols():
    report = audit({**DAILY, "excused_in": ["holidays"]}, {"country": "CN"}, dt.date(2026, 9, 30), dt.date(2026, 10, 8))
    statuses = [f.status for f in report.findings if f.subject.id == "a"]
    assert statuses == ["missed"] + ["excused"] * 7 + ["missed"]


def test_adjusted_working_days_raise_a_weekday_only_duty():
    # two patrols on the make-up working days, one otherwise
    raised = {**DAILY, "during": [{"calendar": "holidays", "at_least": 2}]}
    report = audit(raised, {"country": "CN", "kind": "workdays"}, dt.date(2026, 10, 9), dt.date(2026, 10, 11))
    required = {f.period.label: f.required_count for f in report.findings if f.subject.id == "a"}
    assert required == {"2026-10-09": 1, "2026-10-10": 2, "2026-10-11": 1}


def test_the_earlier_provider_name_is_china():
    old = audit({**DAILY, "excused_in": ["holidays"]}, {}, dt.date(2026, 9, 30), dt.date(2026, 10, 8), provider_name="cn-holidays")
    new = audit({**DAILY, "excused_in": ["holidays"]}, {"country": "CN"}, dt.date(2026, 9, 30), dt.date(2026, 10, 8))
    assert [f.status for f in old.findings] == [f.status for f in new.findings]


def test_the_2026_breaks_and_make_up_days_are_those_of_the_notice():
    # 国务院办公厅关于2026年部分节假日安排的通知: the table this plugin carried by hand before
    assert runs(CN, dt.date(2026, 1, 1), dt.date(2026, 12, 28)) == [
        (dt.date(2026, 1, 1), dt.date(2026, 1, 3)), (dt.date(2026, 2, 15), dt.date(2026, 2, 23)),
        (dt.date(2026, 4, 4), dt.date(2026, 4, 6)), (dt.date(2026, 5, 1), dt.date(2026, 5, 5)),
        (dt.date(2026, 6, 19), dt.date(2026, 6, 21)), (dt.date(2026, 9, 25), dt.date(2026, 9, 27)),
        (dt.date(2026, 10, 1), dt.date(2026, 10, 7)),
    ]
    workdays = runs(HolidayOptions(country="CN", kind="workdays"), dt.date(2026, 1, 1), dt.date(2026, 12, 28))
    assert [a.isoformat() for a, _ in workdays] == ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]


def named_holiday(day):
    """chinese-calendar lists ``day`` as a day of a holiday (not a plain weekend day)."""
    off, name = chinese_calendar.get_holiday_detail(day)
    return off and name is not None


def compared_years():
    """The years both libraries know, each with the days the plugin answers for: to 28 December
    when it does not know the next year's notice (which can move the last days of December)."""
    out = {}
    for year in sorted({d.year for d in chinese_calendar.constants.holidays}):
        for last in (dt.date(year, 12, 31), dt.date(year, 12, 28)):
            try:
                runs(CN, dt.date(year, 1, 1), last)
            except HolidayCalendarError as exc:
                assert "no holiday arrangement known" in str(exc)
                continue
            out[year] = last
            break
    return out


YEARS = compared_years()


def test_every_year_both_libraries_know_is_compared():
    assert set(range(2004, 2027)) <= set(YEARS)  # chinese-calendar starts in 2004; holidays carries the notices from 2001


@pytest.mark.parametrize("year", sorted(YEARS))
def test_days_off_and_working_weekend_days_equal_chinese_calendar(year):
    first, last = dt.date(year, 1, 1), YEARS[year]
    days = each_day(first, last)
    off = days_of(runs(HolidayOptions(country="CN", kind="days-off"), first, last))
    assert {d for d in days if (d in off) != chinese_calendar.is_holiday(d)} <= set(KNOWN_DIFFERENCES)
    working_weekend = days_of(runs(HolidayOptions(country="CN", kind="workdays"), first, last))
    expected = {d for d in days if d.weekday() >= 5 and chinese_calendar.is_workday(d)}
    assert working_weekend ^ expected <= set(KNOWN_DIFFERENCES)


@pytest.mark.parametrize("year", sorted(YEARS))
def test_holiday_breaks_hold_chinese_calendars_holidays_and_join_only_weekend_days_to_them(year):
    first, last = dt.date(year, 1, 1), YEARS[year]
    found = runs(CN, first, last)
    breaks = days_of(found)
    named = {d for d in each_day(first - ONE_DAY * 10, last + ONE_DAY * 10) if d.year in YEARS and named_holiday(d)}
    assert {d for d in named if first <= d <= last} <= breaks
    for a, b in found:
        in_break = each_day(a, b)
        assert any(d in named for d in in_break), f"{a} to {b} holds none of chinese-calendar's holidays"
        # what the break adds to chinese-calendar's holidays are weekend days off ("与周末连休")
        added = [d for d in in_break if d not in named]
        assert all(d.weekday() >= 5 and chinese_calendar.is_holiday(d) for d in added), added


def test_unknown_years_and_december_without_the_next_notice_fail_loudly():
    assert "cn_holidays" in dict(ce.Plugins(entry_points=True).describe())
    with pytest.raises(ce.PluginError, match="calendar 'holidays' \\(provider public-holidays\\): no holiday arrangement known for 2030"):
        audit({**DAILY, "excused_in": ["holidays"]}, {"country": "CN"}, dt.date(2030, 1, 1), dt.date(2030, 1, 2))
    next_year = max(YEARS) + 1
    with pytest.raises(HolidayCalendarError, match=f"known for {next_year} \\(its notice can also move 29-31 December {next_year - 1}\\)"):
        runs(CN, dt.date(next_year - 1, 12, 1), dt.date(next_year - 1, 12, 31))
    with pytest.raises(HolidayCalendarError, match="knows CN from 1950"):
        runs(CN, dt.date(1949, 12, 1), dt.date(1950, 1, 5))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "option 'country' is required"),
        ({"country": "CN", "contry": "CN"}, "unknown option 'contry' (a public-holidays calendar takes country, subdivision, kind)"),
        ({"country": "CN", "kind": "weekends"}, "option 'kind': Input should be 'holidays', 'workdays' or 'days-off', got 'weekends'"),
        ({"country": "XX"}, "Country XX not available"),
        ({"country": "CN", "subdivision": "ZJ"}, "does not have subdivision ZJ; CN has no subdivisions in the library"),
        ({"country": "US", "subdivision": "ZZ"}, "does not have subdivision ZZ; US has subdivisions AK, AL,"),
    ],
)
def test_bad_options_name_the_calendar_and_say_what_is_wrong(options, message):
    with pytest.raises(ce.PluginError) as raised:
        audit({**DAILY, "excused_in": ["holidays"]}, options, dt.date(2026, 3, 1), dt.date(2026, 3, 2))
    assert "calendar 'holidays' (provider public-holidays): " in str(raised.value) and message in str(raised.value)


def test_any_country_and_its_subdivisions():
    first, last = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    us = runs(HolidayOptions(country="US"), first, last)
    # Independence Day falls on a Saturday and is observed on Friday 3 July: one break of three days
    assert (dt.date(2026, 7, 3), dt.date(2026, 7, 5)) in us
    california = days_of(runs(HolidayOptions(country="US", subdivision="CA"), first, last))
    assert dt.date(2026, 3, 31) in california and dt.date(2026, 3, 31) not in days_of(us)  # César Chávez Day
    assert runs(HolidayOptions(country="US", kind="workdays"), first, last) == []


def test_windows_run_from_local_midnight_to_midnight_across_a_clock_change():
    # the weekend of 7-8 March 2026, when clocks in California go forward: 47 hours
    [(start, end)] = provider.windows(HolidayOptions(country="US", kind="days-off"), dt.date(2026, 3, 7), dt.date(2026, 3, 8),
                                      "America/Los_Angeles")
    assert (start.isoformat(), end.isoformat()) == ("2026-03-07T00:00:00-08:00", "2026-03-09T00:00:00-07:00")
    assert end.timestamp() - start.timestamp() == 47 * 3600
