"""The event index only narrows what the evaluator's predicates look at; it never decides.

Each lookup of the index (events credited to a person, at some units, about a subject; the
exemptions naming someone) is replaced by "everything" and the findings must stay the same, on
random histories with people, units, subjects, delegates, participants, events without a unit,
leave and closures.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complianceengine import audit
from complianceengine.exemptions import Exemptions
from complianceengine import events as index

from conftest import base_registry, base_ruleset, event

UTC = dt.timezone.utc
START = dt.datetime(2026, 7, 31, 16, 0, tzinfo=UTC)  # 1 August 00:00 in Shanghai
SECONDS = 75 * 86400
FIRST, LAST = dt.date(2026, 8, 1), dt.date(2026, 10, 10)
AS_OF = dt.datetime(2026, 10, 5, 12, tzinfo=UTC)

RULESET = base_ruleset(
    {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day",
     "at_least": 1, "distinct_within": "PT2H"},
    {"id": "weekly", "kind": "frequency", "applies_to": {"roles": ["guard", "chief"]}, "match": {"kind": "patrol"}, "period": "week",
     "at_least": 2},
    {"id": "dock-monthly", "kind": "frequency", "applies_to": {"unit_kind": "dock"}, "match": {"kind": "patrol", "where": {"mode": "field"}},
     "period": "month", "at_least": 3},
    {"id": "town-by-chief", "kind": "frequency", "applies_to": {"unit_kind": "town"}, "match": {"kind": "patrol"},
     "by": {"roles": ["chief"]}, "period": "week", "at_least": 1},
    {"id": "visits", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P14D"},
    {"id": "ack", "kind": "response", "trigger": {"kind": "report"}, "correlate_on": ["case"],
     "steps": [{"id": "acked", "match": {"kind": "ack"}, "within": "PT24H"},
               {"id": "done", "match": {"kind": "done"}, "within": "P3D", "counted_from": "previous"}]},
)
REGISTRY = base_registry(
    [
        {"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01"},
        {"person": "b", "role": "guard", "unit": "d2", "start": "2026-01-01", "end": "2026-09-10"},
        {"person": "a", "role": "guard", "unit": "d2", "start": "2026-09-11"},
        {"person": "c", "role": "chief", "unit": "t", "start": "2026-01-01"},
    ],
    subjects=[
        {"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01"},
        {"id": "r2", "kind": "resident", "unit": "d2", "start": "2026-08-20"},
    ],
    exemptions=[{"id": "x1", "person": "b", "start": "2026-08-10", "end": "2026-08-20", "reason": "leave"},
                {"id": "x2", "unit": "d1", "start": "2026-09-01", "end": "2026-09-03", "reason": "typhoon"}],
)


@st.composite
def histories(draw):
    out = []
    for i in range(draw(st.integers(0, 60))):
        when = START + dt.timedelta(seconds=draw(st.integers(0, SECONDS)))
        kind = draw(st.sampled_from(["patrol", "patrol", "patrol", "visit", "report", "ack", "done", "leave", "closure"]))
        person = draw(st.sampled_from("abc"))
        unit = draw(st.sampled_from(["d1", "d2", "t", None]))
        if kind == "patrol":
            out.append(event(f"e{i}", "patrol", when, actor=person, unit=unit,
                             participants=tuple(draw(st.lists(st.sampled_from("abc"), max_size=2, unique=True))),
                             on_behalf_of=draw(st.sampled_from([None, "a", "c"])),
                             attributes={"mode": draw(st.sampled_from(["field", "online"]))}))
        elif kind == "visit":
            out.append(event(f"e{i}", "visit", when, actor=person, subject=draw(st.sampled_from(["r1", "r2"]))))
        elif kind in ("leave", "closure"):
            until = (when + dt.timedelta(days=draw(st.integers(1, 10)))).isoformat()
            fields = {"actor": person} if kind == "leave" else {"unit": draw(st.sampled_from(["d1", "d2", "t"]))}
            out.append(event(f"e{i}", kind, when, attributes={"until": until}, **fields))
        else:
            out.append(event(f"e{i}", kind, when, unit="d1", attributes={"case": draw(st.sampled_from("AB"))}))
    return out


def findings(events):
    report = audit(RULESET, REGISTRY, events, first_day=FIRST, last_day=LAST, as_of=AS_OF)
    return [f.model_dump() for f in report.findings]


class _Everything(dict):
    """A lookup table that answers every key with all the values."""

    def __init__(self, values):
        super().__init__()
        self.values_ = list(values)

    def get(self, key, default=None):
        return self.values_


def unindexed(events):
    """The findings when every index lookup answers with every matching event (or every
    exemption)."""

    def everything(cls, index, positions):
        matched = cls(index, positions)
        for lookup in ("by_person", "by_unit", "by_subject"):  # answered before asked: never worked out
            matched.__dict__[lookup] = _Everything(matched.positions)
        return matched

    def all_exemptions(cls, spans):
        spans = tuple(spans)
        return cls(spans, _Everything(enumerate(spans)), units=True)  # every holder asked, units included

    def at_units(self, units):
        return list(self.positions)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index.Matched, "of", classmethod(everything))
        patch.setattr(index.Matched, "at_units", at_units)
        patch.setattr(Exemptions, "of", classmethod(all_exemptions))
        return findings(events)


@settings(max_examples=60, deadline=None)
@given(events=histories())
def test_the_index_changes_no_finding(events):
    assert findings(events) == unindexed(events)


def test_the_index_leaves_out_what_the_predicates_would_refuse():
    # a patrol of b at d2 is not looked at for a; without the index it is, and refused
    patrols = [event("p1", "patrol", START + dt.timedelta(hours=10), actor="b", unit="d2", attributes={"mode": "field"})]
    assert index.Matched.of(index.EventIndex(patrols), [0]).by_person.get("a") is None
    daily_of_a = [f for f in findings(patrols) if f["obligation"] == "daily" and f["subject"]["id"] == "a"]
    assert daily_of_a and all(f["evidence"] == () for f in daily_of_a)
    assert findings(patrols) == unindexed(patrols)


def test_events_in_a_repeated_dst_hour_are_ordered_by_instant():
    # 25 October 2026 in Berlin: 02:00-03:00 happens twice. Two datetimes sharing one zone object
    # compare by wall clock (ignoring fold), so the events must be ordered by instant to be bisected.
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    ack = {"id": "ack", "kind": "response", "trigger": {"kind": "report"}, "correlate_on": ["case"],
           "steps": [{"id": "acked", "match": {"kind": "ack"}, "within": "PT24H"}]}
    ruleset = base_ruleset(ack).model_copy(update={"timezone": "Europe/Berlin"})
    at = lambda minute, fold: dt.datetime(2026, 10, 25, 2, minute, tzinfo=berlin, fold=fold)  # noqa: E731
    events = [
        event("t", "report", at(20, 0), unit="d1", attributes={"case": "A"}),  # 00:20 UTC
        event("a1", "ack", at(10, 1), unit="d1", attributes={"case": "A"}),  # 01:10 UTC
        event("a2", "ack", at(30, 0), unit="d1", attributes={"case": "A"}),  # 00:30 UTC: the first answer
    ]
    report = audit(ruleset, base_registry(), events, first_day=dt.date(2026, 10, 24), last_day=dt.date(2026, 10, 26),
                   as_of=dt.datetime(2026, 10, 27, tzinfo=UTC))
    [finding] = report.findings
    assert finding.evidence == ("t", "a2")
