"""The command line, through the installed ``complianceengine`` entry point, and the golden report."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

EXE = Path(sys.executable).parent / "complianceengine"
SAMPLE = [
    "rulesets/xiangshan/ruleset.yaml",
    "--registry", "rulesets/xiangshan/sample/registry.yaml",
    "--events", "rulesets/xiangshan/sample/events.jsonl",
    "--from", "2026-08-01", "--to", "2026-10-31", "--as-of", "2026-11-01T00:00:00+08:00",
]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_entry_point_is_installed():
    assert EXE.exists(), "install the package (make test does) so the console script exists"


BUNDLED = sorted(d.name for d in (ROOT / "rulesets").iterdir() if (d / "sample" / "events.jsonl").exists())


def sample_args(name: str) -> list[str]:
    return [
        f"rulesets/{name}/ruleset.yaml",
        "--registry", f"rulesets/{name}/sample/registry.yaml",
        "--events", f"rulesets/{name}/sample/events.jsonl",
        "--from", "2026-08-01", "--to", "2026-10-31", "--as-of", "2026-11-01T00:00:00+08:00",
    ]


@pytest.mark.parametrize("name", BUNDLED)
def test_golden_report_for_each_bundled_ruleset(name):
    result = cli("audit", *sample_args(name), "--format", "json", "--fail-on", "none")
    assert result.returncode == 0, result.stderr
    golden = ROOT / "tests" / "golden" / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(result.stdout, encoding="utf-8")
    assert json.loads(result.stdout) == json.loads(golden.read_text(encoding="utf-8"))


def test_golden_markdown_report():
    """The Markdown report of the Xiangshan sample as a pipe gets it, byte for byte (UPDATE_GOLDEN=1
    refreshes it): summaries per obligation and per unit, then the findings that are not met under an
    index of the hierarchy, each unit's own list under its heading."""
    result = cli("audit", *sample_args("xiangshan"), "--fail-on", "none")
    assert result.returncode == 0, result.stderr
    golden = ROOT / "tests" / "golden" / "xiangshan.md"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", BUNDLED)
def test_each_bundled_sample_plants_a_violation_of_every_obligation(name):
    report = json.loads(cli("audit", *sample_args(name), "--format", "json", "--fail-on", "none").stdout)
    failing = {f["obligation"] for f in report["findings"] if f["status"] in ("missed", "late")}
    exempt = {
        "town-section-chief",  # Xiangshan: the one duty every town keeps, so the report shows a clean row too
        "joint-meeting-quorum",  # Zhongshan: a yearly target, decided on 31 December, after the sample's range
    }
    assert {o["obligation"] for o in report["obligations"]} - exempt <= failing
    assert report["rejects"], "each sample plants at least one malformed event line"
    assert all(f["cited"] and f["citation"]["quote"] for f in report["findings"])


def test_sample_has_every_planted_violation():
    report = json.loads(cli("audit", *SAMPLE, "--format", "json", "--fail-on", "none").stdout)
    bad = {(f["obligation"], f["status"]) for f in report["findings"] if f["status"] != "met"}
    for obligation in [o["obligation"] for o in report["obligations"] if o["obligation"] != "town-section-chief"]:
        assert any(o == obligation and s in ("missed", "late") for o, s in bad), f"no planted violation of {obligation}"
    # (nothing is open or partial: the audit runs to its as-of time, and periods are judged whole)
    assert {"late", "missed", "excused"} <= {s for _, s in bad}
    excused = [f for f in report["findings"] if f["status"] == "excused"]
    assert len(excused) == 6 and all(f["excused_by"] for f in excused)
    campaign = [f for f in report["findings"] if f["window"] == "special-campaign" and f["status"] == "missed"]
    assert {f["subject"]["id"] for f in campaign} == {"p-luo-yi", "kp-004"}
    assert [r["line"] for r in report["rejects"]] == [41, 81, 121]
    assert len(report["duplicates"]) == 1 and report["duplicates"][0]["identical"]


def test_audit_fails_on_findings_and_lists_rejects(tmp_path):
    rejects = tmp_path / "rejects.jsonl"
    result = cli("audit", *SAMPLE, "--rejects", str(rejects))
    assert result.returncode == 1
    assert "finding(s) at or above 'late'" in result.stderr
    assert "events.jsonl:41" in result.stderr
    lines = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in lines] == [41, 81, 121] and all(r["raw"] and r["errors"] for r in lines)
    assert "## Findings that are not met" in result.stdout and "Xiangshan 2022, art. 13" in result.stdout


def test_csv_format_and_output_file(tmp_path):
    out = tmp_path / "report.csv"
    result = cli("audit", *SAMPLE, "--format", "csv", "--output", str(out), "--fail-on", "none")
    assert result.returncode == 0 and result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert {"obligation", "cited", "status", "required", "observed", "evidence"} <= set(rows[0])
    late = [r for r in rows if r["status"] == "late"]
    assert late and all(int(r["delay_seconds"]) > 0 for r in late)


MINI_RULESET = """\
id: mini
version: "1"
title: {en: Mini}
timezone: Asia/Shanghai
sources: {doc: {short: Doc, title: {en: Doc}}}
unit_kinds: {dock: {label: {en: dock}}}
roles: {guard: {label: {en: guard}, unit_kind: dock}}
event_kinds: {patrol: {label: {en: patrol}, requires: [actor, unit]}}
obligations:
  - id: daily
    kind: frequency
    title: {en: Daily patrol}
    citation: {source: doc, article: "1"}
    applies_to: {roles: [guard]}
    match: {kind: patrol}
    period: day
    at_least: 1
"""
MINI_REGISTRY = """\
units: [{id: d1, kind: dock}]
people: [{id: a, name: A}]
assignments: [{person: a, role: guard, unit: d1, start: 2026-01-01}]
"""


@pytest.fixture
def mini(tmp_path):
    (tmp_path / "ruleset.yaml").write_text(MINI_RULESET, encoding="utf-8")
    (tmp_path / "registry.yaml").write_text(MINI_REGISTRY, encoding="utf-8")
    (tmp_path / "events.csv").write_text(
        "id,kind,time,actor,unit\n"
        "e1,patrol,2026-08-01 09:00,a,d1\n"
        "e2,patrol,2026-08-02 23:30,a,d1\n",
        encoding="utf-8",
    )
    return tmp_path


def audit_mini(mini, *extra):
    return cli(
        "audit", str(mini / "ruleset.yaml"), "--registry", str(mini / "registry.yaml"), "--events", str(mini / "events.csv"),
        "--from", "2026-08-01", "--to", "2026-08-02", "--as-of", "2026-09-01T00:00:00", *extra,
    )


def test_clean_history_exits_zero_and_fail_on_threshold(mini):
    assert audit_mini(mini).returncode == 0
    with (mini / "events.csv").open("a", encoding="utf-8") as f:
        f.write("e3,patrol,2026-08-03 10:00,a,d1\n")  # outside the range: changes nothing
    assert audit_mini(mini).returncode == 0
    # an open period only fails with --fail-on open
    open_run = cli(
        "audit", str(mini / "ruleset.yaml"), "--registry", str(mini / "registry.yaml"), "--events", str(mini / "events.csv"),
        "--from", "2026-08-01", "--to", "2026-08-02", "--as-of", "2026-08-02T12:00:00",
    )
    assert open_run.returncode == 0
    open_strict = cli(
        "audit", str(mini / "ruleset.yaml"), "--registry", str(mini / "registry.yaml"), "--events", str(mini / "events.csv"),
        "--from", "2026-08-01", "--to", "2026-08-02", "--as-of", "2026-08-02T12:00:00", "--fail-on", "open",
    )
    assert open_strict.returncode == 1


def test_a_rejected_event_fails_the_run_unless_fail_on_none(mini):
    with (mini / "events.csv").open("a", encoding="utf-8") as f:
        f.write("e4,patrol,not-a-time,a,d1\n")
    result = audit_mini(mini)
    assert result.returncode == 1 and "events.csv:4" in result.stderr
    assert audit_mini(mini, "--fail-on", "none").returncode == 0


def test_bad_ruleset_exits_two_with_location_and_no_traceback(mini):
    path = mini / "ruleset.yaml"
    path.write_text(MINI_RULESET.replace("period: day", "period: dya"), encoding="utf-8")
    for result in (audit_mini(mini), cli("check", str(path))):
        assert result.returncode == 2
        out = result.stderr + result.stdout  # check reports on standard output, in the format asked for
        assert f"{path}:16:13" in out and "'dya'" in out
        assert "Traceback" not in result.stderr


def test_check_command(mini):
    ok = cli("check", str(mini / "ruleset.yaml"), "--registry", str(mini / "registry.yaml"))
    assert ok.returncode == 0 and "1 obligations" in ok.stdout
    (mini / "registry.yaml").write_text(MINI_REGISTRY.replace("role: guard", "role: gaurd"), encoding="utf-8")
    bad = cli("check", str(mini / "ruleset.yaml"), "--registry", str(mini / "registry.yaml"))
    assert bad.returncode == 2 and "registry.yaml:3:" in bad.stdout and "did you mean 'guard'" in bad.stdout
    assert "error CE002 invalid-registry" in bad.stdout


def test_usage_errors_exit_two(mini):
    assert audit_mini(mini, "--as-of", "yesterday").returncode == 2
    missing = cli("audit", str(mini / "ruleset.yaml"), "--registry", str(mini / "registry.yaml"), "--events", str(mini / "nope.jsonl"),
                  "--from", "2026-08-01", "--to", "2026-08-02")
    assert missing.returncode == 2 and "nope.jsonl" in missing.stderr and "Traceback" not in missing.stderr
    backwards = cli("audit", str(mini / "ruleset.yaml"), "--registry", str(mini / "registry.yaml"), "--events", str(mini / "events.csv"),
                    "--from", "2026-08-02", "--to", "2026-08-01")
    assert backwards.returncode == 2 and "before it starts" in backwards.stderr
    assert cli("audit", "--from", "x").returncode == 2  # argparse usage error


def test_readme_first_screen_matches_the_real_output():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    events = (ROOT / "rulesets" / "xiangshan" / "sample" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    shown_events = readme.split("```json\n", 1)[1].split("```", 1)[0].splitlines()
    assert shown_events and all(line in events for line in shown_events)
    output = cli("audit", *sample_args("xiangshan")).stdout
    rows = [line for line in readme.splitlines() if line.startswith(("| missed |", "| late |"))]
    assert rows and all(row in output for row in rows)


def test_a_failing_notifier_still_writes_the_report_and_exits_two(mini):
    (mini / "failing_notifier.py").write_text(
        "from complianceengine import hookimpl\n\n@hookimpl\ndef complianceengine_notify(findings, report):\n"
        "    raise ConnectionError('duty platform unreachable')\n",
        encoding="utf-8",
    )
    (mini / "events.csv").write_text("id,kind,time,actor,unit\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(mini)}
    result = subprocess.run(
        [str(EXE), "audit", str(mini / "ruleset.yaml"), "--registry", str(mini / "registry.yaml"), "--events", str(mini / "events.csv"),
         "--from", "2026-08-01", "--to", "2026-08-02", "--as-of", "2026-09-01T00:00:00", "--output", str(mini / "report.md"),
         "--plugin", "failing_notifier", "--no-entry-points"],  # plugin options after the command
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 2
    assert "plugin 'failing_notifier' failed in complianceengine_notify" in result.stderr and "unreachable" in result.stderr
    assert "2 missed" in (mini / "report.md").read_text(encoding="utf-8")


def test_explain_through_the_installed_command():
    result = cli("explain", *SAMPLE[:5], "--from", "2026-08-01", "--to", "2026-10-31", "--as-of", "2026-11-01T00:00:00+08:00",
                 "--obligation", "risk-point-tide-patrol", "--subject", "rp-xiaobai-beach", "--period", "2026-09-16")
    assert result.returncode == 0, result.stderr
    assert "period 2026-W38: 2026-09-14 00:00 to 2026-09-21 00:00 (Asia/Shanghai)" in result.stdout
    assert "verdict: missed" in result.stdout and "outside the two hours either side of low water" in result.stdout
    unknown = cli("explain", *SAMPLE[:5], "--from", "2026-08-01", "--to", "2026-10-31", "--obligation", "risk-point-tide-patrol",
                  "--subject", "rp-nowhere", "--period", "2026-W38")
    assert unknown.returncode == 2 and "rp-xiaobai-beach" in unknown.stderr and "Traceback" not in unknown.stderr


def test_fmt_check_and_rewrite_through_the_installed_command(tmp_path):
    messy = tmp_path / "ruleset.yaml"
    messy.write_text(MINI_RULESET.replace("  - id: daily\n    kind", "  - id: daily    # the one duty\n    kind").replace("\n", "\r\n"),
                     encoding="utf-8")
    before = messy.read_bytes()
    check = cli("fmt", "--check", str(tmp_path))
    assert check.returncode == 1 and f"would reformat {messy}" in check.stdout and messy.read_bytes() == before
    assert cli("fmt", str(messy)).returncode == 0
    assert b"\r\n" not in messy.read_bytes() and b"# the one duty" in messy.read_bytes()
    assert cli("fmt", "--check", str(messy)).returncode == 0
    assert cli("check", str(messy)).returncode == 0  # still the same ruleset
    messy.write_text("id: [unclosed\n", encoding="utf-8")
    broken = cli("fmt", "--check", str(messy))
    assert broken.returncode == 2 and f"{messy}:2:1" in broken.stderr and "Traceback" not in broken.stderr
    assert cli("fmt", str(tmp_path / "nope")).returncode == 2
