"""Shared builders: a tiny ruleset and registry, written in the same shapes users write."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from complianceengine import Event, Registry, Ruleset

# The command line colours its output where these say there is a terminal; the tests compare its
# output as text, so they run without them (tests/test_cli_colour.py sets them where it needs them).
for _setting in ("FORCE_COLOR", "TTY_COMPATIBLE"):
    os.environ.pop(_setting, None)

ROOT = Path(__file__).resolve().parent.parent
XIANGSHAN = ROOT / "rulesets" / "xiangshan"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def base_ruleset(*obligations: dict[str, Any], week_start: str = "monday", calendars: dict[str, Any] | None = None) -> Ruleset:
    """A small ruleset: town > dock, a guard per dock, a chief per town, a few event kinds."""
    return Ruleset.model_validate(
        {
            "id": "mini",
            "version": "1",
            "title": {"en": "Mini", "zh": "小"},
            "timezone": "Asia/Shanghai",
            "week_start": week_start,
            "sources": {"doc": {"short": "Doc", "title": {"en": "Doc"}}},
            "unit_kinds": {"town": {"label": {"en": "town"}}, "dock": {"label": {"en": "dock"}, "parents": ["town"]}},
            "roles": {
                "guard": {"label": {"en": "guard"}, "unit_kind": "dock"},
                "chief": {"label": {"en": "chief"}, "unit_kind": "town"},
            },
            "event_kinds": {
                "patrol": {"label": {"en": "patrol"}, "attributes": {"mode": {"type": "enum", "values": ["field", "online"]}}},
                "visit": {"label": {"en": "visit"}},
                "report": {"label": {"en": "report"}, "attributes": {"case": {"type": "string", "required": True}}},
                "ack": {"label": {"en": "ack"}, "attributes": {"case": {"type": "string", "required": True}}},
                "done": {"label": {"en": "done"}, "attributes": {"case": {"type": "string", "required": True}}},
                "leave": {"label": {"en": "leave"}, "requires": ["actor"],
                          "attributes": {"until": {"type": "datetime", "required": True}}, "excuses": {"who": "actor", "until": "until"}},
                "closure": {"label": {"en": "typhoon closure"}, "requires": ["unit"],
                            "attributes": {"until": {"type": "datetime", "required": True}}, "excuses": {"who": "unit", "until": "until"}},
                "meeting": {"label": {"en": "joint meeting"}, "requires": ["unit"],
                            "attributes": {"departments": {"type": "list", "values": ["customs", "police", "coast_guard", "port"]}}},
            },
            "calendars": calendars or {},
            "subject_kinds": {"resident": {"label": {"en": "resident"}, "unit_kind": "dock",
                                           "attributes": {"phone": {"type": "string"}, "address": {"type": "string"}}}},
            "obligations": [{"title": {"en": o["id"]}, "citation": {"source": "doc", "article": "1"}, **o} for o in obligations],
        }
    )


def base_registry(
    assignments: list[dict[str, Any]] | None = None,
    subjects: list[dict[str, Any]] | None = None,
    exemptions: list[dict[str, Any]] | None = None,
) -> Registry:
    if assignments is None:
        assignments = [
            {"person": "a", "role": "guard", "unit": "d1", "start": "2026-01-01"},
            {"person": "b", "role": "guard", "unit": "d2", "start": "2026-01-01"},
            {"person": "c", "role": "chief", "unit": "t", "start": "2026-01-01"},
        ]
    return Registry.model_validate(
        {
            "units": [
                {"id": "t", "kind": "town"},
                {"id": "d1", "kind": "dock", "parent": "t"},
                {"id": "d2", "kind": "dock", "parent": "t"},
            ],
            "people": [{"id": p, "name": p.upper()} for p in "abc"],
            "assignments": assignments,
            "subjects": subjects or [],
            "exemptions": exemptions or [],
        }
    )


def event(id: str, kind: str, when: dt.datetime, **fields: Any) -> Event:
    return Event(id=id, kind=kind, time=when, **fields)


def local(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, minute, tzinfo=SHANGHAI)


@pytest.fixture
def xiangshan_paths() -> dict[str, Path]:
    return {
        "ruleset": XIANGSHAN / "ruleset.yaml",
        "registry": XIANGSHAN / "sample" / "registry.yaml",
        "events": XIANGSHAN / "sample" / "events.jsonl",
    }
