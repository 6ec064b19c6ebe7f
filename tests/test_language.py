"""The ruleset language of issue 17: frequency over a sum (``measure``), N of M sub-periods
(``in_at_least``), ``min_spacing`` flags, staffing ``at_most`` / ``exactly``, enum value labels
read as values, and ``ref`` attributes checked against the registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import complianceengine as ce
from complianceengine import audit
from complianceengine.errors import RegistryError, RulesetError
from complianceengine.lint import lint
from complianceengine.model import Ruleset

from conftest import base_registry, base_ruleset, event, local

AS_OF = local(2027, 2, 1, 0)


def ruleset(*obligations: dict[str, Any], **changes: Any) -> Ruleset:
    """The conftest ruleset with a sortie event kind (a vessel count) and ``changes`` merged into
    its top-level sections."""
    data = base_ruleset().model_dump(by_alias=True, exclude_none=True)
    data["event_kinds"]["sortie"] = {"label": {"en": "boat sortie", "zh": "出海巡查"}, "requires": ["unit"], "attributes": {
        "vessels": {"type": "integer", "label": {"en": "vessels checked", "zh": "检查船只数"}},
        "km": {"type": "number"}, "note": {"type": "string"}}}
    for section, extra in changes.items():
        data[section] = {**data.get(section, {}), **extra}
    data["obligations"] = list(obligations)
    return Ruleset.model_validate(data)


def sorties(*counts: tuple[int, int | None, int]) -> list[ce.Event]:
    """(day of August 2026, vessels or None, hour) -> a sortie of dock d1."""
    return [event(f"s{i}", "sortie", local(2026, 8, day, hour), unit="d1", **({"attributes": {"vessels": n}} if n is not None else {}))
            for i, (day, n, hour) in enumerate(counts)]


SUM = {"id": "vessels", "kind": "frequency", "title": {"en": "vessels"}, "citation": {"source": "doc", "article": "1"},
       "applies_to": {"unit_kind": "dock"}, "match": {"kind": "sortie"}, "period": "day", "at_least": 10, "measure": {"sum": "vessels"}}


def findings(rules: Ruleset, events: list[ce.Event], first: dt.date = dt.date(2026, 8, 1), last: dt.date = dt.date(2026, 8, 3),
             registry: ce.Registry | None = None, lang: str = "en") -> list[ce.Finding]:
    return list(audit(rules, registry or base_registry(), events, first_day=first, last_day=last, as_of=AS_OF, lang=lang).findings)


def test_a_sum_measure_compares_the_sum_and_lists_each_value():
    got = {(f.subject.id, f.period.label): f for f in findings(ruleset(SUM), sorties((1, 6, 9), (1, 5, 14), (2, 4, 9), (2, None, 10)))}
    met, short = got[("d1", "2026-08-01")], got[("d1", "2026-08-02")]
    assert (met.status, met.observed_amount, met.evidence, met.evidence_values, met.observed_count) == (
        "met", 11.0, ("s0", "s1"), (6, 5), 11)
    assert (short.status, short.observed_amount, short.evidence_values) == ("missed", 4.0, (4, 0))  # a record without the count adds 0
    assert met.required == "at least 10 vessels checked in boat sortie (Aug 1, 2026)"
    assert short.observed == "4 vessels checked in 2 counted (boat sortie)"
    assert got[("d2", "2026-08-01")].observed_amount == 0.0


def test_a_sum_with_at_most_and_in_chinese():
    rules = ruleset({**SUM, "at_least": 1, "at_most": 8})
    got = {f.period.label: f for f in findings(rules, sorties((1, 6, 9), (1, 5, 14), (2, 4, 9)), lang="zh") if f.subject.id == "d1"}
    assert got["2026-08-01"].status == "missed" and got["2026-08-02"].status == "met"
    assert got["2026-08-01"].required == "出海巡查合计检查船只数至少1，至多8（2026年8月1日）"
    assert got["2026-08-01"].observed == "2次出海巡查合计检查船只数11"


def test_the_measure_must_be_a_number_attribute_of_every_matched_kind():
    with pytest.raises(RulesetError, match="the measure 'note' must be a number or integer attribute of event kind 'sortie'"):
        _check({**SUM, "measure": {"sum": "note"}})


def _check(obligation: dict[str, Any]) -> None:
    from complianceengine.references import check_ruleset, resolve_kinds
    from complianceengine.plugins import Plugins

    resolved, errors, references = resolve_kinds(ruleset(obligation), Plugins())
    problems = check_ruleset(resolved) + references
    if problems:
        raise RulesetError([ce.errors.Problem(ce.errors.Location("<test>"), str(path), message) for path, message in problems])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.integers(0, 9), st.integers(0, 23)), max_size=8), st.integers(0, 7), st.integers(1, 3))
def test_adding_a_vessel_to_a_record_never_turns_a_met_sum_into_missed(records, which, day):
    base = sorties(*records) if records else []
    before = {f.id: f.status for f in findings(ruleset(SUM), base)}
    if not base:
        return
    index = which % len(base)
    more = [e if i != index else e.model_copy(update={"attributes": {"vessels": int(e.attributes.get("vessels", 0)) + 1}})
            for i, e in enumerate(base)]
    after = {f.id: f.status for f in findings(ruleset(SUM), more)}
    assert not [i for i in before if before[i] == "met" and after[i] != "met"]


MEETINGS = {"id": "meetings", "kind": "frequency", "title": {"en": "joint meetings"}, "citation": {"source": "doc", "article": "2"},
            "applies_to": {"unit_kind": "town"}, "match": {"kind": "meeting"}, "period": "year", "at_least": 1,
            "in_at_least": {"periods": 10, "each": "month"}}


def meetings(months: list[int]) -> list[ce.Event]:
    return [event(f"m{m}", "meeting", local(2026, m, 15), unit="t") for m in months]


def test_in_at_least_counts_the_months_that_meet_the_requirement():
    year = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    got = [f for f in findings(ruleset(MEETINGS), meetings([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), *year) if f.subject.id == "t"]
    assert [(f.status, f.observed_count, f.required_count) for f in got] == [("met", 10, 10)]
    assert got[0].required == "at least 1 joint meeting in each of at least 10 months (2026)"
    assert got[0].observed == "10 of 12 months met (10 counted: joint meeting)"
    assert got[0].note == "not met in: November 2026, December 2026"
    nine = [f for f in findings(ruleset(MEETINGS), meetings([1, 2, 3, 3, 4, 5, 6, 7, 8, 9]), *year) if f.subject.id == "t"]
    assert [(f.status, f.observed_count) for f in nine] == [("missed", 9)]  # two meetings in March are one month


def test_in_at_least_is_prorated_like_at_least_when_the_duty_covers_part_of_the_period():
    # the chief holds the post from July: 184 of 365 days in force, so 10 months become 6 (rounded up)
    registry = base_registry([{"person": "c", "role": "chief", "unit": "t", "start": "2026-07-01"}])
    rules = ruleset({**MEETINGS, "applies_to": {"roles": ["chief"]}, "partial_periods": "any"})
    events = [e.model_copy(update={"actor": "c"}) for e in meetings([7, 8, 9, 10, 11])]
    got = [f for f in findings(rules, events, dt.date(2026, 1, 1), dt.date(2026, 12, 31), registry=registry) if f.subject.id == "c"]
    assert [(f.status, f.observed_count, f.required_count) for f in got] == [("missed", 5, 6)]
    assert "requirement prorated from 10 to 6" in (got[0].note or "")
    assert got[0].observed.startswith("5 of 6 months met")  # months before the duty are not judged
    december = [e.model_copy(update={"actor": "c"}) for e in meetings([7, 8, 9, 10, 11, 12])]
    assert [f.status for f in findings(rules, december, dt.date(2026, 1, 1), dt.date(2026, 12, 31), registry=registry)
            if f.subject.id == "c"] == ["met"]


def test_in_at_least_needs_a_period_it_nests_in():
    with pytest.raises(ValidationError, match="in_at_least: each month needs a period it nests in"):
        ruleset({**MEETINGS, "period": "week"})
    problems = lint(ruleset({**MEETINGS, "in_at_least": {"periods": 13, "each": "month"}}))
    assert any(code == "CE114" for code, *_ in problems)


SPACED = {"id": "spaced", "kind": "frequency", "title": {"en": "patrols"}, "citation": {"source": "doc", "article": "3"},
          "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 2, "min_spacing": "PT1H"}


def test_min_spacing_flags_events_too_close_together_and_still_counts_them():
    patrols = [event("p1", "patrol", local(2026, 8, 1, 9), actor="a", unit="d1"),
               event("p2", "patrol", local(2026, 8, 1, 9, 20), actor="a", unit="d1"),
               event("p3", "patrol", local(2026, 8, 2, 9), actor="a", unit="d1"),
               event("p4", "patrol", local(2026, 8, 2, 15), actor="a", unit="d1")]
    got = {f.period.label: f for f in findings(ruleset(SPACED), patrols) if f.subject.id == "a"}
    assert (got["2026-08-01"].status, got["2026-08-01"].flagged) == ("met", ("p2",))
    assert got["2026-08-01"].note == "1 counted less than 1 hour after the previous one: p2 20 minutes after p1"
    assert (got["2026-08-02"].status, got["2026-08-02"].flagged) == ("met", ())
    summary = audit(ruleset(SPACED), base_registry(), patrols, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 3), as_of=AS_OF)
    assert summary.obligations[0].counts.met == 2  # flagged, still met


def test_min_spacing_on_a_cadence_flags_a_gap_closed_too_soon():
    rule = {"id": "visits", "kind": "cadence", "title": {"en": "visits"}, "citation": {"source": "doc", "article": "4"},
            "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P30D", "min_spacing": "P1D"}
    registry = base_registry(subjects=[{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-08-01"}])
    visits = [event("v1", "visit", local(2026, 8, 3), subject="r1"), event("v2", "visit", local(2026, 8, 3, 15), subject="r1")]
    got = [f for f in findings(ruleset(rule), visits, registry=registry) if f.evidence == ("v2",)]
    assert [(f.status, f.flagged) for f in got] == [("met", ("v2",))]
    assert got[0].note == "v2 only 5 hours after v1 (less than the minimum spacing of 1 day)"
    assert any(code == "CE113" for code, *_ in lint(ruleset({**rule, "min_spacing": "P30D"})))


STAFFED = {"id": "liaison", "kind": "staffing", "title": {"en": "one liaison"}, "citation": {"source": "doc", "article": "5"},
           "applies_to": {"unit_kind": "dock"}, "require": {"guard": {"exactly": 1}}}


def test_staffing_exactly_and_at_most():
    roster = [{"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01"},
              {"person": "b", "role": "guard", "unit": "d1", "start": "2026-08-02", "end": "2026-08-02"}]
    got = [f for f in findings(ruleset(STAFFED), [], registry=base_registry(roster)) if f.unit == "d1"]
    assert [(f.status, f.period.label, f.observed_count) for f in got] == [("missed", "2026-08-02 to 2026-08-02", 2)]
    assert got[0].required == "exactly 1 guard at every moment"
    vacant = [f for f in findings(ruleset(STAFFED), [], registry=base_registry(roster)) if f.unit == "d2"]
    assert [f.status for f in vacant] == ["missed"]
    at_most = ruleset({**STAFFED, "require": {"guard": {"at_most": 1}}})
    assert [f.status for f in findings(at_most, [], registry=base_registry(roster)) if f.unit == "d2"] == ["met"]
    with pytest.raises(ValidationError, match="give exactly, or at_least and/or at_most, not both"):
        ruleset({**STAFFED, "require": {"guard": {"exactly": 1, "at_most": 2}}})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 20), st.integers(0, 20)), max_size=6), st.integers(0, 3))
def test_exactly_is_at_least_and_at_most_together(spans, n):
    roster = [{"person": p, "role": "guard", "unit": "d1", "start": str(dt.date(2026, 8, 1) + dt.timedelta(days=a)),
               "end": str(dt.date(2026, 8, 1) + dt.timedelta(days=a + b))} for p, a, b in spans]
    registry = base_registry(roster)
    window = dict(first=dt.date(2026, 8, 1), last=dt.date(2026, 8, 31), registry=registry)
    exactly = findings(ruleset({**STAFFED, "require": {"guard": {"exactly": n}}}), [], **window)
    both = findings(ruleset({**STAFFED, "require": {"guard": {"at_least": n, "at_most": n}}}), [], **window)
    key = lambda f: (f.id, f.status, f.period, f.observed_count)  # noqa: E731
    assert sorted(map(key, exactly)) == sorted(map(key, both))


LABELLED = {"patrol": {"label": {"en": "patrol"}, "attributes": {"mode": {
    "type": "enum", "values": ["field", "online"],
    "value_labels": {"field": {"en": "field patrol", "zh": "实地"}, "online": {"en": "online", "zh": "线上"}}}}}}


def test_an_enum_value_given_by_its_label_is_read_as_the_value(tmp_path):
    rules = ruleset({**SPACED, "match": {"kind": "patrol", "where": {"mode": "field"}}, "at_least": 1}, event_kinds=LABELLED)
    path = tmp_path / "events.jsonl"
    path.write_text('{"id": "p1", "kind": "patrol", "time": "2026-08-01T09:00:00+08:00", "actor": "a", "unit": "d1", "attributes": {"mode": "实地"}}\n'
                    '{"id": "p2", "kind": "patrol", "time": "2026-08-02T09:00:00+08:00", "actor": "a", "unit": "d1", "attributes": {"mode": "路过"}}\n',
                    encoding="utf-8")
    log = ce.read_events([path], rules, base_registry())
    assert [e.attributes["mode"] for e in log.events] == ["field"]
    assert log.rejects[0].line == 2 and "'路过' is not one of field (实地), online (线上)" in log.rejects[0].errors[0]
    got = {f.period.label: f.status for f in findings(rules, list(log.events)) if f.subject.id == "a"}
    assert got["2026-08-01"] == "met"


REF_KINDS = {"dock": {"label": {"en": "dock"}, "parents": ["town"], "attributes": {
    "checkpoint": {"type": "ref", "refers_to": "unit", "of_kind": "town"}}}}


def test_a_ref_attribute_must_name_an_existing_record_of_its_kind():
    rules = ruleset(SUM, unit_kinds=REF_KINDS)
    text = ("units:\n  - {id: t, kind: town}\n  - {id: d1, kind: dock, parent: t, attributes: {checkpoint: t}}\n"
            "  - {id: d2, kind: dock, parent: t, attributes: {checkpoint: d1}}\n"
            "  - {id: d3, kind: dock, parent: t, attributes: {checkpoint: nowhere}}\n")
    with pytest.raises(RegistryError) as raised:
        ce.parse_registry(text, rules)
    messages = [(p.location.line, p.message) for p in raised.value.problems]
    assert (4, "'d1' is a dock, not a town") in messages
    assert (5, "'nowhere' is not a unit in the registry") in messages
    assert len(messages) == 2
    with pytest.raises((RulesetError, ValidationError)):
        _check_kinds({**REF_KINDS["dock"], "attributes": {"checkpoint": {"type": "ref", "refers_to": "unit", "of_kind": "harbour"}}})


def _check_kinds(dock: dict[str, Any]) -> None:
    from complianceengine.references import check_ruleset

    problems = check_ruleset(ruleset(SUM, unit_kinds={"dock": dock}))
    if problems:
        raise RulesetError([ce.errors.Problem(ce.errors.Location("<test>"), str(path), message) for path, message in problems])


def test_an_event_attribute_of_type_ref_is_checked_against_the_registry(tmp_path):
    kinds = {"handover": {"label": {"en": "handover"}, "requires": ["unit"],
                          "attributes": {"to": {"type": "ref", "refers_to": "person"}}}}
    rules = ruleset(SUM, event_kinds=kinds)
    path = tmp_path / "events.jsonl"
    path.write_text('{"id": "h1", "kind": "handover", "time": "2026-08-01T09:00:00+08:00", "unit": "d1", "attributes": {"to": "a"}}\n'
                    '{"id": "h2", "kind": "handover", "time": "2026-08-01T10:00:00+08:00", "unit": "d1", "attributes": {"to": "zz"}}\n',
                    encoding="utf-8")
    log = ce.read_events([path], rules, base_registry())
    assert [e.id for e in log.events] == ["h1"]
    assert log.rejects[0].errors == ("attribute 'to': 'zz' is not a person in the registry",)


def test_a_registry_attribute_given_by_its_label_is_read_as_the_value():
    kinds = {"dock": {"label": {"en": "dock"}, "parents": ["town"], "attributes": {"state": {
        "type": "enum", "values": ["open", "closed"], "value_labels": {"open": {"en": "in use", "zh": "开放"}}}}}}
    rules = ruleset(SUM, unit_kinds=kinds)
    mapping = {"units": [{"id": "t", "kind": "town"}, {"id": "d1", "kind": "dock", "parent": "t", "attributes": {"state": "开放"}},
                         {"id": "d2", "kind": "dock", "parent": "t", "attributes": {"state": "in use"}}]}
    registry = ce.parse_registry(mapping, rules)
    assert [u.attributes.get("state") for u in registry.units] == [None, "open", "open"]
    assert mapping["units"][1]["attributes"]["state"] == "开放"  # the caller's mapping is not changed
    with pytest.raises(RegistryError, match="'半开' is not one of open \\(开放\\), closed"):
        ce.parse_registry({"units": [{"id": "t", "kind": "town"}, {"id": "d1", "kind": "dock", "parent": "t",
                                                                     "attributes": {"state": "半开"}}]}, rules)


# ------------------------------------------------------------------ found in review


def test_in_at_least_with_at_most_stays_open_until_the_period_is_over():
    rules = ruleset({**MEETINGS, "at_most": 2, "in_at_least": {"periods": 12, "each": "month"}})
    year = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    events = meetings(list(range(1, 13)))
    early = audit(rules, base_registry(), events, first_day=year[0], last_day=year[1], as_of=local(2026, 12, 20))
    assert [f.status for f in early.findings if f.subject.id == "t"] == ["open"]  # December could still break the cap
    more = events + [event("x1", "meeting", local(2026, 12, 21), unit="t"), event("x2", "meeting", local(2026, 12, 22), unit="t")]
    late = audit(rules, base_registry(), more, first_day=year[0], last_day=year[1], as_of=local(2027, 1, 2))
    assert [(f.status, f.observed_count) for f in late.findings if f.subject.id == "t"] == [("missed", 11)]


def test_in_at_least_refuses_during_entries():
    with pytest.raises(ValidationError, match="in_at_least cannot be combined with `during`"):
        ruleset({**MEETINGS, "during": [{"calendar": "campaign", "at_least": 1}]},
                calendars={"campaign": {"label": {"en": "campaign"}, "windows": [{"start": "2026-09-09", "end": "2026-09-30"}]}})


def test_a_label_cannot_mean_two_values():
    with pytest.raises(ValidationError, match="a reader could not tell which value it means"):
        ruleset(SUM, event_kinds={"patrol": {"label": {"en": "patrol"}, "attributes": {"mode": {
            "type": "enum", "values": ["a", "b"], "value_labels": {"a": {"en": "x", "zh": "开"}, "b": {"en": "y", "zh": "开"}}}}}})


def test_registry_list_attributes_are_checked_item_by_item():
    kinds = {"resident": {"label": {"en": "resident"}, "unit_kind": "dock", "attributes": {"tags": {
        "type": "list", "values": ["x", "y"], "value_labels": {"x": {"en": "ex", "zh": "甲"}}}}}}
    rules = ruleset(SUM, subject_kinds=kinds)
    base = {"units": [{"id": "t", "kind": "town"}, {"id": "d1", "kind": "dock", "parent": "t"}]}

    def subject(tags):
        return {**base, "subjects": [{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01", "attributes": {"tags": tags}}]}

    assert ce.parse_registry(subject(["甲", "y"]), rules).subjects[0].attributes["tags"] == ["x", "y"]
    with pytest.raises(RegistryError, match="'zzz' is not one of x"):
        ce.parse_registry(subject(["甲", "zzz"]), rules)
    with pytest.raises(RegistryError, match="expected a list of texts"):
        ce.parse_registry(subject([1, {"k": 2}]), rules)
