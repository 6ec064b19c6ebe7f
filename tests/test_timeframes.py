"""Calendar periods and durations in the ruleset's zone."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from complianceengine import UsageError
from complianceengine.model import FixedPeriod, format_duration
from complianceengine.timeframes import Interval, clip, date_range, days_interval, describe, periods, shift

TZ = "Asia/Shanghai"


def labels(unit, first, last, week_start="monday"):
    return [p.label for p in periods(unit, date_range(first, last, TZ), TZ, week_start)]


def test_date_range_is_local_midnight_to_the_day_after():
    span = date_range(dt.date(2026, 8, 1), dt.date(2026, 8, 31), TZ)
    assert span.start.isoformat() == "2026-08-01T00:00:00+08:00"
    assert span.end.isoformat() == "2026-09-01T00:00:00+08:00"
    with pytest.raises(UsageError):
        date_range(dt.date(2026, 8, 2), dt.date(2026, 8, 1), TZ)


def test_calendar_periods_cover_the_range_without_clipping():
    assert labels("day", dt.date(2026, 8, 30), dt.date(2026, 9, 1)) == ["2026-08-30", "2026-08-31", "2026-09-01"]
    assert labels("week", dt.date(2026, 8, 1), dt.date(2026, 8, 10)) == ["2026-W31", "2026-W32", "2026-W33"]
    assert labels("week", dt.date(2026, 8, 1), dt.date(2026, 8, 10), "sunday") == ["week of 2026-07-26", "week of 2026-08-02", "week of 2026-08-09"]
    assert labels("month", dt.date(2026, 1, 31), dt.date(2026, 3, 1)) == ["2026-01", "2026-02", "2026-03"]
    assert labels("quarter", dt.date(2026, 3, 31), dt.date(2026, 7, 1)) == ["2026-Q1", "2026-Q2", "2026-Q3"]
    assert labels("year", dt.date(2025, 12, 31), dt.date(2026, 1, 1)) == ["2025", "2026"]
    (week,) = periods("week", date_range(dt.date(2026, 8, 5), dt.date(2026, 8, 5), TZ), TZ)
    assert (week.start.isoformat(), week.end.isoformat()) == ("2026-08-03T00:00:00+08:00", "2026-08-10T00:00:00+08:00")


def test_iso_week_label_at_year_end():
    assert labels("week", dt.date(2026, 12, 28), dt.date(2027, 1, 4)) == ["2026-W53", "2027-W01"]


def test_fixed_periods_from_anchor():
    span = date_range(dt.date(2026, 8, 1), dt.date(2026, 8, 31), TZ)
    every = FixedPeriod(every="P10D", anchor=dt.datetime(2026, 7, 25))  # naive: local
    found = [(p.start.isoformat(), p.end.isoformat()) for p in periods(every, span, TZ)]
    assert found[0] == ("2026-07-25T00:00:00+08:00", "2026-08-04T00:00:00+08:00")
    assert found[-1] == ("2026-08-24T00:00:00+08:00", "2026-09-03T00:00:00+08:00")
    assert len(found) == 4


def test_month_arithmetic_is_calendar_based():
    jan31 = pendulum.datetime(2026, 1, 31, 9, tz=TZ)
    assert shift(jan31, pendulum.parse("P1M")).isoformat() == "2026-02-28T09:00:00+08:00"
    assert shift(jan31, pendulum.parse("P1M"), 2).isoformat() == "2026-03-31T09:00:00+08:00"
    assert shift(jan31, pendulum.parse("PT2H30M")).isoformat() == "2026-01-31T11:30:00+08:00"
    assert shift(jan31, pendulum.parse("P1W")).isoformat() == "2026-02-07T09:00:00+08:00"


@pytest.mark.parametrize("text", ["P1D", "PT2H", "P1M", "P1Y2M3DT4H5M6S", "PT90M", "P7D"])
def test_duration_round_trip(text):
    parsed = pendulum.parse(text)
    assert pendulum.parse(format_duration(parsed)).total_seconds() == parsed.total_seconds()
    assert format_duration(pendulum.parse("PT2H")) == "PT2H"


def test_clip_merges_and_cuts():
    t = lambda d: pendulum.datetime(2026, 8, d, tz=TZ)  # noqa: E731
    parts = clip([Interval(t(1), t(5)), Interval(t(4), t(8)), Interval(t(20), t(25))], Interval(t(2), t(22)))
    assert parts == [Interval(t(2), t(8)), Interval(t(20), t(22))]
    assert days_interval(dt.date(2026, 8, 1), dt.date(2026, 8, 1), TZ) == Interval(t(1), t(2))


def test_describe():
    assert describe(dt.timedelta(days=2, hours=3, minutes=5)) == "2d 3h"
    assert describe(dt.timedelta(minutes=45)) == "45m"
