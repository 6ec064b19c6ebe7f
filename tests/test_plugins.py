"""Every hook exercised by a test plugin; discovery through an installed entry point; faulty plugins."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from complianceengine import MissingPluginError, PluginError, Plugins, audit, hookimpl, read_events, render
from complianceengine.model import Ruleset

from conftest import base_registry, base_ruleset, event, local

DAILY = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1}
WEEKLY_ON_HOLIDAYS = {**DAILY, "period": "month", "during": [{"calendar": "holidays", "period": "day", "at_least": 1}]}


def holiday_ruleset(*obligations):
    ruleset = base_ruleset(*obligations)
    calendars = {"holidays": {"label": {"en": "holidays"}, "provider": "test-holidays", "options": {"days": [3, 4]}}}
    return Ruleset.model_validate({**ruleset.model_dump(by_alias=True, exclude_none=True), "calendars": calendars})


class HolidayCalendar:
    @hookimpl
    def complianceengine_calendar_windows(self, name, calendar, first_day, last_day, timezone):
        if calendar.provider != "test-holidays":
            return None
        return [(local(2026, 8, d, 0), local(2026, 8, d + 1, 0)) for d in calendar.options["days"]]


def test_calendar_provider_supplies_windows():
    events = [event("e1", "patrol", local(2026, 8, 3), actor="a", unit="d1")]
    report = audit(holiday_ruleset(WEEKLY_ON_HOLIDAYS), base_registry(), events, first_day=dt.date(2026, 8, 1),
                   last_day=dt.date(2026, 8, 31), as_of=local(2026, 9, 1, 0), plugins=Plugins([HolidayCalendar()]))
    daily = [(f.period.label, f.status) for f in report.findings if f.subject.id == "a" and f.window == "holidays"]
    assert daily == [("2026-08-03", "met"), ("2026-08-04", "missed")]


def test_missing_provider_is_named():
    with pytest.raises(MissingPluginError, match="provider 'test-holidays'"):
        audit(holiday_ruleset(WEEKLY_ON_HOLIDAYS), base_registry(), [], first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 31),
              as_of=local(2026, 9, 1, 0))


class PipeSource:
    """Reads `.pipe` files: id|kind|time|actor|unit."""

    @hookimpl
    def complianceengine_read_events(self, path, ruleset):
        if path.suffix != ".pipe":
            return None
        out = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            parts = line.split("|")
            out.append((number, line, dict(zip(["id", "kind", "time", "actor", "unit"], parts))))
        return out


class ChineseHeaders:
    @hookimpl
    def complianceengine_normalise_record(self, record, path, ruleset):
        if "编号" not in record.get("attributes", {}):
            return None
        names = {"编号": "id", "类型": "kind", "时间": "time", "人员": "actor", "地点": "unit"}
        attributes = record["attributes"]
        return {names[k]: v for k, v in attributes.items() if k in names} | {"attributes": {}}


def test_event_source_and_normaliser(tmp_path):
    (tmp_path / "a.pipe").write_text("e1|patrol|2026-08-01 09:00|a|d1\ne2|patrol|not a time|a|d1\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("编号,类型,时间,人员,地点\ne3,patrol,2026-08-02 09:00,a,d1\n", encoding="utf-8")
    plugins = Plugins([PipeSource(), ChineseHeaders()])
    log = read_events([tmp_path / "a.pipe", tmp_path / "b.csv"], base_ruleset(DAILY), base_registry(), plugins)
    assert [e.id for e in log.events] == ["e1", "e3"]
    assert [(r.line, r.raw) for r in log.rejects] == [(2, "e2|patrol|not a time|a|d1")]
    assert log.events[0].time == local(2026, 8, 1, 9)


class Escalate:
    def __init__(self):
        self.notified = []

    @hookimpl
    def complianceengine_process_findings(self, findings, ruleset):
        return [f.model_copy(update={"note": "escalated to t"}) if f.status == "missed" else f for f in findings]

    @hookimpl
    def complianceengine_notify(self, findings, report):
        self.notified.extend(f.subject.id for f in findings)

    @hookimpl
    def complianceengine_reporters(self):
        return {"count": lambda report: f"{len(report.findings)}\n"}


def test_post_processor_notifier_and_reporter():
    plugin = Escalate()
    plugins = Plugins([plugin])
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d1")]
    report = audit(base_ruleset(DAILY), base_registry(), events, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 1),
                   as_of=local(2026, 9, 1, 0), plugins=plugins)
    assert [f.note for f in report.findings] == [None, "escalated to t"]
    assert plugin.notified == ["b"]
    assert render(report, "count", plugins) == "2\n"
    assert ("Escalate", ["complianceengine_notify", "complianceengine_process_findings", "complianceengine_reporters"]) in plugins.describe()
    with pytest.raises(Exception, match="unknown report format 'count'"):
        render(report, "count")  # another Plugins object does not see it


class Broken:
    @hookimpl
    def complianceengine_process_findings(self, findings, ruleset):
        raise RuntimeError("boom")


def test_a_faulty_plugin_is_named_and_stops_the_audit():
    with pytest.raises(PluginError, match="plugin 'Broken' failed in complianceengine_process_findings: RuntimeError: boom"):
        audit(base_ruleset(DAILY), base_registry(), [], first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 1),
              as_of=local(2026, 9, 1, 0), plugins=Plugins([Broken()]))


class Misspelt:
    @hookimpl
    def complianceengine_reporter(self):
        return {}


def test_an_unknown_hook_is_refused():
    with pytest.raises(PluginError, match="Misspelt"):
        Plugins([Misspelt()])


def test_entry_point_discovery_from_an_installed_package(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "ce_test_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "ce_test_plugin-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: ce-test-plugin\nVersion: 1.0\n")
    (site / "ce_test_plugin-1.0.dist-info" / "entry_points.txt").write_text("[complianceengine]\nlouder = ce_test_plugin\n")
    (site / "ce_test_plugin.py").write_text(
        "from complianceengine import hookimpl\n\n"
        "@hookimpl\ndef complianceengine_reporters():\n    return {'loud': lambda report: report.ruleset.upper()}\n"
    )
    monkeypatch.syspath_prepend(str(site))
    plugins = Plugins(entry_points=True)
    assert "louder" in dict(plugins.describe())
    report = audit(base_ruleset(DAILY), base_registry(), [], first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 1),
                   as_of=local(2026, 9, 1, 0))
    assert render(report, "loud", plugins) == "MINI"
    assert "louder" not in dict(Plugins().describe())
    sys.modules.pop("ce_test_plugin", None)
