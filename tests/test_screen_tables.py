"""Tables screened by DuckDB give exactly the reference's log.

``events_from_records(table, ..., engine="duckdb")`` and ``read_events(parquet, ..., engine="duckdb")``
screen a table's rows as the JSON lines of the records the reference makes of them
(:func:`complianceengine.screen.screen_table`): the plain rows stay rows of an Arrow table, every
other row is read as a record. On random tables (columns of every type, empty cells, texts that
need escapes, times as text and as instants at fixed offsets, in named zones and naive, names the
registry knows and does not, repeated ids, chunks cut anywhere) the events, rejects and repeats
must be the reference's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complianceengine import EventSourceError, Plugins, audit, events_from_records, read_events
from complianceengine import screen as screening
from complianceengine.duck import connect as duck_connect
from complianceengine.eventtable import EventTable

from test_duckdb import REGISTRY
from test_screen import RULESET, TIMES, _same_logs

KINDS = ["patrol", "visit", "report", "meeting", "leave", "closure", "unknown"]
NAMES = ["a", "b", "c", "d", "d1", "d2", "t", "r1", "r2", "x", "", "é", 'q"uote', "back\\slash", "line\nbreak", "tab\there", "\u2028", "😀"]
ZONES = ["+08:00", "UTC", "-05:30", "+05:45", "+00:00", "Z", "Asia/Shanghai", "America/New_York", "Asia/Kathmandu", None]
ATTRIBUTES = ["mode", "boats", "hours", "urgent", "crew", "note", "place", "at", 'odd "name"', "case", "departments", "until", "other", "巡查方式"]


def instants(draw: st.DrawFn) -> dt.datetime | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    # ... New York's clocks going back (2026-11-01 06:00 UTC), 1709 (local mean times: offsets in seconds)
    # ... and, naive, New York's 01:30 passed twice (2026-11-01) and its 02:30 skipped (2027-03-14)
    seconds = draw(st.sampled_from([0, 1, 86399, 86400 * 3 + 3600, 10**8, -(10**9), 7 * 10**9, 2_700_000 - 1, 2_700_000, -(10**10),
                                    2_683_800, 14_178_600]))
    micro = draw(st.sampled_from([0, 0, 1, 500000, 999999]))
    return dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=seconds, microseconds=micro)


@st.composite
def plain_tables(draw: st.DrawFn) -> pa.Table:
    """Tables of mostly plain rows (known names, the kinds' attributes of their types), a few
    cells changed to something else."""
    rows = draw(st.integers(1, 25))
    zone = draw(st.sampled_from(["+08:00", "UTC", "-05:30", "text"]))
    kinds = [draw(st.sampled_from(["patrol", "patrol", "visit", "report"])) for _ in range(rows)]
    stamps = [instants(draw) or dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc) for _ in range(rows)]
    columns: dict[str, Any] = {
        "id": [f"e{i}" for i in range(rows)], "kind": kinds,
        "time": [s.isoformat() for s in stamps] if zone == "text" else pa.array(stamps, pa.timestamp("us", tz=zone)),
        "actor": [draw(st.sampled_from("abcd")) if k == "patrol" or draw(st.booleans()) else None for k in kinds],
        "subject": [draw(st.sampled_from(["r1", "r2"])) if k == "visit" else None for k in kinds],
        "unit": [draw(st.sampled_from(["d1", "d2", "t", None])) for _ in kinds],
        "participants": [draw(st.lists(st.sampled_from("abcd"), max_size=2)) if k == "patrol" else None for k in kinds],
        "mode": [draw(st.sampled_from(["field", "online"])) if k == "patrol" else None for k in kinds],
        "boats": [draw(st.integers(0, 3)) if k == "patrol" else None for k in kinds],
        "urgent": [draw(st.booleans()) if k == "patrol" else None for k in kinds],
        "note": [draw(st.sampled_from(["late", "中文", 'q"uote'])) if k == "patrol" else None for k in kinds],
        "case": [draw(st.sampled_from(["A", "B"])) if k == "report" else None for k in kinds],
    }
    table = pa.table({name: values if isinstance(values, pa.Array) else pa.array(values) for name, values in columns.items()})
    for _ in range(draw(st.integers(0, 3))):  # a cell changed: an unknown name, a missing field, a wrong kind, a repeated id
        name = draw(st.sampled_from(["id", "kind", "actor", "subject", "unit", "mode", "boats"]))
        i = draw(st.integers(0, rows - 1))
        values = table.column(name).to_pylist()
        values[i] = draw(st.sampled_from({"id": ["e0", ""], "kind": ["meeting", "unknown"], "actor": ["zz", "", None], "subject": ["zz", None],
                                          "unit": ["zz", ""], "mode": ["on site", "other"], "boats": [-1, 2**40]}[name]))
        kind = table.schema.field(name).type
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values, None if pa.types.is_null(kind) else kind))
    return table


def nested(draw: st.DrawFn, table: pa.Table) -> pa.Table:
    """Sometimes the table with some of its attribute columns moved into an ``attributes``
    struct column (at any place; some structs null, some fields named as a core field)."""
    outside = [name for name in table.schema.names if name not in CORE]
    if not outside or not draw(st.integers(0, 2)):
        return table
    moved = draw(st.lists(st.sampled_from(outside), min_size=1, unique=True))
    arrays = [table.column(name).combine_chunks() for name in moved]
    names = list(moved)
    if draw(st.integers(0, 5)) == 0:  # a field named as a core field (an attribute of that name to the reference)
        names[draw(st.integers(0, len(names) - 1))] = draw(st.sampled_from(CORE))
    mask = pa.array([draw(st.integers(0, 5)) == 0 for _ in range(table.num_rows)], pa.bool_()) if draw(st.booleans()) else None
    struct = pa.StructArray.from_arrays(arrays, names=names, mask=mask)
    rest = table.drop_columns(moved)
    return rest.add_column(draw(st.integers(0, rest.num_columns)), "attributes", struct)


CORE = ("id", "kind", "time", "actor", "on_behalf_of", "unit", "subject", "participants")


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    return nested(draw, draw(flat_tables()))


@st.composite
def flat_tables(draw: st.DrawFn) -> pa.Table:
    if draw(st.booleans()):
        return draw(plain_tables())
    rows = draw(st.integers(0, 25))

    def cells(values: st.SearchStrategy[Any]) -> list[Any]:
        return [draw(st.none() | values) if draw(st.integers(0, 4)) == 0 else draw(values) for _ in range(rows)]

    names = st.sampled_from(NAMES)
    columns: dict[str, pa.Array] = {}
    if draw(st.integers(0, 9)):
        ids = st.sampled_from(["e1", "e2", "e3", "e4", ""]) if draw(st.booleans()) else st.text(max_size=4).map(lambda t: "e" + t)
        columns["id"] = pa.array(cells(ids), pa.string()) if draw(st.integers(0, 9)) else pa.array(cells(st.integers(0, 5)), pa.int64())
    if draw(st.integers(0, 9)):
        columns["kind"] = pa.array(cells(st.sampled_from(KINDS)), pa.string())
    if draw(st.integers(0, 9)):
        how = draw(st.sampled_from(["text", "stamp", "stamp", "stamp"]))
        if how == "text":
            columns["time"] = pa.array(cells(st.sampled_from(TIMES)), pa.string())
        else:
            unit = draw(st.sampled_from(["s", "ms", "us", "us", "ns"]))
            zone = draw(st.sampled_from(ZONES))
            stamps = [instants(draw) for _ in range(rows)]
            if unit == "s":
                stamps = [None if s is None else s.replace(microsecond=0) for s in stamps]
            elif unit == "ms":
                stamps = [None if s is None else s.replace(microsecond=s.microsecond // 1000 * 1000) for s in stamps]
            if zone is None:
                stamps = [None if s is None else s.replace(tzinfo=None) for s in stamps]
            columns["time"] = pa.array(stamps, pa.timestamp(unit, tz=zone))
    for field in ("actor", "on_behalf_of", "unit", "subject"):
        if draw(st.booleans()):
            columns[field] = pa.array(cells(names), pa.string())
    if draw(st.booleans()):
        columns["participants"] = pa.array(cells(st.lists(st.none() | names, max_size=3)), pa.list_(pa.string()))
    for name in draw(st.lists(st.sampled_from(ATTRIBUTES), max_size=4, unique=True)):
        kind = draw(st.sampled_from(["string", "int", "bool", "double", "stamp", "list", "null"]))
        if kind == "string":
            columns[name] = pa.array(cells(st.sampled_from(["field", "online", "on site", "d1", "x", "", "2026-10-05T00:00:00+08:00", "1"])),
                                     pa.string())
        elif kind == "int":
            columns[name] = pa.array(cells(st.integers(-(2**63), 2**63 - 1) | st.integers(-3, 3)), pa.int64())
        elif kind == "bool":
            columns[name] = pa.array(cells(st.booleans()), pa.bool_())
        elif kind == "double":
            columns[name] = pa.array(cells(st.floats(allow_nan=False) | st.sampled_from([0.5, 2.0, 1.0])), pa.float64())
        elif kind == "stamp":
            columns[name] = pa.array([instants(draw) for _ in range(rows)], pa.timestamp("us", tz="+08:00"))
        elif kind == "list":
            columns[name] = pa.array(cells(st.lists(st.sampled_from(["police", "customs"]), max_size=2)), pa.list_(pa.string()))
        else:
            columns[name] = pa.nulls(rows)
    table = pa.table(columns) if columns else pa.table({"id": pa.array([None] * rows, pa.string())})
    if rows and draw(st.booleans()):  # a row given twice (the same id, the same content)
        i = draw(st.integers(0, rows - 1))
        table = pa.concat_tables([table, table.slice(i, 1)])
    return table


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(table=tables(), registered=st.booleans(), chunk=st.integers(1, 30), zone=st.sampled_from([None, "America/New_York"]))
def test_screened_tables_give_the_reference_log(tmp_path, monkeypatch, table, registered, chunk, zone):
    monkeypatch.setattr(screening, "ROWS", chunk)  # chunks end anywhere
    registry = REGISTRY if registered else None
    plugins = Plugins([])
    ruleset = RULESET if zone is None else RULESET.model_copy(update={"timezone": zone})  # naive times read in a zone with DST
    reference = events_from_records(table, ruleset, registry, plugins, engine="reference")
    screened = events_from_records(table, ruleset, registry, plugins, engine="duckdb")
    _same_logs(reference, screened)
    if isinstance(screened.events, EventTable):  # the instants DuckDB orders and counts by: the reference's
        assert screened.events.times() == [event.time.timestamp() for event in reference.events]
    # a Parquet file of the same rows (numbered from 1), read both ways
    path = tmp_path / "events.parquet"
    pq.write_table(table, path)
    _same_logs(read_events(path, ruleset, registry, plugins, engine="reference"), read_events(path, ruleset, registry, plugins, engine="duckdb"))


def test_which_tables_are_screened():
    """A table is screened when DuckDB can take its columns as the reference reads them: texts,
    whole numbers, true/false, a time as text or at a fixed offset; otherwise every row is read
    as a record (the same log, events as objects)."""
    rows = {"id": ["e1", "e2"], "kind": ["visit", "visit"], "actor": ["a", "a"], "subject": ["r1", "r2"]}
    stamp = [dt.datetime(2026, 10, 1, 9, 30, tzinfo=dt.timezone.utc)] * 2

    def read_in(ruleset: Any, **columns: pa.Array) -> Any:
        table = pa.table({**{k: pa.array(v, pa.string()) for k, v in rows.items()}, **columns})
        screened = events_from_records(table, ruleset, REGISTRY, Plugins([]), engine="duckdb")
        _same_logs(events_from_records(table, ruleset, REGISTRY, Plugins([]), engine="reference"), screened)
        return screened.events

    def read(**columns: pa.Array) -> Any:
        return read_in(RULESET, **columns)

    assert isinstance(read(time=pa.array(["2026-10-01T09:30:00+08:00"] * 2)), EventTable)
    for zone in ("UTC", "+08:00", "-05:30", "Z"):  # "Z": UTC on both engines (the reference stopped with pyarrow's error)
        events = read(time=pa.array(stamp, pa.timestamp("us", tz=zone)))
        assert isinstance(events, EventTable) and not events.objects, zone
    # in a named zone: each instant with its offset there (Python's), once per distinct instant
    events = read(time=pa.array(stamp, pa.timestamp("us", tz="Asia/Shanghai")))
    assert isinstance(events, EventTable) and not events.objects and events[0].time.isoformat() == "2026-10-01T17:30:00+08:00"
    # naive: local in the ruleset's zone, each local time's instant worked out once, in Python
    events = read(time=pa.array([s.replace(tzinfo=None) for s in stamp], pa.timestamp("us")))
    assert isinstance(events, EventTable) and not events.objects and events.times() == [e.time.timestamp() for e in events]
    # a zone pendulum names and zoneinfo does not ("utc", as a ruleset may write it): the reader's zone object
    events = read_in(RULESET.model_copy(update={"timezone": "utc"}), time=pa.array([s.replace(tzinfo=None) for s in stamp], pa.timestamp("us")))
    assert isinstance(events, EventTable) and events[0].time.isoformat() == "2026-10-01T09:30:00+00:00"
    # in 1800 Shanghai's offset is in seconds (local mean time), which the reference refuses: not plain, rejected alike
    old = [dt.datetime(1800, 1, 1, tzinfo=dt.timezone.utc)] * 2
    assert len(read(time=pa.array(old, pa.timestamp("us", tz="Asia/Shanghai")))) == 0
    # a dictionary-encoded column (a pandas category) is screened as its values
    rows["kind"], rows["subject"] = ["patrol", "patrol"], [None, None]
    events = read(time=pa.array(["2026-10-01T09:30:00+08:00"] * 2), mode=pa.array(["field", "online"]).dictionary_encode())
    assert isinstance(events, EventTable) and not events.objects and [e.attributes["mode"] for e in events] == ["field", "online"]
    rows["kind"], rows["subject"] = ["visit", "visit"], ["r1", "r2"]
    # an attribute of another type makes its rows not plain, not the table
    events = read(time=pa.array(["2026-10-01T09:30:00+08:00"] * 2), other=pa.array([None, 1.5]))
    assert isinstance(events, EventTable) and list(events.objects) == []  # the second row is a reject
    # an ``attributes`` struct (pyarrow's and polars' reading of JSON lines gives one) is screened
    # as its fields; a map, or a field named as another column, leaves the table to the reference
    rows["kind"], rows["subject"] = ["patrol", "patrol"], [None, None]
    times = pa.array(["2026-10-01T09:30:00+08:00"] * 2)
    modes = pa.StructArray.from_arrays([pa.array(["field", "online"]), pa.array([2, None])], names=["mode", "boats"])
    events = read(time=times, attributes=modes)
    assert isinstance(events, EventTable) and not events.objects
    assert [e.attributes for e in events] == [{"mode": "field", "boats": 2}, {"mode": "online"}]
    nulled = pa.StructArray.from_arrays([pa.array(["field", "online"])], names=["mode"], mask=pa.array([False, True]))
    events = read(time=times, attributes=nulled)
    assert isinstance(events, EventTable) and [e.attributes for e in events] == [{"mode": "field"}, {}]
    assert isinstance(read(time=times, attributes=pa.array([[("mode", "field")]] * 2, pa.map_(pa.string(), pa.string()))), tuple)
    assert isinstance(read(time=times, attributes=pa.StructArray.from_arrays([pa.array(["x", "y"])], names=["id"])), tuple)
    # an instant in nanoseconds inside the struct is read to the microsecond on both engines (it
    # stopped both with a traceback); a field named twice is an error naming it, not a traceback
    stamps = pa.array([1_790_000_000_123_456_789, None], pa.timestamp("ns", tz="+08:00"))
    read(time=times, attributes=pa.StructArray.from_arrays([pa.array(["field", "online"]), stamps], names=["mode", "at"]))
    # a name given twice (two columns, a column and a field of the struct, a field twice) is an
    # error naming it, as a CSV header naming a column twice is: a record could keep only one
    twice = pa.StructArray.from_arrays([pa.array(["field", "online"])] * 2, names=["mode", "mode"])
    base = {k: pa.array(v, pa.string()) for k, v in rows.items()}
    for table, message in ((pa.table({**base, "time": times, "attributes": twice}), "column 'attributes' has the field 'mode' twice"),
                           (pa.table({**base, "time": times, "attributes": modes, "mode": pa.array(["online", "field"])}),
                            "'mode' is both a column and a field of the attributes column"),
                           (pa.Table.from_arrays([*base.values(), times, times], names=[*base, "time", "time"]), "column 'time' appears twice")):
        for engine in ("reference", "duckdb"):
            with pytest.raises(EventSourceError, match=message):
                events_from_records(table, RULESET, REGISTRY, Plugins([]), engine=engine)
    rows["kind"], rows["subject"] = ["visit", "visit"], ["r1", "r2"]


def test_a_county_as_a_table_is_audited_as_its_json_lines(tmp_path, monkeypatch):
    """The Xiangshan sample as an Arrow table (its attributes as columns, times at +08:00) gives
    the findings of its JSON lines, screened."""
    import json
    import os

    from test_explain import load_sample

    ruleset, registry, events, args = load_sample("xiangshan")
    rows = []
    for event in events.events:
        row = {name: getattr(event, name) for name in ("id", "kind", "actor", "on_behalf_of", "unit", "subject")}
        row["time"] = event.time.astimezone(dt.timezone(dt.timedelta(hours=8)))
        row["participants"] = list(event.participants) or None
        row.update(event.attributes)
        rows.append(row)
    names = list(dict.fromkeys(k for r in rows for k in r))
    columns = {}
    for name in names:
        values = [r.get(name) for r in rows]
        columns[name] = pa.array(values, pa.timestamp("us", tz="+08:00")) if name == "time" else pa.array(values)
    table = pa.table(columns)
    screened = events_from_records(table, ruleset, registry, args["plugins"], engine="duckdb")
    assert isinstance(screened.events, EventTable) and not screened.rejects
    by_table = audit(ruleset, registry, screened, **args, engine="duckdb", notify=False)
    by_lines = audit(ruleset, registry, events, **args, notify=False)
    assert json.loads(by_table.model_dump_json())["findings"] == json.loads(by_lines.model_dump_json())["findings"]
    # ``auto`` screens a table (or a Parquet file) of AUTO_ROWS rows or more, and the audit of
    # what it read judges on DuckDB
    from complianceengine import eventfiles

    pq.write_table(table, tmp_path / "events.parquet")
    assert isinstance(events_from_records(table, ruleset, registry, args["plugins"]).events, tuple)
    assert isinstance(read_events(tmp_path / "events.parquet", ruleset, registry, args["plugins"]).events, tuple)
    monkeypatch.setattr(eventfiles, "AUTO_ROWS", table.num_rows)
    for log, explicit in ((events_from_records(table, ruleset, registry, args["plugins"]), screened),
                          (read_events(tmp_path / "events.parquet", ruleset, registry, args["plugins"]),
                           read_events(tmp_path / "events.parquet", ruleset, registry, args["plugins"], engine="duckdb"))):
        assert isinstance(log.events, EventTable) and log == explicit
        assert audit(ruleset, registry, log, **args, notify=False).engine == "duckdb"
    # a table given to audit is read by the engine asked for, with its settings
    opened: list[tuple[Any, Any]] = []

    def spying(threads: Any, memory_limit: Any) -> Any:
        opened.append((threads, memory_limit))
        return duck_connect(threads, memory_limit)

    lanes: list[Any] = []  # the connections that screen blocks at once (each set up with the rules' variables)
    variables = screening._variables

    def counting(con: Any, *more: Any) -> None:
        lanes.append(con)
        variables(con, *more)

    monkeypatch.setattr(screening, "connect", spying)
    monkeypatch.setattr(screening, "_variables", counting)
    on_reference = audit(ruleset, registry, table, **args, engine="reference", notify=False)
    assert on_reference.engine == "reference" and opened == []
    assert audit(ruleset, registry, table, **args, notify=False).engine == "duckdb" and opened == [(1, None)]
    assert len(lanes) == min(screening.LANES, screening._processors()) and 1 <= screening._processors() <= (os.cpu_count() or 1)
    lanes.clear()
    # threads: the blocks screened at once, each by one DuckDB thread; the memory limit theirs together
    assert audit(ruleset, registry, table, **args, engine="duckdb", threads=3, memory_limit="512MB", notify=False).engine == "duckdb"
    assert opened[-1] == (1, "512MB") and len(lanes) == 3
    assert json.loads(on_reference.model_dump_json())["findings"] == json.loads(by_lines.model_dump_json())["findings"]


def test_review_findings_on_names_inputs_and_types():
    """From the review of the table screen: DuckDB matches column names without regard to case
    (a column ``ID`` read as ``id``), an empty name or one with NUL could not be written in SQL,
    a RecordBatch or an array of structs was not a table, polars' ``string_view`` and pandas'
    nanosecond instants left a table unscreened. Each now gives the reference's log (screened
    where it can be)."""
    from test_screen import _ruleset_with

    ruleset = _ruleset_with({"k": {"label": {"en": "k"}, "attributes": {"ID": {"type": "string"}, "NOTE": {"type": "string"}}}})
    when = "2026-10-01T09:30:00+08:00"

    def same(table: Any, rules: Any = ruleset, screened: bool = True) -> Any:
        log = events_from_records(table, rules, None, Plugins([]), engine="duckdb")
        _same_logs(events_from_records(table, rules, None, Plugins([]), engine="reference"), log)
        assert isinstance(log.events, EventTable) == screened
        return log

    log = same(pa.table({"id": ["e1"], "kind": ["k"], "time": [when], "ID": ["v"], "note": pa.array([None], pa.string())}))
    assert log.events[0].attributes == {"ID": "v"}
    log = same(pa.table({"id": ["e1"], "kind": ["visit"], "time": [when], "subject": ["r1"], "note": pa.array([None], pa.string()),
                         "NOTE": [1.5]}), RULESET)
    assert not log.events and "unknown attribute 'NOTE'" in log.rejects[0].errors[0]
    for odd in ("", "a\x00b"):
        log = same(pa.table({"id": ["e1"], "kind": ["visit"], "time": [when], odd: ["x"]}), RULESET, screened=False)
        assert log.rejects
    rows = {"id": ["e1", "e2"], "kind": ["k", "k"], "time": [when, when], "NOTE": ["a", "b"]}
    batch = pa.RecordBatch.from_pydict(rows)
    assert len(same(batch).events) == 2
    assert len(same(pa.table(rows).to_struct_array()).events) == 2
    if hasattr(pa, "string_view"):  # polars gives texts as string_view
        same(pa.table({name: pa.array(values, pa.string_view()) for name, values in rows.items()}))
    stamp = [dt.datetime(2026, 10, 1, 1, 30, tzinfo=dt.timezone.utc)] * 2
    same(pa.table({**{k: v for k, v in rows.items() if k != "time"}, "time": pa.array(stamp, pa.timestamp("ns", tz="UTC"))}))
    # an instant with nanoseconds is read to the microsecond, floored, as a time written with nine
    # digits is (it crashed the reference reader: pyarrow makes no datetime of it), screened too
    nanos = pa.array([1_790_000_000_000_000_001, -1], pa.timestamp("ns", tz="UTC"))
    log = same(pa.table({**{k: v for k, v in rows.items() if k != "time"}, "time": nanos}))
    assert [e.time.isoformat() for e in log.events] == ["2026-09-21T14:13:20+00:00", "1969-12-31T23:59:59.999999+00:00"]
    texts = events_from_records([{"id": "e1", "kind": "k", "time": "1969-12-31T23:59:59.999999999+00:00"}], ruleset, None, Plugins([]))
    assert texts.events[0].time == log.events[1].time
    # in a zone whose clocks go back: the hour passed twice is floored in UTC (pyarrow refused to
    # floor it in local time: an error on both engines), each instant with its own offset
    back = pa.array([1_793_512_799_000_000_001, 1_793_516_399_000_000_001], pa.timestamp("ns", tz="America/New_York"))
    log = same(pa.table({**{k: v for k, v in rows.items() if k != "time"}, "time": back}))
    assert [e.time.isoformat() for e in log.events] == ["2026-11-01T01:59:59-04:00", "2026-11-01T01:59:59-05:00"]
