"""JSON lines screened by DuckDB give exactly the reference reader's log.

``read_events(..., engine="duckdb")`` lets DuckDB check the plain lines in bulk and keeps them as
rows of an Arrow table (:mod:`complianceengine.screen`, :mod:`complianceengine.eventtable`); every
other line goes through the reference reader's own path. The events, rejects and repeats must be
the reference reader's on any text: random lines, valid and broken in the ways JSON readers
differ (trailing commas, NaN, a key given twice, escapes, control characters, CRLF, a byte-order
mark), blocks cut anywhere; and audits of the table must give the reference's findings.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complianceengine import Plugins, UsageError, audit, load_registry, load_ruleset, read_events
from complianceengine import screen as screening
from complianceengine.eventtable import EventTable, View
from complianceengine.model import EventLog, Ruleset

from conftest import XIANGSHAN
from test_duckdb import FIRST, LAST, REGISTRY, world_ruleset, worlds

RULESET: Ruleset = Ruleset.model_validate({
    **world_ruleset("Asia/Shanghai").model_dump(by_alias=True, exclude={"event_kinds"}),
    "event_kinds": {
        "patrol": {"label": {"en": "patrol"}, "requires": ["actor"], "attributes": {
            "mode": {"type": "enum", "values": ["field", "online"], "value_labels": {"field": {"en": "on site", "zh": "实地"}}},
            "boats": {"type": "integer"}, "hours": {"type": "number"}, "urgent": {"type": "boolean"}, "crew": {"type": "list"},
            "note": {"type": "string"}, "place": {"type": "ref", "refers_to": "unit"}, "at": {"type": "datetime"},
            'odd "name"': {"type": "string"}}},
        "visit": {"label": {"en": "visit"}, "requires": ["subject"]},
        "report": {"label": {"en": "report"}, "attributes": {"case": {"type": "string", "required": True}}},
        "meeting": {"label": {"en": "meeting"}, "requires": ["unit"], "attributes": {"departments": {"type": "list"}}},
        "leave": {"label": {"en": "leave"}, "requires": ["actor"], "attributes": {"until": {"type": "datetime", "required": True}},
                  "excuses": {"who": "actor", "until": "until"}},
        "closure": {"label": {"en": "closure"}, "requires": ["unit"], "attributes": {"until": {"type": "datetime", "required": True}},
                    "excuses": {"who": "unit", "until": "until"}},
    },
    "obligations": [],
})

# pieces of lines: values of every JSON type, names known and unknown, texts that need escapes
TEXTS = ["a", "b", "c", "d", "d1", "d2", "t", "r1", "r2", "x", "", "field", "online", "on site", "实地", "e1", "e2", "e1 ", "é",
         'q"uote', "back\\slash", "tab\there", "line\nbreak", "\u2028", "😀", "\ud800"]
NAMES = ["id", "kind", "time", "actor", "participants", "on_behalf_of", "unit", "subject", "attributes", "extra", "记录编号"]
ATTRIBUTES = ["mode", "boats", "hours", "urgent", "crew", "note", "place", "at", 'odd "name"', "case", "departments", "until", "other",
              "巡查方式"]
TIMES = ["2026-10-01T09:30:00+08:00", "2026-10-01T09:30:00.5+08:00", "2026-10-01T09:30:00.123456Z", "2026-10-01T09:30:00-05:30",
         "2026-10-01T09:30:00", "2026-10-01 09:30", "2026-02-30T09:30:00+08:00", "2026-10-01T24:00:00+08:00", "2026-10-01T09:30:00+24:00",
         "0000-01-01T00:00:00Z", "2026-10-01T09:30:00.1234567+08:00", "2026-10-01t09:30:00Z", "2026", "now", "2024-02-29T23:59:59+14:00"]
NUMBERS = ["0", "1", "-3", "2.5", "1e3", "1E-2", "18446744073709551616", "9223372036854775808", "-9223372036854775809",
           "1" * 31, "1e400", "NaN", "Infinity", "-0", "01", "1.", ".5"]


@st.composite
def values(draw: st.DrawFn, depth: int = 0) -> str:
    """A JSON value as text, sometimes one JSON readers disagree on."""
    choice = draw(st.integers(0, 9 if depth < 2 else 5))
    if choice <= 2:
        return json.dumps(draw(st.sampled_from(TEXTS)), ensure_ascii=draw(st.booleans()))
    if choice == 3:
        return draw(st.sampled_from(NUMBERS))
    if choice == 4:
        return draw(st.sampled_from(["true", "false", "null"]))
    if choice == 5:
        return json.dumps(draw(st.sampled_from(TIMES)))
    if choice <= 7:
        items = draw(st.lists(values(depth + 1), max_size=3))
        return "[" + ",".join(items) + draw(st.sampled_from(["", "", "", ","])) + "]"
    return objects(draw, ATTRIBUTES, depth + 1)


def objects(draw: st.DrawFn, names: list[str], depth: int) -> str:
    keys = draw(st.lists(st.sampled_from(names), max_size=5))
    pairs = [f"{json.dumps(k, ensure_ascii=draw(st.booleans()))}{draw(st.sampled_from([':', ': ', ' :']))}{draw(values(depth))}" for k in keys]
    return "{" + draw(st.sampled_from([",", ", "])).join(pairs) + draw(st.sampled_from(["", "", "", ","])) + "}"


@st.composite
def events(draw: st.DrawFn) -> str:
    """A line that is usually a valid event, often a plain one, sometimes broken."""
    kind = draw(st.sampled_from(["patrol", "patrol", "visit", "report", "meeting", "leave", "closure", "other"]))
    record: dict[str, Any] = {"id": draw(st.sampled_from(["e1", "e2", "e3", "e4", "e5", "e6"])), "kind": kind,
                              "time": draw(st.sampled_from(TIMES[:4] * 3 + TIMES))}
    for field in ("actor", "unit", "subject", "on_behalf_of"):
        if draw(st.integers(0, 3)) == 0 or (field == "actor" and kind == "patrol"):
            record[field] = draw(st.sampled_from(["a", "b", "c", "d", "d1", "r1", "r2", "z", ""]))
    if draw(st.integers(0, 4)) == 0:
        record["participants"] = draw(st.lists(st.sampled_from(["a", "b", "c", "zz"]), max_size=2))
    if kind == "patrol" and draw(st.booleans()):
        record["attributes"] = {"mode": draw(st.sampled_from(["field", "online", "实地", "other"]))}
        if draw(st.booleans()):
            record["attributes"]["boats"] = draw(st.sampled_from([0, 3, -1, 2.5, "2", True, 2**64]))
        if draw(st.booleans()):
            name = draw(st.sampled_from(["hours", "urgent", "crew", "note", "place", "at", 'odd "name"', "other", "巡查方式"]))
            record["attributes"][name] = draw(st.sampled_from([1, 2.5, True, "x", ["x", "y"], "d1", "2026-10-02T00:00:00+08:00", None]))
    if kind in ("report",) and draw(st.integers(0, 3)):
        record["attributes"] = {"case": draw(st.sampled_from(["A", "B", 1]))}
    if kind in ("leave", "closure"):
        record["attributes"] = {"until": draw(st.sampled_from(["2026-10-05T00:00:00+08:00", "2026-09-01T00:00:00+08:00", "soon"]))}
    if draw(st.integers(0, 5)) == 0:
        record.pop(draw(st.sampled_from(sorted(record))))
    text = json.dumps(record, ensure_ascii=draw(st.booleans()), separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))
    return text


@st.composite
def lines(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 11))
    if kind <= 6:
        return draw(events())
    if kind == 7:
        return objects(draw, NAMES, 0)
    if kind == 8:
        line = draw(events())
        cut = draw(st.integers(0, len(line)))
        return line[:cut] + draw(st.sampled_from(["", ",", "}", "\t", "\r", " ", "x", '"', "{", "\\", "\x01"])) + line[cut:]
    if kind == 9:
        return draw(st.sampled_from(["", " ", "[]", "1", "null", '"text"', "\ufeff{}", "{}", '{"id": "e1", "id": "e2"}']))
    if kind == 10:  # a key given twice
        line = draw(events())
        return line[:-1] + ', "kind": "visit"}'
    return draw(events()) + "\r"


def _read(tmp_path: Path, text: bytes, engine: str, registry: Any, plugins: Plugins, name: str = "events.jsonl") -> EventLog:
    path = tmp_path / name
    path.write_bytes(text)
    return read_events(path, RULESET, registry, plugins, engine=engine)  # type: ignore[arg-type]


def _same_logs(a: EventLog, b: EventLog) -> None:
    assert a.rejects == b.rejects
    assert a.duplicates == b.duplicates
    assert len(a.events) == len(b.events)
    for x, y in zip(a.events, b.events, strict=True):
        assert x == y
        # the same instant with the same zone object and fold, as the reference reader gives
        assert type(x.time) is type(y.time) and x.time.tzinfo == y.time.tzinfo and x.time.fold == y.time.fold
        assert x.time.utcoffset() == y.time.utcoffset() and x.attributes == y.attributes
        assert [type(v) for v in x.attributes.values()] == [type(v) for v in y.attributes.values()]
        assert list(x.attributes) == list(y.attributes)  # in the line's order
        assert x.origin == y.origin
    assert a == b


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.lists(lines(), max_size=25), registered=st.booleans(), bom=st.booleans(), crlf=st.booleans(), block=st.integers(1, 400),
       end=st.booleans())
def test_screened_lines_give_the_reference_log(tmp_path, monkeypatch, text, registered, bom, crlf, block, end):
    monkeypatch.setattr(screening, "BLOCK", block)  # blocks end anywhere: lines cut across them
    data = ("\r\n" if crlf else "\n").join(text) + ("\n" if end else "")
    raw = (b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8", errors="surrogatepass")
    registry = REGISTRY if registered else None
    plugins = Plugins([])
    reference = _read(tmp_path, raw, "reference", registry, plugins)
    screened = _read(tmp_path, raw, "duckdb", registry, plugins)
    _same_logs(reference, screened)


def test_the_screen_finds_plain_lines_and_not_only_those(tmp_path):
    """The random lines above are not all left to the reference path: plain ones become rows,
    and a line of each unusual kind does not."""
    plain = {"id": "p1", "kind": "patrol", "time": "2026-10-01T09:30:00+08:00", "actor": "a", "unit": "d1",
             "attributes": {"mode": "field", "boats": 3, "urgent": True, "note": "é"}}
    unusual = [
        {**plain, "id": "u1", "attributes": {"mode": "实地"}},  # a label for an enum value
        {**plain, "id": "u2", "attributes": {"hours": 2.5}},  # a number with a fraction
        {**plain, "id": "u3", "attributes": {"crew": ["x"]}},  # a list
        {**plain, "id": "u4", "time": "2026-10-01T09:30:00"},  # a naive time
        {"id": "u5", "kind": "leave", "time": "2026-10-01T09:30:00+08:00", "actor": "a", "attributes": {"until": "2026-10-03T00:00:00+08:00"}},
    ]
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in [plain, *unusual]) + '\n{"id": "u6", "kind": "visit", "time": "2026-10-01T09:30:00+08:00", "actor": "\\u0061", "subject": "r1"}\n'
    path = tmp_path / "events.jsonl"
    path.write_text(text, encoding="utf-8")
    screened = read_events(path, RULESET, REGISTRY, Plugins([]), engine="duckdb")
    assert isinstance(screened.events, EventTable)
    assert screened.events.where[0] == 0 and set(screened.events.objects) == {1, 2, 3, 4, 5, 6}
    _same_logs(read_events(path, RULESET, REGISTRY, Plugins([]), engine="reference"), screened)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(world=worlds(), as_of=st.sampled_from([dt.datetime(2026, 11, 11, tzinfo=dt.timezone.utc), dt.datetime(2026, 10, 16, 9, tzinfo=dt.timezone.utc)]),
       short=st.booleans())
def test_audits_of_screened_events_give_the_reference_findings(tmp_path, world, as_of, short):
    """Random worlds (see test_duckdb) written as JSON lines (every field, or only those given):
    the DuckDB engine on the screened table, never building most events, finds what the
    reference finds on the events read in Python."""
    zone, made = world
    ruleset = world_ruleset(zone)
    path = tmp_path / "world.jsonl"
    path.write_text("".join(e.model_dump_json(exclude={"origin"}, exclude_defaults=short) + "\n" for e in made), encoding="utf-8")
    reference_log = read_events(path, ruleset, REGISTRY, Plugins([]), engine="reference")
    table_log = read_events(path, ruleset, REGISTRY, Plugins([]), engine="duckdb")
    kwargs: dict[str, Any] = {"first_day": FIRST, "last_day": LAST, "as_of": as_of, "notify": False, "plugins": Plugins([])}
    reference = audit(ruleset, REGISTRY, reference_log, engine="reference", **kwargs)
    columnar = audit(ruleset, REGISTRY, table_log, engine="duckdb", **kwargs)
    assert columnar.findings == reference.findings
    assert columnar.model_copy(update={"engine": "reference"}) == reference
    # and the reference backend on the table (it builds every event)
    assert audit(ruleset, REGISTRY, table_log, engine="reference", **kwargs) == reference


def test_the_samples_read_by_duckdb_give_their_reports(tmp_path):
    """The Xiangshan sample read both ways, audited on both engines: one report."""
    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    registry = load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset)
    events_file = XIANGSHAN / "sample" / "events.jsonl"
    reference_log = read_events(events_file, ruleset, registry, engine="reference")
    table_log = read_events(events_file, ruleset, registry, engine="duckdb")
    assert isinstance(table_log.events, EventTable) and len(table_log.events.objects) < len(table_log.events) / 2
    _same_logs(reference_log, table_log)
    kwargs: dict[str, Any] = {"first_day": dt.date(2026, 8, 1), "last_day": dt.date(2026, 10, 31),
                              "as_of": dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))), "notify": False}
    reference = audit(ruleset, registry, reference_log, engine="reference", **kwargs)
    assert audit(ruleset, registry, table_log, engine="duckdb", **kwargs).model_copy(update={"engine": "reference"}) == reference


def test_a_normaliser_sees_the_lines_it_may_change(tmp_path):
    """The platform plugin's function names its headers (``keys``): a JSON line in the platform's
    shape goes to it, the plain ones are screened; a function without ``keys`` leaves the whole
    file to the reference path."""
    import complianceengine_platform_csv

    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    registry = load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset)
    sample = (XIANGSHAN / "sample" / "events.jsonl").read_text(encoding="utf-8").splitlines()[:50]
    patrol = next(json.loads(line) for line in sample if json.loads(line)["kind"] == "patrol")
    platform = json.dumps({"attributes": {"记录编号": "PF-1", "事件类型": "巡查", "发生时间": "2026/08/03 09:30", "人员编号": patrol["actor"],
                                          "单位编号": patrol["unit"], "mode": "field"}}, ensure_ascii=False)
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([*sample[:25], platform, *sample[25:]]) + "\n", encoding="utf-8")
    plugins = Plugins([complianceengine_platform_csv])
    screened = read_events(path, ruleset, registry, plugins, engine="duckdb")
    reference = read_events(path, ruleset, registry, plugins, engine="reference")
    _same_logs(reference, screened)
    assert isinstance(screened.events, EventTable) and [e.id for e in screened.events.objects.values()] == ["PF-1"]

    class Keyless:
        @staticmethod
        def complianceengine_record_normaliser(path: Path, ruleset: Ruleset) -> Any:
            return lambda record: None

    from complianceengine import hookimpl

    Keyless.complianceengine_record_normaliser = hookimpl(Keyless.complianceengine_record_normaliser)  # type: ignore[method-assign]
    keyless = read_events(path, ruleset, registry, Plugins([complianceengine_platform_csv, Keyless()]), engine="duckdb")
    assert isinstance(keyless.events, tuple)


def test_an_event_table_is_a_sequence_of_events(tmp_path):
    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    registry = load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset)
    events_file = XIANGSHAN / "sample" / "events.jsonl"
    listed = read_events(events_file, ruleset, registry, engine="reference").events
    table = read_events(events_file, ruleset, registry, engine="duckdb").events
    assert isinstance(table, EventTable) and not table._built
    assert table[0] == listed[0] and table[-1] == listed[-1] and table[5] is table[5]
    with pytest.raises(IndexError):
        table[len(table)]
    part = table[10:20]
    assert isinstance(part, tuple) and part == listed[10:20] and table[::-50] == listed[::-50]
    view = table.view()[10:20]
    assert isinstance(view, View) and list(view) == list(listed[10:20]) and view == listed[10:20]
    assert table == listed and listed == tuple(table) and table != listed[:-1] and table != list(listed)
    assert table + listed[:1] == listed + listed[:1] and listed[:1] + table == listed[:1] + listed
    assert len(table._built) == len(table) - len(table.objects)  # built once, kept
    arrow = table.arrow()
    assert arrow.column("id").to_pylist() == [e.id for e in listed]
    assert arrow.column("t").to_pylist() == [e.time.timestamp() for e in listed] == table.times()
    log = EventLog(events=table)
    assert log.events is table and EventLog.model_validate_json(log.model_dump_json()) == log
    assert EventLog(events=listed).model_dump_json() == log.model_dump_json()
    # include and exclude reach the events, on both kinds of log (review finding: they were lost)
    for events in (table, listed):
        dumped = EventLog(events=events).model_dump(exclude={"events": {"__all__": {"origin"}}})
        assert "origin" not in dumped["events"][0]
        assert list(EventLog(events=events).model_dump(include={"events": {"__all__": {"id"}}})["events"][0]) == ["id"]
    assert EventLog(events=(e for e in listed)).events == listed  # a generator, as before
    # a table pickles and copies (it keeps how rows are built, not the reader and its plugins)
    import copy
    import pickle

    assert pickle.loads(pickle.dumps(log)) == log and copy.deepcopy(log) == log and log.model_copy(deep=True) == log


def test_reading_with_an_unknown_engine_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="unknown engine"):
        read_events(XIANGSHAN / "sample" / "events.jsonl", load_ruleset(XIANGSHAN / "ruleset.yaml"), engine="fast")  # type: ignore[arg-type]


def test_auto_reads_large_files_with_duckdb(monkeypatch, tmp_path):
    """``auto`` reads a JSON lines file of AUTO_BYTES or more with DuckDB, a smaller one and
    standard input in Python, and any file with DuckDB when DuckDB's settings are given; the
    log is the same, and an audit of it with ``auto`` judges on the engine that read it."""
    import io
    import sys

    from complianceengine import eventfiles

    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    registry = load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset)
    events_file = XIANGSHAN / "sample" / "events.jsonl"
    size = events_file.stat().st_size
    small = read_events(events_file, ruleset, registry)
    assert isinstance(small.events, tuple)
    assert isinstance(read_events(events_file, ruleset, registry, threads=1).events, EventTable)
    monkeypatch.setattr(eventfiles, "AUTO_BYTES", size)  # as large as the threshold: DuckDB
    large = read_events(events_file, ruleset, registry)
    assert isinstance(large.events, EventTable) and large == small
    assert isinstance(read_events(events_file, ruleset, registry, engine="reference").events, tuple)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(events_file.read_bytes())))
    assert isinstance(read_events("-", ruleset, registry).events, tuple)
    monkeypatch.setattr(eventfiles, "AUTO_BYTES", size + 1)
    assert isinstance(read_events(events_file, ruleset, registry).events, tuple)
    kwargs: dict[str, Any] = {"first_day": dt.date(2026, 8, 1), "last_day": dt.date(2026, 8, 31),
                              "as_of": dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))), "notify": False}
    on_duckdb, on_reference = audit(ruleset, registry, large, **kwargs), audit(ruleset, registry, small, **kwargs)
    assert (on_duckdb.engine, on_reference.engine) == ("duckdb", "reference")
    assert on_duckdb.findings == on_reference.findings
    assert audit(ruleset, registry, small, threads=1, **kwargs).engine == "duckdb"


def test_duckdb_settings_go_with_the_duckdb_engine(tmp_path):
    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    events_file = XIANGSHAN / "sample" / "events.jsonl"
    with pytest.raises(UsageError, match="DuckDB settings"):
        read_events(events_file, ruleset, engine="reference", threads=1)
    with pytest.raises(UsageError, match="refused the settings"):
        read_events(events_file, ruleset, engine="duckdb", memory_limit="lots")
    small = read_events(events_file, ruleset, engine="duckdb", threads=1, memory_limit="64MB")
    assert small == read_events(events_file, ruleset)


def test_a_memory_limit_too_small_for_a_block_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setattr(screening, "BLOCK", 64 << 20)
    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    line = (XIANGSHAN / "sample" / "events.jsonl").read_bytes().split(b"\n")[0] + b"\n"
    path = tmp_path / "big.jsonl"
    path.write_bytes(line * 200_000)
    with pytest.raises(UsageError, match="DuckDB failed while screening lines 1 to"):
        read_events(path, ruleset, engine="duckdb", memory_limit="4MB", threads=1)


def _ruleset_with(kinds: dict[str, Any]) -> Ruleset:
    return Ruleset.model_validate({**RULESET.model_dump(by_alias=True, exclude={"event_kinds"}), "event_kinds": kinds})


def test_review_findings_on_rulesets_and_instants(tmp_path):
    """Review findings: a ruleset whose kinds have no attribute of a plain type made DuckDB refuse
    the path it was given; a kind with a required attribute a path cannot name let a line without
    it through; instants beyond 2^53 microseconds from 1970 were rounded twice, so they are not
    plain (their order is the reference's)."""
    plugins = Plugins([])
    bare = _ruleset_with({"k": {"label": {"en": "k"}}, "m": {"label": {"en": "m"}, "attributes": {"at": {"type": "datetime"}}}})
    path = tmp_path / "bare.jsonl"
    path.write_text('{"id": "p1", "kind": "k", "time": "2026-10-01T09:30:00+08:00"}\n'
                    '{"id": "p2", "kind": "m", "time": "2026-10-01T09:30:00+08:00", "attributes": {"complianceengine: no plain attribute": 1}}\n',
                    encoding="utf-8")
    screened = read_events(path, bare, None, plugins, engine="duckdb")
    _same_logs(read_events(path, bare, None, plugins, engine="reference"), screened)
    assert isinstance(screened.events, EventTable) and not screened.events.objects and [r.line for r in screened.rejects] == [2]

    quoted = _ruleset_with({"k": {"label": {"en": "k"}, "attributes": {'say "hi"': {"type": "string", "required": True},
                                                                        "note": {"type": "string"}}},
                            "b": {"label": {"en": "b"}, "attributes": {"back\\slash": {"type": "string", "required": True}}}})
    path.write_text('{"id": "p1", "kind": "k", "time": "2026-10-01T09:30:00+08:00"}\n'
                    '{"id": "p2", "kind": "b", "time": "2026-10-01T09:30:00+08:00", "attributes": {}}\n', encoding="utf-8")
    screened = read_events(path, quoted, None, plugins, engine="duckdb")
    _same_logs(read_events(path, quoted, None, plugins, engine="reference"), screened)
    assert [r.line for r in screened.rejects] == [1, 2]

    far = tmp_path / "far.jsonl"
    far.write_text('{"id": "b", "kind": "visit", "time": "2300-01-01T00:00:00Z", "subject": "r1"}\n'
                   '{"id": "a", "kind": "visit", "time": "2300-01-01T00:00:00.000001Z", "subject": "r1"}\n'
                   '{"id": "c", "kind": "visit", "time": "2026-01-01T00:00:00.000001Z", "subject": "r1"}\n', encoding="utf-8")
    table = read_events(far, RULESET, REGISTRY, plugins, engine="duckdb").events
    assert isinstance(table, EventTable) and set(table.objects) == {0, 1}
    assert table.times() == [e.time.timestamp() for e in table]


def test_standard_input_is_screened_too(monkeypatch):
    import io
    import sys

    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    registry = load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset)
    data = (XIANGSHAN / "sample" / "events.jsonl").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    screened = read_events("-", ruleset, registry, engine="duckdb")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    reference = read_events("-", ruleset, registry)
    assert isinstance(screened.events, EventTable)
    _same_logs(reference, screened)


def test_attributes_given_as_text_are_rejected_not_a_failed_screen(tmp_path):
    """Found by a review: ``"attributes": "n/a"`` stopped the screen (DuckDB read the text as
    JSON to list its keys); the reference rejects the line, and so must the screened read."""
    line = '{"id": "p1", "kind": "patrol", "time": "2026-10-01T09:30:00+08:00", "actor": "a", "attributes": %s}'
    text = "\n".join(line % value for value in ['"n/a"', '""', '" "', '"{"', '{"mode": "field"}']) + "\n"
    reference = _read(tmp_path, text.encode(), "reference", REGISTRY, Plugins([]))
    _same_logs(reference, _read(tmp_path, text.encode(), "duckdb", REGISTRY, Plugins([])))
    assert len(reference.rejects) == 4


def test_a_screen_given_up_early_stops_its_query_in_flight(tmp_path, monkeypatch):
    """The next block is screened while the caller reads the previous one: a caller that stops
    after the first block (or fails) has the query in flight interrupted and waited for before
    the connection closes; nothing is left running."""
    import io
    import threading

    monkeypatch.setattr(screening, "BLOCK", 200)
    line = '{"id": "p%d", "kind": "visit", "time": "2026-10-01T09:30:00+08:00", "actor": "a", "subject": "r1"}'
    data = "\n".join(line % i for i in range(200)).encode()
    blocks = screening.screen(io.BytesIO(data), screening.Rules(RULESET, REGISTRY))
    first, lines, plain = next(blocks)
    assert first == 1 and plain.num_rows == len(lines)
    blocks.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("complianceengine-screen")]
