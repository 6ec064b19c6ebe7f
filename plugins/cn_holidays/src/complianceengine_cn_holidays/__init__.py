"""Chinese statutory public holidays and adjusted working days (调休), as calendar windows.

In a ruleset::

    calendars:
      holidays: {label: {zh: 法定节假日, en: public holidays}, provider: cn-holidays}
      make-up-workdays: {label: {zh: 调休上班日, en: adjusted working days}, provider: cn-holidays,
                         options: {kind: workdays}}

then ``excused_in: [holidays]`` excuses a duty on holidays, or
``during: [{calendar: holidays, period: day, at_least: 2}]`` raises it.

The dates are transcribed from the State Council General Office notice on the 2026 holiday
arrangements (国务院办公厅关于2026年部分节假日安排的通知). Only years listed in ``HOLIDAYS`` are
known; asking for another year is an error rather than a silent "no holidays".
"""

from __future__ import annotations

import datetime as dt

import pendulum

from complianceengine import hookimpl

PROVIDER = "cn-holidays"

# (first day, last day) of each holiday run, both included
HOLIDAYS: dict[int, list[tuple[str, str, str]]] = {
    2026: [
        ("2026-01-01", "2026-01-03", "元旦 New Year"),
        ("2026-02-15", "2026-02-23", "春节 Spring Festival"),
        ("2026-04-04", "2026-04-06", "清明节 Qingming"),
        ("2026-05-01", "2026-05-05", "劳动节 Labour Day"),
        ("2026-06-19", "2026-06-21", "端午节 Dragon Boat Festival"),
        ("2026-09-25", "2026-09-27", "中秋节 Mid-Autumn Festival"),
        ("2026-10-01", "2026-10-07", "国庆节 National Day"),
    ],
}
# weekend days that are working days to make up for a holiday run
WORKDAYS: dict[int, list[str]] = {
    2026: ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
}


class UnknownYear(ValueError):
    pass


def days(kind: str, first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Runs of days of ``kind`` ('holidays' or 'workdays') overlapping ``first``..``last``."""
    out = []
    for year in range(first.year, last.year + 1):
        if year not in HOLIDAYS:
            raise UnknownYear(f"no holiday arrangement known for {year}; known: {sorted(HOLIDAYS)}")
        runs = HOLIDAYS[year] if kind == "holidays" else [(d, d, "调休上班") for d in WORKDAYS[year]]
        for start, end, _ in runs:
            a, b = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
            if b >= first and a <= last:
                out.append((a, b))
    return out


@hookimpl
def complianceengine_calendar_providers():
    return [PROVIDER]


@hookimpl
def complianceengine_calendar_windows(name, calendar, first_day, last_day, timezone):
    if calendar.provider != PROVIDER:
        return None
    kind = calendar.options.get("kind", "holidays")
    if kind not in ("holidays", "workdays"):
        raise ValueError(f"calendar {name!r}: options.kind must be 'holidays' or 'workdays', not {kind!r}")
    zone = pendulum.timezone(timezone)
    return [
        (pendulum.datetime(a.year, a.month, a.day, tz=zone), pendulum.datetime(b.year, b.month, b.day, tz=zone).add(days=1))
        for a, b in days(kind, first_day, last_day)
    ]
