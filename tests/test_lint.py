"""``complianceengine check``: lint rules with codes and locations, suppression, output formats."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from complianceengine import Plugins, about
from complianceengine.lint import RULES, check_paths, render_junit, render_sarif
from conftest import ROOT

EXE = Path(sys.executable).parent / "complianceengine"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "schemas" / "sarif-2.1.0-rtm.5.json").read_text(encoding="utf-8"))

BASE = """\
id: lint
version: "1"
title: {en: Lint}
timezone: Asia/Shanghai
sources: {doc: {short: Doc, title: {en: Doc}}}
unit_kinds:
  town: {label: {en: town}}
  dock: {label: {en: dock}, parents: [town]}
  office: {label: {en: office}}
roles:
  guard: {label: {en: guard}, unit_kind: dock}
  clerk: {label: {en: clerk}, unit_kind: office}
event_kinds:
  patrol: {label: {en: patrol}}
  visit: {label: {en: visit}}
calendars:
  campaign:
    label: {en: campaign}
    windows: [{start: 2026-10-01, end: 2026-10-15}]
obligations:
  - id: weekly
    kind: frequency
    title: {en: Weekly patrol}
    citation: {source: doc, article: "1", quote: patrol weekly}
    applies_to: {roles: [guard]}
    match: {kind: patrol}
    period: week
    at_least: 1
    during:
      - {calendar: campaign, period: month, at_least: 1}
  - id: visits
    kind: frequency
    title: {en: Visits}
    citation: {source: doc, article: "2"}
    applies_to: {unit_kind: dock}
    match: {kind: visit}
    by: {roles: [clerk]}
    period: month
    at_least: 2
    distinct_within: P31D
    assumed: true
  - id: weekly-again
    kind: frequency
    title: {en: Weekly patrol again}
    citation: {source: doc, article: "1", quote: patrol weekly}
    applies_to: {roles: [guard]}
    match: {kind: patrol}
    period: month
    at_least: 4
"""


def check_text(tmp_path, text, name="ruleset.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    checked, diagnostics = check_paths([path], Plugins(entry_points=False))
    return path, diagnostics


def test_each_rule_fires_with_its_code_location_and_hint(tmp_path):
    path, diagnostics = check_text(tmp_path, BASE)
    found = {(d.code, d.line, d.path) for d in diagnostics}
    assert found == {
        ("CE102", 30, "obligations[0].during[0]"),  # monthly inside the campaign is weaker than weekly
        ("CE108", 34, "obligations[1].citation"),  # no quote
        ("CE101", 37, "obligations[1].by.roles"),  # clerks sit in offices, not above or below docks
        ("CE104", 40, "obligations[1].distinct_within"),
        ("CE109", 41, "obligations[1].assumed"),
        ("CE103", 42, "obligations[2].id"),  # same targets and match as `weekly`
    }
    assert all(d.hint and d.column for d in diagnostics)
    assert {d.severity for d in diagnostics if d.code == "CE108"} == {"info"}


def test_unused_declarations_and_unreachable_quorum(tmp_path):
    text = BASE.replace("  visit: {label: {en: visit}}", "  visit: {label: {en: visit}}\n  spare: {label: {en: spare}}\n"
                        "  meeting: {label: {en: meeting}, attributes: {who: {type: list, values: [customs, police]}}}")
    text = text.replace("    windows: [{start: 2026-10-01, end: 2026-10-15}]", "    windows: [{start: 2026-10-01, end: 2026-10-15}]\n"
                        "  idle: {label: {en: idle}, windows: []}")
    text += """\
  - id: joint
    kind: frequency
    title: {en: Joint meeting}
    citation: {source: doc, article: "3", quote: meet}
    applies_to: {unit_kind: town}
    match: {kind: meeting, quorum: {attribute: who, members: [customs, police, port], at_least: 3}}
    period: quarter
    at_least: 1
"""
    _, diagnostics = check_text(tmp_path, text)
    codes = {(d.code, d.path) for d in diagnostics}
    assert ("CE106", "event_kinds.spare") in codes
    assert ("CE107", "calendars.idle") in codes
    assert ("CE111", "obligations[3]") in codes


def test_warnings_can_be_silenced_with_a_reasoned_comment_but_errors_cannot(tmp_path):
    text = BASE.replace("  - id: weekly-again\n", "  # lint: ignore CE103 -- the monthly count is a separate audit line\n  - id: weekly-again\n")
    _, diagnostics = check_text(tmp_path, text)
    assert "CE103" not in {d.code for d in diagnostics}
    _, broken = check_text(tmp_path, BASE.replace("period: week", "period: wek  # lint: ignore CE001"))
    assert [d.code for d in broken] == ["CE001"] and broken[0].line == 27


def test_the_bundled_rulesets_are_clean():
    checked, diagnostics = check_paths([ROOT / "rulesets"], Plugins(entry_points=True))
    assert len(checked) == 4 and all(checked.values())
    assert diagnostics == []


def test_sarif_output_is_valid_sarif_2_1_0(tmp_path):
    path, diagnostics = check_text(tmp_path, BASE)
    log = json.loads(render_sarif(diagnostics, [path]))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)  # the official SARIF 2.1.0 schema
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == sorted(RULES)
    first = min(run["results"], key=lambda r: r["locations"][0]["physicalLocation"]["region"]["startLine"])
    assert first["ruleId"] == "CE102" and first["level"] == "warning"
    assert first["locations"][0]["physicalLocation"]["region"] == {"startLine": 30, "startColumn": 9}
    assert run["tool"]["driver"]["rules"][first["ruleIndex"]]["id"] == "CE102"
    assert {r["level"] for r in run["results"]} == {"warning", "note"}


def test_sarif_names_the_tool_its_version_and_home_from_the_package_metadata(tmp_path):
    import importlib.metadata
    import tomllib

    path, diagnostics = check_text(tmp_path, BASE)
    driver = json.loads(render_sarif(diagnostics, [path]))["runs"][0]["tool"]["driver"]
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    version = importlib.metadata.version("complianceengine")
    assert driver["name"] == "complianceengine" and driver["version"] == driver["semanticVersion"] == version
    assert driver["informationUri"] == urls["Homepage"]
    assert all(rule["helpUri"].startswith(urls["Documentation"] + "/authoring.md#") for rule in driver["rules"])
    assert set(urls) == {"Homepage", "Documentation", "Issues", "Source"}


def test_junit_output_has_one_case_per_file_and_failures_at_the_threshold(tmp_path):
    path, diagnostics = check_text(tmp_path, BASE)
    clean = tmp_path / "clean.yaml"
    clean.write_text((ROOT / "rulesets" / "shanghai" / "ruleset.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    suite = ET.fromstring(render_junit(diagnostics, [path, clean], "warning")).find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases[str(path)].find("failure") is not None and "CE103" in cases[str(path)].find("failure").text
    assert cases[str(clean)].find("failure") is None
    only_errors = ET.fromstring(render_junit(diagnostics, [path], "error")).find("testsuite")
    assert only_errors.get("failures") == "0"


def run(*args):
    return subprocess.run([str(EXE), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_exit_codes_and_formats_through_the_installed_command(tmp_path):
    path = tmp_path / "ruleset.yaml"
    path.write_text(BASE, encoding="utf-8")
    assert run("check", "rulesets").returncode == 0
    warned = run("check", str(path))
    assert warned.returncode == 1 and f"{path}:30:9: warning CE102 raised-is-weaker" in warned.stdout and "hint:" in warned.stdout
    assert run("check", str(path), "--fail-on", "error").returncode == 0
    assert run("check", str(path), "--fail-on", "info").returncode == 1
    as_json = run("check", str(path), "--format", "json", "--fail-on", "none")
    payload = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and payload["summary"] == {"error": 0, "warning": 5, "info": 1}
    assert {"code", "severity", "file", "line", "column", "path", "message", "hint", "rule"} <= set(payload["diagnostics"][0])
    sarif = tmp_path / "out.sarif"
    assert run("check", str(path), "--format", "sarif", "--output", str(sarif)).returncode == 1
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(sarif.read_text(encoding="utf-8")))
    path.write_text(BASE.replace("kind: patrol}", "kind: patrl}"), encoding="utf-8")
    broken = run("check", str(path), "--format", "junit")
    assert broken.returncode == 2 and "CE001" in broken.stdout and "did you mean" in broken.stdout
    assert run("check", str(tmp_path / "empty")).returncode == 2


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_is_documented(code):
    assert f"`{code}`" in (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")



@pytest.mark.parametrize(("fmt", "golden"), [("sarif", "check.sarif"), ("json", "check.json"), ("junit", "check.junit.xml")])
def test_output_snapshots_are_stable_and_valid(tmp_path, fmt, golden):
    """Snapshots of each machine-readable format (UPDATE_GOLDEN=1 refreshes them), validated:
    SARIF against the official SARIF 2.1.0 JSON Schema, JUnit and JSON by structure."""
    import os

    (tmp_path / "ruleset.yaml").write_text(BASE, encoding="utf-8")
    result = subprocess.run([str(EXE), "check", "ruleset.yaml", "--format", fmt], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    path = ROOT / "tests" / "golden" / golden
    # the tool's version is in the SARIF driver; the snapshot holds a placeholder, so a release does not change it
    version = f'"{about.version()}"'
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(result.stdout.replace(version, '"@VERSION@"'), encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8").replace('"@VERSION@"', version)
    if fmt == "sarif":
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate(json.loads(result.stdout))
    elif fmt == "junit":
        root = ET.fromstring(result.stdout)
        assert root.tag == "testsuites" and [c.tag for c in root] == ["testsuite"]
        assert {"name", "tests", "failures", "errors", "skipped"} <= set(root[0].attrib)
    else:
        payload = json.loads(result.stdout)
        assert set(payload) == {"files", "diagnostics", "summary"} and payload["files"] == ["ruleset.yaml"]


def test_review_findings_suppression_scope_folders_and_rule_edges(tmp_path):
    # a trailing suppression on one entry does not silence the next one
    text = BASE.replace("  clerk: {label: {en: clerk}, unit_kind: office}",
                        "  clerk: {label: {en: clerk}, unit_kind: office}  # lint: ignore CE105 -- kept for the registry\n"
                        "  spare: {label: {en: spare}, unit_kind: dock}")
    _, diagnostics = check_text(tmp_path, text)
    assert ("CE105", "roles.spare") in {(d.code, d.path) for d in diagnostics}
    # CE104: two events at least two months apart fit in a quarter; three 12-hour-apart events do not fit in a day
    fits = BASE.replace("    period: month\n    at_least: 2\n    distinct_within: P31D", "    period: quarter\n    at_least: 2\n    distinct_within: P2M")
    assert "CE104" not in {d.code for d in check_text(tmp_path, fits)[1]}
    tight = BASE.replace("    period: month\n    at_least: 2\n    distinct_within: P31D", "    period: day\n    at_least: 3\n    distinct_within: PT12H")
    assert "CE104" in {d.code for d in check_text(tmp_path, tight)[1]}
    # CE102 for cadence: a campaign that lengthens the gap
    cadence = BASE + """\
  - id: visits-gap
    kind: cadence
    title: {en: Visits gap}
    citation: {source: doc, article: "4", quote: gap}
    applies_to: {roles: [guard]}
    match: {kind: visit}
    max_gap: P1M
    during: [{calendar: campaign, max_gap: P45D}]
"""
    assert ("CE102", "obligations[3].during[0]") in {(d.code, d.path) for d in check_text(tmp_path, cadence)[1]}
    # folders given with .. or under a hidden folder are expanded
    hidden = tmp_path / ".cache" / "rs"
    hidden.mkdir(parents=True)
    (hidden / "ruleset.yaml").write_text(BASE, encoding="utf-8")
    checked, _ = check_paths([hidden / ".." / "rs"], Plugins(entry_points=False))
    assert len(checked) == 1


def test_junit_names_failures_of_an_overlay_whose_base_has_them(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("extends: base.yaml\nid: local\n", encoding="utf-8")
    checked, diagnostics = check_paths([overlay], Plugins(entry_points=False))
    assert diagnostics and all(d.file.endswith("base.yaml") for d in diagnostics)
    suite = ET.fromstring(render_junit(diagnostics, list(checked), "warning")).find("testsuite")
    assert suite.get("failures") == "1" and suite.find("testcase/failure") is not None
