"""Overlays (`extends`), resolved rulesets, and versions with effective days."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from complianceengine import RulesetError, UsageError, audit, load_ruleset
from conftest import ROOT, base_registry, event, local

EXE = Path(sys.executable).parent / "complianceengine"

BASE = """\
id: county
version: "1"
title: {en: County base}
timezone: Asia/Shanghai
sources: {doc: {short: Doc, title: {en: Doc}}}
unit_kinds:
  town: {label: {en: town}}
  dock: {label: {en: dock}, parents: [town]}
roles:
  guard: {label: {en: guard}, unit_kind: dock}
  chief: {label: {en: chief}, unit_kind: town}
event_kinds:
  patrol: {label: {en: patrol}}
  visit: {label: {en: visit}}
obligations:
  - id: daily
    kind: frequency
    title: {en: Daily patrol}
    citation: {source: doc, article: "1", quote: daily}
    applies_to: {roles: [guard]}
    match: {kind: patrol}
    period: day
    at_least: 1
  - id: weekly-visit
    kind: frequency
    title: {en: Weekly visit}
    citation: {source: doc, article: "2", quote: weekly}
    applies_to: {roles: [chief]}
    match: {kind: visit}
    period: week
    at_least: 1
"""

TOWN = """\
extends: ../county/ruleset.yaml
id: town
title: {en: Town overlay}
remove: [weekly-visit]
roles:
  guard: {label: {en: dock guard}, unit_kind: dock}
obligations:
  - id: daily
    kind: frequency
    title: {en: Twice-daily patrol}
    citation: {source: doc, article: "1", quote: daily}
    applies_to: {roles: [guard]}
    match: {kind: patrol}
    period: day
    at_least: 2
  - id: monthly-visit
    kind: frequency
    title: {en: Monthly visit}
    citation: {source: doc, article: "3", quote: monthly}
    applies_to: {roles: [chief]}
    match: {kind: visit}
    period: month
    at_least: 1
"""


def write(tmp_path, base=BASE, town=TOWN):
    (tmp_path / "county").mkdir(exist_ok=True)
    (tmp_path / "town").mkdir(exist_ok=True)
    (tmp_path / "county" / "ruleset.yaml").write_text(base, encoding="utf-8")
    (tmp_path / "town" / "ruleset.yaml").write_text(town, encoding="utf-8")
    return tmp_path / "town" / "ruleset.yaml"


def test_an_overlay_replaces_adds_and_removes_by_id_and_name(tmp_path):
    ruleset = load_ruleset(write(tmp_path))
    assert (ruleset.id, ruleset.version, ruleset.title.en) == ("town", "1", "Town overlay")  # version inherited
    assert [o.id for o in ruleset.obligations] == ["daily", "monthly-visit"]  # replaced in place, added at the end
    assert ruleset.obligation("daily").at_least == 2
    assert ruleset.roles["guard"].label.en == "dock guard" and "chief" in ruleset.roles
    assert list(ruleset.event_kinds) == ["patrol", "visit"]


def test_errors_point_into_the_file_they_are_in(tmp_path):
    town = write(tmp_path, base=BASE.replace("match: {kind: visit}", "match: {kind: vist}"), town=TOWN.replace("remove: [weekly-visit]\n", ""))
    with pytest.raises(RulesetError) as caught:
        load_ruleset(town)
    [problem] = caught.value.problems
    assert problem.location.file.endswith("county/ruleset.yaml") and problem.location.line == 29 and "did you mean 'visit'" in problem.message
    town = write(tmp_path, town=TOWN.replace("at_least: 2", "at_least: two"))
    with pytest.raises(RulesetError) as caught:
        load_ruleset(town)
    [problem] = caught.value.problems
    assert problem.location.file.endswith("town/ruleset.yaml") and problem.location.line == 15


def test_cycles_missing_bases_and_unknown_removals_are_errors(tmp_path):
    town = write(tmp_path, base="extends: ../town/ruleset.yaml\n" + BASE)
    with pytest.raises(RulesetError, match="a cycle"):
        load_ruleset(town)
    with pytest.raises(RulesetError, match="does not exist"):
        load_ruleset(write(tmp_path, town=TOWN.replace("../county/", "../nowhere/")))
    with pytest.raises(RulesetError, match=r"no obligations \['yearly'\] to remove") as caught:
        load_ruleset(write(tmp_path, town=TOWN.replace("remove: [weekly-visit]", "remove: [yearly]")))
    assert caught.value.problems[0].location.line == 4


def test_check_resolved_and_lint_locations_through_the_command(tmp_path):
    town = write(tmp_path, town=TOWN.replace('quote: monthly}', '}'))
    result = subprocess.run([str(EXE), "check", str(town), "--resolved", "--fail-on", "error"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "at_least: 2" in result.stdout and "monthly-visit" in result.stdout and "weekly-visit" not in result.stdout
    assert f"{town}:19:5: info CE108 missing-quote" in result.stdout


def versions(tmp_path):
    v1 = BASE.replace('version: "1"', 'version: "2022.1"\neffective: {from: 2022-01-01, until: 2026-08-15}')
    v2 = BASE.replace('version: "1"', 'version: "2026.1"\neffective: {from: 2026-08-16}').replace("at_least: 1\n  - id: weekly", "at_least: 2\n  - id: weekly")
    (tmp_path / "v1.yaml").write_text(v1, encoding="utf-8")
    (tmp_path / "v2.yaml").write_text(v2, encoding="utf-8")
    return load_ruleset(tmp_path / "v1.yaml"), load_ruleset(tmp_path / "v2.yaml")


def test_a_range_spanning_two_versions_applies_each_to_its_own_days(tmp_path):
    old, new = versions(tmp_path)
    events = [event(f"e{d}", "patrol", local(2026, 8, d, 9), actor="a", unit="d1") for d in range(13, 19)]
    report = audit([new, old], base_registry(), events, first_day=dt.date(2026, 8, 13), last_day=dt.date(2026, 8, 18),
                   as_of=local(2026, 9, 1, 0))
    daily = {f.period.label: (f.required_count, f.status) for f in report.findings if f.obligation == "daily" and f.subject.id == "a"}
    assert daily == {"2026-08-13": (1, "met"), "2026-08-14": (1, "met"), "2026-08-15": (1, "met"),
                     "2026-08-16": (2, "missed"), "2026-08-17": (2, "missed"), "2026-08-18": (2, "missed")}
    assert [(v.version, str(v.first_day), str(v.last_day)) for v in report.versions] == [
        ("2022.1", "2026-08-13", "2026-08-15"), ("2026.1", "2026-08-16", "2026-08-18")]
    assert report.ruleset_version == "2022.1, 2026.1" and report.first_day == dt.date(2026, 8, 13)
    # each week is judged whole, by the audit that holds its last day and the version in force
    # then: W33 (10 to 16 August) by 2026.1; W34 ends on the 23rd, after the range
    weekly = sorted(f.period.label for f in report.findings if f.obligation == "weekly-visit" and f.subject.id == "c")
    assert weekly == ["2026-W33"]


def test_uncovered_or_overlapping_versions_are_refused(tmp_path):
    old, new = versions(tmp_path)
    with pytest.raises(UsageError, match="no version of ruleset 'county' is in effect on 2026-08-16 to 2026-08-20"):
        audit([old], base_registry(), [], first_day=dt.date(2026, 8, 10), last_day=dt.date(2026, 8, 20), as_of=local(2026, 9, 1, 0))
    clash = new.model_copy(update={"effective": old.effective})
    with pytest.raises(UsageError, match="both in effect"):
        audit([old, clash], base_registry(), [], first_day=dt.date(2026, 8, 10), last_day=dt.date(2026, 8, 12), as_of=local(2026, 9, 1, 0))


def test_the_command_line_audits_across_versions(tmp_path):
    versions(tmp_path)
    registry = tmp_path / "registry.yaml"
    registry.write_text("units: [{id: t1, kind: town}, {id: d1, kind: dock, parent: t1}]\npeople: [{id: a, name: A}]\n"
                        "assignments: [{person: a, role: guard, unit: d1, start: 2026-01-01}]\n", encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(f'{{"id": "e{d}", "kind": "patrol", "time": "2026-08-{d}T09:00:00+08:00", "actor": "a", "unit": "d1"}}\n'
                              for d in range(13, 19)), encoding="utf-8")
    result = subprocess.run([str(EXE), "audit", str(tmp_path / "v1.yaml"), str(tmp_path / "v2.yaml"), "--registry", str(registry),
                             "--events", str(events), "--from", "2026-08-13", "--to", "2026-08-18", "--as-of", "2026-09-01T00:00:00",
                             "--format", "json"], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert '"version": "2026.1"' in result.stdout and '"ruleset_version": "2022.1, 2026.1"' in result.stdout


def test_splitting_a_range_between_identical_versions_changes_no_verdict():
    """Review finding: versions compiled over their own days restarted cadence clocks and
    re-anchored fixed periods at the change."""
    from complianceengine.model import Effective
    from conftest import base_ruleset

    ruleset = base_ruleset(
        {"id": "visits", "kind": "cadence", "applies_to": {"roles": ["guard"]}, "match": {"kind": "visit"}, "max_gap": "P1M"},
        {"id": "fortnightly", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"},
         "period": {"every": "P14D"}, "at_least": 1},
        {"id": "weekly", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "week", "at_least": 1},
    )
    old = ruleset.model_copy(update={"version": "a", "effective": Effective.model_validate({"from": "2026-01-01", "until": "2026-08-16"})})
    new = ruleset.model_copy(update={"version": "b", "effective": Effective.model_validate({"from": "2026-08-17"})})
    events = [event("v1", "visit", local(2026, 8, 2, 10), actor="a", unit="d1"), event("v2", "visit", local(2026, 9, 10, 10), actor="a", unit="d1"),
              event("p1", "patrol", local(2026, 8, 10, 9), actor="a", unit="d1"), event("p2", "patrol", local(2026, 8, 20, 9), actor="a", unit="d1")]
    args = dict(first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 9, 30), as_of=local(2026, 10, 1, 0))
    whole = audit(ruleset, base_registry(), events, **args)
    split = audit([old, new], base_registry(), events, **args)
    assert sorted(f.model_dump_json() for f in whole.findings) == sorted(f.model_dump_json() for f in split.findings)
    assert any(f.obligation == "visits" and f.status == "missed" for f in split.findings)  # the 39-day gap


@pytest.mark.parametrize(
    ("change", "message", "line"),
    [
        (("remove: [weekly-visit]", "remove: 5"), "remove must be a list of obligation ids", 4),
        (("remove: [weekly-visit]", "remove: weekly-visit"), "remove must be a list of obligation ids", 4),
        (("remove: [weekly-visit]", "remove: [[a]]"), "remove must be a list of obligation ids", 4),
        (("roles:\n  guard: {label: {en: dock guard}, unit_kind: dock}", "roles: [guard]"), "roles must be a mapping", 5),
        (("  - id: monthly-visit", "  - id: daily"), "obligation id 'daily' is already used by obligations[0] of this file", 16),
        (("  - id: monthly-visit", "  - id: [a]"), "every obligation needs a text id", 16),
    ],
)
def test_malformed_overlays_are_located_errors_not_tracebacks(tmp_path, change, message, line):
    with pytest.raises(RulesetError) as caught:
        load_ruleset(write(tmp_path, town=TOWN.replace(*change)))
    assert message in str(caught.value) and caught.value.problems[0].location.line == line


def test_remove_without_a_base_is_an_error(tmp_path):
    path = tmp_path / "ruleset.yaml"
    path.write_text(BASE + "remove: [daily]\n", encoding="utf-8")
    with pytest.raises(RulesetError, match="remove is for an overlay"):
        load_ruleset(path)


def _staffing_versions():
    from complianceengine.model import Effective
    from conftest import base_ruleset

    def version(name, effective, guards, *extra):
        ruleset = base_ruleset({"id": "staffed", "kind": "staffing", "applies_to": {"unit_kind": "dock"}, "require": {"guard": guards}},
                               *extra)
        return ruleset.model_copy(update={"version": name, "effective": Effective.model_validate(effective)})

    weekly = {"id": "weekly", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "week",
              "at_least": 1}
    return version("1", {"from": "2026-01-01", "until": "2026-08-15"}, 1), version("2", {"from": "2026-08-16"}, 2, weekly)


def test_each_version_judges_staffing_on_its_own_days():
    """Review finding: staffing (no decision time) came from the version in force on the range's
    first day, so a later version's requirement was never applied."""
    old, new = _staffing_versions()
    report = audit([old, new], base_registry(), [], first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 31),
                   as_of=local(2026, 9, 1, 0))
    d1 = [(f.period.label, f.status, f.required_count) for f in report.findings if f.obligation == "staffed" and f.unit == "d1"]
    assert d1 == [("2026-08-01 to 2026-08-15", "met", 1), ("2026-08-16 to 2026-08-31", "missed", 2)]


def test_an_obligation_a_later_version_adds_starts_with_that_version():
    """Review finding: a duty added by a later version started at the first version's start, so
    the week that straddles the change was judged whole instead of as a partial week."""
    old, new = _staffing_versions()
    events = [event("p1", "patrol", local(2026, 8, 12, 9), actor="a", unit="d1")]
    report = audit([old, new], base_registry(), events, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 31),
                   as_of=local(2026, 9, 1, 0))
    weekly = [(f.period.label, f.status) for f in report.findings if f.obligation == "weekly" and f.subject.id == "a"]
    # W33 (10 to 16 August): the duty exists on the 16th only, a partial week (not judged by the majority rule)
    assert weekly[0] == ("2026-W33", "not_applicable")
    assert [status for _, status in weekly[1:]] == ["missed", "missed"]  # W34, W35


def test_identical_versions_split_staffing_at_the_change_and_the_vacant_days_add_up():
    from complianceengine.model import Effective
    from conftest import base_ruleset

    ruleset = base_ruleset({"id": "staffed", "kind": "staffing", "applies_to": {"unit_kind": "dock"}, "require": {"guard": 1}})
    old = ruleset.model_copy(update={"version": "a", "effective": Effective.model_validate({"from": "2026-01-01", "until": "2026-08-16"})})
    new = ruleset.model_copy(update={"version": "b", "effective": Effective.model_validate({"from": "2026-08-17"})})
    registry = base_registry([{"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01", "end": "2026-08-10"},
                              {"person": "b", "role": "guard", "unit": "d2", "start": "2026-01-01"}])
    args = dict(first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 31), as_of=local(2026, 9, 1, 0))

    def vacant(report):
        return sum((f.period.end - f.period.start).days for f in report.findings if f.status == "missed")

    whole, split = audit(ruleset, registry, [], **args), audit([old, new], registry, [], **args)
    assert vacant(whole) == vacant(split) == 21  # d1 from 11 August
    assert [f.period.label for f in split.findings if f.unit == "d1" and f.status == "missed"] == [
        "2026-08-11 to 2026-08-16", "2026-08-17 to 2026-08-31"]
