"""Events from tables and Parquet (the arrow extra): a row is a record, checked as a JSON line is,
so the same events give the same findings and the same rejects whichever way they come."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import complianceengine as ce
from complianceengine import UsageError, events_from_records, read_events

from conftest import ROOT, base_registry, base_ruleset

SAMPLE = ROOT / "rulesets" / "xiangshan" / "sample"
RANGE = {"first_day": dt.date(2026, 8, 1), "last_day": dt.date(2026, 10, 31), "as_of": dt.datetime.fromisoformat("2026-11-01T00:00+08:00")}
DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1}


class _Stream:
    """Something that exports the Arrow stream interface and nothing else (as a polars frame or
    a DuckDB result does)."""

    def __init__(self, table: pa.Table):
        self.table = table

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self.table.__arrow_c_stream__(requested_schema)


def _sample_records() -> list[dict]:
    """The sample's lines that are JSON objects (one deliberately bad line is not JSON at all)."""
    out = []
    for line in (SAMPLE / "events.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _bare(event: ce.Event) -> ce.Event:
    return event.model_copy(update={"origin": None})


def _table(rows: list[dict]) -> pa.Table:
    """A table with a column for every key of any row (absent: null; ``Table.from_pylist`` would
    take the first row's keys only)."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return pa.table({name: pa.array([row.get(name) for row in rows]) for name in names})


def _flat_table(records: list[dict]) -> pa.Table:
    """The records as a table with one column per field and per attribute (absent: null)."""
    return _table([{**{k: v for k, v in r.items() if k != "attributes"}, **r.get("attributes", {})} for r in records])


@pytest.fixture(scope="module")
def xiangshan():
    plugins = ce.Plugins(entry_points=True)
    ruleset = ce.load_ruleset(ROOT / "rulesets" / "xiangshan" / "ruleset.yaml", plugins)
    return ruleset, ce.load_registry(SAMPLE / "registry.yaml", ruleset), plugins


def _verdicts(report: ce.Report) -> list[tuple[str, str, tuple[str, ...]]]:
    return sorted((f.id, f.status, f.evidence) for f in report.findings)


def test_a_table_gives_the_events_its_rows_are(xiangshan):
    ruleset, registry, plugins = xiangshan
    from_lines = read_events(SAMPLE / "events.jsonl", ruleset, registry, plugins)
    table = _flat_table(_sample_records())
    for given in (table, table.combine_chunks().to_batches()[0], _Stream(table)):
        log = events_from_records(given, ruleset, registry, plugins)
        assert [_bare(e) for e in log.events] == [_bare(e) for e in from_lines.events]
        assert [r.errors for r in log.rejects] == [r.errors for r in from_lines.rejects if not r.errors[0].startswith("invalid JSON")]
        assert len(log.duplicates) == len(from_lines.duplicates)
    log = events_from_records(table, ruleset, registry, plugins)
    assert _verdicts(ce.audit(ruleset, registry, log, plugins=plugins, **RANGE)) == \
        _verdicts(ce.audit(ruleset, registry, from_lines, plugins=plugins, **RANGE))


def test_a_bad_row_is_rejected_with_its_row_number():
    table = pa.table({
        "id": ["p1", "p2", "p3"],
        "kind": ["patrol", "patrol", "parade"],
        "time": pa.array([dt.datetime(2026, 9, 1, 1), dt.datetime(2026, 9, 1, 2), dt.datetime(2026, 9, 1, 3)],
                         pa.timestamp("s", tz="Asia/Shanghai")),
        "actor": ["a", "nobody", "a"],
        "unit": ["d1", "d1", None],  # an empty cell is no value
    })
    log = events_from_records(table, base_ruleset(DAILY), base_registry(), source="db")
    assert [e.id for e in log.events] == ["p1"] and log.events[0].unit == "d1"
    assert [(r.file, r.line) for r in log.rejects] == [("db", 1), ("db", 2)]
    assert "unknown person 'nobody'" in log.rejects[0].errors[0] and "unknown event kind 'parade'" in log.rejects[1].errors[0]


def test_parquet_files_and_hive_folders_give_the_same_findings_as_json_lines(xiangshan, tmp_path):
    ruleset, registry, plugins = xiangshan
    from_lines = ce.audit(ruleset, registry, read_events(SAMPLE / "events.jsonl", ruleset, registry, plugins), plugins=plugins, **RANGE)
    records = _sample_records()
    pq.write_table(_table(records), tmp_path / "events.parquet")  # attributes as a struct column
    folder = tmp_path / "events"
    pq.write_to_dataset(_flat_table(records), folder, partition_cols=["kind"])  # kind=patrol/..., flat attributes
    lines = read_events(SAMPLE / "events.jsonl", ruleset, registry, plugins)
    for path in (tmp_path / "events.parquet", folder):
        log = read_events(path, ruleset, registry, plugins)
        assert sorted(r.errors for r in log.rejects) == sorted(r.errors for r in lines.rejects if not r.errors[0].startswith("invalid JSON"))
        assert sorted(e.id for e in log.events) == sorted(e.id for e in lines.events)
        assert _verdicts(ce.audit(ruleset, registry, log, plugins=plugins, **RANGE)) == _verdicts(from_lines)
        screened = read_events(path, ruleset, registry, plugins, engine="duckdb")  # the same log, screened where it can be
        assert screened == log
    rows = read_events(tmp_path / "events.parquet", ruleset, registry, plugins)
    assert rows.events[0].origin is not None and rows.events[0].origin.line == 1


def test_json_lines_csv_parquet_and_a_table_give_the_same_findings_and_rejects(xiangshan, tmp_path):
    """The sample's records as JSON lines, as a CSV file (a column per field and attribute,
    participants joined with ';'), as a Parquet file and as an Arrow table, on both engines:
    the same events, the same rejects (but for the line that is not JSON, which only the JSON
    lines file has), the same findings."""
    import csv

    ruleset, registry, plugins = xiangshan
    records = _sample_records()
    flat = [{**{k: v for k, v in r.items() if k != "attributes"}, **r.get("attributes", {})} for r in records]
    names = list(dict.fromkeys(name for row in flat for name in row))
    with (tmp_path / "events.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, names)
        writer.writeheader()
        for row in flat:
            writer.writerow({k: ";".join(v) if isinstance(v, list) and k == "participants" else
                             json.dumps(v) if isinstance(v, bool) else v for k, v in row.items()})
    pq.write_table(_flat_table(records), tmp_path / "events.parquet")
    lines = read_events(SAMPLE / "events.jsonl", ruleset, registry, plugins, engine="reference")
    expected = _verdicts(ce.audit(ruleset, registry, lines, plugins=plugins, **RANGE))
    json_rejects = sorted(r.errors for r in lines.rejects if not r.errors[0].startswith("invalid JSON"))
    for engine in ("reference", "duckdb"):
        logs = {"csv": read_events(tmp_path / "events.csv", ruleset, registry, plugins, engine=engine),
                "parquet": read_events(tmp_path / "events.parquet", ruleset, registry, plugins, engine=engine),
                "table": events_from_records(_flat_table(records), ruleset, registry, plugins, engine=engine),
                "jsonl": read_events(SAMPLE / "events.jsonl", ruleset, registry, plugins, engine=engine)}
        for how, log in logs.items():
            assert sorted((e.id, _bare(e)) for e in log.events) == sorted((e.id, _bare(e)) for e in lines.events), (engine, how)
            rejects = sorted(r.errors for r in log.rejects)
            assert rejects == (sorted(r.errors for r in lines.rejects) if how == "jsonl" else json_rejects), (engine, how)
            # every row read is accepted, rejected or an identical repeat (a conflicting repeat is a reject)
            rows = len(records) + (how == "jsonl")  # and the line that is not JSON
            assert len(log.events) + len(log.rejects) + sum(d.identical for d in log.duplicates) == rows, (engine, how)
            assert _verdicts(ce.audit(ruleset, registry, log, plugins=plugins, engine=engine, **RANGE)) == expected, (engine, how)


def test_the_command_line_reads_a_parquet_folder(tmp_path):
    pq.write_to_dataset(_flat_table(_sample_records()), tmp_path / "events", partition_cols=["kind"])
    args = ["audit", "rulesets/xiangshan/ruleset.yaml", "--registry", str(SAMPLE / "registry.yaml"), "--from", "2026-08-01",
            "--to", "2026-10-31", "--as-of", "2026-11-01T00:00:00+08:00", "--format", "json", "--fail-on", "none"]
    exe = Path(sys.executable).parent / "complianceengine"
    folder = subprocess.run([str(exe), *args, "--events", str(tmp_path / "events")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = subprocess.run([str(exe), *args, "--events", str(SAMPLE / "events.jsonl")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert folder.returncode == 0, folder.stderr
    a, b = json.loads(folder.stdout), json.loads(lines.stdout)
    assert [(f["id"], f["status"]) for f in a["findings"]] == [(f["id"], f["status"]) for f in b["findings"]]
    assert a["inputs"][-1]["kind"] == "events" and len(a["inputs"][-1]["sha256"]) == 64


def test_without_pyarrow_the_extra_is_named(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.dataset", None)
    (tmp_path / "events.parquet").write_bytes(b"PAR1")
    with pytest.raises(UsageError, match=r"complianceengine\[arrow\]"):
        read_events(tmp_path / "events.parquet", base_ruleset(DAILY), base_registry())
    with pytest.raises(UsageError, match=r"complianceengine\[arrow\]"):
        events_from_records(_Stream(pa.table({"id": ["x"]})), base_ruleset(DAILY), base_registry())


def test_a_file_that_is_not_parquet_is_an_error_with_its_path(tmp_path):
    from complianceengine import EventSourceError

    (tmp_path / "events.parquet").write_text("not parquet", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    for path, message in ((tmp_path / "events.parquet", "cannot read Parquet"), (tmp_path / "empty", "no Parquet files")):
        with pytest.raises(EventSourceError, match=message) as raised:
            read_events(path, base_ruleset(DAILY), base_registry())
        assert raised.value.problems[0].location.file == str(path)


def test_each_parquet_file_of_a_folder_is_read_with_its_own_columns(tmp_path):
    """A column only a later file has was dropped (the folder took the first file's columns):
    each file is read with its own columns now, and a column of another type is that file's
    (its rows rejected, not the folder refused); both engines give the same log."""
    from test_duckdb import REGISTRY
    from test_screen import RULESET, _same_logs

    folder = tmp_path / "events"
    folder.mkdir()
    when = "2026-10-01T09:30:00+08:00"
    pq.write_table(pa.table({"id": ["e1"], "kind": ["patrol"], "time": [when], "actor": ["a"]}), folder / "1.parquet")
    pq.write_table(pa.table({"id": ["e2"], "kind": ["patrol"], "time": [when], "actor": ["a"], "note": ["late"]}), folder / "2.parquet")
    pq.write_table(pa.table({"id": ["e3"], "kind": [7], "time": [when], "actor": ["a"]}), folder / "3.parquet")
    plugins = ce.Plugins([])
    log = read_events(folder, RULESET, REGISTRY, plugins)
    assert [(e.id, e.attributes) for e in log.events] == [("e1", {}), ("e2", {"note": "late"})]
    assert [(Path(r.file).name, r.line) for r in log.rejects] == [("3.parquet", 1)]
    _same_logs(log, read_events(folder, RULESET, REGISTRY, plugins, engine="duckdb"))
