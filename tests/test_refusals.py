"""Inputs that used to turn a failing audit green, or cost without bound, are refused with a located
error or exit 2."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from complianceengine import RulesetError, UsageError, load_ruleset
from complianceengine import audit as ce_audit
from complianceengine.cli import main

from conftest import ROOT, base_registry, base_ruleset, local

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


# ------------------------------------------------------------------ limits on what a ruleset may cost


def _ruleset_with(sample, old: str, new: str):
    text = (sample / "ruleset.yaml").read_text(encoding="utf-8")
    assert old in text
    (sample / "ruleset.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return sample / "ruleset.yaml"


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path = tmp_path / "ruleset.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RulesetError, match="expands to more than"):
        load_ruleset(path)


def test_deep_nesting_and_nul_bytes_are_located_errors(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 600 + "]" * 600 + "\n", encoding="utf-8")
    with pytest.raises(RulesetError, match="nested more than"):
        load_ruleset(deep)
    nul = tmp_path / "nul.yaml"
    nul.write_text("id: x\x00\n", encoding="utf-8")
    with pytest.raises(RulesetError, match="invalid YAML"):
        load_ruleset(nul)


def test_a_long_extends_chain_is_refused(tmp_path):
    shutil.copy(SAMPLE / "ruleset.yaml", tmp_path / "r0.yaml")
    for i in range(1, 30):
        (tmp_path / f"r{i}.yaml").write_text(f"extends: r{i - 1}.yaml\n", encoding="utf-8")
    with pytest.raises(RulesetError, match="more than 20 rulesets extend one another"):
        load_ruleset(tmp_path / "r29.yaml")


@pytest.mark.parametrize("every", ["PT1S", "PT59M", "P99999Y", "P20Y", "P9999D"])
def test_a_fixed_period_must_be_sensible(sample, every):
    path = _ruleset_with(sample, "period: month\n", f"period: {{every: {every}}}\n")
    with pytest.raises(RulesetError, match="every must be between PT1H and P10Y"):
        load_ruleset(path)


def test_an_audit_with_too_many_periods_is_refused():
    hourly = {"id": "hourly", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"},
              "period": {"every": "PT1H"}, "at_least": 1}
    with pytest.raises(UsageError, match="more than 100,000 periods"):
        ce_audit(base_ruleset(hourly), base_registry(), [], first_day=dt.date(2026, 1, 1), last_day=dt.date(2037, 12, 31),
                 as_of=local(2038, 1, 1))
