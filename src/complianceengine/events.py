"""Events indexed once per audit, so that each target reads only the events that can concern it.

The reference backend asks for "the matching events credited to this person" or "the matching
events at these units", each a list sorted by time, and slices it by bisection (:class:`Timeline`).
What counts is still decided by the predicates of :mod:`complianceengine.match`; the index only
leaves out events those predicates would refuse anyway.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from .model import Event
from .timeframes import Interval


@dataclass(frozen=True)
class Matched:
    """The known events one ``match`` block accepts, in time order, looked up three ways."""

    events: tuple[Event, ...]
    by_person: dict[str, list[Event]] = field(default_factory=dict)
    by_unit: dict[str | None, list[Event]] = field(default_factory=dict)
    by_subject: dict[str, list[Event]] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Iterable[Event]) -> Matched:
        matched = tuple(events)
        out = cls(matched)
        for event in matched:
            for person in event.credited:
                out.by_person.setdefault(person, []).append(event)
            out.by_unit.setdefault(event.unit, []).append(event)
            if event.subject is not None:
                out.by_subject.setdefault(event.subject, []).append(event)
        return out

    def at_units(self, units: Iterable[str]) -> list[Event]:
        """The events at any of ``units``, in time order."""
        found = [event for unit in units for event in self.by_unit.get(unit, ())]
        return sorted(found, key=_order)


class EventIndex:
    """Events in time order, looked up by kind."""

    def __init__(self, known: Sequence[Event]):
        self.known = list(known)
        self.by_kind: dict[str, list[Event]] = {}
        for event in self.known:
            self.by_kind.setdefault(event.kind, []).append(event)

    def of_kinds(self, kinds: Iterable[str]) -> list[Event]:
        """The events of any of ``kinds``, in time order."""
        found = [event for kind in dict.fromkeys(kinds) for event in self.by_kind.get(kind, ())]
        return sorted(found, key=_order)


def _order(event: Event) -> tuple[dt.datetime, str]:
    return event.time, event.id


class Timeline:
    """Events in time order, sliced by time with bisection."""

    def __init__(self, events: Sequence[Event]):
        self.events = list(events)
        self.times = [event.time for event in self.events]

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def within(self, parts: Iterable[Interval]) -> list[Event]:
        """The events inside one of ``parts`` (half-open, in order, not overlapping)."""
        out: list[Event] = []
        for part in parts:
            out += self.events[bisect.bisect_left(self.times, part.start) : bisect.bisect_left(self.times, part.end)]
        return out

    def since(self, instant: dt.datetime) -> list[Event]:
        """The events at or after ``instant``."""
        return self.events[bisect.bisect_left(self.times, instant) :]
