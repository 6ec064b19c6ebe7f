"""Finding ids: one per verdict, the same for the same period, gap, case step or vacancy however
it is judged."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import ValidationError

from complianceengine import audit, load_registry, load_ruleset, read_events
from complianceengine.findings import SubjectRef, finding_id

from conftest import ROOT, base_registry, base_ruleset, event, local

BUNDLED = ["xiangshan", "shanghai", "zhangjiagang", "zhongshan"]

DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1}
ACK = {"id": "ack", "kind": "response", "trigger": {"kind": "report"}, "correlate_on": ["case"],
       "steps": [{"id": "acked", "match": {"kind": "ack"}, "within": "PT24H"}]}


@pytest.mark.parametrize("name", BUNDLED)
def test_ids_are_unique_in_every_bundled_report(name):
    golden = json.loads((ROOT / "tests" / "golden" / f"{name}.json").read_text(encoding="utf-8"))
    ids = [f["id"] for f in golden["findings"]]
    assert len(ids) == len(set(ids)) and all(len(i) == 16 for i in ids)


def test_a_period_keeps_its_id_when_its_verdict_changes():
    ruleset, registry = base_ruleset(DAILY), base_registry()
    day = dict(first_day=dt.date(2026, 9, 1), last_day=dt.date(2026, 9, 1))
    before = audit(ruleset, registry, [], as_of=local(2026, 9, 1, 12), **day)
    after = audit(ruleset, registry, [event("p1", "patrol", local(2026, 9, 1, 9), actor="a", unit="d1")], as_of=local(2026, 9, 3), **day)
    status = lambda report: {f.id: (f.subject.id, f.status) for f in report.findings}  # noqa: E731
    assert status(before).keys() == status(after).keys()
    assert {v for v in status(before).values()} == {("a", "open"), ("b", "open")}
    assert ("a", "met") in status(after).values()


def test_two_cases_with_the_same_key_have_their_own_ids():
    # two reports of case A: one ack answers the first; they are two verdicts, not one
    events = [
        event("r1", "report", local(2026, 9, 1, 9), unit="d1", attributes={"case": "A"}),
        event("r2", "report", local(2026, 9, 2, 9), unit="d1", attributes={"case": "A"}),
    ]
    report = audit(base_ruleset(ACK), base_registry(), events, first_day=dt.date(2026, 9, 1), last_day=dt.date(2026, 9, 30),
                   as_of=local(2026, 10, 1))
    assert len({f.id for f in report.findings}) == len(report.findings) == 2


def test_the_id_depends_on_identity_only():
    person = SubjectRef(kind="person", id="a", role="guard")
    base = finding_id("mini", "daily", person, "d1", None, None, "2026-09-01T00:00:00+00:00")
    assert base == finding_id("mini", "daily", person.model_copy(update={"name": "A"}), "d1", None, None, "2026-09-01T00:00:00+00:00")
    for other in (
        finding_id("other", "daily", person, "d1", None, None, "2026-09-01T00:00:00+00:00"),
        finding_id("mini", "daily", person, "d2", None, None, "2026-09-01T00:00:00+00:00"),
        finding_id("mini", "daily", person, "d1", "step", None, "2026-09-01T00:00:00+00:00"),
        finding_id("mini", "daily", person, "d1", None, "campaign", "2026-09-01T00:00:00+00:00"),
        finding_id("mini", "daily", person.model_copy(update={"role": "chief"}), "d1", None, None, "2026-09-01T00:00:00+00:00"),
    ):
        assert other != base


def test_a_library_audit_gives_the_ids_of_the_golden_report():
    ruleset = load_ruleset(ROOT / "rulesets" / "zhongshan" / "ruleset.yaml")
    registry = load_registry(ROOT / "rulesets" / "zhongshan" / "sample" / "registry.yaml", ruleset)
    events = read_events(ROOT / "rulesets" / "zhongshan" / "sample" / "events.jsonl", ruleset, registry)
    report = audit(ruleset, registry, events, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 10, 31),
                   as_of=dt.datetime.fromisoformat("2026-11-01T00:00:00+08:00"))
    golden = json.loads((ROOT / "tests" / "golden" / "zhongshan.json").read_text(encoding="utf-8"))
    assert [f.id for f in report.findings] == [f["id"] for f in golden["findings"]]


@pytest.mark.parametrize("name", BUNDLED)
def test_every_finding_round_trips_through_its_fields(name):
    """Each finding of a bundled audit (the plain frequency periods judged in the loop too) is
    what validating its dumped fields gives, in Python and in JSON, with the same types."""
    from complianceengine.findings import Finding

    from test_explain import load_sample

    ruleset, registry, events, args = load_sample(name)
    findings = audit(ruleset, registry, events, **args).findings
    for finding in findings:
        validated = Finding.model_validate(finding.model_dump())
        assert validated == finding and validated.model_dump_json() == finding.model_dump_json()
        assert [type(getattr(validated, n)) for n in Finding.model_fields] == [type(getattr(finding, n)) for n in Finding.model_fields]
    if name == "xiangshan":  # hundreds of plain daily and weekly periods
        assert sum(f.obligation_kind == "frequency" and f.window is None and f.note is None for f in findings) > 100


def test_findings_and_events_have_the_model_methods_callers_use():
    import dataclasses

    from complianceengine import Event, Finding

    report = audit(base_ruleset(DAILY), base_registry(), [event("p1", "patrol", local(2026, 9, 1, 9), actor="a", unit="d1")],
                   first_day=dt.date(2026, 9, 1), last_day=dt.date(2026, 9, 1), as_of=local(2026, 9, 2))
    finding = report.findings[0]
    assert Finding.model_validate_json(finding.model_dump_json()) == finding
    assert Finding.model_validate(finding.model_dump()) == finding
    deep = finding.model_copy(update={"status": "missed"}, deep=True)
    assert deep.status == "missed" and deep.subject == finding.subject and deep.subject is not finding.subject
    assert "evidence" in Finding.model_json_schema()["properties"] and list(Finding.model_fields)[0] == "id"
    with pytest.raises(ValidationError):  # a copy validates what it is given
        finding.model_copy(update={"status": "fine"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.status = "missed"  # type: ignore[misc]
    e = event("p2", "patrol", local(2026, 9, 1, 9), actor="a", unit="d1")
    assert Event.model_validate_json(e.model_dump_json()) == e and e.model_copy(deep=True) == e
