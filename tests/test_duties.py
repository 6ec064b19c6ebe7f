"""Real-world duty semantics: campaigns, exemptions, rosters, counting rules, quorum, completeness."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from complianceengine import Registry, audit
from complianceengine.references import check_registry, check_ruleset

from conftest import base_registry, base_ruleset, event, local

AS_OF = local(2026, 12, 1, 0)
CAMPAIGN = {"campaign": {"label": {"en": "special campaign", "zh": "专项整治"}, "windows": [{"start": "2026-09-09", "end": "2026-09-30"}]}}
MONTHLY = {"id": "grid", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "month", "at_least": 1}
WEEKLY_IN_CAMPAIGN = {**MONTHLY, "during": [{"calendar": "campaign", "period": "week", "at_least": 1}]}


def run(ruleset, registry, events, first, last, as_of=AS_OF):
    return audit(ruleset, registry, events, first_day=first, last_day=last, as_of=as_of)


def of(report, subject="a"):
    return [(f.period.label, f.status, f.window) for f in report.findings if f.subject.id == subject]


# ------------------------------------------------------------------ windows


def test_campaign_starting_mid_week_switches_to_weekly_periods():
    events = [event("e1", "patrol", local(2026, 9, 2), actor="a", unit="d1"), event("e2", "patrol", local(2026, 9, 10), actor="a", unit="d1"),
              event("e3", "patrol", local(2026, 9, 16), actor="a", unit="d1")]
    report = run(base_ruleset(WEEKLY_IN_CAMPAIGN, calendars=CAMPAIGN), base_registry(), events, dt.date(2026, 9, 1), dt.date(2026, 10, 31))
    assert of(report) == [
        ("2026-09", "not_applicable", None),  # 8 of 30 days outside the campaign: below half
        ("2026-10", "missed", None),
        ("2026-W37", "met", "campaign"),  # Wednesday 9 Sep to Sunday 13 Sep: 5 of 7 days, 1 patrol needed
        ("2026-W38", "met", "campaign"),
        ("2026-W39", "missed", "campaign"),
        ("2026-W40", "not_applicable", "campaign"),  # only Mon 28 to Wed 30 Sep: 3 of 7 days
    ]


def test_raising_a_requirement_never_turns_missed_into_met():
    events = [event("e1", "patrol", local(2026, 9, 20), actor="a", unit="d1")]
    base = run(base_ruleset(MONTHLY, calendars=CAMPAIGN), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    raised = run(base_ruleset({**MONTHLY, "during": [{"calendar": "campaign", "at_least": 3}]}, calendars=CAMPAIGN), base_registry(),
                 events, dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    assert ("2026-08", "missed", None) in of(base) and ("2026-08", "missed", None) in of(raised)
    assert ("2026-09", "met", "campaign") not in of(raised)
    september = [f for f in raised.findings if f.window == "campaign" and f.subject.id == "a"]
    assert [(f.status, f.required_count) for f in september] == [("missed", 3)]  # 22 of 30 days: ceil(3 x 22/30) = 3


def test_cadence_tighter_inside_a_campaign():
    cadence = {"id": "visits", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P1M",
               "during": [{"calendar": "campaign", "max_gap": "P14D"}]}
    # under supervision from 1 Sep: an earlier start's first gap was decided (missed) before the audit
    subjects = [{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-09-01"}]
    events = [event("v1", "visit", local(2026, 9, 1), subject="r1"), event("v2", "visit", local(2026, 9, 28), subject="r1")]
    report = run(base_ruleset(cadence, calendars=CAMPAIGN), base_registry(subjects=subjects), events, dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    met, late = report.findings
    assert met.status == "met"
    # from the visit of 1 Sep the monthly deadline would be 1 Oct, but the campaign starts on 9 Sep: 14 days from then
    assert late.status == "missed" and late.due == local(2026, 9, 23, 0) and late.window == "campaign"


def test_unknown_calendar_and_wrong_override_are_rejected():
    ruleset = base_ruleset({**MONTHLY, "during": [{"calendar": "campaing", "period": "week"}]}, calendars=CAMPAIGN)
    (problem,) = check_ruleset(ruleset)
    assert problem[0] == ("obligations", 0, "during", 0, "calendar") and "did you mean 'campaign'" in problem[1]
    with pytest.raises(ValidationError, match="max_gap belongs to cadence"):
        base_ruleset({**MONTHLY, "during": [{"calendar": "campaign", "max_gap": "P14D"}]}, calendars=CAMPAIGN)


# ------------------------------------------------------------------ exemptions


def test_leave_covering_part_of_a_month():
    monthly4 = {**MONTHLY, "at_least": 4}
    leave = [{"id": "leave-1", "person": "a", "start": "2026-08-01", "end": "2026-08-20", "reason": "annual leave"}]
    patrols = [event("e1", "patrol", local(2026, 8, 25), actor="a", unit="d1"), event("e2", "patrol", local(2026, 8, 28), actor="a", unit="d1")]
    report = run(base_ruleset(monthly4), base_registry(exemptions=leave), patrols, dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    (finding,) = [f for f in report.findings if f.subject.id == "a"]
    # 20 of 31 days excused: 11 days left, below half, so the month is excused and says by what
    assert finding.status == "excused" and finding.excused_by == ("leave-1",)
    shorter = [{**leave[0], "end": "2026-08-10"}]
    report = run(base_ruleset(monthly4), base_registry(exemptions=shorter), patrols, dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    (finding,) = [f for f in report.findings if f.subject.id == "a"]
    # 21 of 31 days left: ceil(4 x 21/31) = 3 patrols required, 2 seen
    assert (finding.status, finding.required_count, finding.excused_by) == ("missed", 3, ("leave-1",))


def test_typhoon_closure_event_excuses_the_dock_and_its_guard():
    closure = event("c1", "closure", local(2026, 8, 2, 0), unit="d1", attributes={"until": "2026-08-04T00:00:00+08:00"})
    daily = {**MONTHLY, "id": "daily", "period": "day"}
    report = run(base_ruleset(daily), base_registry(), [closure], dt.date(2026, 8, 1), dt.date(2026, 8, 4))
    assert [(label, status) for label, status, _ in of(report)] == [
        ("2026-08-01", "missed"), ("2026-08-02", "excused"), ("2026-08-03", "excused"), ("2026-08-04", "missed"),
    ]
    assert [status for _, status, _ in of(report, "b")] == ["missed"] * 4  # the other dock stayed open
    assert report.counts.excused == 2 and report.findings[1].excused_by == ("c1",)


def test_exemption_limited_to_some_obligations_and_checked_against_registry():
    leave = [{"id": "x", "person": "a", "start": "2026-08-01", "end": "2026-08-31", "reason": "sick", "obligations": ["other"]}]
    ruleset = base_ruleset(MONTHLY, {**MONTHLY, "id": "other"})
    report = run(ruleset, base_registry(exemptions=leave), [], dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    assert {(f.obligation, f.status) for f in report.findings if f.subject.id == "a"} == {("grid", "missed"), ("other", "excused")}
    bad = base_registry(exemptions=[{"id": "y", "person": "zz", "start": "2026-08-01", "reason": "?", "obligations": ["nope"]}])
    messages = [m for _, m in check_registry(bad, ruleset)]
    assert any("unknown person 'zz'" in m for m in messages) and any("unknown obligation 'nope'" in m for m in messages)
    with pytest.raises(ValidationError, match="exactly one of person, unit or subject"):
        Registry.model_validate({"exemptions": [{"id": "z", "person": "a", "unit": "d1", "start": "2026-08-01", "reason": "?"}]})


def test_subject_in_custody_pushes_the_cadence_deadline():
    cadence = {"id": "visits", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P1M"}
    subjects = [{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-08-01"}]
    custody = [{"id": "custody-1", "subject": "r1", "start": "2026-08-20", "end": "2026-09-30", "reason": "in custody"}]
    events = [event("v1", "visit", local(2026, 8, 5), subject="r1"), event("v2", "visit", local(2026, 10, 20), subject="r1")]
    plain = run(base_ruleset(cadence), base_registry(subjects=subjects), events, dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    assert [f.status for f in plain.findings] == ["met", "missed"]
    excused = run(base_ruleset(cadence), base_registry(subjects=subjects, exemptions=custody), events, dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    assert [(f.status, f.excused_by) for f in excused.findings] == [("met", ()), ("met", ("custody-1",))]
    assert excused.findings[1].due == local(2026, 11, 1, 0)  # one month after the custody ended


LEAVES = st.lists(st.tuples(st.integers(0, 91), st.integers(0, 20)), max_size=3)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 91 * 24 - 1), max_size=30), LEAVES, st.sampled_from(["day", "week", "month"]), st.integers(1, 3))
def test_an_exemption_never_turns_met_into_anything_else(hours, leaves, period, at_least):
    duty = {**MONTHLY, "period": period, "at_least": at_least}
    start = local(2026, 8, 1, 0)
    events = [event(f"e{i}", "patrol", start + dt.timedelta(hours=h), actor="a", unit="d1") for i, h in enumerate(hours)]
    exemptions = [
        {"id": f"x{i}", "person": "a", "start": str(dt.date(2026, 8, 1) + dt.timedelta(days=d)),
         "end": str(dt.date(2026, 8, 1) + dt.timedelta(days=d + n)), "reason": "leave"}
        for i, (d, n) in enumerate(leaves)
    ]
    before = run(base_ruleset(duty), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    after = run(base_ruleset(duty), base_registry(exemptions=exemptions), events, dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    keyed = {(f.subject.id, f.period.start): f.status for f in after.findings}
    for finding in before.findings:
        if finding.status == "met":
            assert keyed[(finding.subject.id, finding.period.start)] == "met"
        if finding.status == "missed" and finding.subject.id == "a":
            assert keyed[(finding.subject.id, finding.period.start)] in ("missed", "excused", "met")


# ------------------------------------------------------------------ rosters


def test_assignment_ending_on_the_last_day_and_two_roles():
    registry = base_registry(
        [
            {"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01", "end": "2026-08-31"},
            {"person": "a", "role": "chief", "unit": "t", "start": "2026-08-15"},
        ]
    )
    duty = {**MONTHLY, "applies_to": {"roles": ["guard", "chief"]}}
    events = [event("e1", "patrol", local(2026, 8, 31, 23, 59), actor="a", unit="d1")]
    report = run(base_ruleset(duty), registry, events, dt.date(2026, 8, 1), dt.date(2026, 9, 30))
    found = [(f.subject.role, f.period.label, f.status) for f in report.findings]
    # the patrol at the dock counts for the guard post and for the chief post (the dock is in the town)
    assert found == [("chief", "2026-08", "met"), ("chief", "2026-09", "missed"), ("guard", "2026-08", "met")]


# ------------------------------------------------------------------ counting rules


def test_distinct_within_counts_close_events_once():
    twice = {**MONTHLY, "id": "twice", "period": "day", "at_least": 2, "distinct_within": "PT1H"}
    events = [event("e1", "patrol", local(2026, 8, 1, 9), actor="a", unit="d1"),
              event("e2", "patrol", local(2026, 8, 1, 9, 10), actor="a", unit="d1"),
              event("e3", "patrol", local(2026, 8, 1, 10, 5), actor="a", unit="d1")]
    report = run(base_ruleset(twice), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 8, 1))
    (finding,) = [f for f in report.findings if f.subject.id == "a"]
    assert finding.status == "met" and finding.evidence == ("e1", "e3")
    report = run(base_ruleset(twice), base_registry(), events[:2], dt.date(2026, 8, 1), dt.date(2026, 8, 1))
    assert [f.status for f in report.findings if f.subject.id == "a"] == ["missed"]


def test_night_patrol_window_wraps_past_midnight():
    night = {**MONTHLY, "id": "night", "period": "week", "match": {"kind": "patrol", "time_of_day": {"from": "20:00", "to": "06:00"}}}
    for hour, expected in ((21, "met"), (5, "met"), (6, "missed"), (12, "missed")):
        events = [event("e1", "patrol", local(2026, 8, 5, hour), actor="a", unit="d1")]
        report = run(base_ruleset(night), base_registry(), events, dt.date(2026, 8, 3), dt.date(2026, 8, 9))
        assert [f.status for f in report.findings if f.subject.id == "a"] == [expected], hour


def test_delegate_patrol_counts_for_the_person_delegating():
    events = [event("e1", "patrol", local(2026, 8, 5), actor="b", on_behalf_of="a", unit="d1")]
    report = run(base_ruleset(MONTHLY), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    assert [f.status for f in report.findings if f.subject.id == "a"] == ["met"]


def test_joint_meeting_counts_only_with_quorum():
    meetings = {"id": "meet", "kind": "frequency", "applies_to": {"unit_kind": "town"}, "period": "quarter", "at_least": 1,
                "match": {"kind": "meeting", "quorum": {"attribute": "departments", "members": ["customs", "police", "coast_guard", "port"],
                                                        "at_least": 3}}}
    thin = event("m1", "meeting", local(2026, 8, 5), unit="t", attributes={"departments": ("customs", "police")})
    full = event("m2", "meeting", local(2026, 8, 6), unit="t", attributes={"departments": ("customs", "police", "port")})
    report = run(base_ruleset(meetings), base_registry(), [thin], dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert [f.status for f in report.findings] == ["missed"]
    report = run(base_ruleset(meetings), base_registry(), [thin, full], dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert [(f.status, f.evidence) for f in report.findings] == [("met", ("m2",))]


# ------------------------------------------------------------------ completeness


def test_registry_completeness_gives_a_finding_per_missing_field():
    ruleset = base_ruleset({"id": "file", "kind": "completeness", "applies_to": {"subject_kind": "resident"},
                            "fields": ["basic", "relations", "vehicles"]})
    data = ruleset.model_dump(by_alias=True, exclude_unset=True)
    data["subject_kinds"]["resident"]["attributes"] = {name: {"type": "string"} for name in ("basic", "relations", "vehicles")}
    ruleset = type(ruleset).model_validate(data)
    subjects = [
        {"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01", "attributes": {"basic": "x", "relations": "y", "vehicles": "z"}},
        {"id": "r2", "kind": "resident", "unit": "d2", "start": "2026-01-01", "attributes": {"basic": "x", "vehicles": ""}},
    ]
    report = run(ruleset, base_registry(subjects=subjects), [], dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    assert [(f.subject.id, f.step, f.status) for f in report.findings] == [
        ("r1", None, "met"), ("r2", "relations", "missed"), ("r2", "vehicles", "missed"),
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 91 * 24 - 1), max_size=30),
    st.integers(0, 60), st.integers(0, 40),
    st.sampled_from([{"at_least": 2}, {"at_least": 3}, {"period": "week"}, {"period": "day"}, {"period": "week", "at_least": 2}]),
)
def test_raising_a_requirement_in_a_window_never_turns_missed_into_met(hours, offset, length, raised):
    start = local(2026, 8, 1, 0)
    events = [event(f"e{i}", "patrol", start + dt.timedelta(hours=h), actor="a", unit="d1") for i, h in enumerate(hours)]
    first = dt.date(2026, 8, 1) + dt.timedelta(days=offset)
    calendars = {"campaign": {"label": {"en": "campaign"}, "windows": [{"start": str(first), "end": str(first + dt.timedelta(days=length))}]}}
    plain = run(base_ruleset(MONTHLY, calendars=calendars), base_registry(), events, dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    stricter = run(base_ruleset({**MONTHLY, "during": [{"calendar": "campaign", **raised}]}, calendars=calendars), base_registry(), events,
                   dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    # every instant of a period missed under the plain rule is, under the stricter rule, in some period that is not met
    for missed in (f for f in plain.findings if f.status == "missed" and f.subject.id == "a"):
        overlapping = [f for f in stricter.findings if f.subject.id == "a" and f.period.start < missed.period.end and missed.period.start < f.period.end
                       and f.status != "not_applicable"]
        if overlapping:
            assert any(f.status != "met" for f in overlapping), missed.period.label


def test_calendar_listed_in_excused_in_excuses_everyone():
    daily = {**MONTHLY, "id": "daily", "period": "day", "excused_in": ["campaign"]}
    calendars = {"campaign": {"label": {"en": "holiday"}, "windows": [{"start": "2026-08-02", "end": "2026-08-02"}]}}
    report = run(base_ruleset(daily, calendars=calendars), base_registry(), [], dt.date(2026, 8, 1), dt.date(2026, 8, 3))
    assert [(label, status) for label, status, _ in of(report)] == [("2026-08-01", "missed"), ("2026-08-02", "excused"), ("2026-08-03", "missed")]
    assert report.findings[1].excused_by == ("calendar:campaign",)


def test_declared_unit_attributes_are_checked_in_the_registry_and_in_where():
    data = base_ruleset({**MONTHLY, "applies_to": {"unit_kind": "dock", "where": {"dock_type": "chemcial"}}}).model_dump(by_alias=True, exclude_none=True)
    data["unit_kinds"]["dock"]["attributes"] = {"dock_type": {"type": "enum", "values": ["general", "chemical"], "required": True}}
    from complianceengine import Ruleset

    ruleset = Ruleset.model_validate(data)
    assert any("'chemcial' is not a value of enum dock.dock_type" in m for _, m in check_ruleset(ruleset))
    registry = base_registry()
    registry = registry.model_copy(update={"units": [registry.units[0], registry.units[1].model_copy(update={"attributes": {"dock_type": "chemcial"}}),
                                                     registry.units[2]]})
    messages = [(path, m) for path, m in check_registry(registry, ruleset)]
    assert (("units", 1, "attributes", "dock_type"), "'chemcial' is not one of general, chemical") in messages
    assert (("units", 2), "a dock needs attribute 'dock_type'") in messages
