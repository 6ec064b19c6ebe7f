"""Calendar periods, intervals and durations in a ruleset's time zone.

This is the only module that does calendar arithmetic, and it does it with pendulum. Every
interval is half-open, ``[start, end)``, between time-zone-aware instants; a calendar day, week,
month, quarter or year starts at local midnight in the ruleset's zone.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import NamedTuple

import pendulum
from pydantic import BaseModel, ConfigDict

from .errors import UsageError
from .model import WEEKDAYS, FixedPeriod, duration_parts


class Interval(NamedTuple):
    """A half-open span of time ``[start, end)``."""

    start: dt.datetime
    end: dt.datetime

    @property
    def seconds(self) -> float:
        # timestamps, not pendulum's subtraction, which builds a calendar Interval (slow)
        return max(0.0, self.end.timestamp() - self.start.timestamp())

    def __contains__(self, instant: object) -> bool:
        return isinstance(instant, dt.datetime) and self.start <= instant < self.end

    def intersect(self, other: Interval) -> Interval | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Interval(start, end) if start < end else None


FOREVER = dt.datetime(9000, 1, 1, tzinfo=dt.timezone.utc)
#: the start of a duty with no start date (a unit's): before any audit range
BEGINNING = dt.datetime(1900, 1, 1, tzinfo=dt.timezone.utc)
#: where fixed-length periods without an ``anchor`` are laid from: local midnight, Monday
#: 1 January 2001 (a year, quarter, month and ISO week start at once), so that every audit lays
#: the same periods whatever its range
DEFAULT_ANCHOR = dt.datetime(2001, 1, 1)
_MIN = dt.datetime(1, 1, 2, tzinfo=dt.timezone.utc)
_MAX = dt.datetime(9999, 12, 30, tzinfo=dt.timezone.utc)


class Period(BaseModel):
    """A named span an obligation is judged over: a calendar period, a gap, a deadline window."""

    model_config = ConfigDict(frozen=True)

    label: str
    start: dt.datetime
    end: dt.datetime

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


@functools.cache
def zone(name: str) -> pendulum.Timezone:
    # one object per zone name: pendulum builds a new one on each call
    return pendulum.timezone(name)


#: POSIX seconds below which (in size) a timestamp names one microsecond: a double's step there
#: is under a microsecond (2^33 s is in the year 2242)
EXACT_SECONDS = 2.0**33
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_EPOCH_WALL = dt.datetime(1970, 1, 1)


def micros(seconds: float) -> int:
    """The whole POSIX microseconds a timestamp (``datetime.timestamp()``, the nearest double to
    them over a million) stands for, exactly, below :data:`EXACT_SECONDS`."""
    return round(Fraction(seconds) * 1_000_000)


def exact_micros(instant: dt.datetime) -> int:
    """An instant as whole POSIX microseconds, exactly in any year (:func:`micros` of a timestamp
    is exact only below :data:`EXACT_SECONDS`)."""
    wall = dt.datetime(instant.year, instant.month, instant.day, instant.hour, instant.minute, instant.second, instant.microsecond)
    offset = instant.utcoffset()
    if offset is None:
        raise ValueError(f"an instant needs its offset, got the naive {instant}")
    return (wall - offset - _EPOCH_WALL) // dt.timedelta(microseconds=1)


def from_micros(count: int, tz: str) -> pendulum.DateTime:
    """The instant ``count`` POSIX microseconds, on the ruleset's wall clock."""
    return local(_EPOCH + dt.timedelta(microseconds=count), tz)


def local(instant: dt.datetime, tz: str) -> pendulum.DateTime:
    """The same instant seen on the ruleset's wall clock."""
    return pendulum.instance(instant).in_timezone(zone(tz))


@functools.lru_cache(maxsize=1 << 16)
def day_start(day: dt.date, tz: str) -> pendulum.DateTime:
    """Local midnight starting ``day`` (the same immutable object for the same day and zone: a
    registry's thousands of records share a few hundred start days)."""
    return pendulum.datetime(day.year, day.month, day.day, tz=zone(tz))


def date_range(first: dt.date, last: dt.date, tz: str) -> Interval:
    """The interval covering the local days ``first`` to ``last``, both included."""
    if last < first:
        raise UsageError(f"the range ends ({last}) before it starts ({first})")
    if last >= FOREVER.date() or first.year < 2:
        raise UsageError(f"audit ranges must lie between the years 2 and {FOREVER.year - 1}, got {first} to {last}")
    return Interval(day_start(first, tz), day_start(last + dt.timedelta(days=1), tz))


def shift(instant: dt.datetime, duration: pendulum.Duration, times: int = 1) -> pendulum.DateTime:
    """``instant`` plus ``times`` x ``duration`` on the local calendar (months and years are
    calendar months and years: 31 January + P1M is 28 or 29 February)."""
    years, months, days, seconds = duration_parts(duration)
    return pendulum.instance(instant).add(
        years=years * times, months=months * times, days=days * times, seconds=seconds * times,
        microseconds=duration.microseconds * times,
    )


def _period_start(moment: pendulum.DateTime, unit: str, week_start: str) -> pendulum.DateTime:
    midnight = moment.start_of("day")
    if unit == "day":
        return midnight
    if unit == "week":
        back = (midnight.weekday() - WEEKDAYS.index(week_start)) % 7
        return midnight.subtract(days=back)
    if unit == "month":
        return midnight.set(day=1)
    if unit == "quarter":
        return midnight.set(month=(midnight.month - 1) // 3 * 3 + 1, day=1)
    if unit == "year":
        return midnight.set(month=1, day=1)
    raise ValueError(unit)


def _next_start(start: pendulum.DateTime, unit: str, tz: str) -> pendulum.DateTime:
    # calendar arithmetic on dates, then local midnight: a day after a midnight DST jump starts
    # at 00:00 again, not at the hour the jump landed on
    day = pendulum.date(start.year, start.month, start.day)
    following = {
        "day": lambda: day.add(days=1),
        "week": lambda: day.add(weeks=1),
        "month": lambda: day.add(months=1),
        "quarter": lambda: day.add(months=3),
        "year": lambda: day.add(years=1),
    }[unit]()
    return day_start(following, tz)


def _label(start: pendulum.DateTime, unit: str, week_start: str) -> str:
    if unit == "day":
        return start.format("YYYY-MM-DD")
    if unit == "week":
        if week_start == "monday":
            year, week, _ = start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"week of {start.format('YYYY-MM-DD')}"
    if unit == "month":
        return start.format("YYYY-MM")
    if unit == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


#: the most periods of one duty an audit lays out (docs/authoring.md, "Limits")
MAX_PERIODS = 100_000


def periods(
    unit: str | FixedPeriod, within: Interval, tz: str, week_start: str = "monday"
) -> Iterator[Period]:
    """Every whole period of ``unit`` that overlaps ``within``, in order; more than
    :data:`MAX_PERIODS` is a :class:`UsageError` (an audit range far too long for the period).

    Periods are never clipped: the first and last may start before or end after ``within``.
    Fixed-length periods are laid back to back from their anchor (default:
    :data:`DEFAULT_ANCHOR`, local time), in both directions.
    """
    for count, period in enumerate(_periods(unit, within, tz, week_start), start=1):
        if count > MAX_PERIODS:
            raise UsageError(
                f"the audit range holds more than {MAX_PERIODS:,} periods of {unit if isinstance(unit, str) else 'the fixed length'}; "
                "audit a shorter range"
            )
        yield period


def _periods(unit: str | FixedPeriod, within: Interval, tz: str, week_start: str) -> Iterator[Period]:
    if isinstance(unit, FixedPeriod):
        given = DEFAULT_ANCHOR if unit.anchor is None else unit.anchor
        if given.tzinfo is None:  # a naive anchor is wall-clock time in the ruleset's zone
            anchor = pendulum.instance(given, tz=zone(tz))
        else:
            anchor = local(given, tz)
        # jump to about the first period that reaches into the range, then step to it exactly
        years, months, days, seconds = duration_parts(unit.every)
        approximate = (years * 365.2425 + months * 30.436875 + days) * 86400 + seconds + unit.every.microseconds / 1e6
        k = math.floor((within.start.timestamp() - anchor.timestamp()) / approximate)
        while shift(anchor, unit.every, k) > within.start:
            k -= 1
        while shift(anchor, unit.every, k + 1) <= within.start:
            k += 1
        while True:
            start, end = shift(anchor, unit.every, k), shift(anchor, unit.every, k + 1)
            if start >= within.end:
                return
            yield Period(label=f"{start.format('YYYY-MM-DD HH:mm')}/{end.format('YYYY-MM-DD HH:mm')}", start=start, end=end)
            k += 1
    start = _period_start(local(within.start, tz), unit, week_start)
    while start < within.end:
        end = _next_start(start, unit, tz)
        yield Period(label=_label(start, unit, week_start), start=start, end=end)
        start = end


def clip(intervals: Iterable[Interval], to: Interval) -> list[Interval]:
    """The parts of ``intervals`` inside ``to``, merged and in order."""
    if isinstance(intervals, (list, tuple)) and len(intervals) == 1:  # most duties: one interval
        part = intervals[0].intersect(to)
        return [] if part is None else [part]
    parts = sorted(p for p in (i.intersect(to) for i in intervals) if p is not None)
    merged: list[Interval] = []
    for part in parts:
        if merged and part.start <= merged[-1].end:
            merged[-1] = Interval(merged[-1].start, max(merged[-1].end, part.end))
        else:
            merged.append(part)
    return merged


def subtract(intervals: Iterable[Interval], removed: Iterable[Interval]) -> list[Interval]:
    """The parts of ``intervals`` outside every interval of ``removed``, merged and in order."""
    parts = clip(intervals, Interval(_MIN, _MAX))
    for cut in sorted(removed):
        kept: list[Interval] = []
        for part in parts:
            if cut.end <= part.start or cut.start >= part.end:
                kept.append(part)
                continue
            if part.start < cut.start:
                kept.append(Interval(part.start, cut.start))
            if cut.end < part.end:
                kept.append(Interval(cut.end, part.end))
        parts = kept
    return parts


def overlap(intervals: Iterable[Interval], other: Iterable[Interval]) -> list[Interval]:
    """The parts of ``intervals`` that are also inside some interval of ``other``."""
    other = list(other)
    return clip([p for i in intervals for o in other if (p := i.intersect(o)) is not None], Interval(_MIN, _MAX))


@functools.lru_cache(maxsize=1 << 16)
def days_interval(start: dt.date, end: dt.date | None, tz: str) -> Interval:
    """The interval of an effective-dated record: ``start`` 00:00 to the day after ``end``
    (open-ended records run to the far future). The same immutable object for the same days and
    zone: a county's hundred thousand assignments share a few thousand spans."""
    # "forever" is year 9000, not 9999: deadlines a few years past it must still be computable
    if end is None or end >= FOREVER.date():
        return Interval(day_start(start, tz), day_start(FOREVER.date(), tz))
    return Interval(day_start(start, tz), day_start(end + dt.timedelta(days=1), tz))


def describe(duration: dt.timedelta) -> str:
    """A short human reading of a delay, e.g. '2d 3h' or '45m'."""
    seconds = int(duration.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes and not days:
        parts.append(f"{minutes}m")
    return sign + (" ".join(parts) or "0m")


def instant_option(text: str, tz: str, option: str = "--as-of") -> dt.datetime:
    """A command-line instant: ISO 8601, a naive time being on the wall clock of ``tz``
    (:class:`UsageError` naming ``option`` otherwise)."""
    try:
        instant = pendulum.parse(text, tz=pendulum.timezone(tz))
    except Exception:
        raise UsageError(f"{option}: expected an ISO 8601 date-time such as 2026-11-01T00:00:00+08:00, got {text!r}") from None
    if not isinstance(instant, dt.datetime):
        raise UsageError(f"{option}: expected a date-time, got {text!r}")
    return instant
