"""Event lines that JSON parsers take but the reader must not: each is rejected with its line and
reason, the other lines are read, and nothing is lost (accepted + rejected + duplicates = lines)."""

from __future__ import annotations

import json

import pytest

from complianceengine import read_events
from complianceengine.model import Ruleset

from conftest import base_ruleset

RULESET: Ruleset = base_ruleset(
    {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1}
)
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
    ruleset = Ruleset.model_validate(
        {**json.loads(RULESET.model_dump_json(by_alias=True)),
         "event_kinds": {**json.loads(RULESET.model_dump_json(by_alias=True))["event_kinds"],
                         "check": {"label": {"en": "check"}, "attributes": {"vessels": {"type": "number"}}}}}
    )
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
