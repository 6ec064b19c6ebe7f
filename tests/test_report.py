"""Renderers: the same report as Markdown, JSON and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

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
    # each unit's own list, under a heading of the unit (the unit column is the heading)
    d2 = text.index('### <a id="unit-3"></a>d2, dock')
    assert text.index("| missed | daily | Doc, art. 1 | B (b) as guard | Aug 1, 2026 |") > d2
    assert "## Assumed requirements" in text and "`daily`" in text
    assert "rate over all findings 25%" in text


def test_csv_has_one_row_per_finding(report):
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert len(rows) == len(report.findings) == 4
    assert [r["evidence"] for r in rows if r["status"] == "met"] == ["e1"]


def test_unknown_format(report):
    with pytest.raises(UsageError, match="unknown report format"):
        render(report, "pdf")


# ------------------------------------------------------------------ findings that are not met, by unit

from complianceengine.model import Label  # noqa: E402
from complianceengine.report import not_met_by_unit  # noqa: E402


def test_not_met_findings_are_listed_by_unit_under_an_index_of_the_hierarchy(report):
    text = render(report, "markdown")
    section = text.split("## Findings that are not met (3)\n", 1)[1].split("\n## ", 1)[0]
    assert section.splitlines()[3:6] == [
        "- t, town: 3 in the units below",
        "  - [d1](#unit-2), dock: 1",
        "  - [d2](#unit-3), dock: 2",
    ]
    d1, d2 = section.index('### <a id="unit-2"></a>d1, dock'), section.index('### <a id="unit-3"></a>d2, dock')
    assert d1 < d2 and "In t: 1 missed." in section[d1:d2] and "In t: 2 missed." in section[d2:]
    assert section[d1:d2].count("| missed | daily |") == 1 and section[d2:].count("| missed | daily |") == 2
    assert "## By obligation" in text and "## By unit (each unit includes the units below it)" in text  # the summaries stay


def test_a_unit_with_its_own_findings_and_those_below_it(report):
    chief = report.findings[0].model_copy(update={"unit": "t", "status": "late", "subject": report.findings[0].subject.model_copy(update={"id": "c"})})
    moved = report.model_copy(update={"findings": (*report.findings, chief)})
    groups = not_met_by_unit(moved)
    assert [(g.unit, len(g.findings), g.total) for g in groups] == [("t", 1, 4), ("d1", 1, 1), ("d2", 2, 2)]
    assert "- [t](#unit-1), town: 1 here, 4 with the units below" in render(moved, "markdown")
    assert "In t: 1 missed." in render(moved, "markdown")


def test_findings_of_an_unknown_unit_or_of_none_come_last(report):
    findings = list(report.findings)
    problems = [i for i, f in enumerate(findings) if f.status == "missed"]
    findings[problems[0]] = findings[problems[0]].model_copy(update={"unit": None})
    findings[problems[1]] = findings[problems[1]].model_copy(update={"unit": "gone"})
    moved = report.model_copy(update={"findings": tuple(findings)})
    assert [(g.unit, g.total) for g in not_met_by_unit(moved)] == [("t", 1), ("d2", 1), ("gone", 1), (None, 1)]
    text = render(moved, "markdown")
    assert "- [gone](#unit-other-3) (not in the registry): 1" in text and "- [no unit](#unit-other-4): 1" in text
    assert '### <a id="unit-other-3"></a>gone (not in the registry)' in text
    assert '### <a id="unit-other-4"></a>Findings of no unit' in text and "Cases whose trigger names no unit: 1 missed." in text


def test_unit_names_cannot_break_the_index_or_the_headings(report):
    names = {"t": Label(en="[x](javascript:alert(1))"), "d1": Label(en="<b>\nD|1</b>"), "d2": Label(en="x", zh="]")}
    units = tuple(u.model_copy(update={"name": names.get(u.unit)}) for u in report.units)
    text = render(report.model_copy(update={"units": units}), "markdown").split("## Findings that are not met", 1)[1]
    assert "<b>" not in text and not re.search(r"(?<!\\)\]\(javascript", text)  # no link but ours
    assert "- \\[x\\](javascript:alert(1)) (t), town: 3 in the units below" in text
    assert "  - [&lt;b&gt; D\\|1&lt;/b&gt; (d1)](#unit-2), dock: 1" in text
    assert "  - [\\] (d2)](#unit-3), dock: 2" in text
    assert '### <a id="unit-3"></a>\\] (d2), dock' in text and "In \\[x\\](javascript:alert(1)) (t): 2 missed." in text
