"""The published JSON Schema: up to date, and the bundled documents validate against it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from complianceengine.errors import RulesetError
from complianceengine.loading import _read_yaml
from complianceengine.schemas import schema
from conftest import ROOT

EXE = Path(sys.executable).parent / "complianceengine"


@pytest.mark.parametrize("kind", ["ruleset", "registry"])
def test_the_published_schema_is_the_generated_one(kind):
    published = json.loads((ROOT / "docs" / "schema" / f"{kind}.schema.json").read_text(encoding="utf-8"))
    assert published == schema(kind), f"run: complianceengine schema {'--registry ' if kind == 'registry' else ''}--output docs/schema/{kind}.schema.json"
    printed = subprocess.run([str(EXE), "schema", *(["--registry"] if kind == "registry" else [])], capture_output=True, text=True, check=True)
    assert json.loads(printed.stdout) == published


def _data(path: Path):
    plain, _ = _read_yaml(path, RulesetError)
    return json.loads(json.dumps(plain, default=str))


@pytest.mark.parametrize("path", sorted(ROOT.glob("rulesets/*/ruleset.yaml")) + sorted(ROOT.glob("rulesets/*/sample/registry.yaml")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_bundled_documents_validate_and_point_editors_at_the_schema(path):
    kind = "ruleset" if path.name == "ruleset.yaml" else "registry"
    jsonschema.Draft202012Validator(schema(kind)).validate(_data(path))
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=") and first.endswith(f"docs/schema/{kind}.schema.json")
    assert (path.parent / first.split("=", 1)[1]).resolve() == ROOT / "docs" / "schema" / f"{kind}.schema.json"


def test_the_schema_rejects_what_the_loader_rejects():
    data = _data(ROOT / "rulesets" / "xiangshan" / "ruleset.yaml")
    validator = jsonschema.Draft202012Validator(schema("ruleset"))
    data["obligations"][0]["period"] = "fortnight"
    assert not validator.is_valid(data)
    data["obligations"][0]["period"] = "day"
    data["obligations"][0]["at_leest"] = 1
    assert not validator.is_valid(data)
    data["obligations"][0].pop("at_leest")
    data["obligations"][0]["kind"] = "per_window"  # a plugin's kind: shapes are the plugin's business
    assert validator.is_valid(data)
