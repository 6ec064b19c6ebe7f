"""Public holidays and adjusted working days (调休) of any country, as calendar windows, from the
``holidays`` library (the Open World Holidays Framework).

In a ruleset::

    calendars:
      holidays:
        label: {zh: 法定节假日, en: public holidays}
        provider: public-holidays
        options: {country: CN}
      make-up-workdays:
        label: {zh: 调休上班日, en: adjusted working days}
        provider: public-holidays
        options: {country: CN, kind: workdays}

then ``excused_in: [holidays]`` excuses a duty during the holiday breaks, or
``during: [{calendar: make-up-workdays, at_least: 2}]`` raises it on the make-up working days.

Options: ``country`` (required) is an ISO 3166-1 code the library knows (CN, HK, MO, SG, US,
...); ``subdivision`` an ISO 3166-2 code of a province or state, for countries whose holidays
differ by one; ``kind`` is ``holidays`` (default: each holiday with the days off joined to it,
e.g. 1-7 October), ``workdays`` (weekend days that are working days) or ``days-off`` (every day
that is not a working day). See :mod:`complianceengine_cn_holidays.days`.

The provider's earlier name ``cn-holidays`` is still accepted: its ``country`` defaults to CN.
A range the library cannot answer for (a year before the country's calendar starts, a Chinese
year whose State Council notice the installed library does not carry yet) is an error naming the
years, never an empty calendar.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from complianceengine import hookimpl
from complianceengine.model import Calendar

from .days import HolidayCalendarError, HolidayOptions, runs

__all__ = ["PROVIDER", "HolidayCalendarError", "HolidayOptions", "runs", "windows"]

PROVIDER = "public-holidays"
#: the provider's earlier name, for China only (``country`` defaults to CN)
CN_PROVIDER = "cn-holidays"


def windows(options: HolidayOptions, first_day: dt.date, last_day: dt.date, timezone: str) -> list[tuple[dt.datetime, dt.datetime]]:
    """The runs of ``options.kind`` overlapping the local days ``first_day``..``last_day``, each
    from the midnight that starts it to the midnight that ends it, in ``timezone``."""
    zone = ZoneInfo(timezone)
    return [(dt.datetime.combine(a, dt.time(), zone), dt.datetime.combine(b + dt.timedelta(days=1), dt.time(), zone))
            for a, b in runs(options, first_day, last_day)]


@hookimpl
def complianceengine_calendar_providers() -> list[str]:
    return [PROVIDER, CN_PROVIDER]


@hookimpl
def complianceengine_calendar_windows(
    name: str, calendar: Calendar, first_day: dt.date, last_day: dt.date, timezone: str, base_dir: Path
) -> list[tuple[dt.datetime, dt.datetime]] | None:
    if calendar.provider not in (PROVIDER, CN_PROVIDER):
        return None
    given = {"country": "CN", **calendar.options} if calendar.provider == CN_PROVIDER else calendar.options
    try:
        return windows(HolidayOptions.parse(given, calendar.provider), first_day, last_day, timezone)
    except HolidayCalendarError as exc:
        raise HolidayCalendarError(f"calendar {name!r} (provider {calendar.provider}): {exc}") from None
