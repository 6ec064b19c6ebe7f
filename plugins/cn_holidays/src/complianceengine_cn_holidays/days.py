"""Days off and adjusted working days of a country, from the ``holidays`` library (the Open World
Holidays Framework), as runs of local days.

Three kinds of day (option ``kind``):

- ``holidays``: the holiday breaks. Each public holiday the library lists, joined with the days
  off next to it into one run: China's 国庆 break is 1-7 October whatever weekdays it spans, a
  Monday holiday elsewhere makes a Saturday-to-Monday break;
- ``workdays``: weekend days that are working days (China's 调休上班日, made up for a break);
- ``days-off``: every day that is not a working day: weekends and holidays, less the weekend
  days that are working days.

China fixes its breaks and make-up working days by a yearly State Council notice, not by rules,
so a year whose notice the installed library does not carry is refused rather than computed from
the rules alone; the days from 29 December on need the next year's notice too, which can make
29 December a working day and 31 December a day off (as it did for 2007 and 2008).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
from collections.abc import Iterable
from typing import Literal

import holidays
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["ANNOUNCED_YEARLY", "HolidayCalendarError", "HolidayOptions", "runs"]

ONE_DAY = dt.timedelta(days=1)
#: countries whose days off are set each year by a notice rather than by rules
ANNOUNCED_YEARLY = frozenset({"CN"})
#: the first day of a year that the next year's notice can move (a New Year's Day on a Tuesday
#: makes the Saturday 29 December a working day)
NEXT_NOTICE_REACHES = (12, 29)
#: how far around the asked days a break is followed to its ends (the longest breaks are 9 days)
REACH = dt.timedelta(days=31)


class HolidayCalendarError(ValueError):
    """The calendar's options cannot be used, or the library cannot answer for the days asked."""


class HolidayOptions(BaseModel):
    """The ``options`` of a ``public-holidays`` calendar in a ruleset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str = Field(description="ISO 3166-1 code the holidays library knows: CN, HK, MO, SG, US, ...")
    subdivision: str | None = Field(None, description="ISO 3166-2 subdivision (province, state) of the country, when it has them")
    kind: Literal["holidays", "workdays", "days-off"] = "holidays"

    @classmethod
    def parse(cls, options: dict[str, object], provider: str) -> HolidayOptions:
        """``options`` as written in the ruleset, or :class:`HolidayCalendarError` saying which option is wrong."""
        try:
            return cls.model_validate(options)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                name = ".".join(str(part) for part in error["loc"]) or "options"
                if error["type"] == "extra_forbidden":
                    problems.append(f"unknown option {name!r} (a {provider} calendar takes {', '.join(cls.model_fields)})")
                elif error["type"] == "missing":
                    problems.append(f"option {name!r} is required (e.g. country: CN)")
                else:
                    problems.append(f"option {name!r}: {error['msg']}, got {error.get('input')!r}")
            raise HolidayCalendarError("; ".join(problems)) from None


def runs(options: HolidayOptions, first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The runs ``(first day, last day)`` of days of ``options.kind`` that overlap ``first``..``last``."""
    calendar = _calendar(options, range(first.year - 1, last.year + 2))
    _require_known(calendar, options, first, last)
    if options.kind == "workdays":
        return _runs(d for d in sorted(calendar.weekend_workdays) if first <= d <= last)
    if options.kind == "days-off":
        return _runs(d for d in _days(first, last) if not calendar.is_working_day(d))
    around = _runs(d for d in _days(first - REACH, last + REACH) if not calendar.is_working_day(d))
    return [(a, b) for a, b in around if b >= first and a <= last and any(d in calendar for d in _days(a, b))]


def _calendar(options: HolidayOptions, years: Iterable[int]) -> holidays.HolidayBase:
    try:
        return holidays.country_holidays(options.country, subdiv=options.subdivision, years=list(years))
    except NotImplementedError as exc:  # the library's word for an unknown country or subdivision
        subdivisions = holidays.list_supported_countries().get(options.country.upper())
        if subdivisions is None:
            hint = ""
        elif subdivisions:
            hint = f"; {options.country} has subdivisions {', '.join(subdivisions)}"
        else:
            hint = f"; {options.country} has no subdivisions in the library"
        raise HolidayCalendarError(f"{_library()}: {exc}{hint}") from None


def _require_known(calendar: holidays.HolidayBase, options: HolidayOptions, first: dt.date, last: dt.date) -> None:
    years = set(range(first.year, last.year + 1))
    if not calendar.start_year <= min(years) <= max(years) <= calendar.end_year:
        raise HolidayCalendarError(f"{_library()} knows {options.country} from {calendar.start_year} to "
                                   f"{calendar.end_year}; the audit needs {first} to {last}")
    if calendar.country not in ANNOUNCED_YEARLY:
        return
    reaches_next = last >= dt.date(last.year, *NEXT_NOTICE_REACHES)
    if reaches_next:
        years.add(last.year + 1)
    announced = {d.year for d in calendar.weekend_workdays}  # every notice so far has made a weekend day a working day
    missing = sorted(years - announced)
    if missing:
        why = (f" (its notice can also move {NEXT_NOTICE_REACHES[1]}-31 December {last.year})"
               if reaches_next and missing[-1] == last.year + 1 else "")
        raise HolidayCalendarError(
            f"no holiday arrangement known for {', '.join(map(str, missing))}{why}: {_library()} has no State "
            f"Council notice for it, and the audit needs {first} to {last} (a newer holidays package carries a year's notice once it is out)"
        )


def _library() -> str:
    """The library and its version, for messages: what it knows depends on the release."""
    return f"holidays {importlib.metadata.version('holidays')}"


def _days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


def _runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days (given in order) as ``(first, last)`` runs."""
    out: list[tuple[dt.date, dt.date]] = []
    for day in days:
        if out and out[-1][1] + ONE_DAY == day:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out
