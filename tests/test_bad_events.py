"""Event lines that JSON parsers take but the reader must not: each is rejected with its line and
reason, the other lines are read, and nothing is lost (accepted + rejected + duplicates = lines)."""

from __future__ import annotations

import json

import pytest

from complianceengine import EventSourceError, events_from_records, read_events
from complianceengine.model import Ruleset

from conftest import base_ruleset

RULESET: Ruleset = base_ruleset(
    {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1}
)
def with_check(attributes: dict) -> Ruleset:
    """RULESET with a `check` event kind of these attributes."""
    data = json.loads(RULESET.model_dump_json(by_alias=True))
    return Ruleset.model_validate({**data, "event_kinds": {**data["event_kinds"], "check": {"label": {"en": "check"}, "attributes": attributes}}})


GOOD = '{"id": "ok%d", "kind": "patrol", "time": "2026-09-01T09:00:00+08:00", "actor": "a", "unit": "d1"}'


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"id": "n1", "kind": "patrol", "time": "2026-09-01T09:00:00+08:00", "actor": "a", "attributes": {"mode": NaN}}', "NaN is not a number"),
        ('{"id": "n2", "kind": "patrol", "time": "2026-09-01T09:00:00+08:00", "actor": "a", "x": -Infinity}', "-Infinity is not a number"),
        ('{"id": "n3", "kind": "patrol", "time": "2026-09-01T09:00:00+08:00", "actor": "a", "attributes": {"mode": 1e400}}', "1e400 is too large"),
        ('{"id": "n4", "kind": "patrol", "time": "2026-09-01T09:00:00+08:00", "actor": "a", "attributes": {"mode": ' + "9" * 5000 + "}}",
         "a whole number of 5000 digits"),
        ('{"id": "n5", "kind": "patrol", "actor": "a", "actor": "b", "time": "2026-09-01T09:00:00+08:00"}', "key 'actor' appears twice"),
        ('{"id": "n6", "kind": "patrol", "time": "2026-09-01T09:00:00+08:00", "attributes": ' + "[" * 100_000 + "]" * 100_000 + "}",
         "nested too deeply"),
        # a lone surrogate is not a character: no UTF-8 file, report or database can hold it
        ('{"id": "n7", "kind": "patrol", "time": "2026-09-01T09:00:00+08:00", "actor": "a", "attributes": {"mode": "\\ud800"}}',
         "attributes.mode: the text holds a lone surrogate ('\\ud800')"),
        ('{"id": "n8\\udfff", "kind": "patrol", "time": "2026-09-01T09:00:00+08:00", "actor": "a"}', "id: the text holds a lone surrogate"),
    ],
)
def test_a_line_json_would_take_is_rejected_with_its_reason(tmp_path, line, reason):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([GOOD % 1, line, GOOD % 2]) + "\n", encoding="utf-8")
    log = read_events(path, RULESET)
    assert [e.id for e in log.events] == ["ok1", "ok2"]
    [reject] = log.rejects
    assert reject.line == 2 and reason in "; ".join(reject.errors)


def test_a_line_that_is_not_utf8_costs_that_line_only(tmp_path):
    path = tmp_path / "events.jsonl"
    bad = b'{"id": "x", "kind": "patrol", "time": "2026-09-01T09:00:00+08:00", "actor": "\xff\xfe"}'
    path.write_bytes(b"\n".join([(GOOD % 1).encode(), bad, (GOOD % 2).encode()]) + b"\n")
    log = read_events(path, RULESET)
    assert [e.id for e in log.events] == ["ok1", "ok2"]
    [reject] = log.rejects
    assert reject.line == 2 and "not UTF-8" in reject.errors[0] and "\ufffd" in reject.raw


def test_a_csv_number_must_be_finite(tmp_path):
    ruleset = with_check({"vessels": {"type": "number"}})
    path = tmp_path / "events.csv"
    path.write_text("id,kind,time,actor,vessels\nc1,check,2026-09-01T09:00:00+08:00,a,3\nc2,check,2026-09-01T10:00:00+08:00,a,nan\n"
                    "c3,check,2026-09-01T11:00:00+08:00,a,inf\n", encoding="utf-8")
    log = read_events(path, ruleset)
    assert [e.id for e in log.events] == ["c1"]
    assert [(r.line, "finite" in r.errors[0]) for r in log.rejects] == [(3, True), (4, True)]


def test_nothing_is_lost(tmp_path):
    lines = [GOOD % 1, GOOD % 1, "not json", '{"id": "d", "kind": "patrol", "kind": "visit", "time": "2026-09-01T09:00:00+08:00"}', GOOD % 2]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log = read_events(path, RULESET)
    assert len(log.events) + len(log.rejects) + len(log.duplicates) == len(lines)


# ------------------------------------------------------------------ CSV

CSV_HEADER = "id,kind,time,actor,unit"
CSV_GOOD = "ok{},patrol,2026-09-01T09:00:00+08:00,a,d1"


def read_csv(tmp_path, *rows):
    path = tmp_path / "events.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return read_events(path, RULESET)


def test_an_unterminated_quote_costs_its_line_not_the_rows_after_it(tmp_path):
    log = read_csv(tmp_path, CSV_HEADER, CSV_GOOD.format(1), 'bad,patrol,"2026-09-01T09:00:00+08:00,a,d1', CSV_GOOD.format(2), CSV_GOOD.format(3))
    assert [e.id for e in log.events] == ["ok1", "ok2", "ok3"]
    [reject] = log.rejects
    assert reject.line == 3 and reject.errors[0].startswith("not CSV")


def test_a_stray_quote_and_an_oversized_cell_are_rejected_lines(tmp_path):
    huge = "x" * 200_000
    log = read_csv(tmp_path, CSV_HEADER, '"st"ray,patrol,2026-09-01T09:00:00+08:00,a,d1', f'big,patrol,2026-09-01T09:00:00+08:00,"{huge}",d1',
                   CSV_GOOD.format(1))
    assert [e.id for e in log.events] == ["ok1"]
    assert [r.line for r in log.rejects] == [2, 3] and all(r.errors[0].startswith("not CSV") for r in log.rejects)
    assert len(log.rejects[1].raw) <= 1000


def test_a_column_named_twice_refuses_the_file_at_its_header(tmp_path):
    with pytest.raises(EventSourceError, match="column 'actor' appears twice") as caught:
        read_csv(tmp_path, "id,kind,time,actor,actor", "x,patrol,2026-09-01T09:00:00+08:00,a,b")
    assert caught.value.problems[0].location.line == 1


@pytest.mark.parametrize("time", ["now", "today", "2026", "2026-08", "2026-08-01", "2026-W31-1T07:15:00+08:00", "20260801T071500+0800"])
def test_only_a_date_and_a_time_of_day_is_an_event_time(tmp_path, time):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"id": "t", "kind": "patrol", "time": time, "actor": "a", "unit": "d1"}) + "\n", encoding="utf-8")
    log = read_events(path, RULESET)
    assert log.events == () and "is not an ISO 8601 date-time" in log.rejects[0].errors[0]


def test_many_bad_csv_rows_cost_linear_time(tmp_path):
    import time

    rows = [CSV_HEADER] + [f'e{i},patrol,2026-09-01T09:00:00+08:00,"a"b,d1' for i in range(20_000)]
    started = time.perf_counter()
    log = read_csv(tmp_path, *rows)
    assert len(log.rejects) == 20_000 and time.perf_counter() - started < 20  # was minutes when each error copied the rest


def test_a_bad_byte_in_a_csv_with_carriage_returns_costs_its_line(tmp_path):
    path = tmp_path / "events.csv"
    good = [CSV_HEADER.encode(), CSV_GOOD.format(1).encode(), b"bad,patrol,\xff,a,d1", CSV_GOOD.format(2).encode()]
    path.write_bytes(b"\r".join(good) + b"\r")
    log = read_events(path, RULESET)
    assert [e.id for e in log.events] == ["ok1", "ok2"]
    assert [(r.line, r.errors[0][:10]) for r in log.rejects] == [(3, "not UTF-8 ")]


def test_records_from_code_meet_the_limits_of_a_json_line():
    """A lone surrogate, a whole number past 30 digits and an infinite number are rejected from
    records built in code and from CSV text as they are from a JSON line."""
    ruleset = with_check({"vessels": {"type": "integer"}, "hours": {"type": "number"}})
    base = {"kind": "check", "time": "2026-09-01T09:00:00+08:00", "actor": "a"}
    records = [{**base, "id": "ok", "attributes": {"vessels": 10**30 - 1, "hours": 2.5}},
               {**base, "id": "s", "attributes": {"hours": 1.0}, "unit": "d1\ud800"},
               {**base, "id": "v", "attributes": {"vessels": 10**30}},
               {**base, "id": "h", "attributes": {"hours": -(10**31)}},
               {**base, "id": "i", "attributes": {"hours": float("inf")}}]
    log = events_from_records(records, ruleset)
    assert [e.id for e in log.events] == ["ok"]
    assert [(r.line, r.errors[0]) for r in log.rejects] == [
        (1, "unit: the text holds a lone surrogate ('\\ud800'), which is not a character"),
        (2, "attribute 'vessels': a whole number of 31 digits (at most 30)"),
        (3, "attribute 'hours': a whole number of 32 digits (at most 30)"),
        (4, "attribute 'hours': expected a finite number, got inf"),
    ]


def test_a_csv_whole_number_has_at_most_30_digits(tmp_path):
    ruleset = with_check({"vessels": {"type": "integer"}})
    path = tmp_path / "events.csv"
    path.write_text("id,kind,time,actor,vessels\nc1,check,2026-09-01T09:00:00+08:00,a," + "9" * 30 + "\n"
                    "c2,check,2026-09-01T10:00:00+08:00,a," + "9" * 31 + "\n", encoding="utf-8")
    log = read_events(path, ruleset)
    assert [e.id for e in log.events] == ["c1"]
    assert [(r.line, "at most 30 digits" in r.errors[0]) for r in log.rejects] == [(3, True)]


def test_a_normaliser_plugin_cannot_bring_in_a_lone_surrogate(tmp_path):
    """The check is made after the plugins' normalisation, on every source."""
    from complianceengine import Plugins, hookimpl

    class Broken:
        @hookimpl
        def complianceengine_normalise_record(self, record, path, ruleset):
            return {**record, "actor": record["actor"] + "\ud800"} if record.get("id") == "ok2" else None

    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([GOOD % 1, GOOD % 2]) + "\n", encoding="utf-8")
    log = read_events(path, RULESET, plugins=Plugins([Broken()], entry_points=False))
    assert [e.id for e in log.events] == ["ok1"]
    assert [(r.line, r.errors) for r in log.rejects] == [(2, ("actor: the text holds a lone surrogate ('\\ud800'), which is not a character",))]
