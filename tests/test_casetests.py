"""``complianceengine test``: ruleset test cases, failures with expected vs actual, coverage, JUnit."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from complianceengine import Plugins
from complianceengine.casetests import run_paths
from conftest import ROOT

EXE = Path(sys.executable).parent / "complianceengine"
CASE = (ROOT / "rulesets" / "xiangshan" / "tests" / "dock-staff-daily-patrol.yaml").read_text(encoding="utf-8")


def folder(tmp_path, text=CASE):
    """A copy of the Xiangshan ruleset with one test case."""
    (tmp_path / "sample").mkdir()
    shutil.copy(ROOT / "rulesets" / "xiangshan" / "ruleset.yaml", tmp_path / "ruleset.yaml")
    for name in ("registry.yaml", "tides.csv"):
        shutil.copy(ROOT / "rulesets" / "xiangshan" / "sample" / name, tmp_path / "sample" / name)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "case.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def run(*args):
    return subprocess.run([str(EXE), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_passing_case_and_its_coverage(tmp_path):
    results, coverage = run_paths([folder(tmp_path)], Plugins(entry_points=True))
    assert [r.passed for r in results] == [True]
    [c] = coverage
    assert c.exercised["dock-staff-daily-patrol"] == ("excused", "met", "missed")
    assert "dock-staff-daily-patrol" not in c.uncovered
    assert c.uncovered["dock-chief-weekly-patrol"] == "no expectation that it is met and no expectation that it fails"


def test_a_failing_case_shows_expected_against_actual_with_evidence(tmp_path):
    wrong = CASE.replace("period: 2026-08-06, status: missed", "period: 2026-08-06, status: met").replace(
        "period: 2026-08-03, status: met, evidence: [t1]", "period: 2026-08-03, status: met, evidence: [t9]")
    result = run("test", str(folder(tmp_path, wrong)), "--junit", str(tmp_path / "junit.xml"))
    assert result.returncode == 1
    assert "FAIL" in result.stdout
    assert "dock-staff-daily-patrol / p-yu-hong / 2026-08-06: expected met, got missed: required at least 1 patrol (Aug 6, 2026)" in result.stdout
    assert "expected evidence ['t9'], got ['t1']" in result.stdout
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite.get("name") == "ruleset xiangshan" and suite.get("failures") == "1"
    assert "expected met, got missed" in suite.find("testcase/failure").text


def test_unknown_findings_list_the_choices_and_rejects_are_counted(tmp_path):
    text = CASE.replace("subject: p-yu-hong, period: 2026-08-06", "subject: p-nobody, period: 2026-08-06").replace(
        "  - {id: t3,", '  - {id: t4, kind: patrol, time: "2026-08-31T10:00:00", actor: p-ghost, unit: dongmen-north}\n  - {id: t3,')
    result = run("test", str(folder(tmp_path, text)))
    assert result.returncode == 1
    assert "no such finding; the obligation's findings are: p-du-xin / 2026-08-03" in result.stdout
    assert "expected 0 rejected event(s), got 1" in result.stdout
    assert "case.yaml:7: a patrol event needs attribute 'mode'; unknown person 'p-ghost'" in result.stdout  # the line of the inline event in the case file


def test_an_invalid_case_is_located_and_exits_two(tmp_path):
    result = run("test", str(folder(tmp_path, CASE.replace("status: excused", "status: forgiven"))))
    assert result.returncode == 2 and "case.yaml:14:" in result.stdout and "forgiven" in result.stdout


def test_full_coverage_can_be_required(tmp_path):
    assert run("test", str(folder(tmp_path))).returncode == 0
    assert run("test", str(tmp_path), "--require-full-coverage").returncode == 1


def test_a_case_that_cannot_run_is_reported_and_the_others_still_run(tmp_path):
    base = folder(tmp_path)
    (base / "tests" / "naive.yaml").write_text(CASE.replace("as_of: 2026-09-01T00:00:00+08:00", "as_of: 2026-09-01T00:00:00"), encoding="utf-8")
    result = run("test", str(base), "--junit", str(tmp_path / "j.xml"))
    assert result.returncode == 2
    assert "PASS" in result.stdout and "naive.yaml:10:" in result.stdout and "time zone offset" in result.stdout
    assert (tmp_path / "j.xml").exists()


def test_flagged_expects_exactly_the_events_min_spacing_flags(tmp_path):
    """``flagged`` (optional) compares the event ids ``min_spacing`` flagged on a finding, as a set;
    ``flagged: []`` expects none. The dock staff's daily patrol flags a patrol less than 30 minutes
    after the previous one."""
    close = CASE.replace(
        "  - {id: t2,", '  - {id: t1b, kind: patrol, time: "2026-08-03T09:10:00+08:00", actor: p-yu-hong, unit: dongmen-north, '
                       "attributes: {mode: field}}\n  - {id: t2,").replace(
        "period: 2026-08-03, status: met, evidence: [t1]}", "period: 2026-08-03, status: met, evidence: [t1, t1b], flagged: [t1b]}").replace(
        "period: 2026-08-04, status: met, evidence: [t2]}", "period: 2026-08-04, status: met, evidence: [t2], flagged: []}")
    (tmp_path / "right").mkdir()
    (tmp_path / "wrong").mkdir()
    results, _ = run_paths([folder(tmp_path / "right", close)], Plugins(entry_points=True))
    assert [(r.passed, r.failures) for r in results] == [(True, ())]
    wrong = close.replace("flagged: [t1b]}", "flagged: []}").replace("evidence: [t2], flagged: []}", "evidence: [t2], flagged: [t2]}")
    results, _ = run_paths([folder(tmp_path / "wrong", wrong)], Plugins(entry_points=True))
    assert results[0].failures == (
        "dock-staff-daily-patrol / p-yu-hong / 2026-08-03: expected flagged [], got ['t1b']; "
        "1 counted less than 30 minutes after the previous one: t1b 10 minutes after t1",
        "dock-staff-daily-patrol / p-yu-hong / 2026-08-04: expected flagged ['t2'], got []",
    )
