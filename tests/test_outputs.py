"""Nothing the user passed in is overwritten, outputs are written atomically, and report cells
cannot run as spreadsheet formulas or break a Markdown table."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import threading

import pytest

from complianceengine import PluginError, Plugins, audit, hookimpl, render
from complianceengine.cli import main
from complianceengine.outputs import write_atomically

from conftest import ROOT, base_registry, base_ruleset, event, local

SAMPLE = ROOT / "rulesets" / "xiangshan"


@pytest.fixture
def sample(tmp_path):
    """A copy of the Xiangshan sample, so an accident cannot touch the repository's files."""
    shutil.copytree(SAMPLE, tmp_path / "xiangshan")
    root = tmp_path / "xiangshan"
    return {"ruleset": root / "ruleset.yaml", "registry": root / "sample" / "registry.yaml", "events": root / "sample" / "events.jsonl"}


def audit_args(paths, *extra):
    return [
        "audit", str(paths["ruleset"]), "--registry", str(paths["registry"]), "--events", str(paths["events"]),
        "--from", "2026-08-01", "--to", "2026-10-31", "--as-of", "2026-11-01T00:00:00+08:00", "--fail-on", "none", *extra,
    ]


@pytest.mark.parametrize("option", ["--output", "--rejects"])
@pytest.mark.parametrize("input_name", ["ruleset", "registry", "events"])
def test_audit_refuses_to_write_over_an_input(sample, option, input_name, capsys):
    before = {name: path.read_bytes() for name, path in sample.items()}
    assert main(audit_args(sample, option, str(sample[input_name]))) == 2
    assert "is one of the inputs" in capsys.readouterr().err
    assert {name: path.read_bytes() for name, path in sample.items()} == before


def test_a_link_to_an_input_is_refused_too(sample, tmp_path, capsys):
    link = tmp_path / "report.md"
    os.link(sample["events"], link)
    assert main(audit_args(sample, "--output", str(link))) == 2
    assert "is one of the inputs" in capsys.readouterr().err


def test_output_and_rejects_cannot_share_a_file(sample, tmp_path, capsys):
    out = tmp_path / "out.txt"
    assert main(audit_args(sample, "--output", str(out), "--rejects", str(out))) == 2
    assert "name the same file" in capsys.readouterr().err and not out.exists()


def test_check_refuses_to_write_over_the_ruleset(sample, capsys):
    before = sample["ruleset"].read_bytes()
    assert main(["check", str(sample["ruleset"]), "--output", str(sample["ruleset"])]) == 2
    assert sample["ruleset"].read_bytes() == before


def test_an_interrupted_write_leaves_the_previous_output_intact(sample, tmp_path, monkeypatch, capsys):
    out = tmp_path / "report.md"
    out.write_text("the previous report\n", encoding="utf-8")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)  # the moment the new report would take the old one's place
    assert main(audit_args(sample, "--output", str(out))) == 130
    assert out.read_text(encoding="utf-8") == "the previous report\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report.md")] == [], "the temporary file is removed"
    assert "interrupted" in capsys.readouterr().err


def test_an_atomic_write_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    write_atomically(target, "new")
    assert target.read_text(encoding="utf-8") == "new" and target.stat().st_mode & 0o777 == 0o640


HOSTILE = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1}


def hostile_report():
    registry = base_registry().model_copy(deep=True)
    people = [p.model_copy(update={"name": name}) for p, name in zip(registry.people, ["=HYPERLINK(\"http://x\")", "<b>|x\r\ny</b>", "@SUM(A1)"])]
    registry = registry.model_copy(update={"people": people})
    events = [event("+cmd|' /C calc'!A0", "patrol", local(2026, 9, 1, 9), actor="a", unit="d1")]
    return audit(base_ruleset(HOSTILE), registry, events, first_day=dt.date(2026, 9, 1), last_day=dt.date(2026, 9, 2),
                 as_of=local(2026, 9, 3))


def test_csv_cells_cannot_run_as_formulas():
    rows = list(csv.DictReader(io.StringIO(render(hostile_report(), "csv"))))
    evidence = [r["evidence"] for r in rows if r["evidence"]]
    assert evidence == ["'+cmd|' /C calc'!A0"]
    for row in rows:
        for value in row.values():
            assert not value or value[0] not in "=+@" and not (value[0] == "-" and len(value) > 1 and not value[1:].replace(".", "").isdigit())


def test_markdown_cells_cannot_break_the_table_or_carry_html():
    text = render(hostile_report(), "markdown")
    assert "<b>" not in text and "&lt;b&gt;" in text
    assert "\r" not in text
    for line in text.splitlines():
        if line.startswith("| missed"):
            assert line.count(" | ") == 7  # eight columns (the unit is the list's heading), whatever the names hold


# ------------------------------------------------------------------ plugin failures keep the report


class Exits:
    @hookimpl
    def complianceengine_process_findings(self, findings, ruleset):
        raise SystemExit(0)


class EmptiesInPlace:
    @hookimpl
    def complianceengine_process_findings(self, findings, ruleset):
        findings.clear()  # and returns None: "leave the findings as they are"


class BrokenFormat:
    @hookimpl
    def complianceengine_reporters(self):
        return {"broken": lambda report: 1 / 0}


def small_audit(*plugins):
    return audit(base_ruleset(HOSTILE), base_registry(), [], first_day=dt.date(2026, 9, 1), last_day=dt.date(2026, 9, 2),
                 as_of=local(2026, 9, 3), plugins=Plugins(plugins))


def test_a_plugin_exiting_is_a_plugin_error_not_the_end_of_the_run():
    with pytest.raises(PluginError, match="Exits.*SystemExit"):
        small_audit(Exits())


def test_a_plugin_emptying_the_findings_in_place_changes_nothing():
    assert len(small_audit(EmptiesInPlace()).findings) == len(small_audit().findings) == 4


def test_a_report_format_that_fails_is_named():
    report = small_audit()
    with pytest.raises(PluginError, match="BrokenFormat.*'broken'.*ZeroDivisionError"):
        render(report, "broken", Plugins([BrokenFormat()]))


def test_a_plugin_module_that_fails_to_import_is_a_usage_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "explodes_on_import.py").write_text("raise RuntimeError('no tide table configured')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["--plugin", "explodes_on_import", "plugins"]) == 2
    assert "importing it failed: RuntimeError: no tide table configured" in capsys.readouterr().err
    assert main(["--plugin", " ", "plugins"]) == 2


def test_the_report_is_kept_when_its_format_fails_and_written_before_anyone_is_told(sample, tmp_path, monkeypatch, capsys):
    (tmp_path / "local_plugins.py").write_text(
        "from complianceengine import hookimpl\n"
        "@hookimpl\ndef complianceengine_reporters():\n    return {'broken': lambda report: 1 / 0}\n"
        "SEEN = []\n"
        "@hookimpl\ndef complianceengine_notify(findings, report):\n    import os\n    SEEN.append(os.path.exists(os.environ['REPORT_PATH']))\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "report.md"
    monkeypatch.setenv("REPORT_PATH", str(out))
    assert main(["--no-entry-points", "--plugin", "local_plugins", *audit_args(sample, "--format", "broken", "--output", str(out))]) == 2
    err = capsys.readouterr().err
    assert "ZeroDivisionError" in err and "written as JSON" in err
    kept = tmp_path / "report.md.json"
    assert kept.exists() and '"findings"' in kept.read_text(encoding="utf-8")
    import local_plugins

    assert main(["--no-entry-points", "--plugin", "local_plugins", *audit_args(sample, "--output", str(out))]) == 0
    assert local_plugins.SEEN == [True], "the notifier runs after the report is written"


def test_test_junit_refuses_to_write_over_a_case_file(sample, capsys):
    case = next((sample["ruleset"].parent / "tests").glob("*.yaml"))
    before = case.read_bytes()
    assert main(["test", str(case), "--junit", str(case)]) == 2
    assert "is one of the inputs" in capsys.readouterr().err and case.read_bytes() == before


def test_a_special_file_or_a_link_as_output_is_written_through(tmp_path):
    real = tmp_path / "real.md"
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    write_atomically(link, "new")
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new"
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    write_atomically(fifo, ["a", "b"])
    reader.join(5)
    assert received == ["ab"] and not fifo.is_file()


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here (macOS, Windows): outputs are only fsync'd")
@pytest.mark.parametrize("binary", [False, True])
def test_a_large_output_is_handed_to_the_disk_as_it_is_written(tmp_path, monkeypatch, binary):
    """Every WRITE_BACK_EVERY bytes the kernel is asked to start writing the file back (so the
    fsync at the end waits for little); the file holds exactly what was written, and a file system
    that refuses the advice is simply not asked again."""
    from complianceengine import outputs

    asked = []
    monkeypatch.setattr(outputs, "WRITE_BACK_EVERY", 1000)
    monkeypatch.setattr(outputs, "_ADVISE", lambda fd, offset, length, advice: asked.append((offset, length, advice)))
    pieces = [f"{i:04d} 码头\n" for i in range(3000)]
    path = tmp_path / "big.txt"
    with outputs.open_atomically(path, binary=binary) as stream:
        for piece in pieces:
            stream.write(piece.encode("utf-8") if binary else piece)
    assert path.read_text(encoding="utf-8") == "".join(pieces)
    assert 1 <= len(asked) <= len("".join(pieces).encode("utf-8")) // 1000 and asked[0] == (0, 0, os.POSIX_FADV_DONTNEED)

    def refuse(fd, offset, length, advice):
        asked.append("refused")
        raise OSError(22, "Invalid argument")

    asked.clear()
    monkeypatch.setattr(outputs, "_ADVISE", refuse)
    write_atomically(path, pieces)
    assert path.read_text(encoding="utf-8") == "".join(pieces) and asked == ["refused"]


def test_the_json_report_goes_to_a_file_as_its_bytes(sample, tmp_path):
    """A text stream this package opened (UTF-8, nothing translated on this system) takes the JSON
    report's UTF-8 bytes as they are, the text written before and after it in its place; any other
    text stream (a StringIO, standard output captured) is written the text. Both give one report."""
    import json
    import sys

    from complianceengine import load_registry, load_ruleset, outputs, read_events
    from complianceengine.renderers import _write_json, json_bytes

    ruleset = load_ruleset(sample["ruleset"])
    registry = load_registry(sample["registry"], ruleset)
    report = audit(ruleset, registry, read_events(sample["events"], ruleset, registry), first_day=dt.date(2026, 8, 1),
                   last_day=dt.date(2026, 10, 31), as_of=dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))), notify=False)
    path = tmp_path / "report.json"
    with outputs.open_atomically(path) as stream:
        assert (outputs.utf8_bytes(stream) is not None) == (os.linesep == "\n")
        stream.write("前")
        _write_json(report, stream)
        stream.write("后")
    text = io.StringIO()
    assert outputs.utf8_bytes(text) is None
    assert sys.stdout is sys.__stdout__ or outputs.utf8_bytes(sys.stdout) is None  # captured: not the process's own
    _write_json(report, text)
    assert path.read_text(encoding="utf-8") == "前" + text.getvalue() + "后" == "前" + b"".join(json_bytes(report)).decode() + "后"
    assert "巡查" in text.getvalue() and json.loads(text.getvalue())["findings"] == json.loads(report.model_dump_json())["findings"]


@pytest.mark.parametrize("when", ["early", "last"])
def test_a_write_that_fails_in_the_writing_thread_is_the_callers_error(tmp_path, monkeypatch, when):
    """The file is written by a thread of its own: a write that fails there (a full disk) is
    raised in the caller's thread, by a later write or at the end, with its errno; the previous
    file stays as it was, no temporary file is left and no thread keeps running."""
    import errno
    import threading

    from complianceengine import outputs

    path = tmp_path / "report.json"
    path.write_text("before", encoding="utf-8")
    calls = []
    write = outputs._WrittenBack._write

    def full(self, data):
        calls.append(len(data))
        if when == "early" or len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(self, data)

    monkeypatch.setattr(outputs._WrittenBack, "_write", full)
    before = set(threading.enumerate())
    pieces = ["x" * 100_000] * (60 if when == "early" else 25)
    with pytest.raises(OSError) as failed:
        write_atomically(path, pieces)
    assert failed.value.errno == errno.ENOSPC
    assert path.read_text(encoding="utf-8") == "before" and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    assert not [t for t in set(threading.enumerate()) - before if t.name == "complianceengine-write"]
    if when == "early":  # given up: what came after the error was not written, nor all of it handed over
        assert len(calls) == 1


def test_a_binary_output_may_seek_back_over_what_it_wrote(tmp_path):
    """The writing thread's writes are done before the position is read or moved: a format that
    seeks back to fill in a header (a workbook's zip) gets the file it wrote."""
    from complianceengine import outputs

    path = tmp_path / "out.bin"
    with outputs.open_atomically(path, binary=True) as stream:
        for i in range(300):
            stream.write(bytes([i % 256]) * 10_000)
        end = stream.tell()
        stream.seek(5)
        stream.write(b"HEADER")
        stream.seek(0, os.SEEK_END)
        stream.write(b"TAIL")
    data = path.read_bytes()
    assert end == 3_000_000 and data[5:11] == b"HEADER" and data[:5] == b"\x00" * 5 and data.endswith(b"TAIL") and len(data) == 3_000_004


def test_a_flushed_output_is_in_the_file(tmp_path):
    """Found by a review: flushing a stream of open_atomically put its bytes in the file before
    the writing thread; now a flush waits for it, as an ordinary file's does (a format may then
    use the file descriptor: its size, a write of its own, a subprocess writing to it)."""
    from complianceengine import outputs

    path = tmp_path / "out.bin"
    with outputs.open_atomically(path, binary=True) as stream:
        stream.write(b"HEADER " * 300_000)
        stream.flush()
        assert os.fstat(stream.fileno()).st_size == 2_100_000
        os.write(stream.fileno(), b"BODY")
    assert path.read_bytes() == b"HEADER " * 300_000 + b"BODY"
    with outputs.open_atomically(path) as text:
        text.write("前" * 1000)
        text.flush()
        assert os.fstat(text.fileno()).st_size == 3000


def test_threads_and_a_memory_limit_choose_the_blocks_screened_at_once(monkeypatch):
    """Found by a review: ``threads`` below 1 is refused (DuckDB refused it before the screen had
    lanes); a memory limit without ``threads`` screens one block at a time (the limit is the
    blocks' together, and one block's fit where two did not); ``threads`` says how many."""
    from complianceengine import UsageError
    from complianceengine import screen as screening

    from test_screen import REGISTRY, RULESET

    rules = screening.Rules(RULESET, REGISTRY)
    for threads in (0, -1):
        with pytest.raises(UsageError, match="threads must be at least 1"):
            with screening._connected(rules, threads, None):
                pass
    for threads, limit, expected in ((None, "64MB", 1), (3, "64MB", 3), (None, None, min(screening.LANES, screening._processors())), (2, None, 2)):
        with screening._connected(rules, threads, limit) as lanes:
            assert len(lanes) == expected
