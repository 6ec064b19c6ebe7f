"""Events indexed once per audit, so that each target reads only the events that can concern it.

The reference backend asks for "the matching events credited to this person" or "the matching
events at these units", each a list sorted by time, and slices it by bisection (:class:`Timeline`).
What counts is still decided by the predicates of :mod:`complianceengine.match`; the index only
leaves out events those predicates would refuse anyway.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Sequence

from .eventtable import EventTable, View
from .model import Event
from .timeframes import Interval


class EventIndex:
    """The events of one audit in time order (then by id), with their timestamps, by kind.

    Lookups answer with positions in ``known``, which sort as the events do. ``known`` may be a
    :class:`~complianceengine.eventtable.View` of an event table, given with the events'
    ``times``, ``ids`` and the positions of each kind (``by_kind``): then no event is built until
    one is asked for."""

    def __init__(self, known: Sequence[Event], times: Sequence[float] | None = None, *, ids: Sequence[str] | None = None,
                 by_kind: dict[str, list[int]] | None = None):
        self.known: Sequence[Event] = known if isinstance(known, View) else list(known)
        self.times = list(times) if times is not None else [event.time.timestamp() for event in self.known]
        self.ids = ids
        self.by_kind: dict[str, list[int]] = by_kind if by_kind is not None else {}
        if by_kind is None:
            for position, event in enumerate(self.known):
                self.by_kind.setdefault(event.kind, []).append(position)

    def of_kinds(self, kinds: Iterable[str]) -> list[int]:
        """The positions of the events of any of ``kinds``, in order."""
        return sorted(position for kind in dict.fromkeys(kinds) for position in self.by_kind.get(kind, ()))

    def events_at(self, positions: Sequence[int]) -> list[Event]:
        """The events at ``positions`` (built together when they come from a table)."""
        known = self.known
        if isinstance(known, View):
            return list(View(known.table, [known.positions[i] for i in positions]))
        return [known[i] for i in positions]

    def timeline(self, positions: Iterable[int]) -> Timeline:
        """The events at ``positions`` (in order) as a timeline."""
        chosen = list(positions)
        known, times = self.known, self.times
        if isinstance(known, View):
            ids = self.ids
            return Timeline(View(known.table, [known.positions[i] for i in chosen]), [times[i] for i in chosen],
                            None if ids is None else [ids[i] for i in chosen])
        return Timeline([known[i] for i in chosen], [times[i] for i in chosen])


def build_together(timelines: Iterable[Timeline]) -> None:
    """Build the events of these timelines that are rows of a table, each table's in one go: a
    kind that reads the events of many targets one by one would have the table take a few rows
    at a time (a pyarrow ``take`` each, which costs more than the rows)."""
    wanted: dict[int, tuple[EventTable, list[int]]] = {}
    for timeline in timelines:
        view = timeline._events
        if isinstance(view, View):
            wanted.setdefault(id(view.table), (view.table, []))[1].extend(view.positions)
    for table, positions in wanted.values():
        table.at(positions)


class Matched:
    """The positions of the events one ``match`` block accepts, looked up three ways (each
    worked out when first asked: a block of person duties never needs the unit lookup)."""

    def __init__(self, index: EventIndex, positions: Iterable[int]):
        self.index = index
        self.positions = tuple(positions)

    @classmethod
    def of(cls, index: EventIndex, positions: Iterable[int]) -> Matched:
        return cls(index, positions)

    @functools.cached_property
    def by_person(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        known = self.index.known
        for position in self.positions:
            for person in known[position].credited:
                out.setdefault(person, []).append(position)
        return out

    @functools.cached_property
    def by_unit(self) -> dict[str | None, list[int]]:
        out: dict[str | None, list[int]] = {}
        known = self.index.known
        for position in self.positions:
            out.setdefault(known[position].unit, []).append(position)
        return out

    @functools.cached_property
    def by_subject(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        known = self.index.known
        for position in self.positions:
            subject = known[position].subject
            if subject is not None:
                out.setdefault(subject, []).append(position)
        return out

    def at_units(self, units: Iterable[str]) -> list[int]:
        """The positions of the events at any of ``units``, in order."""
        return sorted(position for unit in units for position in self.by_unit.get(unit, ()))


class Timeline:
    """Events in time order, sliced by time with bisection.

    Bisection runs on POSIX timestamps: comparing aware datetimes of different zones calls their
    ``utcoffset`` on every comparison. ``datetime.timestamp`` divides the instant's exact count of
    microseconds since the epoch (a whole number a float holds exactly) by a million, so equal
    instants give equal timestamps and the order of distinct instants is kept."""

    def __init__(self, events: Sequence[Event], times: Sequence[float] | None = None, ids: Sequence[str] | None = None):
        # a list, or a view of an event table: its events are built all at once when first
        # needed (:attr:`events`); its ids, times and slices need none
        self._events: Sequence[Event] = events if isinstance(events, View) else list(events)
        self.times = list(times) if times is not None else [event.time.timestamp() for event in self._events]
        if ids is not None:
            self.__dict__["ids"] = list(ids)  # what the cached property gives, known already

    @property
    def events(self) -> Sequence[Event]:
        """The events, in order (a timeline of a table's view builds them here, once)."""
        if isinstance(self._events, View):
            self._events = list(self._events)
        return self._events

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self._events)

    def _spans(self, parts: Iterable[Interval]) -> Iterator[tuple[int, int]]:
        for part in parts:
            yield bisect.bisect_left(self.times, part.start.timestamp()), bisect.bisect_left(self.times, part.end.timestamp())

    def between(self, bounds: Iterable[tuple[float, float]]) -> list[Event]:
        """:meth:`within` for parts given as ``(start, end)`` timestamps (worked out once)."""
        times, events = self.times, self.events
        return [event for start, end in bounds for event in events[bisect.bisect_left(times, start):bisect.bisect_left(times, end)]]

    @functools.cached_property
    def ids(self) -> list[str]:
        """The events' ids, in order."""
        return [event.id for event in self._events]

    def ids_between(self, bounds: Sequence[tuple[float, float]]) -> list[str]:
        """The ids of :meth:`between` (slices of :attr:`ids`, no event looked at)."""
        times, ids = self.times, self.ids
        if len(bounds) == 1:
            start, end = bounds[0]
            return ids[bisect.bisect_left(times, start):bisect.bisect_left(times, end)]
        return [name for start, end in bounds for name in ids[bisect.bisect_left(times, start):bisect.bisect_left(times, end)]]

    def within(self, parts: Iterable[Interval]) -> list[Event]:
        """The events inside one of ``parts`` (half-open, in order, not overlapping)."""
        return [event for lo, hi in self._spans(parts) for event in self.events[lo:hi]]

    def slice(self, parts: Iterable[Interval]) -> Timeline:
        """:meth:`within` as a timeline."""
        spans = list(self._spans(parts))
        times = [t for lo, hi in spans for t in self.times[lo:hi]]
        if isinstance(self._events, View):
            ids = self.__dict__.get("ids")
            return Timeline(self._events.picked(spans), times, None if ids is None else [i for lo, hi in spans for i in ids[lo:hi]])
        return Timeline([e for lo, hi in spans for e in self._events[lo:hi]], times)

    def since(self, instant: dt.datetime) -> list[Event]:
        """The events at or after ``instant``."""
        return list(self.events[bisect.bisect_left(self.times, instant.timestamp()) :])
