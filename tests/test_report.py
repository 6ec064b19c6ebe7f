"""Renderers: the same report as Markdown, JSON and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from complianceengine import Report, UsageError, audit, render

from conftest import base_registry, base_ruleset, event, local

DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day",
         "at_least": 1, "assumed": True}


@pytest.fixture
def report():
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d1")]
    return audit(base_ruleset(DAILY), base_registry(), events, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 2),
                 as_of=local(2026, 9, 1, 0))


def test_json_round_trips_to_the_same_report(report):
    assert Report.model_validate(json.loads(render(report, "json"))) == report


def test_markdown_lists_failures_with_citation_and_assumed_section(report):
    text = render(report, "markdown")
    assert "## Findings that are not met (3)" in text
    assert "| missed | daily | Doc, art. 1 | B (b) as guard | d2 | 2026-08-01 |" in text
    assert "## Assumed requirements" in text and "`daily`" in text
    assert "compliance rate 25%" in text


def test_csv_has_one_row_per_finding(report):
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert len(rows) == len(report.findings) == 4
    assert [r["evidence"] for r in rows if r["status"] == "met"] == ["e1"]


def test_unknown_format(report):
    with pytest.raises(UsageError, match="unknown report format"):
        render(report, "html")
