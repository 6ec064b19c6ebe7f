"""Hypothesis properties of the reference evaluator on random histories."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from complianceengine import audit
from complianceengine.timeframes import local as to_local

from conftest import base_registry, base_ruleset, event

UTC = dt.timezone.utc
FIRST, LAST = dt.date(2026, 8, 1), dt.date(2026, 10, 31)
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
START = dt.datetime(2026, 7, 31, 16, 0, tzinfo=UTC)  # 1 August 00:00 in Shanghai
SECONDS = int((dt.datetime(2026, 10, 31, 16, 0, tzinfo=UTC) - START).total_seconds())

RULES = [
    {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1},
    {"id": "weekly", "kind": "frequency", "applies_to": {"roles": ["guard", "chief"]}, "match": {"kind": "patrol"}, "period": "week", "at_least": 2},
    {"id": "monthly", "kind": "frequency", "applies_to": {"unit_kind": "dock"}, "match": {"kind": "patrol", "where": {"mode": "field"}},
     "period": "month", "at_least": 3},
    {"id": "ack", "kind": "response", "trigger": {"kind": "report"}, "correlate_on": ["case"],
     "steps": [{"id": "acked", "match": {"kind": "ack"}, "within": "PT24H"}]},
]
RULESET = base_ruleset(*RULES)
REGISTRY = base_registry(
    [
        {"person": "a", "role": "guard", "unit": "d1", "start": "2020-01-01"},
        {"person": "b", "role": "guard", "unit": "d2", "start": "2020-01-01"},
        {"person": "c", "role": "chief", "unit": "t", "start": "2020-01-01"},
    ]
)


@st.composite
def histories(draw, max_size=40):
    n = draw(st.integers(0, max_size))
    out = []
    for i in range(n):
        when = START + dt.timedelta(seconds=draw(st.integers(0, SECONDS - 1)))
        kind = draw(st.sampled_from(["patrol", "patrol", "patrol", "report", "ack"]))
        if kind == "patrol":
            out.append(event(f"e{i}", "patrol", when, actor=draw(st.sampled_from("abc")), unit=draw(st.sampled_from(["d1", "d2"])),
                             attributes={"mode": draw(st.sampled_from(["field", "online"]))}))
        else:
            out.append(event(f"e{i}", kind, when, unit="d1", attributes={"case": draw(st.sampled_from(["A", "B", "C"]))}))
    return out


def judge(events, first=FIRST, last=LAST, as_of=AS_OF):
    return audit(RULESET, REGISTRY, events, first_day=first, last_day=last, as_of=as_of)


def verdicts(report):
    return {(f.obligation, f.subject.id, f.subject.role, f.period.start, f.step): f.status for f in report.findings}


@settings(max_examples=60, deadline=None)
@given(histories(), st.data())
def test_adding_a_matching_event_never_turns_met_into_missed(events, data):
    before = verdicts(judge(events))
    when = START + dt.timedelta(seconds=data.draw(st.integers(0, SECONDS - 1)))
    extra = data.draw(
        st.sampled_from(
            [
                event("new", "patrol", when, actor="a", unit="d1", attributes={"mode": "field"}),
                event("new", "ack", when, attributes={"case": "A"}),
            ]
        )
    )
    after = verdicts(judge([*events, extra]))
    for key, status in before.items():
        if status == "met":
            assert after[key] == "met", key


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([AS_OF, dt.datetime(2026, 9, 15, 12, tzinfo=UTC), dt.datetime(2026, 7, 1, tzinfo=UTC)]))
def test_without_events_no_frequency_period_is_met(as_of):
    report = judge([], as_of=as_of)
    frequency = [f for f in report.findings if f.obligation_kind == "frequency"]
    assert frequency, "the ruleset has frequency duties, so there must be findings"
    assert {f.status for f in frequency} <= {"missed", "open", "not_applicable"}
    assert all(f.status in ("open", "not_applicable") for f in frequency if f.period.start >= as_of)


@settings(max_examples=40, deadline=None)
@given(histories(), st.integers(-20, 20))
def test_shifting_everything_by_whole_weeks_keeps_weekly_verdicts(events, weeks):
    shift = dt.timedelta(weeks=weeks)
    first, last = dt.date(2026, 8, 3), dt.date(2026, 10, 25)  # whole Monday-to-Sunday weeks
    as_of = dt.datetime(2026, 10, 10, 12, tzinfo=UTC)

    def weekly(report):
        return [(f.subject.id, f.subject.role, f.status, f.evidence) for f in report.findings if f.obligation == "weekly"]

    moved = [e.model_copy(update={"time": e.time + shift}) for e in events]
    original = weekly(judge(events, first, last, as_of))
    shifted = weekly(judge(moved, first + shift, last + shift, as_of + shift))
    assert original == shifted


@settings(max_examples=60, deadline=None)
@given(histories())
def test_evidence_lies_in_its_local_period_and_roll_up_adds_up(events):
    report = judge(events)
    by_id = {e.id: e for e in events}
    for finding in report.findings:
        if finding.obligation_kind != "frequency":
            continue
        for event_id in finding.evidence:
            moment = to_local(by_id[event_id].time, "Asia/Shanghai")
            assert finding.period.start <= moment < finding.period.end
            if finding.obligation == "monthly":
                assert moment.format("YYYY-MM") == finding.period.label
    root = next(u for u in report.units if u.parent is None)
    with_unit = [f for f in report.findings if f.unit is not None]
    assert root.counts.met + root.counts.missed + root.counts.open + root.counts.late + root.counts.not_applicable == len(with_unit)
    children = [u for u in report.units if u.parent == root.unit]
    assert sum(c.counts.missed for c in children) + sum(1 for f in with_unit if f.unit == root.unit and f.status == "missed") == root.counts.missed


@settings(max_examples=40, deadline=None)
@given(histories())
def test_every_unit_rolls_up_its_own_findings_plus_its_children(events):
    report = judge(events)
    statuses = ("met", "excused", "not_applicable", "open", "late", "missed")
    for unit in report.units:
        own = [f for f in report.findings if f.unit == unit.unit]
        children = [u for u in report.units if u.parent == unit.unit]
        for status in statuses:
            expected = sum(1 for f in own if f.status == status) + sum(getattr(c.counts, status) for c in children)
            assert getattr(unit.counts, status) == expected, (unit.unit, status)
