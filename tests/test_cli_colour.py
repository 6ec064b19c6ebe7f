"""Colour on the command line: only on a terminal, never with NO_COLOR (https://no-color.org),
and the coloured text is the plain text plus escape codes, nothing else. On a terminal, ``audit``
without ``--format`` and ``--output`` prints a summary; a pipe or a file gets the Markdown report."""

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
#: asking for the Markdown report prints it on a terminal too (coloured) instead of the summary
MARKDOWN = [*AUDIT, "--format", "markdown"]
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
    coloured = run(*MARKDOWN, FORCE_COLOR="1")
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
    result = run(*MARKDOWN, **settings)
    assert "\x1b" not in result.stdout and "\x1b" not in result.stderr
    assert result.stdout == plain.stdout and result.stderr == plain.stderr
    summary = run(*AUDIT, **settings)  # the summary, where there is a terminal, has no colour either
    assert "\x1b" not in summary.stdout and summary.stderr == plain.stderr


def test_other_formats_are_never_coloured(plain):
    result = run(*AUDIT, "--format", "json", FORCE_COLOR="1")
    assert "\x1b" not in result.stdout and result.stdout.startswith("{")


def on_a_terminal(*args: str, **settings: str) -> str:
    """Run the command with its standard output on a real pseudo-terminal; what it printed there."""
    return run_on_a_terminal(*args, **settings)[0]


def run_on_a_terminal(*args: str, **settings: str) -> tuple[str, int, str]:
    """Standard output on a real pseudo-terminal: what it printed there, the exit status and what it
    printed on standard error (a pipe)."""
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
        done = subprocess.run([str(EXE), *args], cwd=ROOT, stdout=follower, stderr=subprocess.PIPE, timeout=120, env=environment(**settings))
    finally:
        os.close(follower)
        reader.join(timeout=60)
        os.close(leader)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n"), done.returncode, done.stderr.decode("utf-8")


def test_a_real_terminal_is_told_from_a_pipe(plain):
    coloured = on_a_terminal(*MARKDOWN)
    assert "\x1b[" in coloured and ESCAPE.sub("", coloured) == plain.stdout
    uncoloured = on_a_terminal(*MARKDOWN, NO_COLOR="1")
    assert uncoloured == plain.stdout


def test_a_terminal_gets_a_summary_of_the_report(plain):
    """Without --format and --output a terminal gets tables, not the Markdown report: one row per
    obligation with its counts by status and its rate, a total, then the findings that are not met
    by unit (hierarchy order), then where the whole report is."""
    summary, status, errors = run_on_a_terminal(*AUDIT, COLUMNS="200")
    assert status == plain.returncode and errors == plain.stderr  # the same exit status and warnings
    assert "\x1b[" in summary
    text = ESCAPE.sub("", summary)
    assert on_a_terminal(*AUDIT, COLUMNS="200", NO_COLOR="1") == text  # colour is all NO_COLOR takes away
    assert "| missed |" not in text and text != plain.stdout
    assert re.search(r"obligation +cited +met +late +missed +open +excused +n/a +rate", text)
    assert re.search(r"dock-staff-daily-patrol \(assumed\) +Xiangshan 2022, art\. 13 +359 +0 +3 +0 +5 +0 +99%", text)
    assert re.search(r"grid-monthly-patrol \(assumed\) +Xiangshan 2022, art\. 13 +40 +0 +2 +0 +0 +0 +95%", text)
    assert re.search(r"all obligations +706 +3 +24 +0 +6 +0 +96%", text)
    assert "706 met, 3 late, 24 missed, 0 open, 6 excused, 0 not applicable; rate over all findings 96%, obligation-weighted rate 78%." in text
    assert "Findings that are not met (27)" in text
    units = [name for name in ("东门一网格 (dongmen-g1)", "东门北码头 (dongmen-north)", "番西码头 (fanxi-dock)", "鹤浦镇 (hepu)", "小百丈码头 (xiaobai-dock)")]
    assert [text.index(name) for name in units] == sorted(text.index(name) for name in units)  # county down to dock
    hepu = text.index("鹤浦镇 (hepu)")
    assert re.match(r"鹤浦镇 \(hepu\) +missed +town-anti-smuggling-officer", text[hepu:])
    assert "--output FILE" in text and "--format markdown" in text


def test_the_summary_counts_what_it_leaves_out(monkeypatch, capsys):
    """A county with thousands of failures: the terminal gets the first few and how many more."""
    from complianceengine import cli

    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(cli, "MAX_SUMMARY_FINDINGS", 5)
    assert cli.main([*AUDIT, "--fail-on", "none", "--quiet"]) == 0
    text = ESCAPE.sub("", capsys.readouterr().out)
    assert "Findings that are not met (27)" in text and "... and 22 more findings that are not met." in text
    shown = text.split("Findings that are not met (27)", 1)[1].split("... and", 1)[0]
    assert len(re.findall(r" (?:missed|late) {2,}[a-z]", shown)) == 5


def test_a_workbook_is_never_written_to_a_terminal(tmp_path):
    out, status, errors = run_on_a_terminal(*AUDIT, "--format", "xlsx")
    assert status == 2 and out == ""
    assert "--format xlsx writes a binary file" in errors and "--output" in errors and "Traceback" not in errors
    # redirected, standard output takes it
    with open(tmp_path / "report.xlsx", "wb") as stream:
        done = subprocess.run([str(EXE), *AUDIT, "--format", "xlsx", "--fail-on", "none"], cwd=ROOT, stdout=stream,
                              stderr=subprocess.PIPE, timeout=120, env=environment())
    assert done.returncode == 0 and (tmp_path / "report.xlsx").read_bytes()[:2] == b"PK"
