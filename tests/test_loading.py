"""Loading rulesets, registries and events: counts, located errors, rejects, immutability.

Bad inputs are made by substituting text in the bundled Xiangshan ruleset and registry, so every
error is checked against the line and column where the bad text really sits in the written file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from complianceengine import (
    EventSourceError,
    RegistryError,
    RulesetError,
    load_registry,
    load_ruleset,
    read_events,
    write_rejects,
)

ROOT = Path(__file__).resolve().parent.parent
XIANGSHAN = ROOT / "rulesets" / "xiangshan"
RULESET_PATH = XIANGSHAN / "ruleset.yaml"
REGISTRY_PATH = XIANGSHAN / "sample" / "registry.yaml"
EVENTS_PATH = XIANGSHAN / "sample" / "events.jsonl"
RULESET_TEXT = RULESET_PATH.read_text(encoding="utf-8")
REGISTRY_TEXT = REGISTRY_PATH.read_text(encoding="utf-8")

EIGHT_HOURS = dt.timedelta(hours=8)


# --------------------------------------------------------------------------------------------
# helpers


@pytest.fixture(scope="module")
def ruleset():
    return load_ruleset(RULESET_PATH)


@pytest.fixture(scope="module")
def registry(ruleset):
    return load_registry(REGISTRY_PATH, ruleset)


def substitute(text: str, *pairs: tuple[str, str]) -> str:
    """Replace each ``old`` (which must occur exactly once) by ``new``."""
    for old, new in pairs:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the source text"
        text = text.replace(old, new)
    return text


def position(text: str, anchor: str, target: str | None = None) -> tuple[int, int]:
    """1-based (line, column) of ``target`` inside the unique ``anchor`` in ``text``."""
    assert text.count(anchor) == 1, f"{anchor!r} occurs {text.count(anchor)} times"
    target = anchor if target is None else target
    assert target in anchor
    offset = text.index(anchor) + anchor.index(target)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def ruleset_error(tmp_path: Path, text: str) -> tuple[Path, RulesetError]:
    path = write(tmp_path, "ruleset.yaml", text)
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    assert info.value.problems, "a RulesetError must list at least one problem"
    for problem in info.value.problems:
        assert problem.location.file == str(path)
    return path, info.value


def registry_error(tmp_path: Path, text: str, ruleset) -> tuple[Path, RegistryError]:
    path = write(tmp_path, "registry.yaml", text)
    with pytest.raises(RegistryError) as info:
        load_registry(path, ruleset)
    assert info.value.problems, "a RegistryError must list at least one problem"
    for problem in info.value.problems:
        assert problem.location.file == str(path)
    return path, info.value


# --------------------------------------------------------------------------------------------
# 1. the bundled inputs load


def test_bundled_ruleset_loads_with_expected_counts(ruleset):
    assert ruleset.id == "xiangshan"
    assert ruleset.version == "2022.1"
    assert ruleset.timezone == "Asia/Shanghai"
    assert len(ruleset.obligations) == 14
    kinds = [o.kind for o in ruleset.obligations]
    assert kinds.count("frequency") == 5
    assert kinds.count("cadence") == 1
    assert kinds.count("completeness") == 2
    assert kinds.count("response") == 3
    assert kinds.count("staffing") == 3
    assert len(ruleset.event_kinds) == 12
    assert len(ruleset.roles) == 13
    assert list(ruleset.unit_kinds) == ["county", "town", "village", "grid", "dock"]
    assert list(ruleset.sources) == ["xiangshan-2022"]
    assert list(ruleset.calendars) == ["special-campaign", "low-water"]
    assert set(ruleset.subject_kinds) == {"key_person", "risk_point"}
    assert len({o.id for o in ruleset.obligations}) == 14
    # a few values that must survive parsing
    assert ruleset.obligation("dock-chief-weekly-patrol").period == "week"
    assert ruleset.obligation("lead-timely-handling").steps[1].within.in_days() == 3
    assert ruleset.obligation("key-person-monthly-visit").citation.article == "15.2"
    assert ruleset.event_kinds["patrol"].attributes["mode"].values == ["field", "online"]


def test_bundled_registry_loads_with_expected_counts(registry):
    assert len(registry.units) == 13
    assert len(registry.people) == 28
    assert len(registry.assignments) == 41
    assert len(registry.subjects) == 6
    assert len(registry.exemptions) == 1
    kinds = [u.kind for u in registry.units]
    assert {k: kinds.count(k) for k in set(kinds)} == {"county": 1, "town": 2, "village": 3, "grid": 3, "dock": 4}
    fanxi_guards = [a for a in registry.assignments if a.unit == "fanxi-dock" and a.role == "dock_staff"]
    assert [(a.person, a.start, a.end) for a in fanxi_guards] == [
        ("p-du-xin", dt.date(2026, 1, 1), dt.date(2026, 9, 14)),
        ("p-jiang-bin", dt.date(2026, 9, 16), None),
    ]


def test_bundled_events_account_for_every_line(ruleset, registry):
    log = read_events(EVENTS_PATH, ruleset, registry)
    nonblank = [line for line in EVENTS_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    identical = [d for d in log.duplicates if d.identical]
    assert len(log.events) + len(log.rejects) + len(identical) == len(nonblank) == 729
    # planted in the sample (see its README)
    assert sorted(r.line for r in log.rejects) == [41, 81, 121]
    assert [(d.line, d.first_line, d.identical) for d in log.duplicates] == [(161, 160, True)]
    for reject in log.rejects:
        assert reject.raw == nonblank[reject.line - 1]
        assert reject.file == str(EVENTS_PATH)
    by_line = {r.line: r for r in log.rejects}
    assert "2026-09-31" in by_line[41].errors[0]
    assert "JSON" in by_line[81].errors[0]
    assert "patrl" in by_line[121].errors[0]
    assert len({e.id for e in log.events}) == len(log.events)


# --------------------------------------------------------------------------------------------
# 2. ruleset errors are located


WEEKLY = "    period: week\n    at_least: 1\n\n  - id: grid"  # the weekly patrol obligation (obligations[1])


def test_misspelt_period_is_located(tmp_path):
    text = substitute(RULESET_TEXT, (WEEKLY, WEEKLY.replace("week", "wek")))
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    assert len(error.problems) == 1
    assert (problem.location.line, problem.location.column) == position(text, "    period: wek\n", "wek")
    assert problem.path == "obligations[1].period"
    assert "'wek'" in problem.message and "'week'" in problem.message


def test_unknown_key_in_obligation_is_located(tmp_path):
    text = substitute(RULESET_TEXT, ("    period: day\n    at_least: 1\n", "    period: day\n    at_least: 1\n    colour: red\n"))
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    assert (problem.location.line, problem.location.column) == position(text, "    colour: red", "colour")
    assert problem.path == "obligations[0].colour"
    assert "unknown field 'colour'" in problem.message


def test_unknown_key_in_flow_mapping_is_located(tmp_path):
    anchor = 'citation: {source: xiangshan-2022, article: "22", quote:'
    text = substitute(RULESET_TEXT, (anchor, anchor.replace("quote", "qoute")))
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    assert (problem.location.line, problem.location.column) == position(text, '"22", qoute:', "qoute")
    assert "qoute" in problem.message


def test_unknown_role_in_applies_to_is_located(tmp_path):
    text = substitute(RULESET_TEXT, ("applies_to: {roles: [dock_staff]}", "applies_to: {roles: [dock_stuff]}"))
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    assert (problem.location.line, problem.location.column) == position(text, "[dock_stuff]", "dock_stuff")
    assert problem.path == "obligations[0].applies_to.roles[0]"
    assert "did you mean 'dock_staff'" in problem.message


def test_role_with_undeclared_unit_kind_is_located(tmp_path):
    text = substitute(RULESET_TEXT, ("unit_kind: town}\n  anti", "unit_kind: township}\n  anti"))
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    # the line holds Chinese text before the value: columns count characters
    assert (problem.location.line, problem.location.column) == position(text, "unit_kind: township}", "township")
    assert problem.path == "roles.section_chief.unit_kind"
    assert "'township'" in problem.message and "did you mean 'town'" in problem.message


def test_unknown_citation_source_is_located(tmp_path):
    anchor = 'citation: {source: xiangshan-2022, article: "11"'
    text = substitute(RULESET_TEXT, (anchor, anchor.replace("2022", "2O22")))
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    assert (problem.location.line, problem.location.column) == position(text, "source: xiangshan-2O22", "xiangshan-2O22")
    assert "did you mean 'xiangshan-2022'" in problem.message


def test_invalid_duration_is_located(tmp_path):
    text = substitute(RULESET_TEXT, ("within: PT2H", "within: P1X"))
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    assert (problem.location.line, problem.location.column) == position(text, "within: P1X", "P1X")
    assert problem.path == "obligations[8].steps[0].within"
    assert "'P1X'" in problem.message and "duration" in problem.message


def test_duplicate_obligation_id_points_at_the_second_one(tmp_path):
    text = substitute(RULESET_TEXT, ("id: dock-chief-weekly-patrol", "id: dock-staff-daily-patrol"))
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    second = text.index("id: dock-staff-daily-patrol", text.index("id: dock-staff-daily-patrol") + 1)
    line = text.count("\n", 0, second) + 1
    assert problem.location.line == line
    assert problem.path == "obligations[1].id"
    assert "dock-staff-daily-patrol" in problem.message and "already used" in problem.message


def test_correlate_on_field_the_event_kinds_lack_is_located(tmp_path):
    text = substitute(RULESET_TEXT, ("correlate_on: [report_id]", "correlate_on: [info_id]"))
    _, error = ruleset_error(tmp_path, text)
    expected = position(text, "correlate_on: [info_id]\n    steps:\n      - id: repaired", "info_id")
    problem = error.problems[0]
    assert (problem.location.line, problem.location.column) == expected
    assert "'info_id'" in problem.message and "damage_reported" in problem.message
    # every kind in that obligation lacks the field, and each is named
    named = " ".join(p.message for p in error.problems)
    for kind in ("damage_reported", "repair_done", "repair_feedback"):
        assert kind in named


def test_enum_condition_value_outside_values_is_located(tmp_path):
    text = substitute(
        RULESET_TEXT,
        ("match: {kind: patrol}\n    period: day", "match: {kind: patrol, where: {mode: onsite}}\n    period: day"),
    )
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    assert (problem.location.line, problem.location.column) == position(text, "{mode: onsite}", "onsite")
    assert "'onsite'" in problem.message and "field, online" in problem.message


def test_invalid_yaml_syntax_is_located(tmp_path):
    old = "    period: month\n    at_least: 1\n    during:"
    text = substitute(RULESET_TEXT, (old, old.replace("at_least: 1", "at_least: 1: 2")))
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    assert len(error.problems) == 1
    assert (problem.location.line, problem.location.column) == position(text, "at_least: 1: 2", ": 2")
    assert "invalid YAML" in problem.message


def test_duplicate_yaml_key_points_at_the_repeat(tmp_path):
    old = "    period: week\n    at_least: 1\n"
    text = substitute(RULESET_TEXT, (WEEKLY, WEEKLY.replace(old, old + "    period: day\n")))
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    assert problem.location.line == position(text, "    at_least: 1\n    period: day\n", "period: day")[0]
    assert "duplicate key" in problem.message and "period" in problem.message


@pytest.mark.parametrize("text", ["- just\n- a list\n", "just text\n", ""])
def test_non_mapping_top_level(tmp_path, text):
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    assert problem.location.line == 1
    assert "mapping" in problem.message


def test_missing_file_is_a_ruleset_error(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    assert info.value.problems[0].location.file == str(path)
    assert "cannot read" in info.value.problems[0].message


def test_missing_required_field_points_at_the_obligation(tmp_path):
    text = substitute(RULESET_TEXT, ("    max_gap: P1M\n", ""))
    _, error = ruleset_error(tmp_path, text)
    problem = error.problems[0]
    assert problem.location.line == position(text, "  - id: key-person-monthly-visit")[0]
    assert "missing required field 'max_gap'" in problem.message


def test_several_validation_problems_are_reported_together(tmp_path):
    text = substitute(
        RULESET_TEXT,
        (WEEKLY, WEEKLY.replace("week", "wek")),
        ("within: PT2H", "within: P1X"),
        ("    require: {section_chief: 1}\n", "    require: {section_chief: 1}\n    colour: red\n"),
    )
    _, error = ruleset_error(tmp_path, text)
    got = [(p.location.line, p.location.column) for p in error.problems]
    assert got == [
        position(text, "    period: wek\n", "wek"),
        position(text, "within: P1X", "P1X"),
        position(text, "    colour: red", "colour"),
    ]
    # the exception text lists them all, each as file:line:column
    for p in error.problems:
        assert f"{p.location.file}:{p.location.line}:{p.location.column}" in str(error)


def test_several_reference_problems_are_reported_together(tmp_path):
    anchor = 'citation: {source: xiangshan-2022, article: "11"'
    text = substitute(
        RULESET_TEXT,
        ("applies_to: {roles: [dock_staff]}", "applies_to: {roles: [dock_stuff]}"),
        (anchor, anchor.replace("2022", "2O22")),
        ("id: town-anti-smuggling-officer", "id: town-section-chief"),
    )
    _, error = ruleset_error(tmp_path, text)
    assert [p.location.line for p in error.problems] == [
        position(text, "[dock_stuff]")[0],
        position(text, "xiangshan-2O22")[0],
        text.count("\n", 0, text.rindex("id: town-section-chief")) + 1,
    ]


# --------------------------------------------------------------------------------------------
# 3. registry errors are located


XIAOBAI_GUARD = "{person: p-ye-qing, role: dock_staff, unit: xiaobai-dock,"


def test_assignment_at_unit_of_wrong_kind(tmp_path, ruleset):
    text = substitute(REGISTRY_TEXT, (XIAOBAI_GUARD, XIAOBAI_GUARD.replace("xiaobai-dock", "xiaobai-g1")))
    _, error = registry_error(tmp_path, text, ruleset)
    problem = error.problems[0]
    assert len(error.problems) == 1
    assert (problem.location.line, problem.location.column) == position(text, "dock_staff, unit: xiaobai-g1", "xiaobai-g1")
    assert problem.path == "assignments[40].unit"
    assert "dock_staff" in problem.message and "grid" in problem.message


def test_unknown_person_in_assignment(tmp_path, ruleset):
    text = substitute(REGISTRY_TEXT, (XIAOBAI_GUARD, XIAOBAI_GUARD.replace("p-ye-qing", "p-ye-qinq")))
    _, error = registry_error(tmp_path, text, ruleset)
    problem = error.problems[0]
    assert (problem.location.line, problem.location.column) == position(text, "{person: p-ye-qinq", "p-ye-qinq")
    assert "did you mean 'p-ye-qing'" in problem.message


def test_unit_under_parent_of_wrong_kind(tmp_path, ruleset):
    old = "{id: fanxi-dock, kind: dock, parent: fanxi-g1,"
    text = substitute(REGISTRY_TEXT, (old, old.replace("fanxi-g1", "fanxi")))
    _, error = registry_error(tmp_path, text, ruleset)
    problem = error.problems[0]
    assert (problem.location.line, problem.location.column) == position(text, "kind: dock, parent: fanxi,", "fanxi")
    assert problem.path == "units[11].parent"
    assert "'fanxi'" in problem.message and "grid" in problem.message


def test_unknown_unit_kind(tmp_path, ruleset):
    text = substitute(REGISTRY_TEXT, ("{id: hepu, kind: town,", "{id: hepu, kind: tonw,"))
    _, error = registry_error(tmp_path, text, ruleset)
    problem = error.problems[0]
    assert (problem.location.line, problem.location.column) == position(text, "kind: tonw", "tonw")
    assert "did you mean 'town'" in problem.message


def test_duplicate_unit_id(tmp_path, ruleset):
    last = "  - {id: xiaobai-dock, kind: dock, parent: xiaobai-g1, name: {zh: 小百丈码头, en: Xiaobaizhang dock}}\n"
    extra = "  - {id: fanxi-dock, kind: dock, parent: xiaobai-g1}\n"
    text = substitute(REGISTRY_TEXT, (last, last + extra))
    _, error = registry_error(tmp_path, text, ruleset)
    problem = error.problems[0]
    assert (problem.location.line, problem.location.column) == position(text, extra, "fanxi-dock")
    assert problem.path == "units[13].id"
    assert "fanxi-dock" in problem.message and "already used" in problem.message


def test_several_registry_problems_are_reported_together(tmp_path, ruleset):
    text = substitute(
        REGISTRY_TEXT,
        (XIAOBAI_GUARD, XIAOBAI_GUARD.replace("p-ye-qing", "p-ye-qinq").replace("xiaobai-dock", "xiaobai-g1")),
        ("{person: p-chen-jun, role: section_chief, unit: shipu", "{person: p-chen-jun, role: section_chef, unit: shipu"),
    )
    _, error = registry_error(tmp_path, text, ruleset)
    assert [(p.path, p.location.line) for p in error.problems] == [
        ("assignments[0].role", position(text, "section_chef")[0]),
        ("assignments[40].person", position(text, "p-ye-qinq")[0]),
        ("assignments[40].unit", position(text, "p-ye-qinq")[0]),
    ]


def test_registry_yaml_error_is_a_registry_error(tmp_path, ruleset):
    text = substitute(REGISTRY_TEXT, ("  - {id: p-li-hua, name: 李华}\n", "  - {id: p-li-hua, name: 李华\n"))
    _, error = registry_error(tmp_path, text, ruleset)
    assert "invalid YAML" in error.problems[0].message
    assert error.problems[0].location.line is not None


# --------------------------------------------------------------------------------------------
# 4. events


def jsonl(**fields) -> str:
    return json.dumps(fields, ensure_ascii=False)


def patrol(id: str, time: str = "2026-09-01T09:30:00", **more) -> str:
    fields = {"id": id, "kind": "patrol", "time": time, "actor": "p-du-xin", "unit": "fanxi-dock", "attributes": {"mode": "field"}}
    fields.update(more)
    return jsonl(**fields)


def test_naive_times_are_read_in_the_ruleset_zone_and_z_keeps_the_instant(tmp_path, ruleset, registry, monkeypatch):
    # a machine zone far from Shanghai must not leak in
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        path = write(tmp_path, "e.jsonl", "\n".join([
            patrol("n1", "2026-09-01T09:30:00"),
            patrol("z1", "2026-09-01T01:30:00Z"),
            patrol("o1", "2026-09-01T09:30:00+08:00"),
        ]) + "\n")
        log = read_events(path, ruleset, registry)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert log.rejects == ()
    by_id = {e.id: e for e in log.events}
    naive, zulu, offset = by_id["n1"].time, by_id["z1"].time, by_id["o1"].time
    assert naive.utcoffset() == EIGHT_HOURS
    assert (naive.hour, naive.minute) == (9, 30)
    assert naive == dt.datetime(2026, 9, 1, 1, 30, tzinfo=dt.timezone.utc)
    assert zulu.utcoffset() == dt.timedelta(0)
    assert zulu == dt.datetime(2026, 9, 1, 1, 30, tzinfo=dt.timezone.utc)
    assert offset == naive


def test_naive_times_follow_the_rulesets_own_zone(tmp_path):
    rules = load_ruleset(write(tmp_path, "tokyo.yaml", substitute(RULESET_TEXT, ("timezone: Asia/Shanghai", "timezone: Asia/Tokyo"))))
    path = write(tmp_path, "e.jsonl", patrol("n1", "2026-09-01T09:30:00") + "\n")
    (event,) = read_events(path, rules).events
    assert event.time.utcoffset() == dt.timedelta(hours=9)
    assert event.time == dt.datetime(2026, 9, 1, 0, 30, tzinfo=dt.timezone.utc)


def test_jsonl_rejects_carry_line_and_raw_text(tmp_path, ruleset, registry):
    good = "event"
    lines: list[tuple[str, str | None]] = [
        (patrol("a1"), good),
        (patrol("a2", "2026-09-01T01:30:00Z", attributes={"mode": "online"}), good),
        ("", None),
        (patrol("a3")[:-1], "invalid JSON"),
        (patrol("a4", "2026-09-31T09:30:00"), "2026-09-31"),
        (patrol("a5", kind="patrl"), "unknown event kind 'patrl'"),
        (patrol("a6", attributes={}), "needs attribute 'mode'"),
        (patrol("a7", attributes={"mode": "field", "weather": "rain"}), "unknown attribute 'weather'"),
        (patrol("a8", attributes={"mode": "drone"}), "'drone' is not one of field (实地), online (线上)"),  # values with their labels
        (patrol("a9", actor="p-nobody"), "unknown person 'p-nobody'"),
        (patrol("a10", participants=["p-ye-qing", "p-ghost"]), "unknown person 'p-ghost'"),
        (patrol("a11", unit="nowhere"), "unknown unit 'nowhere'"),
        (jsonl(id="a12", kind="visit", time="2026-09-01T10:00:00", actor="p-he-yan", subject="kp-999"), "unknown subject 'kp-999'"),
        ("   ", None),
        (patrol("a13", colour="red"), "unknown fields ['colour']"),
        ("[1, 2]", "expected a JSON object"),
        (jsonl(id="a14", kind="patrol", time="2026-09-01T09:30:00", unit="fanxi-dock", attributes={"mode": "field"}), "needs 'actor'"),
        (jsonl(id="a15", kind="lead_pushed", time="2026-09-01T10:00:00", unit="fanxi-dock",
               attributes={"info_id": "L-1", "category": "clue"}), good),
        (jsonl(kind="patrol", time="2026-09-01T09:30:00", actor="p-du-xin", unit="fanxi-dock", attributes={"mode": "field"}), "id"),
        (patrol("a16", time=20260901), "time must be a string"),
    ]
    text = "\n".join(line for line, _ in lines) + "\n"
    path = write(tmp_path, "events.jsonl", text)
    log = read_events(path, ruleset, registry)

    nonblank = [line for line in text.splitlines() if line.strip()]
    assert len(log.events) + len(log.rejects) == len(nonblank)
    expected_events = [n for n, (_, want) in enumerate(lines, start=1) if want == good]
    assert [e.origin.line for e in log.events] == expected_events
    assert [e.id for e in log.events] == ["a1", "a2", "a15"]
    assert all(e.origin.file == str(path) for e in log.events)
    expected_rejects = [(n, line, want) for n, (line, want) in enumerate(lines, start=1) if want not in (good, None)]
    assert [r.line for r in log.rejects] == [n for n, _, _ in expected_rejects]
    for reject, (number, raw, want) in zip(log.rejects, expected_rejects):
        assert reject.file == str(path)
        assert reject.raw == raw, f"line {number}"
        assert reject.errors, f"line {number} has no reason"
        assert any(want in error for error in reject.errors), f"line {number}: {reject.errors}"


def test_without_registry_unknown_people_and_units_are_accepted(tmp_path, ruleset):
    path = write(tmp_path, "e.jsonl", patrol("a1", actor="p-nobody", unit="nowhere") + "\n")
    log = read_events(path, ruleset)
    assert [e.id for e in log.events] == ["a1"]
    assert log.rejects == ()


def test_duplicates_identical_kept_once_conflicting_rejected(tmp_path, ruleset, registry):
    lines = [
        patrol("a1", "2026-09-01T09:30:00"),
        patrol("a2", "2026-09-01T10:00:00"),
        patrol("a1", "2026-09-01T01:30:00Z"),  # same instant, written differently: identical
        patrol("a2", "2026-09-01T10:01:00"),  # different time: conflicting
        patrol("a1", "2026-09-01T09:30:00"),  # identical again
    ]
    path = write(tmp_path, "e.jsonl", "\n".join(lines) + "\n")
    log = read_events(path, ruleset, registry)
    assert [(e.id, e.origin.line) for e in log.events] == [("a1", 1), ("a2", 2)]
    assert log.events[1].time == dt.datetime(2026, 9, 1, 10, 0, tzinfo=dt.timezone(EIGHT_HOURS))
    assert [(d.id, d.line, d.first_line, d.identical) for d in log.duplicates] == [
        ("a1", 3, 1, True),
        ("a2", 4, 2, False),
        ("a1", 5, 1, True),
    ]
    assert [r.line for r in log.rejects] == [4]
    assert log.rejects[0].raw == lines[3]
    assert "a2" in log.rejects[0].errors[0]
    # every line is accounted for: an event, a reject or an identical repeat
    assert len(log.events) + len(log.rejects) + sum(d.identical for d in log.duplicates) == len(lines)


def test_duplicates_across_files_name_the_first_file(tmp_path, ruleset, registry):
    first = write(tmp_path, "a.jsonl", patrol("a1") + "\n")
    second = write(tmp_path, "b.csv", "id,kind,time,actor,unit,mode\na1,patrol,2026-09-01T09:30:00,p-du-xin,fanxi-dock,field\n")
    log = read_events([first, second], ruleset, registry)
    assert len(log.events) == 1 and log.rejects == ()
    (dup,) = log.duplicates
    assert (dup.file, dup.line, dup.first_file, dup.first_line, dup.identical) == (str(second), 2, str(first), 1, True)


DRILL_KIND = """\
  drill:
    label: {en: drill}
    requires: [unit]
    attributes:
      crew: {type: integer}
      hours: {type: number}
      night: {type: boolean}
      departments: {type: list, values: [customs, police, port]}
      ends: {type: datetime}
      mode: {type: enum, values: [sea, land]}

subject_kinds:
"""


@pytest.fixture
def drill_ruleset(tmp_path):
    text = substitute(RULESET_TEXT, ("\nsubject_kinds:\n", "\n" + DRILL_KIND))
    return load_ruleset(write(tmp_path, "drill.yaml", text))


def test_csv_flat_columns_become_typed_attributes(tmp_path, drill_ruleset, registry):
    text = (
        "id,kind,time,actor,participants,unit,crew,hours,night,departments,ends,mode\n"
        "d1,drill,2026-09-01 21:00,p-du-xin,p-jiang-bin; p-ye-qing,fanxi-dock,12,2.5,TRUE,customs;police,2026-09-02T01:00:00,sea\n"
        "d2,drill,2026-09-02T08:00:00+08:00,,,fanxi-dock,,,false,,,\n"
    )
    path = write(tmp_path, "drills.csv", text)
    log = read_events(path, drill_ruleset, registry)
    assert log.rejects == ()
    d1, d2 = log.events
    assert d1.origin.line == 2 and d2.origin.line == 3
    assert d1.participants == ("p-jiang-bin", "p-ye-qing")
    assert d1.actor == "p-du-xin" and d1.unit == "fanxi-dock"
    assert d1.time.utcoffset() == EIGHT_HOURS and (d1.time.hour, d1.time.minute) == (21, 0)
    attrs = d1.attributes
    assert attrs["crew"] == 12 and type(attrs["crew"]) is int
    assert attrs["hours"] == 2.5 and type(attrs["hours"]) is float
    assert attrs["night"] is True
    assert attrs["departments"] == ("customs", "police")
    assert dt.datetime.fromisoformat(attrs["ends"]) == dt.datetime(2026, 9, 2, 1, 0, tzinfo=dt.timezone(EIGHT_HOURS))
    assert attrs["mode"] == "sea"
    # empty cells are absent, not empty strings
    assert d2.attributes == {"night": False}
    assert d2.actor is None and d2.participants == ()


def test_csv_rejects_carry_line_counting_the_header(tmp_path, drill_ruleset, registry):
    rows: list[tuple[str, str | None]] = [
        ("id,kind,time,actor,participants,unit,crew,hours,night,departments,ends,mode", None),  # line 1
        ("d1,drill,2026-09-01 21:00,p-du-xin,,fanxi-dock,12,,,,,", "event"),
        ("d2,drill,2026-09-01 21:00,p-du-xin,,fanxi-dock,twelve,,,,,", "attribute 'crew'"),
        ("d3,drill,2026-09-01 21:00,p-du-xin,,fanxi-dock,,,,customs;army,,", "'army' is not one of"),
        ("", None),
        ("d4,drill,2026-09-01 21:00,p-du-xin,,fanxi-dock,,,yes,,,", "attribute 'night'"),
        ("d5,drill,2026-09-31 21:00,p-du-xin,,fanxi-dock,,,,,,", "2026-09-31"),
        ("d6,drill,2026-09-01 21:00,p-du-xin,,fanxi-dock", "expected 12 columns, found 6"),
        ("d7,drill,2026-09-01 21:00,p-du-xin,p-ghost,fanxi-dock,,,,,,", "unknown person 'p-ghost'"),
        ("d8,drill,2026-09-01 21:00,p-du-xin,,fanxi-dock,,,,,,air", "'air' is not one of sea, land"),
        ("d9,dril,2026-09-01 21:00,p-du-xin,,fanxi-dock,,,,,,", "unknown event kind 'dril'"),
        ("d10,drill,2026-09-01 21:00,p-du-xin,,fanxi-dock,,,,,not a time,", "attribute 'ends'"),
        ("d11,drill,2026-09-01 22:00,p-du-xin,,fanxi-dock,,1.5,,,,land", "event"),
    ]
    text = "\n".join(row for row, _ in rows) + "\n"
    path = write(tmp_path, "drills.csv", text)
    log = read_events(path, drill_ruleset, registry)
    data_rows = [n for n, (row, want) in enumerate(rows, start=1) if n > 1 and row.strip()]
    assert len(log.events) + len(log.rejects) == len(data_rows)
    assert [(e.id, e.origin.line) for e in log.events] == [("d1", 2), ("d11", 13)]
    expected = [(n, row, want) for n, (row, want) in enumerate(rows, start=1) if want not in ("event", None)]
    assert [r.line for r in log.rejects] == [n for n, _, _ in expected]
    for reject, (number, raw, want) in zip(log.rejects, expected):
        assert reject.raw == raw, f"line {number}"
        assert any(want in error for error in reject.errors), f"line {number}: {reject.errors}"


def test_unknown_extension_and_missing_file_raise(tmp_path, ruleset):
    txt = write(tmp_path, "events.txt", patrol("a1") + "\n")
    with pytest.raises(EventSourceError) as info:
        read_events(txt, ruleset)
    assert info.value.problems[0].location.file == str(txt)
    assert ".txt" in info.value.problems[0].message
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(EventSourceError) as info:
        read_events(missing, ruleset)
    assert info.value.problems[0].location.file == str(missing)


def test_ndjson_and_bom_and_crlf_are_read(tmp_path, ruleset, registry):
    path = tmp_path / "e.ndjson"
    path.write_bytes(("\ufeff" + patrol("a1") + "\r\n" + patrol("a2", kind="patrl") + "\r\n").encode("utf-8"))
    log = read_events(path, ruleset, registry)
    assert [e.id for e in log.events] == ["a1"]
    assert [(r.line, r.raw) for r in log.rejects] == [(2, patrol("a2", kind="patrl"))]


def test_write_rejects_writes_one_json_line_per_reject(tmp_path, ruleset, registry):
    lines = [patrol("a1"), "{oops", patrol("a2", kind="patrl"), patrol("a3", "2026-09-31T09:00:00")]
    log = read_events(write(tmp_path, "e.jsonl", "\n".join(lines) + "\n"), ruleset, registry)
    assert len(log.rejects) == 3
    out = tmp_path / "rejects.jsonl"
    write_rejects(log.rejects, out)
    written = out.read_text(encoding="utf-8").splitlines()
    assert len(written) == 3
    records = [json.loads(line) for line in written]
    assert [(r["line"], r["raw"]) for r in records] == [(2, lines[1]), (3, lines[2]), (4, lines[3])]
    for record, reject in zip(records, log.rejects):
        assert record["file"] == reject.file
        assert record["errors"] == list(reject.errors) and record["errors"]
    write_rejects([], out)
    assert out.read_text(encoding="utf-8") == ""


def test_jsonl_line_with_unicode_line_separator_inside_a_string(tmp_path, ruleset, registry):
    lines = [
        jsonl(id="l1", kind="lead_pushed", time="2026-09-01T10:00:00", unit="fanxi-dock",
              attributes={"info_id": "L-1\u2028second part", "category": "clue"}),
        patrol("a2", kind="patrl"),
    ]
    path = write(tmp_path, "e.jsonl", "\n".join(lines) + "\n")
    log = read_events(path, ruleset, registry)
    assert [e.id for e in log.events] == ["l1"]
    assert log.events[0].attributes["info_id"] == "L-1\u2028second part"
    assert [(r.line, r.raw) for r in log.rejects] == [(2, lines[1])]


def test_csv_raw_text_after_a_cell_with_unicode_line_separator(tmp_path, ruleset, registry):
    rows = [
        "id,kind,time,unit,report_id,facility",
        "r1,damage_reported,2026-09-01 10:00,fanxi-dock,R-1,gate\u2028and fence",
        "r2,damage_reported,2026-09-01 10:00,nowhere,R-2,gate",
    ]
    log = read_events(write(tmp_path, "e.csv", "\n".join(rows) + "\n"), ruleset, registry)
    assert [e.id for e in log.events] == ["r1"]
    assert [(r.line, r.raw) for r in log.rejects] == [(3, rows[2])]


def test_csv_reject_of_a_multi_line_record_points_at_its_start(tmp_path, ruleset, registry):
    rows = [
        "id,kind,time,unit,report_id,facility",
        'r1,damage_reported,2026-09-01 10:00,nowhere,R-1,"gate',
        'and fence"',
    ]
    log = read_events(write(tmp_path, "e.csv", "\n".join(rows) + "\n"), ruleset, registry)
    (reject,) = log.rejects
    assert reject.line == 2
    assert reject.raw.startswith("r1,damage_reported")
    assert "and fence" in reject.raw


# --------------------------------------------------------------------------------------------
# 5. nothing passed in is mutated


def test_reading_twice_gives_equal_logs_and_leaves_inputs_alone(tmp_path, ruleset, registry):
    ruleset_before = ruleset.model_dump()
    registry_before = registry.model_dump()
    jsonl_path = write(tmp_path, "e.jsonl", "\n".join([patrol("a1"), patrol("a1"), patrol("a2", kind="patrl"), patrol("a3", "2026-09-01T11:00:00Z")]) + "\n")
    csv_path = write(tmp_path, "e.csv", "id,kind,time,actor,participants,unit,mode\nc1,patrol,2026-09-01 09:00,p-du-xin,p-ye-qing;p-jiang-bin,fanxi-dock,field\nc2,patrol,bad,p-du-xin,,fanxi-dock,field\n")
    paths = [jsonl_path, csv_path]
    paths_before = list(paths)
    bytes_before = [p.read_bytes() for p in paths]
    first = read_events(paths, ruleset, registry)
    second = read_events(paths, ruleset, registry)
    assert first == second
    assert (len(first.events), len(first.rejects), len(first.duplicates)) == (3, 2, 1)
    assert paths == paths_before
    assert [p.read_bytes() for p in paths] == bytes_before
    assert ruleset.model_dump() == ruleset_before
    assert registry.model_dump() == registry_before


def test_models_are_frozen(tmp_path, ruleset, registry):
    with pytest.raises(ValidationError):
        ruleset.id = "other"
    assert ruleset.id == "xiangshan"
    obligation = ruleset.obligations[0]
    with pytest.raises(ValidationError):
        obligation.at_least = 5
    assert obligation.at_least == 1
    with pytest.raises(ValidationError):
        ruleset.event_kinds["patrol"].requires = []
    with pytest.raises(ValidationError):
        registry.units[0].kind = "town"
    log = read_events(write(tmp_path, "e.jsonl", patrol("a1") + "\n"), ruleset, registry)
    with pytest.raises(dataclasses.FrozenInstanceError):  # an event is a frozen (slotted) dataclass
        log.events[0].actor = "someone"
    with pytest.raises(ValidationError):
        log.events = ()
    assert log.events[0].actor == "p-du-xin"
