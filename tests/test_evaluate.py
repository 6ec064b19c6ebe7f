"""The reference evaluator, one obligation kind at a time, on hand-made histories."""

from __future__ import annotations

import datetime as dt

import pytest

from complianceengine import UsageError, audit
from complianceengine.match import condition_holds
from complianceengine.model import Comparison

from conftest import base_registry, base_ruleset, event, local

AS_OF = local(2026, 12, 1, 0)
DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1}


def run(ruleset, registry, events, first, last, as_of=AS_OF):
    return audit(ruleset, registry, events, first_day=first, last_day=last, as_of=as_of)


def statuses(report, obligation=None, subject=None):
    return [
        (f.period.label, f.status)
        for f in report.findings
        if (obligation is None or f.obligation == obligation) and (subject is None or f.subject.id == subject)
    ]


# ------------------------------------------------------------------ frequency


def test_daily_patrol_met_and_missed_with_evidence():
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d1"), event("e2", "patrol", local(2026, 8, 3), actor="a", unit="d1")]
    report = run(base_ruleset(DAILY), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 8, 3))
    assert statuses(report, subject="a") == [("2026-08-01", "met"), ("2026-08-02", "missed"), ("2026-08-03", "met")]
    first = next(f for f in report.findings if f.subject.id == "a")
    assert first.evidence == ("e1",)
    assert first.cited == "Doc, art. 1"
    assert first.required_count == 1 and first.observed_count == 1
    # b never patrolled
    assert statuses(report, subject="b") == [(d, "missed") for d in ("2026-08-01", "2026-08-02", "2026-08-03")]


def test_patrol_at_another_unit_does_not_count_for_the_guard():
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d2")]
    report = run(base_ruleset(DAILY), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 8, 1))
    assert statuses(report, subject="a") == [("2026-08-01", "missed")]


def test_joint_patrol_counts_for_every_participant():
    registry = base_registry(
        [
            {"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01"},
            {"person": "b", "role": "guard", "unit": "d1", "start": "2026-01-01"},
        ]
    )
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", participants=("b",), unit="d1")]
    report = run(base_ruleset(DAILY), registry, events, dt.date(2026, 8, 1), dt.date(2026, 8, 1))
    assert {f.subject.id: f.status for f in report.findings} == {"a": "met", "b": "met"}


def test_event_at_2330_local_on_month_end_counts_for_that_month():
    monthly = {**DAILY, "id": "monthly", "period": "month"}
    # 23:30 in Shanghai on 31 August is 15:30 UTC on the same day
    late_evening = dt.datetime(2026, 8, 31, 15, 30, tzinfo=dt.timezone.utc)
    report = run(base_ruleset(monthly), base_registry(), [event("e1", "patrol", late_evening, actor="a", unit="d1")],
                 dt.date(2026, 8, 1), dt.date(2026, 9, 30))
    assert statuses(report, subject="a") == [("2026-08", "met"), ("2026-09", "missed")]
    # 00:30 on 1 September local is still 31 August in UTC, but it is September here
    after_midnight = dt.datetime(2026, 8, 31, 16, 30, tzinfo=dt.timezone.utc)
    report = run(base_ruleset(monthly), base_registry(), [event("e1", "patrol", after_midnight, actor="a", unit="d1")],
                 dt.date(2026, 8, 1), dt.date(2026, 9, 30))
    assert statuses(report, subject="a") == [("2026-08", "missed"), ("2026-09", "met")]


def test_week_start_from_the_ruleset():
    weekly = {**DAILY, "id": "weekly", "period": "week"}
    # Sunday 2 August 2026
    sunday = [event("e1", "patrol", local(2026, 8, 2), actor="a", unit="d1")]
    monday_weeks = run(base_ruleset(weekly), base_registry(), sunday, dt.date(2026, 7, 27), dt.date(2026, 8, 9))
    assert statuses(monday_weeks, subject="a") == [("2026-W31", "met"), ("2026-W32", "missed")]
    sunday_weeks = run(base_ruleset(weekly, week_start="sunday"), base_registry(), sunday, dt.date(2026, 7, 26), dt.date(2026, 8, 8))
    assert statuses(sunday_weeks, subject="a") == [("week of 2026-07-26", "missed"), ("week of 2026-08-02", "met")]


def test_quarter_and_year_periods():
    quarterly = {**DAILY, "id": "q", "period": "quarter", "at_least": 2}
    events = [event(f"e{i}", "patrol", local(2026, m, 5), actor="a", unit="d1") for i, m in enumerate((1, 3, 4))]
    report = run(base_ruleset(quarterly), base_registry(), events, dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    assert statuses(report, subject="a") == [("2026-Q1", "met"), ("2026-Q2", "missed")]
    yearly = {**DAILY, "id": "y", "period": "year", "at_least": 3}
    report = run(base_ruleset(yearly), base_registry(), events, dt.date(2026, 1, 1), dt.date(2026, 12, 31), as_of=local(2027, 1, 1, 0))
    assert statuses(report, subject="a") == [("2026", "met")]


def test_fixed_periods_are_laid_from_their_anchor_whatever_the_range():
    fortnightly = {**DAILY, "id": "f", "period": {"every": "P14D", "anchor": "2026-08-01T00:00:00"}}
    events = [event("e1", "patrol", local(2026, 8, 14), actor="a", unit="d1")]
    report = run(base_ruleset(fortnightly), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 8, 28))
    found = [(f.period.start.date(), f.status) for f in report.findings if f.subject.id == "a"]
    assert found == [(dt.date(2026, 8, 1), "met"), (dt.date(2026, 8, 15), "missed")]
    # without an anchor, periods are laid from Monday 1 January 2001: the same for every range
    # (2026-08-03 is 9,345 days = 667 fortnights and 7 days after it)
    default = {**DAILY, "id": "f", "period": {"every": "P14D"}}
    starts = [{f.period.start.date() for f in run(base_ruleset(default), base_registry(), [], first, dt.date(2026, 9, 30)).findings}
              for first in (dt.date(2026, 8, 1), dt.date(2026, 8, 20))]
    assert min(starts[0]) == dt.date(2026, 7, 27) and starts[1] <= starts[0]
    assert (dt.date(2026, 7, 27) - dt.date(2001, 1, 1)).days % 14 == 0


def test_at_most_is_enforced():
    capped = {**DAILY, "id": "cap", "at_least": 1, "at_most": 2}
    events = [event(f"e{i}", "patrol", local(2026, 8, 1, 8 + i), actor="a", unit="d1") for i in range(3)]
    report = run(base_ruleset(capped), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 8, 1))
    (finding,) = [f for f in report.findings if f.subject.id == "a"]
    assert finding.status == "missed" and finding.observed_count == 3


def test_where_conditions_filter_events():
    field_only = {**DAILY, "id": "field", "match": {"kind": "patrol", "where": {"mode": "field"}}}
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d1", attributes={"mode": "online"})]
    report = run(base_ruleset(field_only), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 8, 1))
    assert statuses(report, subject="a") == [("2026-08-01", "missed")]


def test_period_not_over_is_open_and_future_events_ignored():
    events = [event("e1", "patrol", local(2026, 8, 2, 9), actor="a", unit="d1"), event("e2", "patrol", local(2026, 8, 2, 15), actor="a", unit="d1")]
    report = run(base_ruleset(DAILY), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 8, 3), as_of=local(2026, 8, 2, 12))
    assert statuses(report, subject="a") == [("2026-08-01", "missed"), ("2026-08-02", "met"), ("2026-08-03", "open")]
    assert next(f for f in report.findings if f.period.label == "2026-08-02" and f.subject.id == "a").evidence == ("e1",)


def test_partial_periods_rule_for_an_assignment_ending_mid_month():
    registry = base_registry([{"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01", "end": "2026-09-10"}])
    monthly = {**DAILY, "id": "m", "period": "month", "at_least": 4}
    report = run(base_ruleset(monthly), registry, [], dt.date(2026, 8, 1), dt.date(2026, 9, 30))
    # 10 of 30 days of September: below half, not applicable under the default majority rule
    assert statuses(report) == [("2026-08", "missed"), ("2026-09", "not_applicable")]
    report = run(base_ruleset({**monthly, "partial_periods": "any"}), registry, [], dt.date(2026, 8, 1), dt.date(2026, 9, 30))
    september = report.findings[1]
    assert september.status == "missed" and september.required_count == 2  # ceil(4 x 10/30)
    report = run(base_ruleset({**monthly, "partial_periods": "whole"}), base_registry(
        [{"person": "a", "role": "guard", "unit": "d1", "start": "2026-08-02"}]), [], dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    assert statuses(report) == [("2026-08", "not_applicable")]


def test_per_unit_with_by_roles():
    per_dock = {"id": "dock", "kind": "frequency", "applies_to": {"unit_kind": "dock"}, "match": {"kind": "patrol"},
                "by": {"roles": ["chief"]}, "period": "day", "at_least": 1}
    events = [
        event("e1", "patrol", local(2026, 8, 1), actor="c", unit="d1"),  # the town chief: counts (ancestor unit)
        event("e2", "patrol", local(2026, 8, 1), actor="a", unit="d2"),  # a guard: not one of the roles
    ]
    report = run(base_ruleset(per_dock), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 8, 1))
    assert {f.subject.id: f.status for f in report.findings} == {"d1": "met", "d2": "missed"}


# ------------------------------------------------------------------ cadence

CADENCE = {"id": "visits", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P1M"}
RESIDENT = [{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-08-01"}]


def test_cadence_gaps_from_the_start_of_the_duty_between_events_and_to_the_end():
    events = [event("v1", "visit", local(2026, 8, 20), subject="r1"), event("v2", "visit", local(2026, 10, 1), subject="r1")]
    report = run(base_ruleset(CADENCE), base_registry(subjects=RESIDENT), events, dt.date(2026, 8, 1), dt.date(2026, 12, 31),
                 as_of=local(2027, 1, 1, 0))
    found = [(f.status, f.evidence, f.due.date()) for f in report.findings]
    assert found == [
        ("met", ("v1",), dt.date(2026, 9, 1)),  # first visit within a month of the start of supervision
        ("missed", ("v2",), dt.date(2026, 9, 20)),  # 20 Aug -> 1 Oct is more than a month
        ("missed", (), dt.date(2026, 11, 1)),  # nothing after 1 Oct
    ]
    assert report.findings[1].delay_seconds == 11 * 86400


def test_cadence_open_when_deadline_after_as_of_and_silent_when_after_range():
    events = [event("v1", "visit", local(2026, 8, 20), subject="r1")]
    registry = base_registry(subjects=RESIDENT)
    report = run(base_ruleset(CADENCE), registry, events, dt.date(2026, 8, 1), dt.date(2026, 9, 30), as_of=local(2026, 9, 10))
    assert [f.status for f in report.findings] == ["met", "open"]
    report = run(base_ruleset(CADENCE), registry, events, dt.date(2026, 8, 1), dt.date(2026, 9, 15), as_of=local(2026, 10, 1))
    assert [f.status for f in report.findings] == ["met"]


def test_cadence_starts_when_the_subject_joins():
    subjects = [{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-09-10"}]
    report = run(base_ruleset(CADENCE), base_registry(subjects=subjects), [], dt.date(2026, 8, 1), dt.date(2026, 10, 31),
                 as_of=local(2026, 11, 1, 0))
    (finding,) = report.findings
    assert finding.status == "missed" and finding.due == local(2026, 10, 10, 0)


# ------------------------------------------------------------------ response

RESPONSE = {
    "id": "resp", "kind": "response", "trigger": {"kind": "report"}, "correlate_on": ["case"],
    "steps": [
        {"id": "acked", "match": {"kind": "ack"}, "within": "PT24H"},
        {"id": "done", "match": {"kind": "done"}, "within": "P2D", "counted_from": "previous"},
    ],
}


def test_response_steps_met_late_missed_open():
    t0 = local(2026, 8, 1, 9)
    events = [
        event("r1", "report", t0, unit="d1", attributes={"case": "A"}),
        event("a1", "ack", t0 + dt.timedelta(hours=2), attributes={"case": "A"}),
        event("d1", "done", t0 + dt.timedelta(hours=60), attributes={"case": "A"}),  # 58 h after the ack: 10 h late
        event("r2", "report", t0, unit="d2", attributes={"case": "B"}),
        event("a2", "ack", t0 + dt.timedelta(hours=30), attributes={"case": "X"}),  # other case: does not answer B
    ]
    report = run(base_ruleset(RESPONSE), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    found = [(f.subject.id, f.step, f.status, f.delay_seconds) for f in report.findings]
    assert found == [
        ("case=A", "acked", "met", None),
        ("case=A", "done", "late", 10 * 3600),
        ("case=B", "acked", "missed", pytest.approx((AS_OF - (t0 + dt.timedelta(hours=24))).total_seconds())),
        ("case=B", "done", "not_applicable", None),
    ]
    assert report.findings[1].evidence == ("r1", "d1")
    # before the deadline, the same history is open
    report = run(base_ruleset(RESPONSE), base_registry(), events[:1], dt.date(2026, 8, 1), dt.date(2026, 8, 31), as_of=t0 + dt.timedelta(hours=1))
    assert [(f.step, f.status) for f in report.findings] == [("acked", "open"), ("done", "not_applicable")]


def test_a_response_step_is_reported_by_the_audit_of_the_day_it_was_decided():
    t0 = local(2026, 8, 31, 20)
    events = [event("r1", "report", t0, attributes={"case": "A"}), event("a1", "ack", t0 + dt.timedelta(hours=5), attributes={"case": "A"})]
    # acknowledged on 1 September, in time: decided then, so the August audit has nothing yet
    report = run(base_ruleset(RESPONSE), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    assert report.findings == ()
    # the September audit judges the case opened in August: the ack, and the missing "done"
    report = run(base_ruleset(RESPONSE), base_registry(), events, dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert [(f.step, f.status, f.decided) for f in report.findings] == [
        ("acked", "met", t0 + dt.timedelta(hours=5)), ("done", "missed", t0 + dt.timedelta(hours=53)),
    ]
    # with no ack at all, the deadline (20:00 on 1 September) decides it
    report = run(base_ruleset(RESPONSE), base_registry(), events[:1], dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert [(f.step, f.status) for f in report.findings] == [("acked", "missed"), ("done", "not_applicable")]


# ------------------------------------------------------------------ staffing

STAFFING = {"id": "staff", "kind": "staffing", "applies_to": {"unit_kind": "dock"}, "require": {"guard": 1}}


def test_staffing_shortfall_intervals_are_exact():
    registry = base_registry(
        [
            {"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01", "end": "2026-08-10"},
            {"person": "b", "role": "guard", "unit": "d1", "start": "2026-08-14"},
        ]
    )
    report = run(base_ruleset(STAFFING), registry, [], dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    d1 = [(f.period.start, f.period.end, f.status) for f in report.findings if f.unit == "d1"]
    assert d1 == [(local(2026, 8, 11, 0), local(2026, 8, 14, 0), "missed")]
    d2 = [(f.period.label, f.status, f.observed) for f in report.findings if f.unit == "d2"]
    assert d2 == [("2026-08-01 to 2026-08-31", "missed", "0 (vacant)")]


def test_staffing_met_when_always_staffed():
    registry = base_registry(
        [{"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01"}, {"person": "b", "role": "guard", "unit": "d2", "start": "2026-01-01"}]
    )
    report = run(base_ruleset(STAFFING), registry, [], dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    assert [f.status for f in report.findings] == ["met", "met"]


# ------------------------------------------------------------------ report and API


def test_roll_up_counts_each_unit_with_everything_below():
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d1")]
    report = run(base_ruleset(DAILY), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 8, 2))
    units = {u.unit: u for u in report.units}
    assert (units["d1"].counts.met, units["d1"].counts.missed) == (1, 1)
    assert (units["d2"].counts.met, units["d2"].counts.missed) == (0, 2)
    assert (units["t"].counts.met, units["t"].counts.missed) == (1, 3)
    assert units["t"].rate == 0.25 and units["d1"].depth == 1


def test_audit_does_not_mutate_inputs_and_needs_aware_as_of():
    ruleset, registry = base_ruleset(DAILY), base_registry()
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d1")]
    before = (ruleset.model_dump(), registry.model_dump(), [e.model_dump() for e in events])
    run(ruleset, registry, events, dt.date(2026, 8, 1), dt.date(2026, 8, 2))
    assert (ruleset.model_dump(), registry.model_dump(), [e.model_dump() for e in events]) == before
    with pytest.raises(UsageError):
        run(ruleset, registry, events, dt.date(2026, 8, 1), dt.date(2026, 8, 2), as_of=dt.datetime(2026, 9, 1))
    with pytest.raises(UsageError):
        run(ruleset, registry, events, dt.date(2026, 8, 2), dt.date(2026, 8, 1))


@pytest.mark.parametrize(
    ("value", "condition", "expected"),
    [
        ("field", "field", True),
        ("field", ["online", "field"], True),
        (1, True, False),  # booleans never equal numbers
        (5, Comparison(gte=5, lt=10), True),
        (10, Comparison(gte=5, lt=10), False),
        ("a", Comparison(gt=3), False),  # text against a number: no match, no error
        (None, Comparison(exists=False), True),
        ("x", Comparison(not_in=["x", "y"]), False),
        ("z", Comparison(ne="x"), True),
    ],
)
def test_conditions(value, condition, expected):
    assert condition_holds(value, condition) is expected
