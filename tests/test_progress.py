"""The audit's progress: told by the core through a plain callback, shown by the command line on
a terminal after a second, never in a pipe or with --quiet."""

from __future__ import annotations

import datetime as dt
import functools
import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from complianceengine import audit, cli, read_events
from complianceengine import eventfiles
from complianceengine.progress import TerminalProgress

from conftest import ROOT, base_registry, base_ruleset, event, local

EXE = Path(sys.executable).parent / "complianceengine"
AUDIT = [
    "audit", "rulesets/xiangshan/ruleset.yaml", "--registry", "rulesets/xiangshan/sample/registry.yaml",
    "--events", "rulesets/xiangshan/sample/events.jsonl", "--from", "2026-08-01", "--to", "2026-10-31",
    "--as-of", "2026-11-01T00:00:00+08:00",
]
DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1}
POSTS = {"id": "posts", "kind": "staffing", "applies_to": {"unit_kind": "dock"}, "require": {"guard": 1}}


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120, color_system=None), out


def test_the_audit_tells_which_obligation_it_plans_and_judges():
    told = []
    audit(base_ruleset(DAILY, POSTS), base_registry(), [event("p1", "patrol", local(2026, 9, 1, 9), actor="a", unit="d1")],
          first_day=dt.date(2026, 9, 1), last_day=dt.date(2026, 9, 30), as_of=local(2026, 10, 1), progress=lambda *step: told.append(step))
    assert told == [("planning daily", 0, 2), ("planning posts", 1, 2), ("indexing the events", 0, None), ("judging daily", 0, 2),
                    ("judging posts", 1, 2)]


def test_reading_tells_how_many_lines_it_has_read(monkeypatch, tmp_path):
    monkeypatch.setattr(eventfiles, "_EVERY", 2)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(f'{{"id": "e{i}", "kind": "patrol", "time": "2026-09-01T09:00:00+08:00", "actor": "a"}}\n' for i in range(5)),
                    encoding="utf-8")
    told = []
    log = read_events(path, base_ruleset(DAILY), base_registry(), progress=lambda *step: told.append(step))
    assert len(log.events) == 5 and told == [("reading events.jsonl", 2, None), ("reading events.jsonl", 4, None)]


def test_nothing_is_shown_before_the_delay_and_nothing_stays_after():
    console, out = terminal()
    now = [0.0]
    with TerminalProgress(console, delay=1.0, clock=lambda: now[0]) as progress:
        progress("judging daily", 0, 3)
        assert out.getvalue() == ""  # a short audit shows nothing
        now[0] = 1.5
        progress("judging weekly", 1, 3)
        assert "judging weekly" in out.getvalue() and "1/3" in out.getvalue()
    assert out.getvalue().endswith("\x1b[2K") or "\x1b[1A" in out.getvalue()  # transient: the display is erased


def test_no_display_without_a_terminal():
    progress = TerminalProgress(None, delay=0)
    progress("judging daily", 0, 3)  # nowhere to show it: nothing happens
    progress.close()


def _main_on_a_terminal(monkeypatch, *args: str) -> tuple[int, str]:
    console, out = terminal()
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(cli, "_progress_console", lambda stream: console if stream is sys.stderr else None)
    monkeypatch.setattr(cli, "TerminalProgress", functools.partial(TerminalProgress, delay=0))
    return cli.main([*AUDIT, *args]), out.getvalue()


def test_the_command_line_shows_its_steps_on_a_terminal(monkeypatch, tmp_path):
    status, shown = _main_on_a_terminal(monkeypatch, "--format", "json", "--output", str(tmp_path / "report.json"))
    assert status == 1 and (tmp_path / "report.json").exists()
    for step in ("reading the registry", "planning dock-staff-daily-patrol", "judging dock-staff-daily-patrol", "writing report.json"):
        assert step in shown


def test_quiet_shows_no_progress(monkeypatch, tmp_path):
    status, shown = _main_on_a_terminal(monkeypatch, "--format", "json", "--output", str(tmp_path / "report.json"), "--quiet")
    assert status == 1 and shown == ""


def test_a_pipe_gets_no_progress(tmp_path):
    done = subprocess.run([str(EXE), *AUDIT, "--output", str(tmp_path / "report.md")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert "judging" not in done.stderr and "planning" not in done.stderr and "\x1b[" not in done.stderr


def test_a_step_without_a_total_shows_none():
    """rich keeps a task's total when told None: a step of unknown length after one of known
    length must not show the old total ("indexing the events 0/3")."""
    console, out = terminal()
    with TerminalProgress(console, delay=0) as progress:
        progress("planning a", 0, 3)
        progress("indexing the events", 0, None)
        last = out.getvalue().rsplit("indexing the events", 1)[1]
        assert "/3" not in last.split("\n")[0]
        progress("judging a", 1, 3)
        assert "1/3" in out.getvalue().rsplit("judging a", 1)[1]


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("setting", [{"FORCE_COLOR": "1"}, {"TTY_COMPATIBLE": "1"}])
def test_forcing_colour_does_not_bring_progress_into_a_pipe(monkeypatch, setting):
    for name, value in setting.items():
        monkeypatch.setenv(name, value)
    assert cli._terminal_console(_Stream(False)) is not None  # colour is forced into the pipe ...
    assert cli._progress_console(_Stream(False)) is None  # ... the progress display is not


def test_progress_needs_a_terminal_that_can_redraw(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    assert cli._progress_console(_Stream(True)) is None
    monkeypatch.setenv("TERM", "xterm-256color")
    assert cli._progress_console(_Stream(True)) is not None
