"""Audits that tile: the findings of consecutive audits are those of one audit of their union.

An audit of days A..B reports what was decided in A..B (docs/semantics.md, "Which audit reports
a verdict"), so splitting a range anywhere, with the same as-of time, neither loses nor repeats
a verdict of a period, a gap or a case step, and staffing vacancies add up day by day.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from complianceengine import audit
from complianceengine.timeframes import local

from conftest import base_registry, base_ruleset, event

UTC = dt.timezone.utc
FIRST, LAST = dt.date(2026, 8, 1), dt.date(2026, 10, 31)
AS_OF = dt.datetime(2026, 11, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
START = dt.datetime(2026, 6, 20, tzinfo=UTC)  # events from well before the range...
SECONDS = int((dt.datetime(2026, 11, 12, tzinfo=UTC) - START).total_seconds())  # ...to after the as-of time

CAMPAIGN = {"campaign": {"label": {"en": "campaign"}, "windows": [{"start": "2026-07-28", "end": "2026-08-09"},
                                                                  {"start": "2026-09-25", "end": "2026-10-06"}]}}
RULES = [
    {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1,
     "distinct_within": "PT6H"},
    {"id": "weekly", "kind": "frequency", "applies_to": {"roles": ["guard", "chief"]}, "match": {"kind": "patrol"}, "period": "week",
     "at_least": 2, "during": [{"calendar": "campaign", "at_least": 3}]},
    {"id": "monthly", "kind": "frequency", "applies_to": {"unit_kind": "dock"}, "match": {"kind": "patrol", "where": {"mode": "field"}},
     "period": "month", "at_least": 3, "partial_periods": "any"},
    {"id": "ten-days", "kind": "frequency", "applies_to": {"roles": ["chief"]}, "match": {"kind": "patrol"}, "period": {"every": "P10D"},
     "at_least": 1},
    {"id": "visits", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P20D",
     "during": [{"calendar": "campaign", "max_gap": "P7D"}]},
    {"id": "handling", "kind": "response", "trigger": {"kind": "report"}, "correlate_on": ["case"],
     "steps": [{"id": "acked", "match": {"kind": "ack"}, "within": "P2D"},
               {"id": "done", "match": {"kind": "done"}, "within": "P6D", "counted_from": "previous"}]},
    {"id": "staffed", "kind": "staffing", "applies_to": {"unit_kind": "dock"}, "require": {"guard": 1}},
]
RULESET = base_ruleset(*RULES, calendars=CAMPAIGN)
REGISTRY = base_registry(
    [  # roster changes inside the range: duties start and end mid-period
        {"person": "a", "role": "guard", "unit": "d1", "start": "2020-01-01", "end": "2026-09-09"},
        {"person": "b", "role": "guard", "unit": "d1", "start": "2026-09-12"},
        {"person": "b", "role": "guard", "unit": "d2", "start": "2026-06-01", "end": "2026-08-20"},
        {"person": "c", "role": "chief", "unit": "t", "start": "2020-01-01"},
    ],
    subjects=[
        {"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01"},
        {"id": "r2", "kind": "resident", "unit": "d2", "start": "2026-08-17", "end": "2026-10-20"},
    ],
    exemptions=[{"id": "custody", "subject": "r1", "start": "2026-09-03", "end": "2026-09-18", "reason": "in custody"}],
)
JUDGED_OVER_TIME = {"frequency", "cadence", "response"}


@st.composite
def histories(draw, max_size=60):
    out = []
    for i in range(draw(st.integers(0, max_size))):
        when = START + dt.timedelta(seconds=draw(st.integers(0, SECONDS - 1)))
        kind = draw(st.sampled_from(["patrol", "patrol", "patrol", "visit", "report", "ack", "done"]))
        if kind == "patrol":
            out.append(event(f"e{i}", "patrol", when, actor=draw(st.sampled_from("abc")), unit=draw(st.sampled_from(["d1", "d2"])),
                             attributes={"mode": draw(st.sampled_from(["field", "online"]))}))
        elif kind == "visit":
            out.append(event(f"e{i}", "visit", when, subject=draw(st.sampled_from(["r1", "r2"]))))
        else:
            out.append(event(f"e{i}", kind, when, unit="d1", attributes={"case": draw(st.sampled_from(["A", "B", "C"]))}))
    return out


@st.composite
def splits(draw):
    """The audit range cut into consecutive sub-ranges at 0 to 4 random days."""
    days = (LAST - FIRST).days
    cuts = sorted(draw(st.sets(st.integers(1, days), max_size=4)))
    starts = [FIRST + dt.timedelta(days=c) for c in [0, *cuts]]
    ends = [s - dt.timedelta(days=1) for s in starts[1:]] + [LAST]
    return list(zip(starts, ends))


def run(events, first, last):
    return audit(RULESET, REGISTRY, events, first_day=first, last_day=last, as_of=AS_OF)


def over_time(report):
    return [f.model_dump() for f in report.findings if f.obligation_kind in JUDGED_OVER_TIME]


def vacancy_days(report):
    days = 0
    for f in report.findings:
        if f.obligation == "staffed" and f.status != "met":
            days += (local(f.period.end, "Asia/Shanghai").date() - local(f.period.start, "Asia/Shanghai").date()).days
    return days


@settings(max_examples=150, deadline=None)
@given(histories(), splits())
def test_consecutive_audits_give_the_findings_of_one_audit(events, parts):
    whole = run(events, FIRST, LAST)
    pieces = [run(events, a, b) for a, b in parts]
    together = [f for piece in pieces for f in over_time(piece)]
    # nothing lost, nothing reported twice, every verdict the same (status, counts, evidence, words)
    assert len({f["id"] for f in together}) == len(together)
    assert sorted(together, key=lambda f: f["id"]) == sorted(over_time(whole), key=lambda f: f["id"])
    assert sum(vacancy_days(piece) for piece in pieces) == vacancy_days(whole)


def test_a_week_across_a_month_boundary_is_judged_once_and_whole():
    # Monday 31 August to Sunday 6 September; the chief patrols on the 31st and on the 2nd
    events = [event("p1", "patrol", local_time(2026, 8, 31, 9), actor="c", unit="d1"),
              event("p2", "patrol", local_time(2026, 9, 2, 9), actor="c", unit="d1")]
    august, september = run(events, dt.date(2026, 8, 1), dt.date(2026, 8, 31)), run(events, dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    week = [(f.status, f.evidence) for r in (august, september) for f in r.findings
            if f.obligation == "weekly" and f.subject.id == "c" and f.period.label == "2026-W36"]
    assert week == [("met", ("p1", "p2"))]  # by September's audit only, with August's patrol


def test_a_gap_that_began_before_the_range_is_reported_where_it_overran():
    # visits on 1 December and 30 January (P20D here): the January audit reports nothing of a
    # gap decided on 21 December; the December audit reports it, missed, with the late visit
    subjects = [{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01"}]
    registry = base_registry(subjects=subjects)
    ruleset = base_ruleset(RULES[4], calendars=CAMPAIGN)
    events = [event("v1", "visit", local_time(2026, 12, 1, 10), subject="r1"), event("v2", "visit", local_time(2027, 1, 30, 10), subject="r1")]
    as_of = local_time(2027, 2, 1, 0)
    december = audit(ruleset, registry, events, first_day=dt.date(2026, 12, 1), last_day=dt.date(2026, 12, 31), as_of=as_of)
    january = audit(ruleset, registry, events, first_day=dt.date(2027, 1, 1), last_day=dt.date(2027, 1, 31), as_of=as_of)
    assert [(f.status, f.evidence, f.due) for f in december.findings if f.evidence == ("v2",)] == [
        ("missed", ("v2",), local_time(2026, 12, 21, 10))]
    assert [f for f in january.findings if f.evidence == ("v2",)] == []
    # without any visit at all, each audit reports the gaps whose deadline it holds
    empty = [audit(ruleset, registry, [], first_day=a, last_day=b, as_of=as_of).findings
             for a, b in ((dt.date(2026, 8, 1), dt.date(2026, 8, 31)), (dt.date(2026, 1, 1), dt.date(2026, 1, 31)))]
    assert [[f.status for f in found] for found in empty] == [[], ["missed"]]  # due 21 January, never closed


def test_the_report_says_how_far_back_it_looked_and_warns_when_the_events_do_not_reach():
    ruleset = base_ruleset(RULES[1], RULES[4], calendars=CAMPAIGN)
    events = [event("p1", "patrol", local_time(2026, 9, 2, 9), actor="c", unit="d1")]
    report = audit(ruleset, REGISTRY, events, first_day=dt.date(2026, 9, 1), last_day=dt.date(2026, 9, 30), as_of=AS_OF)
    assert report.looked_back_to == local_time(2026, 8, 17, 0)  # r2's duty starts then; the first week on 31 August
    assert any(w.startswith("weekly: ") and "look back to 2026-08-31 00:00, before the earliest event given (2026-09-02 09:00)" in w
               for w in report.warnings)
    assert any(w.startswith("visits: 2 clock(s) start at the start of a duty (from 2026-01-01 00:00)") for w in report.warnings)
    # given the history from before the range, nothing to warn about for the weeks
    earlier = [event("p0", "patrol", local_time(2026, 7, 1, 9), actor="c", unit="d1"), *events]
    report = audit(ruleset, REGISTRY, earlier, first_day=dt.date(2026, 9, 1), last_day=dt.date(2026, 9, 30), as_of=AS_OF)
    assert not any(w.startswith("weekly: ") for w in report.warnings)


def local_time(year, month, day, hour=0):
    return dt.datetime(year, month, day, hour, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_the_xiangshan_quarter_is_its_three_months(xiangshan_paths):
    """The issue's own finding, on the bundled sample: monthly audits (as of 1 November) and the
    audit of August to October give the same findings, and the quarter's missed weeks and visits
    are missed in exactly one month each."""
    from complianceengine import Plugins, load_registry, load_ruleset, read_events

    plugins = Plugins(entry_points=True)  # the tide plugin judges the by-tide duty
    ruleset = load_ruleset(xiangshan_paths["ruleset"], plugins)
    registry = load_registry(xiangshan_paths["registry"], ruleset)
    log = read_events(xiangshan_paths["events"], ruleset, registry, plugins)
    as_of = local_time(2026, 11, 1)

    def findings(first, last):
        report = audit(ruleset, registry, log, first_day=first, last_day=last, as_of=as_of, plugins=plugins)
        return [f.model_dump() for f in report.findings if f.obligation_kind in JUDGED_OVER_TIME]

    quarter = findings(dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    months = [f for a, b in ((dt.date(2026, 8, 1), dt.date(2026, 8, 31)), (dt.date(2026, 9, 1), dt.date(2026, 9, 30)),
                             (dt.date(2026, 10, 1), dt.date(2026, 10, 31))) for f in findings(a, b)]
    assert {f["obligation"] for f in quarter} >= {"risk-point-tide-patrol", "key-person-monthly-visit", "lead-timely-handling"}
    assert sorted(months, key=lambda f: f["id"]) == sorted(quarter, key=lambda f: f["id"])
    missed = lambda found, obligation: sum(f["status"] == "missed" and f["obligation"] == obligation for f in found)  # noqa: E731
    assert missed(quarter, "dock-chief-weekly-patrol") == missed(months, "dock-chief-weekly-patrol") > 0
    assert missed(quarter, "key-person-monthly-visit") == missed(months, "key-person-monthly-visit") == 3


def test_a_calendar_window_that_began_before_the_lookback_still_excuses_an_old_gap():
    """(Found by review.) A visit on 1 July, a holiday from 5 July to 10 September excusing the
    duty, a 20-day gap: the deadline is pushed to 1 October, by the whole audit and by September's."""
    holiday = {"hol": {"label": {"en": "holiday"}, "windows": [{"start": "2026-07-05", "end": "2026-09-10"}]}}
    ruleset = base_ruleset({"id": "visits", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"},
                            "max_gap": "P20D", "excused_in": ["hol"]}, calendars=holiday)
    registry = base_registry(subjects=[{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01"}])
    events = [event("v1", "visit", local_time(2026, 7, 1, 10), subject="r1")]

    def found(first, last):
        report = audit(ruleset, registry, events, first_day=first, last_day=last, as_of=local_time(2026, 11, 10))
        return [f.model_dump() for f in report.findings]

    whole = found(dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    assert [(f["status"], f["due"]) for f in whole] == [("missed", local_time(2026, 10, 1))]
    assert found(dt.date(2026, 8, 1), dt.date(2026, 8, 31)) + found(dt.date(2026, 9, 1), dt.date(2026, 10, 31)) == whole


def test_a_deadline_at_the_end_of_the_range_inside_a_window_that_goes_on():
    """Found by the property above: a gap whose raised deadline falls exactly at the end of the
    first audit's range (a campaign window running on past it). The ruleset's own windows are
    kept up to the end of the day after the range, so the first audit raises the requirement as
    the whole audit does and reports the gap, missed, once."""
    visits = [event("v0", "visit", dt.datetime(2026, 6, 20, tzinfo=UTC), subject="r1"),
              event("v1", "visit", dt.datetime(2026, 8, 13, 16, 0, 1, tzinfo=UTC), subject="r1")]
    whole = run(visits, FIRST, LAST)
    pieces = [run(visits, dt.date(2026, 8, 1), dt.date(2026, 10, 1)), run(visits, dt.date(2026, 10, 2), LAST)]
    gap = [f for f in whole.findings if f.obligation == "visits" and f.subject.id == "r1" and f.period.start.day == 14]
    assert [(f.status, f.due) for f in gap] == [("missed", local_time(2026, 10, 2, 0))]
    assert [f.id for f in pieces[0].findings if f.obligation == "visits"].count(gap[0].id) == 1
    assert gap[0].id not in {f.id for f in pieces[1].findings}


def test_two_visits_at_the_same_instant_give_gaps_with_their_own_ids():
    """Two counted events at one instant: the gap between them (zero long) and the gap after the
    second open at the same instant; each has its own id (the second anchored '<instant>#1')."""
    same = local_time(2026, 8, 10, 9)
    visits = [event("v1", "visit", same, subject="r1"), event("v2", "visit", same, subject="r1"),
              event("v3", "visit", local_time(2026, 8, 20, 9), subject="r1")]
    report = run(visits, FIRST, LAST)
    gaps = [f for f in report.findings if f.obligation == "visits" and f.subject.id == "r1"]
    assert len({f.id for f in gaps}) == len(gaps)
    assert [f.evidence for f in gaps if f.period.start == same] == [("v2",), ("v3",)]
    ids = {f.id for f in report.findings}
    assert len(ids) == len(report.findings)


def test_a_visit_at_the_very_start_of_the_duty_opens_a_gap_with_its_own_id():
    """The zero-length gap from the start of the duty to a visit at that instant, and the gap
    after the visit, start at one instant: two ids, the same in every tile."""
    subjects = [{"id": "r9", "kind": "resident", "unit": "d1", "start": "2026-08-01"}]
    registry = base_registry(subjects=subjects)
    ruleset = base_ruleset(RULES[4], calendars=CAMPAIGN)
    visits = [event("v1", "visit", local_time(2026, 8, 1, 0), subject="r9"), event("v2", "visit", local_time(2026, 8, 10, 10), subject="r9")]
    whole = audit(ruleset, registry, visits, first_day=dt.date(2026, 7, 15), last_day=dt.date(2026, 8, 31), as_of=AS_OF)
    gaps = [f for f in whole.findings if f.subject.id == "r9"]
    assert len(gaps) == len({f.id for f in gaps}) >= 2
    later = audit(ruleset, registry, visits, first_day=dt.date(2026, 8, 2), last_day=dt.date(2026, 8, 31), as_of=AS_OF)
    assert {f.id for f in later.findings if f.subject.id == "r9"} <= {f.id for f in gaps}
