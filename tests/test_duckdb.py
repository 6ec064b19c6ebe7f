"""The DuckDB engine gives exactly the reference's findings.

The SQL (:mod:`complianceengine.evaluate.sql`) must mean what :mod:`complianceengine.match` and
``counts_for`` mean: a ``where`` condition is checked against the Python meaning on random values
of every type an event field can hold, and whole audits of random worlds (rosters changing
mid-period, delegates and participants, events without a unit, every kind of condition, a
time-of-day window past midnight, a calendar, a quorum, ``by`` roles, exemptions, events on
period boundaries, a zone with daylight saving time and Asia/Shanghai) must give the same
findings on both engines. The bundled samples give their golden reports.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from pydantic_core import to_json
from hypothesis import strategies as st

from complianceengine import UsageError, audit, load_registry, load_ruleset, read_events
from complianceengine.evaluate import backend_for
from complianceengine.evaluate.sql import DIALECT, field_condition
from complianceengine.match import condition_holds
from complianceengine.model import Comparison, Event, Registry, Ruleset

from zoneinfo import ZoneInfo

from conftest import ROOT, XIANGSHAN

EXE = Path(sys.executable).parent / "complianceengine"

# --------------------------------------------------------------------------------------------
# one condition, on every type of value

# numbers at the edges: past 2^53 (a double's whole numbers), past 2^63 and 2^64 (DuckDB reads
# such JSON numbers as doubles), big floats (whole), and the readers' 30-digit limit
BIG = [2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**63 + 5, 2**64 + 1, -(2**63) - 1, 10**29 + 7, -(10**29), 1e20, 9007199254740992.0,
       1.7976931348623157e308, 2.5e-7]
POOL: list[Any] = [None, True, False, 0, 1, 2, -1, 1.0, 2.5, 0.0, *BIG, "a", "b", "1", "", "true", "é",
                   (), ("a",), ("a", "b"), ("1",), ("b", "c")]
scalars = st.sampled_from([v for v in POOL if v is not None and not isinstance(v, tuple)]) | st.integers(-5, 5) | st.text("ab1", max_size=2)
bounds = st.sampled_from([0, 1, 2, -1, 1.0, 2.5, 0.5, -2.5, "a", "b", "", "1", *BIG, 10**40, -(10**40), 2**53 + 0.0, 1e37,
                          float("inf"), float("-inf"), float("nan")]) | st.integers(-3, 3)
numbers_or_text = bounds
values = st.sampled_from(POOL) | scalars | st.tuples(st.text("abc", max_size=1)) | st.lists(st.sampled_from("abc1"), max_size=3).map(tuple)


@st.composite
def conditions(draw: st.DrawFn) -> Any:
    shape = draw(st.sampled_from(["scalar", "list", "comparison"]))
    if shape == "scalar":
        return draw(scalars)
    if shape == "list":
        return draw(st.lists(scalars, min_size=1, max_size=3))
    ops = draw(st.lists(st.sampled_from(["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists"]), min_size=1, max_size=3, unique=True))
    given_: dict[str, Any] = {}
    for op in ops:
        if op in ("eq", "ne"):
            given_[op] = draw(scalars | bounds)
        elif op in ("in", "not_in"):
            given_[op] = draw(st.lists(scalars | bounds, max_size=3))
        elif op == "exists":
            given_[op] = draw(st.booleans())
        else:
            given_[op] = draw(numbers_or_text)
    return Comparison.model_validate(given_)


@pytest.fixture(scope="module")
def con() -> Any:
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


def _table(con: Any, rows: list[Any]) -> None:
    text = pa.string()
    con.register("rows_in", pa.table({
        "pos": pa.array(range(len(rows)), pa.int32()),
        "actor": pa.array([v if isinstance(v, str) else None for v in rows], text),
        "participants": pa.array([list(v) if isinstance(v, tuple) else [] for v in rows], pa.list_(text)),
        "attrs": pa.array([to_json({} if v is None else {"x/~": v}).decode() for v in rows], text),  # as DuckDBSource writes them
    }))
    con.execute("CREATE OR REPLACE TABLE events AS SELECT pos, actor, participants, CAST(attrs AS JSON) AS attrs FROM rows_in")
    con.unregister("rows_in")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(condition=conditions(), rows=st.lists(values, min_size=1, max_size=10))
def test_a_where_condition_means_in_sql_what_it_means_in_python(con, condition, rows):
    _table(con, rows)
    columns = [field_condition(name, condition).sql(dialect=DIALECT) for name in ("x/~", "actor", "participants", "time")]
    got = con.execute(f"SELECT {', '.join(columns)} FROM events AS e ORDER BY pos").fetchall()
    instant = dt.datetime(2026, 8, 1, tzinfo=dt.timezone.utc)
    for value, row in zip(rows, got):
        as_actor = value if isinstance(value, str) else None
        as_participants = value if isinstance(value, tuple) else ()
        want = (condition_holds(value, condition), condition_holds(as_actor, condition), condition_holds(as_participants, condition),
                condition_holds(instant, condition))
        assert row == want, (value, condition)


def test_whole_numbers_compare_exactly():
    """2**53 + 1 is not 2**53, as in Python (a double could not tell them apart)."""
    connection = duckdb.connect(":memory:")
    try:
        _table(connection, [2**53 + 1, 2**53])
        sql = field_condition("x/~", 2**53 + 1).sql(dialect=DIALECT)
        assert connection.execute(f"SELECT {sql} FROM events AS e ORDER BY pos").fetchall() == [(True,), (False,)]
    finally:
        connection.close()


# --------------------------------------------------------------------------------------------
# whole audits of random worlds

FIRST, LAST = dt.date(2026, 9, 20), dt.date(2026, 11, 10)
KINDS = {
    "patrol": {"label": {"en": "patrol"}, "attributes": {
        "mode": {"type": "enum", "values": ["field", "online"]}, "boats": {"type": "integer"}, "hours": {"type": "number"},
        "urgent": {"type": "boolean"}, "crew": {"type": "list"}, "note": {"type": "string"}}},
    "visit": {"label": {"en": "visit"}},
    "report": {"label": {"en": "report"}, "attributes": {"case": {"type": "string", "required": True}}},
    "ack": {"label": {"en": "ack"}, "attributes": {"case": {"type": "string", "required": True}}},
    "meeting": {"label": {"en": "meeting"}, "requires": ["unit"], "attributes": {"departments": {"type": "list"}}},
    "leave": {"label": {"en": "leave"}, "requires": ["actor"], "attributes": {"until": {"type": "datetime", "required": True}},
              "excuses": {"who": "actor", "until": "until"}},
    "closure": {"label": {"en": "closure"}, "requires": ["unit"], "attributes": {"until": {"type": "datetime", "required": True}},
                "excuses": {"who": "unit", "until": "until"}},
}
OBLIGATIONS: list[dict[str, Any]] = [
    {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "day", "at_least": 1, "distinct_within": "PT2H",
     "match": {"kind": "patrol", "where": {"mode": "field"}}},
    {"id": "weekly-boats", "kind": "frequency", "applies_to": {"roles": ["guard", "chief"]}, "period": "week", "at_least": 2,
     "match": {"kind": "patrol", "where": {"boats": {"gte": 2}, "urgent": {"ne": True}}}},
    {"id": "night", "kind": "frequency", "applies_to": {"unit_kind": "dock"}, "period": "week", "at_least": 1,
     "match": {"kind": "patrol", "time_of_day": {"from": "20:00", "to": "06:00"}}},
    {"id": "tide", "kind": "frequency", "applies_to": {"unit_kind": "dock"}, "period": "month", "at_least": 2,
     "match": {"kind": "patrol", "in_calendar": "tide"}, "during": [{"calendar": "campaign", "period": "week", "at_least": 1}]},
    {"id": "by-chief", "kind": "frequency", "applies_to": {"unit_kind": "town"}, "by": {"roles": ["chief"]}, "period": "week",
     "at_least": 1, "match": {"kind": "patrol", "where": {"crew": {"in": ["x", "y"]}}}},
    {"id": "hours", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "month", "at_least": 1,
     "match": {"kind": "patrol", "where": {"hours": {"gt": 1.5, "lte": 8}, "note": {"exists": False}}}},
    {"id": "visits", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P10D"},
    # shorter gaps inside windows (the deadlines worked out in SQL in a zone of one offset)
    {"id": "visits-raised", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": "P1M",
     "during": [{"calendar": "campaign", "max_gap": "P3D"}, {"calendar": "tide", "max_gap": "PT36H"}]},
    {"id": "ack", "kind": "response", "trigger": {"kind": "report", "where": {"case": {"ne": "Z"}}}, "correlate_on": ["case"],
     "steps": [{"id": "acked", "match": {"kind": "ack"}, "within": "PT24H"}]},
    # a step that accepts the trigger's kind (the trigger itself never answers its own case), a
    # step counted from the previous one, a key of two fields
    {"id": "ack-chain", "kind": "response", "trigger": {"kind": "report"}, "correlate_on": ["case", "unit"],
     "steps": [{"id": "seen", "match": {"kind": ["ack", "report"]}, "within": "PT12H"},
               {"id": "closed", "match": {"kind": "ack"}, "within": "PT24H", "counted_from": "previous"}]},
    # keys sometimes absent (a text enum), and keys that are whole numbers (answered as the reference does)
    {"id": "echo-mode", "kind": "response", "trigger": {"kind": "patrol", "where": {"urgent": True}}, "correlate_on": ["mode"],
     "steps": [{"id": "echo", "match": {"kind": "patrol", "where": {"urgent": False}}, "within": "P2D"}]},
    {"id": "echo-boats", "kind": "response", "trigger": {"kind": "patrol", "where": {"urgent": True}}, "correlate_on": ["boats"],
     "steps": [{"id": "echo", "match": {"kind": "patrol"}, "within": "P2D"}]},
    {"id": "meetings", "kind": "frequency", "applies_to": {"unit_kind": "town"}, "period": "month", "at_least": 1,
     "match": {"kind": "meeting", "quorum": {"attribute": "departments", "members": ["customs", "police", "port"], "at_least": 2}}},
]


def world_ruleset(zone: str, obligations: list[dict[str, Any]] = OBLIGATIONS) -> Ruleset:
    return Ruleset.model_validate({
        "id": "world", "version": "1", "title": {"en": "World"}, "timezone": zone,
        "sources": {"doc": {"short": "Doc", "title": {"en": "Doc"}}},
        "unit_kinds": {"town": {"label": {"en": "town"}}, "dock": {"label": {"en": "dock"}, "parents": ["town"]}},
        "roles": {"guard": {"label": {"en": "guard"}, "unit_kind": "dock"}, "chief": {"label": {"en": "chief"}, "unit_kind": "town"}},
        "event_kinds": KINDS,
        "calendars": {"campaign": {"label": {"en": "campaign"}, "windows": [{"start": "2026-10-05", "end": "2026-10-20"}]},
                      "tide": {"label": {"en": "tide"}, "windows": [{"start": "2026-09-25", "end": "2026-09-28"},
                                                                    {"start": "2026-10-10", "end": "2026-10-26"}]}},
        "subject_kinds": {"resident": {"label": {"en": "resident"}, "unit_kind": "dock"}},
        "obligations": [{"title": {"en": o["id"]}, "citation": {"source": "doc", "article": "1"}, **o} for o in obligations],
    })


REGISTRY = Registry.model_validate({
    "units": [{"id": "t", "kind": "town"}, {"id": "d1", "kind": "dock", "parent": "t"}, {"id": "d2", "kind": "dock", "parent": "t"}],
    "people": [{"id": p, "name": p.upper()} for p in "abcd"],
    "assignments": [
        {"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01"},
        {"person": "b", "role": "guard", "unit": "d2", "start": "2026-01-01", "end": "2026-10-14"},
        {"person": "d", "role": "guard", "unit": "d2", "start": "2026-10-15"},
        {"person": "c", "role": "chief", "unit": "t", "start": "2026-01-01", "end": "2026-10-27"},
        {"person": "a", "role": "chief", "unit": "t", "start": "2026-10-28"},
    ],
    "subjects": [{"id": "r1", "kind": "resident", "unit": "d1", "start": "2026-01-01"},
                 {"id": "r2", "kind": "resident", "unit": "d2", "start": "2026-10-01"}],
    "exemptions": [{"id": "x1", "person": "a", "start": "2026-10-01", "end": "2026-10-03", "reason": "leave"}],
})


@st.composite
def worlds(draw: st.DrawFn) -> tuple[str, list[Event]]:
    zone = draw(st.sampled_from(["Asia/Shanghai", "Europe/Berlin"]))
    from zoneinfo import ZoneInfo

    wall = ZoneInfo(zone)
    start = dt.datetime(2026, 9, 18, tzinfo=wall)
    # instants on local midnights (period and window edges) and a second either side, or anywhere
    edges = [dt.datetime(2026, 9, 18, tzinfo=wall) + dt.timedelta(days=d) for d in range(60)]
    events: list[Event] = []
    for i in range(draw(st.integers(0, 70))):
        if draw(st.booleans()):
            when = draw(st.sampled_from(edges)).astimezone(dt.timezone.utc) + dt.timedelta(seconds=draw(st.sampled_from([-1, 0, 1])))
        else:
            when = (start + dt.timedelta(seconds=draw(st.integers(0, 58 * 86400)))).astimezone(dt.timezone.utc)
        kind = draw(st.sampled_from(["patrol"] * 6 + ["visit", "report", "ack", "meeting", "leave", "closure"]))
        person = draw(st.sampled_from("abcd"))
        unit = draw(st.sampled_from(["d1", "d2", "t", None]))
        fields: dict[str, Any] = {}
        if kind == "patrol":
            attributes = {
                "mode": draw(st.sampled_from(["field", "online"])), "boats": draw(st.integers(0, 3)),
                "hours": draw(st.sampled_from([0.5, 1.5, 2.0, 8.0, 9.5])), "urgent": draw(st.booleans()),
                "crew": tuple(draw(st.lists(st.sampled_from("xyz"), max_size=2, unique=True))), "note": "late",
            }
            kept = draw(st.sets(st.sampled_from(sorted(attributes))))
            fields = {"actor": person, "unit": unit, "participants": tuple(draw(st.lists(st.sampled_from("abcd"), max_size=2, unique=True))),
                      "on_behalf_of": draw(st.sampled_from([None, "a", "c"])),
                      "attributes": {k: v for k, v in attributes.items() if k in kept}}
        elif kind == "visit":
            fields = {"actor": person, "subject": draw(st.sampled_from(["r1", "r2"]))}
        elif kind in ("report", "ack"):
            case = draw(st.sampled_from("ABZ"))
            at = draw(st.sampled_from(["d1", "d1", "d2"]))
            fields = {"unit": at, "attributes": {"case": case}}
            if kind == "report" and draw(st.booleans()):  # answered, in time or not
                answered = when + dt.timedelta(hours=draw(st.sampled_from([0, 1, 11, 12, 13, 23, 24, 25, 40])))
                events.append(Event(id=f"a{i}", kind="ack", time=answered, unit=at, attributes={"case": case}))
        elif kind == "meeting":
            fields = {"unit": draw(st.sampled_from(["t", "d1"])),
                      "attributes": {"departments": tuple(draw(st.lists(st.sampled_from(["customs", "police", "port", "army"]), unique=True)))}}
        else:
            until = (when + dt.timedelta(days=draw(st.integers(1, 6)))).isoformat()
            fields = {"actor": person} if kind == "leave" else {"unit": draw(st.sampled_from(["d1", "d2"]))}
            fields["attributes"] = {"until": until}
        events.append(Event(id=f"e{i}", kind=kind, time=when, **fields))
    return zone, events


@settings(max_examples=60, deadline=None)
@given(world=worlds(), as_of=st.sampled_from([dt.datetime(2026, 11, 11, tzinfo=dt.timezone.utc), dt.datetime(2026, 10, 16, 9, tzinfo=dt.timezone.utc)]))
def test_the_duckdb_engine_gives_the_reference_findings(world, as_of):
    zone, events = world
    ruleset = world_ruleset(zone)
    given_ = list(events)
    reference = audit(ruleset, REGISTRY, events, first_day=FIRST, last_day=LAST, as_of=as_of, engine="reference", notify=False)
    columnar = audit(ruleset, REGISTRY, events, first_day=FIRST, last_day=LAST, as_of=as_of, engine="duckdb", notify=False)
    assert events == given_  # nothing passed in is changed
    assert columnar.engine == "duckdb" and reference.engine == "reference"
    assert columnar.findings == reference.findings
    assert columnar.model_copy(update={"engine": "reference"}) == reference


def test_the_world_ruleset_is_exercised():
    """The random worlds are not vacuous: a fixed one meets and misses every obligation."""
    report = audit(world_ruleset("Asia/Shanghai"), REGISTRY, [], first_day=FIRST, last_day=LAST,
                   as_of=dt.datetime(2026, 11, 11, tzinfo=dt.timezone.utc), engine="duckdb", notify=False)
    # no trigger, no case
    assert {f.obligation for f in report.findings} == {o["id"] for o in OBLIGATIONS} - {"ack", "ack-chain", "echo-mode", "echo-boats"}


# --------------------------------------------------------------------------------------------
# the bundled samples, the command line, the settings

BUNDLED = sorted(d.name for d in (ROOT / "rulesets").iterdir() if (d / "sample" / "events.jsonl").exists())


@pytest.mark.parametrize("name", BUNDLED)
def test_each_bundled_sample_gives_its_golden_report_on_duckdb(name):
    result = subprocess.run(
        [str(EXE), "audit", f"rulesets/{name}/ruleset.yaml", "--registry", f"rulesets/{name}/sample/registry.yaml",
         "--events", f"rulesets/{name}/sample/events.jsonl", "--from", "2026-08-01", "--to", "2026-10-31",
         "--as-of", "2026-11-01T00:00:00+08:00", "--format", "json", "--fail-on", "none", "--engine", "duckdb", "--threads", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    golden = json.loads((ROOT / "tests" / "golden" / f"{name}.json").read_text(encoding="utf-8"))
    assert json.loads(result.stdout) == {**golden, "engine": "duckdb"}


def test_the_markdown_html_and_workbook_reports_name_the_engine(tmp_path):
    """The Markdown report on DuckDB is the golden one but for its header, which names the engine,
    as the HTML page and the workbook's facts do."""
    import openpyxl

    args = [str(EXE), "audit", "rulesets/xiangshan/ruleset.yaml", "--registry", "rulesets/xiangshan/sample/registry.yaml",
            "--events", "rulesets/xiangshan/sample/events.jsonl", "--from", "2026-08-01", "--to", "2026-10-31",
            "--as-of", "2026-11-01T00:00:00+08:00", "--fail-on", "none", "--engine", "duckdb", "--threads", "1"]
    markdown = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert markdown.returncode == 0, markdown.stderr
    golden = (ROOT / "tests" / "golden" / "xiangshan.md").read_text(encoding="utf-8")
    assert markdown.stdout == golden.replace("judged on the reference engine.", "judged on the duckdb engine.", 1) != golden
    for fmt, path in (("html", tmp_path / "r.html"), ("xlsx", tmp_path / "r.xlsx")):
        done = subprocess.run([*args, "--format", fmt, "--output", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert "<div><dt>Engine</dt><dd>duckdb</dd></div>" in (tmp_path / "r.html").read_text(encoding="utf-8")
    facts = {row[0]: row[1] for row in openpyxl.load_workbook(tmp_path / "r.xlsx").worksheets[0].iter_rows(values_only=True) if row and row[0]}
    assert str(facts["engine"]).startswith("duckdb ")


def test_a_tiny_memory_limit_still_completes():
    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    registry = load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset)
    log = read_events([XIANGSHAN / "sample" / "events.jsonl"], ruleset, registry)
    kwargs: dict[str, Any] = {"first_day": dt.date(2026, 8, 1), "last_day": dt.date(2026, 10, 31),
                              "as_of": dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))), "notify": False}
    small = audit(ruleset, registry, log, engine="duckdb", memory_limit="16MB", threads=1, **kwargs)
    assert small.findings == audit(ruleset, registry, log, engine="reference", **kwargs).findings


def test_engine_settings_are_checked():
    with pytest.raises(UsageError, match="unknown engine"):
        backend_for("spark")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="DuckDB settings"):
        backend_for("reference", threads=2)
    assert backend_for("auto")[0] == "reference"  # events held as objects: the reference
    assert backend_for("auto", threads=2)[0] == backend_for("auto", memory_limit="1GB")[0] == "duckdb"
    with pytest.raises(UsageError, match="DuckDB refused"):
        backend_for("duckdb", memory_limit="lots", check=True)
    with pytest.raises(UsageError, match="DuckDB refused"):
        audit(load_ruleset(XIANGSHAN / "ruleset.yaml"), Registry(), [], first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 2),
              as_of=dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc), engine="duckdb", memory_limit="lots", notify=False)


def test_the_duckdb_engine_answers_in_sql(monkeypatch):
    """No question falls back to the reference's Python predicates: with them broken, the
    DuckDB engine still gives the same findings."""
    ruleset = load_ruleset(XIANGSHAN / "ruleset.yaml")
    registry = load_registry(XIANGSHAN / "sample" / "registry.yaml", ruleset)
    log = read_events([XIANGSHAN / "sample" / "events.jsonl"], ruleset, registry)
    kwargs: dict[str, Any] = {"first_day": dt.date(2026, 8, 1), "last_day": dt.date(2026, 10, 31),
                              "as_of": dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))), "notify": False}
    reference = audit(ruleset, registry, log, engine="reference", **kwargs)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the DuckDB engine asked the reference")

    from complianceengine.evaluate.reference import ReferenceSource
    from complianceengine.plan import Plan

    monkeypatch.setattr(ReferenceSource, "counting", broken)
    monkeypatch.setattr(ReferenceSource, "correlated", broken)
    monkeypatch.setattr(ReferenceSource, "first_answers", broken)
    monkeypatch.setattr(ReferenceSource, "deadlines", broken)
    monkeypatch.setattr(ReferenceSource, "shifted", broken)
    monkeypatch.setattr(Plan, "matcher", broken)
    assert audit(ruleset, registry, log, engine="duckdb", **kwargs).findings == reference.findings
    with pytest.raises(AssertionError, match="asked the reference"):
        audit(ruleset, registry, log, engine="reference", **kwargs)


def test_numbers_past_every_machine_type_and_infinite_bounds_give_the_reference_findings(tmp_path):
    """Review findings: a whole number past 2^64 was compared as a double (equal to its
    neighbour); an infinite or NaN bound was written as a column name and failed."""
    rules = [{"id": "big", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "month", "at_least": 1,
              "match": {"kind": "patrol", "where": {"boats": 12345678901234567890124}}},
             {"id": "bigger", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "month", "at_least": 1,
              "match": {"kind": "patrol", "where": {"boats": {"gt": 2**64}}}},
             {"id": "finite", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "month", "at_least": 1,
              "match": {"kind": "patrol", "where": {"hours": {"lt": float("inf"), "ne": float("nan")}}}},
             {"id": "fraction", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "period": "month", "at_least": 1,
              "match": {"kind": "patrol", "where": {"hours": {"gt": 9007199254740992.0}}}}]
    ruleset = world_ruleset("Asia/Shanghai", rules)
    lines = [{"id": "e1", "kind": "patrol", "time": "2026-10-05T10:00:00+08:00", "actor": "a", "unit": "d1",
              "attributes": {"boats": 12345678901234567890123, "hours": 9007199254740993}},
             {"id": "e2", "kind": "patrol", "time": "2026-10-16T10:00:00+08:00", "actor": "d", "unit": "d2",
              "attributes": {"boats": 2**64 + 1, "hours": 2.5}}]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    log = read_events([path], ruleset, REGISTRY)
    assert not log.rejects
    kwargs: dict[str, Any] = {"first_day": FIRST, "last_day": LAST, "as_of": dt.datetime(2026, 11, 11, tzinfo=dt.timezone.utc), "notify": False}
    reference = audit(ruleset, REGISTRY, log, engine="reference", **kwargs)
    assert audit(ruleset, REGISTRY, log, engine="duckdb", **kwargs).findings == reference.findings
    met = {(f.obligation, f.subject.id) for f in reference.findings if f.status == "met" and f.period.label == "2026-10"}
    assert met == {("bigger", "a"), ("bigger", "d"), ("finite", "a"), ("finite", "d"), ("fraction", "a")}


def test_the_connection_and_its_spill_folder_go_when_loading_fails(monkeypatch):
    """Review finding: a failure while loading the events left the connection open."""
    from complianceengine.evaluate import columnar

    opened: list[Any] = []
    real = columnar.connect

    def recording(*args: Any) -> Any:
        opened.append(real(*args))
        return opened[-1]

    def failing(self: Any, plan: Any) -> None:
        raise RuntimeError("loading failed")

    monkeypatch.setattr(columnar, "connect", recording)
    monkeypatch.setattr(columnar.DuckDBSource, "_load", failing)
    with pytest.raises(RuntimeError, match="loading failed"):
        audit(world_ruleset("Asia/Shanghai"), REGISTRY, [], first_day=FIRST, last_day=LAST,
              as_of=dt.datetime(2026, 11, 11, tzinfo=dt.timezone.utc), engine="duckdb", notify=False)
    con, spill = opened[-1]
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")
    assert not Path(spill.name).exists()


def test_the_source_answers_the_built_in_kinds_ahead_and_lets_duckdb_go(tmp_path):
    """With only built-in kinds, the DuckDB source answers every question they ask when it is
    built and closes its connection (the audit's peak is then reached without DuckDB's tables);
    a question nobody foresaw is answered as the reference answers it. A plan with a plugin's
    kind keeps the connection."""
    from complianceengine import Plugins
    from complianceengine.compile import compile_plan
    from complianceengine.evaluate.columnar import DuckDBSource
    from complianceengine.evaluate.reference import ReferenceSource

    from test_explain import load_sample

    ruleset, registry, log, args = load_sample("xiangshan")
    plan = compile_plan(ruleset, registry, args["first_day"], args["last_day"], args["as_of"], args["plugins"])
    source, reference = DuckDBSource(plan, log.events), ReferenceSource(plan, log.events)
    assert source._con is None  # answered ahead, closed
    for compiled in plan.obligations:
        obligation = compiled.obligation
        for target in compiled.targets[:5]:
            if hasattr(obligation, "match") and hasattr(obligation, "by"):
                assert source.counting(plan, compiled, target).ids == reference.counting(plan, compiled, target).ids
                moved = target.model_copy()  # a target made outside the plan
                assert source.counting(plan, compiled, moved).ids == reference.counting(plan, compiled, moved).ids
        for match in [getattr(obligation, "match", None), getattr(obligation, "trigger", None)]:
            if match is not None:
                unforeseen = match.model_copy(update={"kinds": list(match.kinds)})  # not the plan's own block
                assert [e.id for e in source.matching(plan, unforeseen)] == [e.id for e in reference.matching(plan, match)]
    # a plugin's kind: the connection stays for its questions, and the audit is the reference's
    from complianceengine import load_ruleset

    from conftest import base_registry, event, local
    from test_plugins import PER_WINDOW_YAML, PerWindowKind, _write

    plugins = Plugins([PerWindowKind()])
    path = _write(tmp_path, PER_WINDOW_YAML.replace("{AT_LEAST}", "1"))
    custom = load_ruleset(path, plugins)
    events = [event("e1", "patrol", local(2026, 8, 3, 10), actor="a", unit="d1")]
    days = {"first_day": dt.date(2026, 8, 1), "last_day": dt.date(2026, 8, 31), "as_of": local(2026, 9, 1, 0)}
    kept = DuckDBSource(compile_plan(custom, base_registry(), days["first_day"], days["last_day"], days["as_of"], plugins), events)
    try:
        assert kept._con is not None
    finally:
        kept.close()
    on_duckdb = audit(custom, base_registry(), events, **days, plugins=plugins, engine="duckdb", notify=False)
    assert on_duckdb.findings == audit(custom, base_registry(), events, **days, plugins=plugins, notify=False).findings


def test_response_answers_are_remembered_by_instant_not_wall_clock():
    """Review finding: the DuckDB source remembered a step's answers by the ask's base as a
    datetime, which compares and hashes by wall clock within one zone object: at 02:30 on the
    night the clocks go back, the asks of two steps sharing one match block were one, and the
    second got the first's answer."""
    from zoneinfo import ZoneInfo

    from complianceengine.model import EventLog, EventMatch

    berlin = ZoneInfo("Europe/Berlin")
    shared = EventMatch(kind="ack")  # one block, two steps
    ruleset = Ruleset.model_validate({
        "id": "r", "version": "1", "title": {"en": "r"}, "timezone": "Europe/Berlin",
        "sources": {"doc": {"short": "Doc", "title": {"en": "Doc"}}}, "unit_kinds": {"dock": {"label": {"en": "dock"}}}, "roles": {},
        "event_kinds": {k: {"label": {"en": k}} for k in ("report", "seen", "ack")},
        "obligations": [{"id": "o", "kind": "response", "title": {"en": "o"}, "citation": {"source": "doc", "article": "1"},
                         "trigger": {"kind": "report"}, "correlate_on": ["unit"],
                         "steps": [{"id": "s0", "match": {"kind": "seen"}, "within": "PT3H"},
                                   {"id": "s1", "match": shared, "within": "PT3H", "counted_from": "previous"},
                                   {"id": "s2", "match": shared, "within": "PT3H"}]}]})
    registry = Registry.model_validate({"units": [{"id": "d1", "kind": "dock"}]})

    def at(hour: int, minute: int, fold: int = 0) -> dt.datetime:
        return dt.datetime(2026, 10, 25, hour, minute, tzinfo=berlin, fold=fold)  # 02:00-03:00 twice

    log = EventLog(events=(Event(id="t", kind="report", time=at(2, 30), unit="d1"), Event(id="p", kind="seen", time=at(2, 30, 1), unit="d1"),
                           Event(id="a1", kind="ack", time=at(2, 45), unit="d1"), Event(id="a2", kind="ack", time=at(2, 50, 1), unit="d1")))
    kwargs: dict[str, Any] = {"first_day": dt.date(2026, 10, 1), "last_day": dt.date(2026, 10, 31),
                              "as_of": dt.datetime(2026, 11, 5, tzinfo=dt.timezone.utc), "notify": False}
    reference = audit(ruleset, registry, log, engine="reference", **kwargs)
    assert [f.evidence for f in reference.findings if f.step == "s2"] == [("t", "a1")]
    assert audit(ruleset, registry, log, engine="duckdb", **kwargs).findings == reference.findings


GAPS = st.sampled_from(["P1M", "P14D", "P1D", "PT36H", "P1M3D", "P1Y", "P1DT30M", "PT1.5S"])


@settings(max_examples=80, deadline=None)
@given(zone=st.sampled_from(["Asia/Shanghai", "Etc/GMT-14", "UTC", "America/St_Johns", "Europe/Berlin"]), base=GAPS,
       raised=st.lists(st.tuples(st.sampled_from(["campaign", "tide"]), GAPS), max_size=3),
       offsets=st.lists(st.one_of(st.integers(-40 * 86400, 90 * 86400), st.sampled_from([0, -1, 1, 86399, 86400, 31 * 86400])), max_size=30),
       micro=st.sampled_from([0, 1, 999999]))
def test_deadlines_in_sql_are_the_reference_deadlines(zone, base, raised, offsets, micro):
    """The plain deadlines of cadence gaps DuckDB works out (the base gap, windows' shorter ones,
    the first listed window's where windows overlap; month ends; microseconds), and a response
    step's (the instants plus a gap), are pendulum's, in every zone: in SQL when
    the zone keeps one offset from the first instant to the last deadline, else asked of the
    reference (Berlin and St. John's leave summer time on 25 October and 1 November)."""
    from complianceengine.compile import compile_plan
    from complianceengine.evaluate.columnar import DuckDBSource
    from complianceengine.kinds.cadence import plain_deadlines

    obligation = {"id": "gaps", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"}, "max_gap": base,
                  "during": [{"calendar": name, "max_gap": gap} for name, gap in raised]}
    ruleset = world_ruleset(zone, [obligation])
    plan = compile_plan(ruleset, REGISTRY, FIRST, LAST, dt.datetime(2026, 11, 11, tzinfo=dt.timezone.utc))
    (compiled,) = plan.obligations
    start = dt.datetime(2026, 9, 20, tzinfo=ZoneInfo(zone))
    # instants on local midnights and window edges and around them, to the microsecond
    instants = sorted({(start + dt.timedelta(seconds=o, microseconds=micro)).timestamp() for o in offsets})
    from complianceengine.evaluate.reference import ReferenceSource

    from complianceengine.kinds import shifted_instants

    referred: list[int] = []
    shifts: list[int] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DuckDBSource, "_answer_ahead", lambda self, plan: None)  # keep the connection to ask
        patch.setattr(ReferenceSource, "deadlines", lambda self, plan, compiled, instants: referred.append(1) or plain_deadlines(plan, compiled, instants))
        patch.setattr(ReferenceSource, "shifted", lambda self, plan, duration, instants: shifts.append(1) or shifted_instants(plan, duration, instants))
        source = DuckDBSource(plan, [])
        try:
            asked = source.deadlines(plan, compiled, instants)
            assert source.deadlines(plan, compiled, instants) == asked  # the second time, from what was kept
            # a response step's deadlines: the instants plus the base gap alone, on the wall clock
            shifted = source.shifted(plan, compiled.obligation.max_gap, instants)
        finally:
            source.close()
    assert shifted == shifted_instants(plan, compiled.obligation.max_gap, instants)
    assert [due.utcoffset() for due in shifted] == [due.utcoffset() for due in shifted_instants(plan, compiled.obligation.max_gap, instants)]
    assert len(referred) <= 1  # a zone whose offset changes: asked of the reference once, then kept
    in_sql = bool(instants) and not referred
    expected = plain_deadlines(plan, compiled, instants)
    assert asked == expected
    assert [due.utcoffset() for due, _ in asked] == [due.utcoffset() for due, _ in expected]
    if zone in ("Asia/Shanghai", "Etc/GMT-14", "UTC"):  # one offset ever since: always in SQL
        assert in_sql == bool(instants) and not shifts


@pytest.mark.parametrize(("year", "micro"), [(2026, 7), (2107, 7), (2300, 14), (2300, 897871)])
def test_deadlines_keep_their_microseconds_in_later_centuries(year, micro):
    """A gap's deadline keeps its start's microseconds on both engines: in 2107 a timestamp times
    a million lands on a half and rounds the wrong way, and after 2242 a timestamp no longer
    names one microsecond (a review found both a microsecond off)."""
    ruleset = world_ruleset("UTC", [{"id": "daily-visit", "kind": "cadence", "applies_to": {"subject_kind": "resident"},
                                     "match": {"kind": "visit"}, "max_gap": "P1D"}])
    start = dt.datetime(year, 3, 1, 0, 0, 0, micro, tzinfo=dt.timezone.utc)
    events = [Event(id=f"v{i}", kind="visit", time=start + dt.timedelta(days=i), subject="r1", actor="a") for i in (0, 1)]
    kwargs: dict[str, Any] = {"first_day": dt.date(year, 2, 1), "last_day": dt.date(year, 3, 31),
                              "as_of": dt.datetime(year, 4, 5, tzinfo=dt.timezone.utc), "notify": False}
    for engine in ("reference", "duckdb"):
        kept = [f for f in audit(ruleset, REGISTRY, events, engine=engine, **kwargs).findings if f.subject.id == "r1" and f.evidence == ("v1",)]
        assert [(f.status, f.due) for f in kept] == [("met", start + dt.timedelta(days=1))], engine


def test_the_zone_is_looked_at_only_around_the_instants(monkeypatch):
    """One stray date centuries before the others does not make DuckDB look at the zone's offset
    across the centuries between (a review measured 7 s for a trigger dated 1726)."""
    from complianceengine.compile import compile_plan
    from complianceengine.evaluate import columnar

    looked: list[float] = []
    real = columnar._fixed_offset

    def spy(tz: Any, spans: Any) -> Any:
        looked.append(sum(last - first for first, last in spans))
        return real(tz, spans)

    monkeypatch.setattr(columnar, "_fixed_offset", spy)
    monkeypatch.setattr(columnar.DuckDBSource, "_answer_ahead", lambda self, plan: None)
    ruleset = world_ruleset("UTC", [{"id": "v", "kind": "cadence", "applies_to": {"subject_kind": "resident"}, "match": {"kind": "visit"},
                                     "max_gap": "P1M"}])
    plan = compile_plan(ruleset, REGISTRY, FIRST, LAST, dt.datetime(2026, 11, 11, tzinfo=dt.timezone.utc))
    source = columnar.DuckDBSource(plan, [])
    try:
        instants = [dt.datetime(1726, 3, 1, tzinfo=dt.timezone.utc).timestamp(), dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc).timestamp()]
        assert source.shifted(plan, plan.obligations[0].obligation.max_gap, instants) == [
            dt.datetime(1726, 4, 1, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)]
    finally:
        source.close()
    assert looked and max(looked) < 2 * 34 * 86400  # two months and a few days, not three centuries
