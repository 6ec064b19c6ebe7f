"""The library as a host system uses it: rulesets and registries from text or mappings, events
from records, raw Event objects given to audit, one plugin default for library and command line,
and a docstring on everything public."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import importlib.metadata
import inspect
import json
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

import complianceengine as ce
from complianceengine import Event, Registry, Ruleset, RulesetError, UsageError

from conftest import ROOT, XIANGSHAN, base_registry, base_ruleset, event, local

BUNDLED = sorted(d for d in (ROOT / "rulesets").iterdir() if (d / "ruleset.yaml").exists())
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1}
WITHOUT = ce.Plugins(entry_points=False)


def mini_mapping(**changes: Any) -> dict[str, Any]:
    """The ruleset of ``conftest.base_ruleset`` as the mapping a host would build."""
    mapping = base_ruleset(DAILY).model_dump(by_alias=True, exclude_unset=True, mode="json")
    mapping.update(changes)
    return mapping


# --------------------------------------------------------------------------------------------
# parse_ruleset


@pytest.mark.parametrize("folder", BUNDLED, ids=lambda p: p.name)
def test_text_parses_to_the_ruleset_the_file_loads(folder):
    path = folder / "ruleset.yaml"
    loaded = ce.load_ruleset(path)
    parsed = ce.parse_ruleset(path.read_text(encoding="utf-8"), source=path)
    assert parsed == loaded
    assert parsed.folder == loaded.folder and all(parsed.calendar_folder(n) == loaded.calendar_folder(n) for n in loaded.calendars)
    as_mapping = ce.parse_ruleset(yaml.safe_load(path.read_text(encoding="utf-8")), source=path)
    assert as_mapping == loaded


def test_model_validate_takes_an_undeclared_role_and_parse_ruleset_does_not():
    mapping = mini_mapping()
    mapping["obligations"][0]["applies_to"]["roles"] = ["gaurd"]
    Ruleset.model_validate(mapping)  # the model checks shapes only: this is why parse_ruleset exists
    with pytest.raises(RulesetError) as caught:
        ce.parse_ruleset(mapping)
    [problem] = caught.value.problems
    assert str(problem.location) == "<mapping>"
    assert problem.path == "obligations[0].applies_to.roles[0]"
    assert problem.message.startswith("unknown role 'gaurd'; did you mean 'guard'?")


def test_text_problems_carry_line_and_column_and_the_source_name():
    text = (XIANGSHAN / "ruleset.yaml").read_text(encoding="utf-8").replace("roles: [dock_staff]", "roles: [dock_stafff]")
    with pytest.raises(RulesetError) as caught:
        ce.parse_ruleset(text, source="duty-db:rulesets/7")
    with pytest.raises(RulesetError) as from_file:
        ce.load_ruleset(write(XIANGSHAN / "ruleset.yaml", text))
    [problem], [file_problem] = caught.value.problems, from_file.value.problems
    assert problem.location.file == "duty-db:rulesets/7"
    assert (problem.location.line, problem.location.column, problem.path, problem.message) == (
        file_problem.location.line, file_problem.location.column, file_problem.path, file_problem.message)
    with pytest.raises(RulesetError, match=r"^<string>:1:1: invalid YAML|^<string>:\d+:\d+: invalid YAML"):
        ce.parse_ruleset("id: [unclosed")
    with pytest.raises(RulesetError, match="expected a mapping at the top"):
        ce.parse_ruleset("- a list")


def write(original: Path, text: str) -> Path:
    """``text`` written beside a copy of ``original``'s folder (so relative paths still resolve)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp()) / original.parent.name
    shutil.copytree(original.parent, folder)
    (folder / original.name).write_text(text, encoding="utf-8")
    return folder / original.name


def test_a_mapping_is_validated_every_way_a_file_is_and_is_not_modified():
    mapping = mini_mapping()
    mapping["roles"]["guard"]["unit_kind"] = "harbour"  # undeclared unit kind: a reference check
    mapping["obligations"][0]["period"] = "fortnight"  # not a period: a model check
    before = copy.deepcopy(mapping)
    with pytest.raises(RulesetError) as caught:
        ce.parse_ruleset(mapping, source="host")
    assert mapping == before
    paths = {p.path for p in caught.value.problems}
    assert "obligations[0].period" in paths and all(str(p.location) == "host" for p in caught.value.problems)
    # read-only mappings, tuples and dates as a host builds them are fine
    fine = mini_mapping(effective={"from": dt.date(2026, 1, 1)})
    fine["unit_kinds"] = types.MappingProxyType(fine["unit_kinds"])
    fine["obligations"] = tuple(fine["obligations"])
    assert ce.parse_ruleset(fine).effective.from_ == dt.date(2026, 1, 1)


def test_a_kind_no_loaded_plugin_provides_is_an_error_at_the_kind():
    mapping = mini_mapping(obligations=[{**DAILY, "title": {"en": "x"}, "citation": {"source": "doc", "article": "1"}, "kind": "per_window"}])
    with pytest.raises(RulesetError) as caught:
        ce.parse_ruleset(mapping, plugins=WITHOUT)
    assert [p.path for p in caught.value.problems] == ["obligations[0].kind"]
    assert "no loaded plugin provides it" in caught.value.problems[0].message


def test_text_can_extend_a_base_next_to_its_source(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(mini_mapping(), allow_unicode=True), encoding="utf-8")
    overlay = "extends: base.yaml\nid: local\nroles:\n  guard: {label: {en: guard}, unit_kind: harbour}\n"
    with pytest.raises(RulesetError) as caught:
        ce.parse_ruleset(overlay, source=tmp_path / "overlay.yaml")
    assert [(p.location.file, p.location.line, p.path) for p in caught.value.problems] == [
        (str(tmp_path / "overlay.yaml"), 4, "roles.guard.unit_kind")]
    assert ce.parse_ruleset(overlay.replace("harbour", "dock"), source=tmp_path / "overlay.yaml").id == "local"


def test_a_path_function_given_text_says_which_function_reads_text():
    text = (XIANGSHAN / "ruleset.yaml").read_text(encoding="utf-8")
    with pytest.raises(UsageError, match=r"use parse_ruleset\(text\)"):
        ce.load_ruleset(text)
    with pytest.raises(UsageError, match=r"use parse_ruleset\(\.\.\.\) for text or a mapping"):
        ce.load_ruleset(yaml.safe_load(text))  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="parse_ruleset takes YAML text or a mapping"):
        ce.parse_ruleset(b"id: x")  # type: ignore[arg-type]
    ruleset = ce.load_ruleset(XIANGSHAN / "ruleset.yaml")
    with pytest.raises(UsageError, match=r"use parse_registry\(text\)"):
        ce.load_registry((XIANGSHAN / "sample" / "registry.yaml").read_text(encoding="utf-8"), ruleset)
    assert ce.load_ruleset(str(XIANGSHAN / "ruleset.yaml")) == ruleset  # a path as text is still a path


# --------------------------------------------------------------------------------------------
# parse_registry


def test_registry_text_and_mapping_give_the_registry_the_file_does():
    ruleset = ce.load_ruleset(XIANGSHAN / "ruleset.yaml")
    path = XIANGSHAN / "sample" / "registry.yaml"
    loaded = ce.load_registry(path, ruleset)
    assert ce.parse_registry(path.read_text(encoding="utf-8"), ruleset) == loaded
    mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
    before = copy.deepcopy(mapping)
    assert ce.parse_registry(mapping, ruleset) == loaded
    assert mapping == before


def test_registry_problems_are_located_in_text_and_by_path_in_a_mapping():
    ruleset = base_ruleset(DAILY)
    text = "units:\n  - {id: t, kind: town}\npeople:\n  - {id: a, name: A}\nassignments:\n  - {person: a, role: capn, unit: t, start: 2026-01-01}\n"
    with pytest.raises(ce.RegistryError) as caught:
        ce.parse_registry(text, ruleset, source="roster-export")
    [problem] = caught.value.problems
    assert (problem.location.file, problem.location.line, problem.path) == ("roster-export", 6, "assignments[0].role")
    assert "unknown role 'capn'" in problem.message
    with pytest.raises(ce.RegistryError) as caught:
        ce.parse_registry(yaml.safe_load(text), ruleset)
    assert [(str(p.location), p.path) for p in caught.value.problems] == [("<mapping>", "assignments[0].role")]
    with pytest.raises(UsageError, match="parse_registry takes YAML text or a mapping"):
        ce.parse_registry(["units"], ruleset)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# events_from_records


@pytest.mark.parametrize("folder", [d for d in BUNDLED if (d / "sample" / "events.jsonl").exists()], ids=lambda p: p.name)
def test_records_are_judged_exactly_as_the_lines_they_come_from(folder):
    ruleset = ce.load_ruleset(folder / "ruleset.yaml")
    registry = ce.load_registry(folder / "sample" / "registry.yaml", ruleset)
    path = folder / "sample" / "events.jsonl"
    from_file = ce.read_events(path, ruleset, registry)
    lines: list[int] = []
    records: list[Any] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            lines.append(number)
            records.append(record)
    from_records = ce.events_from_records(records, ruleset, registry)
    same_lines = {r.line for r in from_file.rejects} & set(lines)
    assert {lines[r.line] for r in from_records.rejects} == same_lines
    by_line = {r.line: r.errors for r in from_file.rejects}
    assert all(r.errors == by_line[lines[r.line]] for r in from_records.rejects)
    assert all(r.file == "<records>" and json.loads(r.raw) == records[r.line] for r in from_records.rejects)
    assert [e.model_copy(update={"origin": None}) for e in from_records.events] == [
        e.model_copy(update={"origin": None}) for e in from_file.events]
    assert [(d.id, lines[d.line], d.identical) for d in from_records.duplicates] == [(d.id, d.line, d.identical) for d in from_file.duplicates]


@dataclasses.dataclass
class Patrol:
    id: str
    kind: str
    time: dt.datetime
    actor: str
    unit: str
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)


class Visit(BaseModel):
    id: str
    kind: str = "visit"
    time: dt.datetime
    actor: str


def test_dicts_dataclasses_and_models_are_records():
    ruleset, registry = base_ruleset(DAILY), base_registry()
    records = [
        {"id": "r1", "kind": "patrol", "time": "2026-08-01T09:00:00+08:00", "actor": "a", "unit": "d1", "attributes": {"mode": "field"}},
        Patrol("r2", "patrol", dt.datetime(2026, 8, 1, 9, 30), "b", "d2", {"mode": "online"}),  # naive: the ruleset's zone
        Visit(id="r3", time=dt.datetime(2026, 8, 1, 1, 0, tzinfo=dt.timezone.utc), actor="c"),
        event("r4", "meeting", local(2026, 8, 2), unit="t", participants=("a", "b"), attributes={"departments": ("police", "port")}),
    ]
    log = ce.events_from_records(records, ruleset, registry)
    assert log.rejects == () and [e.id for e in log.events] == ["r1", "r2", "r3", "r4"]
    assert log.events[1].time.isoformat() == "2026-08-01T09:30:00+08:00"
    assert log.events[2].time == dt.datetime(2026, 8, 1, 9, 0, tzinfo=SHANGHAI)
    assert log.events[3].attributes == {"departments": ("police", "port")} and log.events[3].participants == ("a", "b")
    assert [(e.origin.file, e.origin.line) for e in log.events] == [("<records>", i) for i in range(4)]


def test_bad_records_are_rejects_with_their_index_and_nothing_given_is_modified():
    ruleset, registry = base_ruleset(DAILY), base_registry()
    good = {"id": "ok", "kind": "patrol", "time": "2026-08-01T09:00:00+08:00", "actor": "a", "unit": "d1", "attributes": {"mode": "field"}}
    records: list[Any] = [
        good,
        {**good, "id": "k", "kind": "patrl"},
        {**good, "id": "p", "actor": "zed"},
        {**good, "id": "u", "unit": "d9"},
        {**good, "id": "m", "attributes": {"mode": 3}},
        {**good, "id": "t", "time": "2026-09-31T10:00:00"},
        {**good, "id": "x", "colour": "red"},
        {**good, "id": "l", "participants": ["a", 7]},
        42,
        {**good, "id": "ok"},  # an identical repeat
        {**good, "id": "ok", "actor": "b", "unit": "d2"},  # a conflicting one
        {**good, "id": "a", "attributes": ["mode"]},
    ]
    before = copy.deepcopy(records)
    log = ce.events_from_records(records, ruleset, registry, source="duty-db")
    assert records == before
    assert [e.id for e in log.events] == ["ok"]
    reasons = {r.line: r.errors for r in log.rejects}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6, 7, 8, 10, 11]
    assert reasons[1][0].startswith("unknown event kind 'patrl'")
    assert reasons[2] == ("unknown person 'zed' (not in the registry)",)
    assert reasons[3] == ("unknown unit 'd9' (not in the registry)",)
    assert reasons[4] == ("attribute 'mode': expected text, got 3",)
    assert "is not an ISO 8601 date-time" in reasons[5][0]
    assert reasons[6] == ("unknown fields ['colour']; attributes go inside 'attributes'",)
    assert reasons[7][0].startswith("participants must be a list of person ids")
    assert reasons[8] == ("expected a mapping, a dataclass or a pydantic model, got int",)
    assert "already used at duty-db:0 with different content" in reasons[10][0]
    assert reasons[11] == ("'attributes' must be a mapping",)
    assert {r.file for r in log.rejects} == {"duty-db"} and json.loads(log.rejects[0].raw)["kind"] == "patrl"
    assert [(d.id, d.line, d.first_line, d.identical) for d in log.duplicates] == [("ok", 9, 0, True), ("ok", 10, 0, False)]
    with pytest.raises(UsageError, match="takes an iterable of records"):
        ce.events_from_records(good, ruleset, registry)
    with pytest.raises(UsageError, match="got EventLog"):
        ce.events_from_records(log, ruleset, registry)


# --------------------------------------------------------------------------------------------
# audit given raw Event objects


def test_audit_checks_raw_events_as_a_file_would():
    ruleset, registry = base_ruleset(DAILY), base_registry()
    events = [
        event("e1", "patrol", local(2026, 8, 1, 9), actor="a", unit="d1"),
        event("e2", "patorl", local(2026, 8, 1, 9), actor="a", unit="d1"),  # unknown kind
        event("e3", "patrol", local(2026, 8, 1, 9), actor="zed", unit="d1"),  # unknown person
        event("e4", "patrol", local(2026, 8, 1, 9), actor="b", unit="d7"),  # unknown unit
        event("e5", "patrol", local(2026, 8, 1, 9), actor="b", unit="d2", attributes={"mode": "by boat"}),  # not one of the values
    ]
    span = dict(first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 1), as_of=local(2026, 8, 2, 0))
    report = ce.audit(ruleset, registry, events, **span)
    assert report.events_used == 1 and [(r.file, r.line) for r in report.rejects] == [("<events>", i) for i in (1, 2, 3, 4)]
    assert report.rejects[3].errors == ("attribute 'mode': 'by boat' is not one of field, online",)
    statuses = {f.subject.id: f.status for f in report.findings}
    assert statuses == {"a": "met", "b": "missed"}  # b's patrol at an unknown unit does not count
    validated = ce.events_from_records(events, ruleset, registry, source="<events>")
    assert ce.audit(ruleset, registry, validated, **span).findings == report.findings
    assert "rejected" in ce.render(report, "markdown").lower()


# --------------------------------------------------------------------------------------------
# One plugin default: the README's library snippet says what `make demo` says


def readme_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## As a library", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def demo_command() -> list[str]:
    """The audit command of the Makefile's ``demo`` target, as arguments."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    command = recipe.replace("\\\n", " ").split("$(BIN)/complianceengine ", 1)[1].splitlines()[0]
    return shlex.split(command)


def test_the_readme_snippet_gives_the_numbers_make_demo_gives(tmp_path):
    library = subprocess.run([sys.executable, "-c", readme_snippet()], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert library.returncode == 0, library.stderr
    args = demo_command()
    assert args[0] == "audit" and "--rejects" in args
    args[args.index("--rejects") + 1] = str(tmp_path / "rejects.jsonl")
    command = subprocess.run([str(Path(sys.executable).parent / "complianceengine"), *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
    assert command.returncode == 0, command.stderr
    counts, markdown = library.stdout.split("\n", 1)
    assert markdown.rstrip("\n") == command.stdout.rstrip("\n")  # the same report, plugins included
    totals = re.search(r"\*\*(\d+) met, (\d+) late, (\d+) missed, (\d+) open, (\d+) excused", command.stdout)
    assert totals is not None
    met, late, missed, open_, excused = totals.groups()
    assert counts == f"met={met} excused={excused} not_applicable=0 open={open_} late={late} missed={missed}"
    assert counts in readme_snippet()  # the comment in the README states them
    assert "not judged" not in command.stdout.lower()  # the tide plugin is installed, and both loaded it


def test_plugins_load_the_installed_ones_unless_told_not_to():
    installed = {e.name for e in importlib.metadata.entry_points(group="complianceengine")}
    assert installed and installed <= dict(ce.Plugins().describe()).keys()
    assert dict(ce.Plugins(entry_points=False).describe()).keys() == {"complianceengine.builtin"}


# --------------------------------------------------------------------------------------------
# Docstrings on the public API (the API reference is built from them: docs/api)

# public methods without a docstring in modules another change owns; to be documented there
UNDOCUMENTED_ELSEWHERE: set[str] = set()


def test_every_public_function_model_and_method_has_a_docstring():
    missing = []
    for name in ce.__all__:
        obj = getattr(ce, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # Status (a Literal) and hookimpl (pluggy's marker) are documented in the reference page
        if not (obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__):
            missing.append(name)
        if inspect.isclass(obj):
            for member, value in vars(obj).items():
                function = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if not member.startswith("_") and (callable(function) or isinstance(value, property)) and not function.__doc__:
                    missing.append(f"{name}.{member}")
    assert sorted(set(missing) - UNDOCUMENTED_ELSEWHERE) == []
    reference = (ROOT / "docs" / "api" / "index.rst").read_text(encoding="utf-8")
    assert all(re.search(rf"^\.\. auto\w+:: complianceengine\.{name}$", reference, re.M) for name in ce.__all__), "list it in docs/api"


def test_a_ruleset_built_in_code_gets_the_reference_checks_of_a_file():
    from conftest import base_registry, base_ruleset

    ruleset = base_ruleset({"id": "x", "kind": "frequency", "applies_to": {"roles": ["nobody"]}, "match": {"kind": "patrol"},
                            "period": "day", "at_least": 1})  # Ruleset.model_validate: the schema only
    with pytest.raises(ce.RulesetError, match=r"obligations\[0\]\.applies_to\.roles\[0\]: unknown role 'nobody'"):
        ce.audit(ruleset, base_registry(), [], first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 2),
                 as_of=dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc))


def test_a_registry_built_in_code_gets_the_reference_checks_of_a_file():
    from conftest import base_registry, base_ruleset

    daily = {"id": "d", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1}
    registry = base_registry([{"person": "a", "role": "guard", "unit": "nowhere", "start": "2026-01-01"}])  # Registry.model_validate
    with pytest.raises(ce.RegistryError, match=r"assignments\[0\]\.unit: unknown unit 'nowhere'"):
        ce.audit(base_ruleset(daily), registry, [], first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 2),
                 as_of=dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc))
