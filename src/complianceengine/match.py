"""The meaning of a ``match`` block: the one Python interpretation of :class:`EventMatch`.

A match block is data (kinds, ``where`` conditions, a local time-of-day window, calendar windows,
a quorum); :func:`matcher` turns it into a predicate over events. The reference backend and
``explain`` use it; a columnar backend translates the same block into its own query language.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .model import Comparison, Event, EventMatch
from .timeframes import Interval, zone

__all__ = ["condition_holds", "matcher"]


def condition_holds(value: Any, condition: Any) -> bool:
    """Does one field value satisfy one ``where`` condition? On a list value (participants, a
    list attribute) a condition holds when it holds for at least one item."""
    if isinstance(value, tuple):
        if isinstance(condition, Comparison) and condition.exists is not None:
            return bool(value) == condition.exists
        return any(condition_holds(item, condition) for item in value)
    if isinstance(condition, Comparison):
        checks = []
        if condition.exists is not None:
            checks.append((value is not None) == condition.exists)
        if condition.eq is not None:
            checks.append(_equal(value, condition.eq))
        if condition.ne is not None:
            checks.append(not _equal(value, condition.ne))
        if condition.in_ is not None:
            checks.append(any(_equal(value, c) for c in condition.in_))
        if condition.not_in is not None:
            checks.append(not any(_equal(value, c) for c in condition.not_in))
        for op, bound in (("gt", condition.gt), ("gte", condition.gte), ("lt", condition.lt), ("lte", condition.lte)):
            if bound is not None:
                checks.append(_ordered(value, op, bound))
        return all(checks)
    if isinstance(condition, list):
        return any(_equal(value, c) for c in condition)
    return _equal(value, condition)


def _equal(value: Any, expected: Any) -> bool:
    # True == 1 in Python; a ruleset saying `urgent: true` must not match the number 1
    if isinstance(value, bool) != isinstance(expected, bool):
        return False
    return bool(value == expected)


def _ordered(value: Any, op: str, bound: Any) -> bool:
    numeric = (int, float)
    comparable = (isinstance(value, numeric) and isinstance(bound, numeric) and not isinstance(value, bool)) or (
        isinstance(value, str) and isinstance(bound, str)
    )
    if not comparable:
        return False
    return bool({"gt": value > bound, "gte": value >= bound, "lt": value < bound, "lte": value <= bound}[op])


def matcher(match: EventMatch, tz: str, windows: Mapping[str, Sequence[Interval]] | None = None) -> Callable[[Event], bool]:
    """A predicate: the event is of one of the kinds, every ``where`` condition holds, it falls in
    the local ``time_of_day`` window and inside the ``in_calendar`` windows, and its attendance
    reaches the ``quorum``."""
    inside = None if match.in_calendar is None else (windows or {}).get(match.in_calendar, [])
    # calendar windows are merged and in order (``calendar_windows``): find the one that could
    # hold an instant by bisection instead of trying each
    starts = [part.start.timestamp() for part in inside or ()]
    ends = [part.end.timestamp() for part in inside or ()]
    kinds = frozenset(match.kinds)
    where = list(match.where.items())
    clock = match.time_of_day
    quorum = match.quorum
    wall = zone(tz)

    def holds(event: Event) -> bool:
        return all(condition_holds(event.field(name), cond) for name, cond in where)

    def in_calendar(event: Event) -> bool:
        assert inside is not None
        instant = event.time.timestamp()  # instants compared as timestamps, as the reference backend orders them
        at = bisect.bisect_right(starts, instant) - 1
        return at >= 0 and instant < ends[at]

    def in_clock(event: Event) -> bool:
        assert clock is not None
        seen = event.time.astimezone(wall)
        now = f"{seen.hour:02d}:{seen.minute:02d}"
        if clock.from_ < clock.to:
            return clock.from_ <= now < clock.to
        return now >= clock.from_ or now < clock.to  # wraps past midnight

    def has_quorum(event: Event) -> bool:
        assert quorum is not None
        present = event.attributes.get(quorum.attribute) or ()
        return len(set(present) & set(quorum.members)) >= quorum.at_least if isinstance(present, tuple) else False

    # only the parts the block has, in this order (a county's audit asks a million times)
    checks = [check for check, used in ((holds, where), (in_clock, clock), (has_quorum, quorum), (in_calendar, inside is not None)) if used]
    if not checks:
        return lambda event: event.kind in kinds
    if len(checks) == 1:
        only = checks[0]
        return lambda event: event.kind in kinds and only(event)

    def matches(event: Event) -> bool:
        return event.kind in kinds and all(check(event) for check in checks)

    return matches

