"""`explain`: how one verdict came about. The events it marks counted must be the evidence."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from hypothesis import given, settings

import complianceengine as ce
from complianceengine import UsageError
from complianceengine.evaluate import judge
from complianceengine.trace import CHECKS, Recorder
from complianceengine.explain import Explainer, Explanation, explain, render_explanation

from conftest import ROOT, base_registry, base_ruleset, event, local
from test_index import AS_OF as RANDOM_AS_OF, FIRST, LAST, REGISTRY as RANDOM_REGISTRY, RULESET as RANDOM_RULESET, histories

AS_OF = local(2026, 12, 1, 0)
DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1}
MONTHLY = {**DAILY, "id": "monthly", "period": "month"}


def run(ruleset, registry, events, obligation, subject, period, first=dt.date(2026, 8, 1), last=dt.date(2026, 8, 31), as_of=AS_OF,
        plugins=None):
    explanation = explain(ruleset, registry, events, obligation=obligation, subject=subject, period=period,
                          first_day=first, last_day=last, as_of=as_of, plugins=plugins)
    agrees(explanation)
    return explanation


def agrees(explanation: Explanation) -> None:
    for entry in explanation.entries:
        assert set(entry.counted) == set(entry.finding.evidence), (entry.finding.period.label, entry.events)
        assert not any("disagrees" in note for note in entry.notes)


def only(explanation: Explanation):
    assert len(explanation.entries) == 1, [e.finding.period.label for e in explanation.entries]
    return explanation.entries[0]


def events_of(entry):
    return {e.id: e for e in entry.events}


# ------------------------------------------------------------------ the bundled samples

BUNDLED = sorted(d.name for d in (ROOT / "rulesets").iterdir() if (d / "sample" / "events.jsonl").exists())
SAMPLE_RANGE = {"first_day": dt.date(2026, 8, 1), "last_day": dt.date(2026, 10, 31), "as_of": dt.datetime.fromisoformat("2026-11-01T00:00+08:00")}


def load_sample(name):
    pytest.importorskip("complianceengine_tides")  # the Xiangshan tide calendar; plugins load by entry point
    plugins = ce.Plugins(entry_points=True)
    folder = ROOT / "rulesets" / name
    ruleset = ce.load_ruleset(folder / "ruleset.yaml", plugins)
    registry = ce.load_registry(folder / "sample" / "registry.yaml", ruleset)
    events = ce.read_events(folder / "sample" / "events.jsonl", ruleset, registry, plugins)
    return ruleset, registry, events, {**SAMPLE_RANGE, "plugins": plugins}


@pytest.fixture(scope="module")
def xiangshan():
    return load_sample("xiangshan")


@pytest.fixture(scope="module")
def explainer(xiangshan):
    ruleset, registry, events, args = xiangshan
    return Explainer(ruleset, registry, events, **args)


@pytest.fixture(scope="module", params=BUNDLED)
def sample(request):
    return request.param, load_sample(request.param)


def test_the_four_samples_are_bundled():
    assert BUNDLED == ["shanghai", "xiangshan", "zhangjiagang", "zhongshan"]


def test_every_finding_of_every_bundled_sample_is_explained_with_its_own_evidence(sample):
    name, (ruleset, registry, events, args) = sample
    report = ce.audit(ruleset, registry, events, **args)
    explainer = Explainer(ruleset, registry, events, **args)
    assert [f.model_dump() for f in explainer.findings] == [f.model_dump() for f in report.findings]
    checks = Counter()
    assert len([f for f in report.findings if f.status != "not_applicable"]) > 50
    for finding in report.findings:
        explanation = explainer.explain(obligation=finding.obligation, subject=finding.subject.id, period=finding.step or finding.period.label)
        entry = next(e for e in explanation.entries if e.finding == finding)
        assert entry.finding.status == finding.status
        assert set(entry.counted) == set(finding.evidence), (finding.obligation, finding.subject.id, finding.period.label)
        assert not any("disagrees" in n or "could not" in n for n in entry.notes)
        assert entry.requirement
        checks.update(e.check for e in entry.events)
    assert set(checks) <= set(CHECKS)
    if name == "xiangshan":  # the sample exercises the main reasons
        assert len(report.findings) > 700
        # (no period of the sample is partial since audits no longer cut periods at their edges:
        # test_partial_period_not_judged_events_are_marked_as_such covers "not_judged")
        assert {"counted", "not_credited", "other_unit", "by_role", "in_calendar", "trigger", "other_gap"} <= set(checks)
    else:
        assert {"counted", "trigger"} <= set(checks)


def test_tracing_changes_no_finding(sample):
    name, (ruleset, registry, events, args) = sample
    recorder = Recorder()
    traced = judge(ruleset, registry, events, **args, tracer=recorder).findings
    plain = judge(ruleset, registry, events, **args).findings
    assert [f.model_dump() for f in traced] == [f.model_dump() for f in plain]
    # and every finding has its record, which knows the step it came from
    assert all(recorder.of(f, traced) is not None for f in traced)
    assert sum(len(r) for r in recorder.records.values()) == len(traced)


@settings(max_examples=40, deadline=None)
@given(events=histories())
def test_random_histories_are_traced_without_changing_a_finding_and_explained_with_their_evidence(events):
    args = {"first_day": FIRST, "last_day": LAST, "as_of": RANDOM_AS_OF}
    plain = ce.audit(RANDOM_RULESET, RANDOM_REGISTRY, events, **args).findings
    explainer = Explainer(RANDOM_RULESET, RANDOM_REGISTRY, events, **args)
    assert [f.model_dump() for f in explainer.findings] == [f.model_dump() for f in plain]
    for finding in explainer.findings:
        entry = explainer.explain_finding(finding)
        assert set(entry.counted) == set(finding.evidence), (finding.obligation, finding.subject.id, finding.period.label, entry.events)
        assert not any("disagrees" in n for n in entry.notes)


def test_planted_tide_violation_is_rendered_for_a_duty_officer(xiangshan):
    ruleset, registry, events, args = xiangshan
    explanation = explain(ruleset, registry, events, obligation="risk-point-tide-patrol", subject="rp-xiaobai-beach", period="2026-W38", **args)
    entry = only(explanation)
    assert entry.finding.status == "missed"
    patrol = events_of(entry)["E00714"]
    assert not patrol.counted and patrol.check == "in_calendar"
    text = render_explanation(explanation)
    assert text.splitlines()[2].startswith("risk-point-tide-patrol — Each risk point gets a field patrol around low water every week (Xiangshan 2022, art. 13.1)")
    assert "subject: 小百丈滩涂上岸点 (rp-xiaobai-beach)" in text
    assert "period 2026-W38: 2026-09-14 00:00 to 2026-09-21 00:00 (Asia/Shanghai)" in text
    assert "requirement: at least 1 patrol (two hours either side of low water) per week (base requirement)" in text
    assert "verdict: missed — 0 counted" in text
    assert "events considered (1):" in text
    line = next(line for line in text.splitlines() if "E00714" in line)
    assert line.startswith("  E00714 2026-09-18 13:49 patrol by p-he-yan")
    assert "not counted — at 13:49, outside the two hours either side of low water (low-water) windows" in line
    assert "windows that day: 06:10–10:10, 18:32–22:32" in line


def test_xiangshan_examples(explainer):
    # another person's patrol at the chief's own dock
    entry = only(explainer.explain(obligation="dock-chief-weekly-patrol", subject="p-he-yan", period="2026-W43"))
    assert entry.finding.status == "missed" and entry.counted == ()
    assert events_of(entry)["E00525"].reason == "not counted — credited to p-zheng-hai, not p-he-yan"
    assert events_of(entry)["E00719"].check == "other_unit"
    # a key person visited by a grid member, not a role the duty names
    entry = only(explainer.explain(obligation="key-person-monthly-visit", subject="kp-003", period="2026-10-08"))
    visit = events_of(entry)["E00657"]
    assert visit.check == "by_role" and "p-tang-ning held grid_member at xiaobai-g1" in visit.reason
    # the campaign brings the deadline forward
    entry = only(explainer.explain(obligation="key-person-monthly-visit", subject="kp-004", period="2026-10-20"))
    assert "raised during National Day anti-smuggling campaign (special-campaign): max gap P14D instead of P1M" in entry.requirement
    assert entry.counted == ("E00656",) and "5d 15h after the deadline" in events_of(entry)["E00656"].reason
    # an exemption from an event, named with its record
    entry = only(explainer.explain(obligation="dock-chief-weekly-patrol", subject="p-deng-kai", period="2026-W43"))
    assert entry.finding.status == "excused" and "excused by E00695" in entry.requirement
    assert [(x.record, x.source, x.applied) for x in entry.exemptions] == [("E00695", "event", True)]
    # response: the case id or its value; every step of the case
    explanation = explainer.explain(obligation="lead-timely-handling", subject="INFO-0905", period="info_id=INFO-0905")
    assert [(e.finding.step, e.finding.status) for e in explanation.entries] == [("responded", "late"), ("handled", "met")]
    assert events_of(explanation.entries[0])["E00677"].check == "other_step"
    # staffing and completeness read the registry
    entry = only(explainer.explain(obligation="dock-chiefs-1-4-n", subject="fanxi-dock", period="2026-09-15 to 2026-09-15"))
    assert {h.person: h.text.split(" (")[0] for h in entry.holders} == {
        "p-du-xin": "not in post during this period", "p-jiang-bin": "not in post during this period"}
    entry = only(explainer.explain(obligation="key-person-file", subject="kp-002", period="vehicles"))
    assert [(f.field, f.present) for f in entry.fields if not f.present] == [("vehicles", False)]


def test_a_date_inside_a_campaign_month_gives_the_month_and_the_week(explainer):
    explanation = explainer.explain(obligation="grid-monthly-patrol", subject="p-luo-yi", period="2026-10-07")
    assert [(e.finding.period.label, e.finding.status) for e in explanation.entries] == [("2026-10", "met"), ("2026-W41", "missed")]
    month, week = explanation.entries
    assert "(base requirement)" in month.requirement and "in force for 16 days of the period's 31 days" in month.requirement
    assert week.requirement.startswith("raised during National Day anti-smuggling campaign (special-campaign): at least 1 patrol per week "
                                       "instead of at least 1 patrol per month")
    # a patrol of hers inside the campaign belongs to the weeks, not to the month
    assert events_of(month)["E00634"].check == "outside_period"
    assert "judged under the raised requirement instead" in events_of(month)["E00634"].reason


# ------------------------------------------------------------------ each reason, on small cases


def test_wrong_attribute_says_which_expected_and_got():
    field_only = {**DAILY, "match": {"kind": "patrol", "where": {"mode": "field"}}}
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d1", attributes={"mode": "online"}),
              event("e2", "patrol", local(2026, 8, 1, 11), actor="a", unit="d1", attributes={"mode": "field"})]
    entry = only(run(base_ruleset(field_only), base_registry(), events, "daily", "a", "2026-08-01"))
    seen = events_of(entry)
    assert seen["e1"].check == "where"
    assert seen["e1"].reason == "not counted — mode is 'online', expected = 'field'"
    assert seen["e2"].counted and seen["e2"].reason == "counted"


def test_a_labelled_value_is_shown_with_its_label():
    field_only = {**DAILY, "match": {"kind": "patrol", "where": {"mode": "field"}}}
    data = base_ruleset(field_only).model_dump(by_alias=True, exclude_none=True)
    data["event_kinds"]["patrol"]["attributes"]["mode"]["value_labels"] = {"field": {"en": "field patrol", "zh": "实地"},
                                                                           "online": {"en": "online", "zh": "线上"}}
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d1", attributes={"mode": "online"})]
    entry = only(run(ce.Ruleset.model_validate(data), base_registry(), events, "daily", "a", "2026-08-01"))
    assert events_of(entry)["e1"].reason == "not counted — mode is 'online' (线上), expected = 'field'"


def test_outside_time_of_day():
    night = {**DAILY, "match": {"kind": "patrol", "time_of_day": {"from": "20:00", "to": "06:00"}}}
    events = [event("e1", "patrol", local(2026, 8, 1, 5), actor="a", unit="d1"), event("e2", "patrol", local(2026, 8, 1, 6), actor="a", unit="d1")]
    entry = only(run(base_ruleset(night), base_registry(), events, "daily", "a", "2026-08-01"))
    assert entry.counted == ("e1",)
    assert events_of(entry)["e2"].reason == "not counted — at 06:00 local time, outside the time-of-day window 20:00–06:00"
    assert "between 20:00 and 06:00 local time" in (entry.counts or "")


def test_other_person_and_other_unit():
    events = [event("e1", "patrol", local(2026, 8, 1), actor="b", unit="d1"),
              event("e2", "patrol", local(2026, 8, 1, 11), actor="a", unit="d2"),
              event("e3", "patrol", local(2026, 8, 1, 12), actor="b", participants=("a",), unit="d1")]
    entry = only(run(base_ruleset(DAILY), base_registry(), events, "daily", "a", "2026-08-01"))
    seen = events_of(entry)
    assert (seen["e1"].check, seen["e1"].reason) == ("not_credited", "not counted — credited to b, not a")
    assert (seen["e2"].check, seen["e2"].reason) == ("other_unit", "not counted — at d2, which is not d1 or a unit below it")
    assert seen["e3"].counted  # a joint patrol counts for every participant


def test_on_behalf_of_is_credited():
    events = [event("e1", "patrol", local(2026, 8, 1), actor="b", on_behalf_of="a", unit="d1")]
    entry = only(run(base_ruleset(DAILY), base_registry(), events, "daily", "a", "2026-08-01"))
    assert entry.counted == ("e1",) and entry.finding.status == "met"


def test_by_role_not_held_and_other_subject():
    visits = {"id": "visits", "kind": "frequency", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"},
              "by": {"roles": ["chief"]}, "period": "month", "at_least": 1}
    subjects = [{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01"},
                {"id": "r2", "kind": "resident", "unit": "d1", "start": "2026-01-01"}]
    events = [event("v1", "visit", local(2026, 8, 3), actor="a", subject="r1"),
              event("v2", "visit", local(2026, 8, 4), actor="c", subject="r2", unit="d1"),
              event("v3", "visit", local(2026, 8, 5), actor="c", subject="r1")]
    entry = only(run(base_ruleset(visits), base_registry(subjects=subjects), events, "visits", "r1", "2026-08"))
    seen = events_of(entry)
    assert seen["v1"].check == "by_role"
    assert seen["v1"].reason == ("not counted — done by a, but only chief (chief) at d1, above or below it count; "
                                 "at that time a held guard at d1")
    assert (seen["v2"].check, seen["v2"].reason) == ("other_subject", "not counted — about r2, not r1")
    assert seen["v3"].counted and entry.finding.status == "met"


def test_distinct_within_duplicate_names_the_counted_event():
    thin = {**DAILY, "distinct_within": "PT30M"}
    events = [event("e1", "patrol", local(2026, 8, 1, 10), actor="a", unit="d1"),
              event("e2", "patrol", local(2026, 8, 1, 10, 10), actor="a", unit="d1"),
              event("e3", "patrol", local(2026, 8, 1, 11, 5), actor="a", unit="d1")]
    entry = only(run(base_ruleset(thin), base_registry(), events, "daily", "a", "2026-08-01"))
    assert entry.counted == ("e1", "e3")
    assert events_of(entry)["e2"].check == "distinct_within"
    assert events_of(entry)["e2"].reason == "not counted — less than PT30M after e1 (2026-08-01 10:00), which counted: counts once"


def test_after_as_of_is_not_known_yet():
    events = [event("e1", "patrol", local(2026, 8, 20), actor="a", unit="d1")]
    entry = only(run(base_ruleset(MONTHLY), base_registry(), events, "monthly", "a", "2026-08", as_of=local(2026, 8, 15, 12)))
    assert entry.finding.status == "open"
    assert events_of(entry)["e1"].reason == "not counted — at or after the as-of time 2026-08-15 12:00: not known yet"
    assert any("not over at the as-of time" in note for note in entry.notes)


def test_outside_the_calendar_window():
    calendars = {"campaign": {"label": {"en": "summer campaign"}, "windows": [{"start": "2026-08-10", "end": "2026-08-12"}]}}
    in_campaign = {**MONTHLY, "match": {"kind": "patrol", "in_calendar": "campaign"}}
    events = [event("e1", "patrol", local(2026, 8, 5, 9), actor="a", unit="d1"), event("e2", "patrol", local(2026, 8, 11), actor="a", unit="d1")]
    entry = only(run(base_ruleset(in_campaign, calendars=calendars), base_registry(), events, "monthly", "a", "2026-08"))
    assert entry.counted == ("e2",)
    assert events_of(entry)["e1"].check == "in_calendar"
    assert events_of(entry)["e1"].reason == "not counted — at 09:00, outside the summer campaign (campaign) windows (windows that day: none)"


def test_quorum_not_reached():
    meetings = {"id": "meetings", "kind": "frequency", "applies_to": {"unit_kind": "town"}, "period": "month", "at_least": 1,
                "match": {"kind": "meeting", "quorum": {"attribute": "departments", "members": ["customs", "police", "coast_guard", "port"], "at_least": 3}}}
    events = [event("m1", "meeting", local(2026, 8, 18), unit="t", attributes={"departments": ("customs", "police")})]
    entry = only(run(base_ruleset(meetings), base_registry(), events, "meetings", "t", "2026-08"))
    assert entry.finding.status == "missed"
    assert events_of(entry)["m1"].reason == ("not counted — departments names 2 of the listed members (customs, police), "
                                             "quorum needs at least 3")


def test_excused_period_and_partial_exemption():
    four = {**MONTHLY, "at_least": 4}
    events = [event("e1", "patrol", local(2026, 8, 5), actor="a", unit="d1")]
    # leave 1-20 August: 11 of 31 days left, below half: excused
    registry = base_registry(exemptions=[{"id": "leave-a", "person": "a", "start": "2026-08-01", "end": "2026-08-20", "reason": "annual leave"}])
    entry = only(run(base_ruleset(four), registry, events, "monthly", "a", "2026-08"))
    assert entry.finding.status == "excused" and entry.counted == ("e1",)
    assert "excused by leave-a (annual leave) 2026-08-01 00:00 to 2026-08-21 00:00: 20 days of it excused, 11 days left" in entry.requirement
    assert "so the period is excused" in entry.requirement
    assert [(x.record, x.source, x.applied) for x in entry.exemptions] == [("leave-a", "registry", True)]
    assert events_of(entry)["e1"].reason == "counted — during excused time (leave-a); events in excused time still count"
    # leave 1-10 August: 21 days left, 3 patrols required
    registry = base_registry(exemptions=[{"id": "leave-a", "person": "a", "start": "2026-08-01", "end": "2026-08-10", "reason": "annual leave"}])
    entry = only(run(base_ruleset(four), registry, events, "monthly", "a", "2026-08"))
    assert entry.finding.status == "missed" and entry.finding.required_count == 3
    assert "prorated from 4 to 3: 21 days of 31 days in force" in entry.requirement


def test_leave_event_excuses_and_is_named():
    events = [event("l1", "leave", local(2026, 8, 2, 0), actor="a", attributes={"until": "2026-08-03T00:00:00+08:00"})]
    entry = only(run(base_ruleset(DAILY), base_registry(), events, "daily", "a", "2026-08-02"))
    assert entry.finding.status == "excused"
    assert [(x.record, x.source, x.applied) for x in entry.exemptions] == [("l1", "event", True)]


def test_partial_period_not_judged_events_are_marked_as_such():
    weekly = {**DAILY, "id": "weekly", "period": "week"}
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d1"), event("e0", "patrol", local(2026, 7, 30), actor="a", unit="d1")]
    # the guard took the post on Saturday 1 August: two days of the week, not judged
    registry = base_registry([{"person": "a", "role": "guard", "unit": "d1", "start": "2026-08-01"}])
    entry = only(run(base_ruleset(weekly), registry, events, "weekly", "a", "2026-W31"))
    assert entry.finding.status == "not_applicable" and entry.counted == ()
    assert events_of(entry)["e1"].check == "not_judged"
    assert events_of(entry)["e0"].reason.startswith("not counted — outside the duty's time in force for a (2026-08-01 00:00")
    assert "not judged: partial_periods is majority" in entry.requirement


def test_prorated_for_a_duty_that_starts_mid_month():
    four = {**MONTHLY, "at_least": 4, "partial_periods": "any"}
    registry = base_registry([{"person": "a", "role": "guard", "unit": "d1", "start": "2026-08-17"}])
    events = [event("e1", "patrol", local(2026, 8, 10), actor="a", unit="d1"), event("e2", "patrol", local(2026, 8, 20), actor="a", unit="d1")]
    entry = only(run(base_ruleset(four), registry, events, "monthly", "a", "2026-08"))
    assert entry.finding.required_count == 2
    assert "prorated from 4 to 2: 15 days of 31 days in force" in entry.requirement
    assert events_of(entry)["e1"].reason.startswith("not counted — outside the duty's time in force for a")


def test_campaign_weeks_and_base_months():
    campaign = {"special-campaign": {"label": {"en": "special campaign"}, "windows": [{"start": "2026-09-09", "end": "2026-09-30"}]}}
    raised = {**MONTHLY, "during": [{"calendar": "special-campaign", "period": "week", "at_least": 1}]}
    events = [event("e1", "patrol", local(2026, 9, 16), actor="a", unit="d1"), event("e2", "patrol", local(2026, 9, 3), actor="a", unit="d1")]
    explanation = run(base_ruleset(raised, calendars=campaign), base_registry(), events, "monthly", "a", "2026-09-16",
                      first=dt.date(2026, 9, 1), last=dt.date(2026, 10, 31))
    assert [(e.finding.period.label, e.finding.status, e.finding.window) for e in explanation.entries] == [
        ("2026-09", "not_applicable", None), ("2026-W38", "met", "special-campaign")]
    month, week = explanation.entries
    assert week.counted == ("e1",)
    assert week.requirement.startswith("raised during special campaign (special-campaign): at least 1 patrol per week instead of "
                                       "at least 1 patrol per month")
    assert events_of(month)["e1"].check == "outside_period" and events_of(month)["e2"].check == "not_judged"


def test_cadence_gap_explained():
    visits = {"id": "visits", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P1M"}
    subjects = [{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01"}]
    events = [event("v1", "visit", local(2026, 8, 20, 15), actor="a", subject="r1"),
              event("v2", "visit", local(2026, 10, 1, 15), actor="a", subject="r1")]
    ruleset, registry = base_ruleset(visits), base_registry(subjects=subjects)
    entry = only(run(ruleset, registry, events, "visits", "r1", "2026-09-25", last=dt.date(2026, 12, 31)))
    assert entry.finding.status == "missed" and entry.counted == ("v2",)
    assert events_of(entry)["v1"].check == "other_gap"
    assert events_of(entry)["v2"].reason == "counted — closes the gap 11d after the deadline (2026-09-20 15:00)"
    assert "due by 2026-09-20 15:00" in entry.requirement
    trailing = only(run(ruleset, registry, events, "visits", "r1", "2026-10-01 15:00 to 2026-11-01 15:00", last=dt.date(2026, 12, 31)))
    assert trailing.finding.status == "missed" and trailing.counted == ()


def test_response_steps_explained():
    handling = {"id": "handling", "kind": "response", "trigger": {"kind": "report"}, "correlate_on": ["case"],
                "steps": [{"id": "ack", "match": {"kind": "ack"}, "within": "PT2H"},
                          {"id": "done", "match": {"kind": "done"}, "within": "P1D", "counted_from": "previous"}]}
    events = [event("r", "report", local(2026, 8, 3, 10), unit="d1", attributes={"case": "X"}),
              event("a0", "ack", local(2026, 8, 3, 9), attributes={"case": "X"}),
              event("a1", "ack", local(2026, 8, 3, 13), attributes={"case": "X"}),
              event("a2", "ack", local(2026, 8, 3, 14), attributes={"case": "X"}),
              event("other", "ack", local(2026, 8, 3, 11), attributes={"case": "Y"}),
              event("before", "report", local(2026, 7, 30, 10), unit="d1", attributes={"case": "X"}),
              event("a00", "ack", local(2026, 7, 30, 11), attributes={"case": "X"})]
    explanation = run(base_ruleset(handling), base_registry(), events, "handling", "X", "ack")
    entry = only(explanation)
    assert entry.finding.status == "late" and entry.counted == ("r", "a1")
    seen = events_of(entry)
    assert "other" not in seen
    assert seen["a0"].check == "before_clock" and seen["a2"].check == "later_answer"
    # a case opened before the range is judged by the audit of its deadlines (July's, here)
    assert seen["before"].reason == "not counted — another trigger with the same case: it opens a case of its own"
    assert seen["a1"].reason == "counted — the answer, 1h after the deadline (2026-08-03 12:00)"
    done = only(run(base_ruleset(handling), base_registry(), events, "handling", "case=X", "done"))
    assert done.finding.status == "missed" and done.counted == ("r",)
    assert events_of(done)["a1"].check == "other_step"


def test_staffing_and_completeness_explained_from_the_registry():
    staffing = {"id": "staff", "kind": "staffing", "applies_to": {"unit_kind": "dock"}, "require": {"guard": 1}}
    complete = {"id": "file", "kind": "completeness", "applies_to": {"subject_kind": "resident"}, "fields": ["phone", "address"]}
    registry = base_registry([{"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01", "end": "2026-08-10"},
                              {"person": "b", "role": "guard", "unit": "d2", "start": "2026-01-01"}],
                             subjects=[{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01", "attributes": {"address": "x"}}])
    ruleset = base_ruleset(staffing, complete)
    entry = only(run(ruleset, registry, [], "staff", "d1", "2026-08-15"))
    assert entry.finding.status == "missed" and entry.finding.period.label == "2026-08-11 to 2026-08-31"
    assert [(h.person, h.text) for h in entry.holders] == [("a", "not in post during this period (2026-01-01 to 2026-08-10)")]
    assert "vacant" in render_explanation(run(ruleset, registry, [], "staff", "d1", "2026-08-15"))
    entry = only(run(ruleset, registry, [], "file", "r1", "phone"))
    assert entry.finding.status == "missed"
    assert [(f.field, f.present, f.value) for f in entry.fields] == [("phone", False, None), ("address", True, "x")]


def test_unknown_obligation_subject_or_period_lists_the_choices():
    ruleset, registry = base_ruleset(DAILY), base_registry()
    with pytest.raises(UsageError, match="no obligation 'nope'"):
        run(ruleset, registry, [], "nope", "a", "2026-08-01")
    with pytest.raises(UsageError, match=r"no finding for subject 'z'; subjects: a, b"):
        run(ruleset, registry, [], "daily", "z", "2026-08-01")
    with pytest.raises(UsageError) as raised:
        run(ruleset, registry, [], "daily", "a", "2026-09-01")
    message = str(raised.value)
    assert "in period '2026-09-01'" in message
    assert "2026-08-01, 2026-08-02" in message and "(and 21 more)" in message
    with pytest.raises(UsageError, match="period 'W99'"):
        run(ruleset, registry, [], "daily", "a", "W99")


def test_period_given_as_a_date_inside_the_period():
    weekly = {**DAILY, "id": "weekly", "period": "week"}
    events = [event("e1", "patrol", local(2026, 8, 12), actor="a", unit="d1")]
    by_date = only(run(base_ruleset(weekly), base_registry(), events, "weekly", "a", "2026-08-13"))
    by_label = only(run(base_ruleset(weekly), base_registry(), events, "weekly", "a", "2026-W33"))
    assert by_date.finding == by_label.finding and by_date.finding.period.label == "2026-W33"
    assert by_date.period_start == "2026-08-10 00:00" and by_date.period_end == "2026-08-17 00:00"
    assert by_date.counted == ("e1",)


def test_render_lists_each_event_and_the_verdict():
    events = [event("e1", "patrol", local(2026, 8, 1, 9), actor="b", unit="d1")]
    text = render_explanation(run(base_ruleset(DAILY), base_registry(), events, "daily", "a", "2026-08-01"))
    assert "daily — daily (Doc, art. 1)" in text
    assert "subject: A (a), role guard, unit d1" in text
    assert "period 2026-08-01: 2026-08-01 00:00 to 2026-08-02 00:00 (Asia/Shanghai)" in text
    assert "requirement: at least 1 patrol per day (base requirement)" in text
    assert "verdict: missed — 0 counted (patrol)" in text
    assert "  e1 2026-08-01 09:00 patrol by b at d1: not counted — credited to b, not a" in text


def test_an_obligation_not_judged_says_why():
    calendars = {"low-water": {"label": {"en": "low water"}, "provider": "tide-table", "optional": True, "plugin": "complianceengine-tides"}}
    tide = {**DAILY, "id": "tide", "match": {"kind": "patrol", "in_calendar": "low-water"}}
    without = ce.Plugins(entry_points=False)  # the tide plugin may be installed
    entry = only(run(base_ruleset(tide, calendars=calendars), base_registry(), [], "tide", "a", "2026-08-01 to 2026-08-31", plugins=without))
    assert entry.finding.status == "not_applicable"
    assert entry.requirement.startswith("not judged: ") and "complianceengine-tides" in entry.requirement


def test_a_plugin_kind_is_explained_by_its_evidence(tmp_path):
    from test_plugins import PER_WINDOW_YAML, PerWindowKind, _write

    plugins = ce.Plugins([PerWindowKind()])
    ruleset = ce.load_ruleset(_write(tmp_path, PER_WINDOW_YAML.replace("{AT_LEAST}", "1")), plugins)
    events = [event("e1", "patrol", local(2026, 8, 3, 10), actor="a", unit="d1"), event("e2", "patrol", local(2026, 8, 3, 11), actor="b", unit="d2")]
    explanation = explain(ruleset, base_registry(), events, obligation="patrol-each-typhoon", subject="d1", period="window from 2026-08-03",
                          first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 31), as_of=local(2026, 9, 1, 0), plugins=plugins)
    agrees(explanation)
    entry = only(explanation)
    assert entry.counted == ("e1",) and events_of(entry)["e2"].check == "evidence"
    assert any("comes from a plugin; its evaluator decides what counts" in note for note in entry.notes)


def test_gaps_starting_at_one_instant_are_told_apart():
    # two visits at the same instant: the gap they close between them and the gap after them start
    # at the same moment; their ids differ (the second is anchored '<instant>#1') and each is
    # explained from its own record
    visits = {"id": "visits", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P1M"}
    subjects = [{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01"}]
    events = [event("v1", "visit", local(2026, 8, 20, 15), actor="a", subject="r1"),
              event("v2", "visit", local(2026, 8, 20, 15), actor="a", subject="r1")]
    ruleset, registry = base_ruleset(visits), base_registry(subjects=subjects)
    explainer = Explainer(ruleset, registry, events, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 10, 31), as_of=AS_OF)
    later = [f for f in explainer.findings if f.period.start == local(2026, 8, 20, 15)]
    assert len(later) == 2 and later[0].id != later[1].id and later[0].evidence == ("v2",)
    closed, trailing = (explainer.explain_finding(f) for f in later)
    assert closed.counted == ("v2",) and events_of(closed)["v1"].check == "other_gap"
    assert "counted from the previous visit (v1)" in closed.requirement
    assert trailing.counted == () and trailing.finding.status == "missed"
    assert "counted from the previous visit (v2)" in trailing.requirement
