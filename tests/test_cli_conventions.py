"""Command-line conventions: --version, '-' for standard input and output, --quiet, a cap on
warnings."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

EXE = Path(sys.executable).parent / "complianceengine"
SAMPLE = ["rulesets/xiangshan/ruleset.yaml", "--registry", "rulesets/xiangshan/sample/registry.yaml",
          "--from", "2026-08-01", "--to", "2026-10-31", "--as-of", "2026-11-01T00:00:00+08:00", "--fail-on", "none"]
EVENTS = ROOT / "rulesets" / "xiangshan" / "sample" / "events.jsonl"


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], cwd=ROOT, capture_output=True, text=True, timeout=120, input=stdin)


def test_version():
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"complianceengine {importlib.metadata.version('complianceengine')}"


def test_events_from_standard_input_give_the_same_report():
    from_file = cli("audit", *SAMPLE, "--events", str(EVENTS), "--format", "json")
    from_stdin = cli("audit", *SAMPLE, "--events", "-", "--format", "json", "--output", "-", stdin=EVENTS.read_text(encoding="utf-8"))
    assert from_stdin.returncode == from_file.returncode == 0
    file_report, stdin_report = json.loads(from_file.stdout), json.loads(from_stdin.stdout)
    assert [f["id"] for f in stdin_report["findings"]] == [f["id"] for f in file_report["findings"]]
    assert [r["file"] for r in stdin_report["rejects"]] == ["<stdin>"] * len(file_report["rejects"])


def test_warnings_are_capped_and_quiet_silences_them(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(f"not json {i}\n" for i in range(50)), encoding="utf-8")
    loud = cli("audit", *SAMPLE, "--events", str(bad))
    warnings = [line for line in loud.stderr.splitlines() if line.startswith("warning: rejected event")]
    assert len(warnings) == 20 and "30 more rejected event lines" in loud.stderr
    quiet = cli("audit", *SAMPLE, "--events", str(bad), "--quiet")
    assert quiet.stderr == "" and quiet.returncode == 0
    both = cli("audit", *SAMPLE, "--events", str(bad), "--output", "-", "--rejects", "-")
    assert both.returncode == 2 and "both name standard output" in both.stderr


def test_a_reader_that_goes_away_stops_the_command_quietly():
    """`complianceengine audit ... | head -c 10`: no traceback, no error line, exit 141 (as SIGPIPE)."""
    from test_cli import sample_args

    proc = subprocess.Popen([str(EXE), "audit", *sample_args("xiangshan"), "--format", "json", "--fail-on", "none", "--quiet"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and err == ""
