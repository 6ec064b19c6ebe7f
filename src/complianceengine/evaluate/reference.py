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

from collections.abc import Iterable, Sequence
from typing import Any

from ..events import EventIndex, Matched, Timeline
from ..exemptions import Exemptions, exemption_spans
from ..kinds import counts_for
from ..model import CadenceObligation, Event, EventMatch, FrequencyObligation
from ..plan import ObligationPlan, Plan, Target

__all__ = ["ReferenceSource"]


class ReferenceSource:
    """The events of one audit, as the reference backend sees them."""

    def __init__(self, plan: Plan, events: Iterable[Event]):
        #: events at or after the plan's as-of time are not known yet and are ignored
        self.known: Sequence[Event] = sorted((e for e in events if e.time < plan.as_of), key=lambda e: (e.time, e.id))
        self.exemptions: Exemptions = exemption_spans(plan, self.known)
        self._index = EventIndex(self.known)
        self._matched: dict[str, Matched] = {}

    def _matching(self, plan: Plan, match: EventMatch) -> Matched:
        key = match.model_dump_json()
        if key not in self._matched:
            matches = plan.matcher(match)
            self._matched[key] = Matched.of(e for e in self._index.of_kinds(match.kinds) if matches(e))
        return self._matched[key]

    def matching(self, plan: Plan, match: EventMatch) -> list[Event]:
        return list(self._matching(plan, match).events)

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
        return Timeline([e for e in pool if counts_for(plan, counted, target, e)])

    def correlated(self, plan: Plan, match: EventMatch, correlate_on: Sequence[str]) -> dict[tuple[Any, ...], Timeline]:
        groups: dict[tuple[Any, ...], list[Event]] = {}
        for event in self.matching(plan, match):
            groups.setdefault(tuple(event.field(name) for name in correlate_on), []).append(event)
        return {key: Timeline(group) for key, group in groups.items()}
