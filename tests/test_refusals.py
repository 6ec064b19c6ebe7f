"""Inputs that used to turn a failing audit green are refused with a located error or exit 2."""

from __future__ import annotations

import shutil

import pytest

from complianceengine import RulesetError, load_ruleset
from complianceengine.cli import main

from conftest import ROOT

SAMPLE = ROOT / "rulesets" / "xiangshan"


@pytest.fixture
def sample(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "xiangshan")
    return tmp_path / "xiangshan"


def audit(root, *extra):
    return ["audit", str(root / "ruleset.yaml"), "--registry", str(root / "sample" / "registry.yaml"),
            "--events", str(root / "sample" / "events.jsonl"), "--from", "2026-08-01", "--to", "2026-10-31", *extra]


def test_as_of_before_the_range_is_refused(sample, capsys):
    assert main(audit(sample, "--as-of", "2025-11-01T00:00:00+08:00")) == 2
    assert "before the first day of the range" in capsys.readouterr().err


def test_a_ruleset_without_obligations_is_refused(sample, capsys):
    overlay = sample / "empty.yaml"
    ids = [o.id for o in load_ruleset(sample / "ruleset.yaml").obligations]
    overlay.write_text("extends: ruleset.yaml\nremove: [" + ", ".join(ids) + "]\n", encoding="utf-8")
    args = audit(sample, "--as-of", "2026-11-01T00:00:00+08:00")
    args[1] = str(overlay)
    assert main(args) == 2
    assert "has no obligations" in capsys.readouterr().err


def test_a_boolean_is_not_a_count(sample):
    text = (sample / "ruleset.yaml").read_text(encoding="utf-8")
    (sample / "ruleset.yaml").write_text(text.replace("at_least: 1\n", "at_least: true\n", 1), encoding="utf-8")
    with pytest.raises(RulesetError) as caught:
        load_ruleset(sample / "ruleset.yaml")
    [problem] = caught.value.problems
    assert problem.location.line is not None and "at_least" in problem.path and "integer" in problem.message
