"""The hooks of ``.pre-commit-hooks.yaml``, run by pre-commit itself on a scratch ruleset repository.

The hook repository is a git repository made from this working tree (the files a build needs and
the manifest), so what is tested is what is here, committed or not. pre-commit installs it into
a fresh environment with pip, which needs the package index (or pip's cache); when pip cannot
reach either, the test is skipped, saying so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

RULESET = "shanghai"  # needs no plugin: the hooks' environment has complianceengine alone
# what `pip install .` of the hook repository needs: the metadata, the files it names, the package
HOOK_REPO_FILES = ["pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml"]
OFFLINE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable", "No matching distribution found",
           "Could not find a version that satisfies")


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false", *args],
                            cwd=cwd, capture_output=True, text=True, check=True, timeout=60)
    return result.stdout.strip()


def pre_commit(cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env["PRE_COMMIT_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in HOOK_REPO_FILES:
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "src" / "complianceengine", repo / "src" / "complianceengine", ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hooks")
    return repo, git(repo, "rev-parse", "HEAD")


def test_the_manifest_is_valid():
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_hooks_check_format_and_test_a_ruleset_repository(tmp_path, hook_repo):
    hooks, rev = hook_repo
    home = tmp_path / "pre-commit-home"
    work = tmp_path / "rules"
    shutil.copytree(ROOT / "rulesets" / RULESET, work / "rulesets" / RULESET, ignore=shutil.ignore_patterns("__pycache__"))
    (work / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks.as_posix()}\n    rev: {rev}\n    hooks:\n"
        "      - id: complianceengine-check\n      - id: complianceengine-fmt\n      - id: complianceengine-test\n",
        encoding="utf-8",
    )
    git(work, "init", "-q")
    git(work, "add", "-A")

    installed = pre_commit(work, home, "install-hooks")
    if installed.returncode != 0:
        log = (home / "pre-commit.log").read_text(encoding="utf-8") if (home / "pre-commit.log").exists() else ""
        if any(sign in installed.stdout + installed.stderr + log for sign in OFFLINE):
            pytest.skip("pre-commit could not install the hook environment: pip reaches neither the package index nor its cache")
        pytest.fail(installed.stdout + installed.stderr + log)

    clean = pre_commit(work, home, "run", "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.count("Passed") == 3

    # a warning in the ruleset, a badly laid out registry: check and fmt fail, fmt repairs the layout
    ruleset = work / "rulesets" / RULESET / "ruleset.yaml"
    ruleset.write_text(ruleset.read_text(encoding="utf-8").replace(
        "roles:\n", "roles:\n  spare: {label: {en: spare}, unit_kind: city}\n", 1), encoding="utf-8")
    registry = work / "rulesets" / RULESET / "sample" / "registry.yaml"
    canonical = registry.read_text(encoding="utf-8")
    registry.write_text(re.sub(r"(?<=\S)\n", "   \n", canonical), encoding="utf-8")  # trailing spaces after every line's text
    git(work, "add", "-A")
    failed = pre_commit(work, home, "run", "--all-files")
    assert failed.returncode == 1
    out = failed.stdout
    assert "warning CE105 unused-role: role 'spare' is used by no obligation" in out
    assert f"reformatted rulesets/{RULESET}/sample/registry.yaml" in out and "files were modified by this hook" in out
    assert registry.read_text(encoding="utf-8") == canonical
    assert out.count("Passed") == 1  # the test cases still pass
    # the hooks left the configuration alone (hidden files are not formatted)
    assert (work / ".pre-commit-config.yaml").read_text(encoding="utf-8").startswith("repos:\n  - repo:")
