"""Colour on the command line: only on a terminal, never with NO_COLOR (https://no-color.org),
and the coloured text is the plain text plus escape codes, nothing else."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import ROOT

EXE = Path(sys.executable).parent / "complianceengine"
AUDIT = [
    "audit", "rulesets/xiangshan/ruleset.yaml", "--registry", "rulesets/xiangshan/sample/registry.yaml",
    "--events", "rulesets/xiangshan/sample/events.jsonl", "--from", "2026-08-01", "--to", "2026-10-31",
    "--as-of", "2026-11-01T00:00:00+08:00",
]
ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
COLOUR_SETTINGS = ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "TERM", "COLUMNS")


def environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in COLOUR_SETTINGS}
    return {**env, "TERM": "xterm-256color", **settings}


def run(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=environment(**settings))


@pytest.fixture(scope="module")
def plain() -> subprocess.CompletedProcess[str]:
    return run(*AUDIT)


def test_a_pipe_gets_plain_text_the_same_as_the_output_file(plain, tmp_path):
    assert plain.returncode == 1  # late and missed findings in the sample
    assert "\x1b" not in plain.stdout and "\x1b" not in plain.stderr
    assert run(*AUDIT, "--output", str(tmp_path / "report.md")).returncode == 1
    assert (tmp_path / "report.md").read_text(encoding="utf-8") == plain.stdout


def test_a_terminal_gets_colour_and_otherwise_the_same_text(plain):
    coloured = run(*AUDIT, FORCE_COLOR="1")
    assert coloured.returncode == plain.returncode
    assert "\x1b[" in coloured.stdout and "\x1b[" in coloured.stderr
    assert ESCAPE.sub("", coloured.stdout) == plain.stdout
    assert ESCAPE.sub("", coloured.stderr) == plain.stderr
    # the verdicts are what is coloured: each missed row's status cell, the totals, the headings
    missed_rows = [line for line in coloured.stdout.splitlines() if ESCAPE.sub("", line).startswith("| missed |")]
    assert missed_rows and all(re.match(r"\| \x1b\[[0-9;]*mmissed\x1b\[0m \|", line) for line in missed_rows)
    assert re.search(r"\x1b\[[0-9;]*m706 met\x1b\[0m", coloured.stdout)
    assert re.search(r"\x1b\[[0-9;]*mwarning:\x1b\[0m rejected event", coloured.stderr)


@pytest.mark.parametrize(
    "settings",
    [{"NO_COLOR": "1", "TTY_COMPATIBLE": "1"}, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"},
     {"TERM": "dumb", "FORCE_COLOR": "1"}],
    ids=["no-color", "no-color-beats-force-color", "tty-compatible-0", "dumb-terminal"],
)
def test_no_colour_when_told_so_even_on_a_terminal(plain, settings):
    result = run(*AUDIT, **settings)
    assert "\x1b" not in result.stdout and "\x1b" not in result.stderr
    assert result.stdout == plain.stdout and result.stderr == plain.stderr


def test_other_formats_are_never_coloured(plain):
    result = run(*AUDIT, "--format", "json", FORCE_COLOR="1")
    assert "\x1b" not in result.stdout and result.stdout.startswith("{")


def on_a_terminal(*args: str, **settings: str) -> str:
    """Run the command with its standard output on a real pseudo-terminal; what it printed there."""
    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:  # read while it runs: a pseudo-terminal holds only a few kilobytes
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the command has ended and closed its side
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        subprocess.run([str(EXE), *args], cwd=ROOT, stdout=follower, stderr=subprocess.DEVNULL, timeout=120, env=environment(**settings))
    finally:
        os.close(follower)
        reader.join(timeout=60)
        os.close(leader)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_a_real_terminal_is_told_from_a_pipe(plain):
    coloured = on_a_terminal(*AUDIT)
    assert "\x1b[" in coloured and ESCAPE.sub("", coloured) == plain.stdout
    uncoloured = on_a_terminal(*AUDIT, NO_COLOR="1")
    assert uncoloured == plain.stdout
