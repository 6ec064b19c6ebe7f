"""A corpus of bad inputs run through the installed ``complianceengine`` command: each gives its
exit code and a message that says what is wrong, never a traceback, and leaves the inputs as
they were."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

EXE = Path(sys.executable).parent / "complianceengine"
RANGE = ["--from", "2026-08-01", "--to", "2026-10-31", "--as-of", "2026-11-01T00:00:00+08:00"]
GOOD_EVENT = '{"id": "g1", "kind": "patrol", "time": "2026-09-01T09:00:00+08:00", "actor": "p-du-xin", "unit": "fanxi-dock", "attributes": {"mode": "field"}}'


def bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


# name: (files to write beside the copy of the Xiangshan sample, arguments, exit code, message)
CORPUS = {
    "output over the events": ({}, ["audit", "{R}", "--registry", "{G}", "--events", "{E}", *RANGE, "--output", "{E}"], 2, "is one of the inputs"),
    "rejects over the events": ({}, ["audit", "{R}", "--registry", "{G}", "--events", "{E}", *RANGE, "--rejects", "{E}"], 2, "is one of the inputs"),
    "output and rejects in one file": (
        {}, ["audit", "{R}", "--registry", "{G}", "--events", "{E}", *RANGE, "--output", "{D}/x", "--rejects", "{D}/x"], 2, "name the same file"),
    "check output over the ruleset": ({}, ["check", "{R}", "--output", "{R}"], 2, "is one of the inputs"),
    "as-of before the range": (
        {}, ["audit", "{R}", "--registry", "{G}", "--events", "{E}", "--from", "2026-08-01", "--to", "2026-10-31",
             "--as-of", "2025-11-01T00:00:00+08:00"], 2, "before the first day of the range"),
    "alias bomb": ({"bomb.yaml": bomb()}, ["check", "{D}/bomb.yaml"], 2, "expands to more than"),
    "NUL byte in a ruleset": ({"nul.yaml": "id: x\x00\n"}, ["check", "{D}/nul.yaml"], 2, "invalid YAML"),
    "NaN in an event": (
        {"nan.jsonl": GOOD_EVENT.replace('"field"', "NaN") + "\n"},
        ["audit", "{R}", "--registry", "{G}", "--events", "{D}/nan.jsonl", *RANGE], 1, "NaN is not a number"),
    "now as an event time": (
        {"now.jsonl": GOOD_EVENT.replace("2026-09-01T09:00:00+08:00", "now") + "\n"},
        ["audit", "{R}", "--registry", "{G}", "--events", "{D}/now.jsonl", *RANGE], 1, "'now' is not an ISO 8601 date-time"),
    "a line that is not UTF-8": (
        {"latin1.jsonl": b'{"id": "\xe9"}\n'},
        ["audit", "{R}", "--registry", "{G}", "--events", "{D}/latin1.jsonl", *RANGE], 1, "not UTF-8 text"),
    "a CSV column named twice": (
        {"twice.csv": "id,kind,time,actor,actor\nx,patrol,2026-09-01T09:00:00+08:00,a,b\n"},
        ["audit", "{R}", "--registry", "{G}", "--events", "{D}/twice.csv", *RANGE], 2, "appears twice in the header"),
    "a plugin that fails on import": (
        {"boom_plugin.py": "raise RuntimeError('boom')\n"}, ["--plugin", "boom_plugin", "plugins"], 2, "importing it failed: RuntimeError: boom"),
    "an empty plugin name": ({}, ["--plugin", "", "plugins"], 2, "--plugin needs a module name"),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_input(name, tmp_path):
    files, arguments, code, message = CORPUS[name]
    sample = tmp_path / "xiangshan"
    shutil.copytree(ROOT / "rulesets" / "xiangshan", sample)
    for file, content in files.items():
        target = tmp_path / file
        target.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    inputs = {p: p.read_bytes() for p in sample.rglob("*") if p.is_file()}
    paths = {"{R}": str(sample / "ruleset.yaml"), "{G}": str(sample / "sample" / "registry.yaml"),
             "{E}": str(sample / "sample" / "events.jsonl"), "{D}": str(tmp_path)}
    argv = []
    for argument in arguments:
        for key, value in paths.items():
            argument = argument.replace(key, value)
        argv.append(argument)
    result = subprocess.run([str(EXE), *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)})
    assert result.returncode == code, result.stderr
    said = result.stderr + result.stdout  # check reports on standard output, the others on standard error
    assert message in said
    assert "Traceback" not in said
    assert {p: p.read_bytes() for p in inputs} == inputs, "an input was changed"
