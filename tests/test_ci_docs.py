"""The worked CI examples of docs/ci.md run: every YAML block is parsed, each job's shell script is
run with bash in a copy of the bundled rulesets (``pip`` stubbed out: the command under test is
this checkout's), and the files the job hands to the CI (SARIF, JUnit, reports) must be there."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from conftest import ROOT

DOC = ROOT / "docs" / "ci.md"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "schemas" / "sarif-2.1.0-rtm.5.json").read_text(encoding="utf-8"))
BIN = Path(sys.executable).parent
# bash, before each job's script: pip is not run here (the checkout is installed already), and
# every complianceengine command is logged, so the test knows they all ran
PRELUDE = """\
pip() { echo "(not run by the test) pip $*"; }
complianceengine() { printf '%s\\n' "$*" >> "$RAN"; command complianceengine "$@"; }
"""


@dataclass(frozen=True)
class Job:
    """One CI job of a block: its shell script and the files it hands to the CI afterwards."""

    block: int
    name: str
    script: str
    handed_over: tuple[tuple[str, str], ...]  # (what the CI does with it, path)


def yaml_blocks() -> list[Any]:
    text = DOC.read_text(encoding="utf-8")
    # YAML 1.2 (ruamel): a workflow's `on:` stays a key, not the boolean PyYAML makes of it
    return [YAML(typ="safe", pure=True).load(block) for block in re.findall(r"^```yaml\n(.*?)^```", text, re.M | re.S)]


def jobs_of(index: int, block: dict[str, Any]) -> list[Job]:
    out = []
    if "jobs" in block:  # GitHub Actions
        for name, job in block["jobs"].items():
            steps = job["steps"]
            assert all("${{" not in step.get("run", "") for step in steps), "run scripts must run as written"
            handed = []
            for step in steps:
                uses, given = step.get("uses", ""), step.get("with", {})
                if uses.startswith("github/codeql-action/upload-sarif"):
                    handed.append(("sarif", given["sarif_file"]))
                elif uses.startswith("actions/upload-artifact"):
                    handed.append(("artifact", given["path"]))
            out.append(Job(index, name, "\n".join(step["run"] for step in steps if "run" in step), tuple(handed)))
    elif "stages" in block:  # GitLab CI
        default = block.get("default", {})
        for name, job in block.items():
            if not isinstance(job, dict) or "script" not in job:
                continue
            artifacts = job.get("artifacts", {})
            handed = [("artifact", p) for p in artifacts.get("paths", [])]
            handed += [("junit", p) for p in artifacts.get("reports", {}).get("junit", [])]
            lines = [*job.get("before_script", default.get("before_script", [])), *job["script"]]
            out.append(Job(index, name, "\n".join(lines), tuple(handed)))
    return out


BLOCKS = yaml_blocks()
JOBS = [job for i, block in enumerate(BLOCKS) for job in jobs_of(i, block)]


def test_the_page_has_the_examples_it_promises():
    github = [b for b in BLOCKS if "jobs" in b]
    gitlab = [b for b in BLOCKS if "stages" in b]
    assert len(github) == 2 and len(gitlab) == 1 and any("repos" in b for b in BLOCKS)
    assert any("schedule" in b["on"] for b in github) and any("pull_request" in b["on"] for b in github)
    scripts = "\n".join(job.script for job in JOBS)
    for needed in ("check rulesets --format github", "fmt --check rulesets", "--junit out/ruleset-tests.xml", "--format sarif",
                   "complianceengine audit"):
        assert needed in scripts
    assert {kind for job in JOBS for kind, _ in job.handed_over} == {"sarif", "artifact", "junit"}
    assert any(rule.get("if") == '$CI_PIPELINE_SOURCE == "schedule"' for job in gitlab[0].values() if isinstance(job, dict)
               for rule in job.get("rules", []))


def test_the_pre_commit_configuration_is_valid(tmp_path):
    config = tmp_path / ".pre-commit-config.yaml"
    [block] = [b for b in BLOCKS if "repos" in b]
    config.write_text(json.dumps(block), encoding="utf-8")  # JSON is YAML
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config", str(config)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {hook["id"] for hook in block["repos"][0]["hooks"]} == {"complianceengine-check", "complianceengine-fmt", "complianceengine-test"}


@pytest.mark.parametrize("job", JOBS, ids=lambda job: f"block{job.block}-{job.name}")
def test_each_job_runs_on_the_bundled_rulesets(tmp_path, job):
    workspace = tmp_path / "repo"
    shutil.copytree(ROOT / "rulesets", workspace / "rulesets", ignore=shutil.ignore_patterns("__pycache__"))
    ran = tmp_path / "ran.log"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "RAN": str(ran),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "CI_PROJECT_DIR": str(workspace)}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", PRELUDE + job.script], cwd=workspace, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"{job.name}:\n{result.stdout}\n{result.stderr}"
    expected = len(re.findall(r"^\s*complianceengine ", job.script, re.M))
    assert expected and len(ran.read_text(encoding="utf-8").splitlines()) == expected  # every command ran, none was skipped
    for kind, name in job.handed_over:
        path = workspace / name
        assert path.exists(), f"{job.name} hands {name} to the CI but did not write it"
        if kind == "sarif":
            log = json.loads(path.read_text(encoding="utf-8"))
            jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
            assert log["runs"][0]["tool"]["driver"]["name"] == "complianceengine"
        elif kind == "junit":
            assert ET.parse(path).getroot().tag == "testsuites"
    if "GITHUB_STEP_SUMMARY" in job.script:
        assert (tmp_path / "summary.md").read_text(encoding="utf-8").startswith("# Compliance audit")
