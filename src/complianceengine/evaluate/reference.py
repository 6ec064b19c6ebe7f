"""The reference backend: small, plain and obviously correct.

It answers the kinds' questions about events (:class:`~complianceengine.kinds.EventSource`) with
plain loops over events indexed once (:mod:`complianceengine.events`): each target reads only the
matching events credited to it, at its units or about its subject, and a period slices them by
bisection, so the cost grows with ``events x log events + frames`` rather than with their
product. What counts is decided by :mod:`complianceengine.match` alone; the index only leaves out
events those predicates would refuse anyway (a test replaces every lookup by "everything" and
gets the same findings). Faster backends must give exactly the same answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import pendulum

from ..events import EventIndex, Matched, Timeline
from ..exemptions import Exemptions, exemption_spans
from ..kinds import Ask, answers_in, counter, shifted_instants
from ..kinds.cadence import CadenceObligation, plain_deadlines
from ..kinds.frequency import FrequencyObligation
from ..model import Event, EventMatch
from ..plan import ObligationPlan, Plan, Target
from ..trace import Tracer

__all__ = ["ReferenceSource"]


class ReferenceSource:
    """The events of one audit, as the reference backend sees them."""

    def __init__(self, plan: Plan, events: Iterable[Event], tracer: Tracer | None = None):
        #: the kinds report their decisions to it when one is given (``explain``)
        self.tracer = tracer
        self.warnings: list[str] = []
        #: events at or after the plan's as-of time are not known yet and are ignored
        # ordered by instant (timestamp), as timelines bisect: two datetimes sharing a zone object
        # compare by wall clock, which ignores the fold of a repeated DST hour
        as_of = plan.as_of.timestamp()
        # (instant, id, position, event): sorted as tuples, without a key function; the position
        # keeps two events with the same instant and id (events built in code) apart
        timed = sorted((stamp, e.id, i, e) for i, e in enumerate(events) if (stamp := e.time.timestamp()) < as_of)
        self.known: Sequence[Event] = [entry[3] for entry in timed]
        self.exemptions: Exemptions = exemption_spans(plan, self.known, registry=False)  # the plan has the registry's
        self._index = EventIndex(self.known, [entry[0] for entry in timed])
        self._matched: dict[int, tuple[EventMatch, Matched]] = {}
        self._alike: dict[str, Matched] = {}  # by the block's JSON: obligations with equal blocks share one

    def _matching(self, plan: Plan, match: EventMatch) -> Matched:
        # asked once per target: keyed by the match block itself (the plan keeps it alive), and
        # its JSON worked out once per block
        found = self._matched.get(id(match))
        if found is None or found[0] is not match:
            key = match.model_dump_json()
            shared = self._alike.get(key)
            if shared is None:
                shared = self._alike[key] = Matched.of(self._index, self._accepted(plan, match))
            found = self._matched[id(match)] = match, shared
        return found[1]

    def _accepted(self, plan: Plan, match: EventMatch) -> Iterable[int]:
        """The positions of the events ``match`` accepts, in order (what another backend answers
        its own way)."""
        matches, known = plan.matcher(match), self._index.known
        return (i for i in self._index.of_kinds(match.kinds) if matches(known[i]))

    def matching(self, plan: Plan, match: EventMatch) -> list[Event]:
        return self._index.events_at(self._matching(plan, match).positions)

    def counting(self, plan: Plan, obligation: ObligationPlan, target: Target) -> Timeline:
        counted = obligation.obligation
        assert isinstance(counted, (FrequencyObligation, CadenceObligation))
        matched = self._matching(plan, counted.match)
        subject = target.subject
        if subject.kind == "person":
            pool = matched.by_person.get(subject.id, [])
        elif subject.kind == "unit":
            pool = matched.at_units(target.units)
        else:
            pool = matched.by_subject.get(subject.id, [])
        known, keep = self._index.known, counter(plan, counted, target)
        return self._index.timeline([i for i in pool if keep(known[i])])

    def correlated(self, plan: Plan, match: EventMatch, correlate_on: Sequence[str]) -> dict[tuple[Any, ...], Timeline]:
        groups: dict[tuple[Any, ...], list[int]] = {}
        positions = self._matching(plan, match).positions
        for position, event in zip(positions, self._index.events_at(positions), strict=True):
            groups.setdefault(tuple(event.field(name) for name in correlate_on), []).append(position)
        return {key: self._index.timeline(group) for key, group in groups.items()}

    def first_answers(self, plan: Plan, match: EventMatch, correlate_on: Sequence[str], asks: Sequence[Ask]) -> list[Event | None]:
        return answers_in(self.correlated(plan, match, correlate_on), asks)

    def deadlines(self, plan: Plan, obligation: ObligationPlan, instants: Sequence[float]) -> list[tuple[dt.datetime, str | None]]:
        return plain_deadlines(plan, obligation, instants)

    def shifted(self, plan: Plan, duration: pendulum.Duration, instants: Sequence[float]) -> list[dt.datetime]:
        return shifted_instants(plan, duration, instants)
