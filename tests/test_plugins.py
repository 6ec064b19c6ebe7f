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
    def complianceengine_calendar_providers(self):
        return ["test-holidays"]

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
    assert "louder" in dict(Plugins().describe())  # installed plugins are loaded by default
    assert "louder" not in dict(Plugins(entry_points=False).describe())
    sys.modules.pop("ce_test_plugin", None)


# --------------------------------------------------------------------------------------------
# Obligation kinds added by a plugin, end to end from a YAML file to a report

from typing import Literal  # noqa: E402

from complianceengine import ObligationBase, ObligationKind, RulesetError, load_ruleset  # noqa: E402
from complianceengine.model import AppliesTo, EventMatch  # noqa: E402
from complianceengine.timeframes import Period  # noqa: E402


class PerWindow(ObligationBase):
    """Every window of ``calendar`` needs ``at_least`` matching events of each target."""

    kind: Literal["per_window"]
    applies_to: AppliesTo
    match: EventMatch
    calendar: str
    at_least: int = 1


def _per_window(plan, compiled, events):
    obligation = compiled.obligation
    matches = plan.matcher(obligation.match)
    out = []
    for target in compiled.targets:
        for window in plan.windows[obligation.calendar]:
            hits = [e.id for e in events.known if matches(e) and e.unit in target.units and window.start <= e.time < window.end]
            status = "met" if len(hits) >= obligation.at_least else ("open" if window.end > plan.as_of else "missed")
            period = Period(label=f"window from {window.start.date()}", start=window.start, end=window.end)
            out.append(compiled.finding(target.subject, target.unit, period, status, f"at least {obligation.at_least}", f"{len(hits)}",
                                        evidence=tuple(hits)))
    return out


def _check_per_window(obligation, ruleset):
    return [] if obligation.calendar in ruleset.calendars else [(("calendar",), f"unknown calendar {obligation.calendar!r}")]


class PerWindowKind:
    def __init__(self, judge=_per_window):
        self.judge = judge

    @hookimpl
    def complianceengine_obligation_kinds(self):
        return {"per_window": ObligationKind(model=PerWindow, judge=self.judge, check=_check_per_window)}


PER_WINDOW_YAML = """\
id: mini
version: "1"
title: {en: Mini}
timezone: Asia/Shanghai
sources: {doc: {short: Doc, title: {en: Doc}}}
unit_kinds: {town: {label: {en: town}}, dock: {label: {en: dock}, parents: [town]}}
roles: {guard: {label: {en: guard}, unit_kind: dock}, chief: {label: {en: chief}, unit_kind: town}}
event_kinds: {patrol: {label: {en: patrol}}}
calendars:
  typhoons:
    label: {en: typhoon warnings}
    windows: [{start: 2026-08-03, end: 2026-08-04}, {start: 2026-08-20, end: 2026-08-20}]
obligations:
  - id: patrol-each-typhoon
    kind: per_window
    title: {en: A patrol in every typhoon warning}
    citation: {source: doc, article: "7"}
    applies_to: {unit_kind: dock}
    match: {kind: patrol}
    calendar: typhoons
    at_least: {AT_LEAST}
"""


def _write(tmp_path, text):
    path = tmp_path / "ruleset.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_plugin_obligation_kind_runs_from_yaml_to_report(tmp_path):
    plugins = Plugins([PerWindowKind()])
    ruleset = load_ruleset(_write(tmp_path, PER_WINDOW_YAML.replace("{AT_LEAST}", "1")), plugins)
    assert type(ruleset.obligations[0]) is PerWindow
    registry = base_registry()
    events = [event("e1", "patrol", local(2026, 8, 3, 10), actor="a", unit="d1")]
    report = audit(ruleset, registry, events, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 31),
                   as_of=local(2026, 9, 1, 0), plugins=plugins)
    verdicts = sorted((f.subject.id, f.period.label, f.status, f.evidence) for f in report.findings)
    assert verdicts == [("d1", "window from 2026-08-03", "met", ("e1",)), ("d1", "window from 2026-08-20", "missed", ()),
                        ("d2", "window from 2026-08-03", "missed", ()), ("d2", "window from 2026-08-20", "missed", ())]
    assert report.findings[0].cited == "Doc, art. 7"
    assert "patrol-each-typhoon" in render(report, "markdown", plugins)


def test_a_plugin_kind_is_validated_with_located_errors(tmp_path):
    path = _write(tmp_path, PER_WINDOW_YAML.replace("{AT_LEAST}", "many"))
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path, Plugins([PerWindowKind()]))
    [problem] = caught.value.problems
    assert (problem.location.line, problem.location.column) == (21, 15)
    assert problem.path == "obligations[0].at_least"
    bad_calendar = _write(tmp_path, PER_WINDOW_YAML.replace("{AT_LEAST}", "1").replace("calendar: typhoons", "calendar: tides"))
    with pytest.raises(RulesetError) as caught:
        load_ruleset(bad_calendar, Plugins([PerWindowKind()]))
    assert [(p.location.line, p.message) for p in caught.value.problems] == [(20, "unknown calendar 'tides'")]


def test_an_unknown_kind_without_its_plugin_is_located_and_named(tmp_path):
    path = _write(tmp_path, PER_WINDOW_YAML.replace("{AT_LEAST}", "1"))
    with pytest.raises(RulesetError) as caught:
        load_ruleset(path)
    [problem] = caught.value.problems
    assert problem.location.line == 15 and problem.path == "obligations[0].kind"
    assert "'per_window' is not built in and no loaded plugin provides it" in problem.message
    typo = _write(tmp_path, PER_WINDOW_YAML.replace("kind: per_window", "kind: frequncy").replace("{AT_LEAST}", "1"))
    with pytest.raises(RulesetError, match="did you mean 'frequency'"):
        load_ruleset(typo)


def test_faulty_obligation_kinds_are_named():
    class Clash:
        @hookimpl
        def complianceengine_obligation_kinds(self):
            return {"frequency": ObligationKind(model=PerWindow, judge=_per_window)}

    with pytest.raises(PluginError, match="Clash.*built in"):
        Plugins([Clash()]).obligation_kinds()

    def explode(plan, compiled, events):
        raise ZeroDivisionError("tide table empty")

    def garbage(plan, compiled, events):
        return ["not a finding"]

    for judge, message in ((explode, "ZeroDivisionError: tide table empty"), (garbage, "must return a list of findings")):
        plugins = Plugins([PerWindowKind(judge)])
        ruleset = Ruleset.model_validate(load_ruleset(_write_tmp(PER_WINDOW_YAML.replace("{AT_LEAST}", "1")), plugins).model_dump())
        with pytest.raises(PluginError, match=message) as caught:
            audit(ruleset, base_registry(), [], first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 31), as_of=local(2026, 9, 1, 0),
                  plugins=plugins)
        assert caught.value.plugin == "PerWindowKind"


def _write_tmp(text):
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp())
    return _write(folder, text)


def test_a_ruleset_built_in_code_resolves_plugin_kinds_at_audit_time():
    data = load_ruleset(_write_tmp(PER_WINDOW_YAML.replace("{AT_LEAST}", "1")), Plugins([PerWindowKind()])).model_dump()
    unresolved = Ruleset.model_validate(data)  # without plugins the obligation is kept as written
    assert type(unresolved.obligations[0]).__name__ == "ExtensionObligation"
    report = audit(unresolved, base_registry(), [], first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 31),
                   as_of=local(2026, 9, 1, 0), plugins=Plugins([PerWindowKind()]))
    assert {f.status for f in report.findings} == {"missed"}
    with pytest.raises(RulesetError, match="no loaded plugin provides it"):
        audit(unresolved, base_registry(), [], first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 31), as_of=local(2026, 9, 1, 0))


# --------------------------------------------------------------------------------------------
# Optional provider calendars


def test_an_optional_calendar_without_its_plugin_makes_its_obligations_not_judged():
    calendars = {"low-water": {"label": {"en": "low water"}, "provider": "tide-table", "optional": True, "plugin": "complianceengine-tides"}}
    ruleset = base_ruleset(
        {"id": "by-tide", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol", "in_calendar": "low-water"},
         "period": "week", "at_least": 1},
        {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day", "at_least": 1},
        calendars=calendars,
    )
    without = Plugins(entry_points=False)  # the tide plugin may be installed
    report = audit(ruleset, base_registry(), [], first_day=dt.date(2026, 8, 3), last_day=dt.date(2026, 8, 9), as_of=local(2026, 9, 1, 0),
                   plugins=without)
    by_tide = [f for f in report.findings if f.obligation == "by-tide"]
    assert by_tide and {f.status for f in by_tide} == {"not_applicable"}
    assert "install complianceengine-tides" in by_tide[0].note
    assert {f.status for f in report.findings if f.obligation == "daily"} == {"missed"}
    summary = {o.obligation: o.not_judged for o in report.obligations}
    assert summary["daily"] is None and "tide-table" in summary["by-tide"]
    assert "## Not judged (1 obligations)" in render(report, "markdown")
    required = base_ruleset(calendars={"low-water": {**calendars["low-water"], "optional": False}})
    with pytest.raises(MissingPluginError, match="install complianceengine-tides"):
        audit(required, base_registry(), [], first_day=dt.date(2026, 8, 3), last_day=dt.date(2026, 8, 9), as_of=local(2026, 9, 1, 0),
              plugins=without)


def test_every_notifier_is_called_and_a_failure_keeps_the_report():
    calls = []

    class Failing:
        @hookimpl
        def complianceengine_notify(self, findings, report):
            raise ConnectionError("platform down")

    class Recording:
        @hookimpl
        def complianceengine_notify(self, findings, report):
            calls.append(len(findings))

    from complianceengine import NotificationError

    ruleset = base_ruleset({"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"},
                            "period": "day", "at_least": 1})
    for order in ([Failing(), Recording()], [Recording(), Failing()]):
        calls.clear()
        with pytest.raises(NotificationError) as caught:
            audit(ruleset, base_registry(), [], first_day=dt.date(2026, 8, 3), last_day=dt.date(2026, 8, 3), as_of=local(2026, 9, 1, 0),
                  plugins=Plugins(order))
        assert calls == [2]
        [failure] = caught.value.failures
        assert failure.plugin == "Failing" and "platform down" in str(failure)
        assert caught.value.report.counts.missed == 2


def test_a_normaliser_returning_garbage_is_named(tmp_path):
    class Garbage:
        @hookimpl
        def complianceengine_normalise_record(self, record, path, ruleset):
            return ["not", "a", "record"]

    path = tmp_path / "events.jsonl"
    path.write_text('{"id": "e1", "kind": "patrol", "time": "2026-08-03T09:00:00+08:00", "actor": "a", "unit": "d1"}\n')
    with pytest.raises(PluginError, match="Garbage.*events.jsonl:1"):
        read_events(path, base_ruleset(), plugins=Plugins([Garbage()]))


def test_a_per_file_normaliser_is_asked_once_per_file_and_before_the_per_record_hook(tmp_path):
    """complianceengine_record_normaliser: asked once for each file; its function for every
    record, with a copy; the first record given wins, and the per-record hook is asked only for
    records no function answers."""
    asked, per_record = [], []

    class PerFile:
        @hookimpl
        def complianceengine_record_normaliser(self, path, ruleset):
            asked.append(path.name)
            if path.name == "other.jsonl":
                return None  # nothing in this file is ours

            def normalise(record):
                if not record["id"].startswith("x-"):
                    return None
                record["attributes"]["scribbled"] = True  # its own copy: the reader's is untouched
                return {**record, "id": "file-" + record["id"], "attributes": {}}
            return normalise

    class PerRecord:
        @hookimpl
        def complianceengine_normalise_record(self, record, path, ruleset):
            per_record.append(record["id"])
            return {**record, "id": "record-" + record["id"]}

    line = '{{"id": "{}", "kind": "patrol", "time": "2026-08-03T09:00:00+08:00", "actor": "a", "unit": "d1"}}\n'
    events, other = tmp_path / "events.jsonl", tmp_path / "other.jsonl"
    events.write_text(line.format("x-1") + line.format("y-2") + line.format("x-3"))
    other.write_text(line.format("x-4"))
    log = read_events([events, other], base_ruleset(), plugins=Plugins([PerFile(), PerRecord()], entry_points=False))
    assert [e.id for e in log.events] == ["file-x-1", "record-y-2", "file-x-3", "record-x-4"]
    assert asked == ["events.jsonl", "other.jsonl"]
    assert per_record == ["y-2", "x-4"]


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda path, ruleset: "not a function", r"PerFile.*record_normaliser: returned str for .*events.jsonl; expected a function"),
        (lambda path, ruleset: (lambda record: ["a", "list"]), r"PerFile.*returned list for .*events.jsonl:1; expected a record dict"),
        (lambda path, ruleset: (lambda record: {"id": "e", "attributes": "text"}), r"PerFile.*returned dict for .*events.jsonl:1"),
        (lambda path, ruleset: (lambda record: 1 / 0), r"PerFile.*failed on .*events.jsonl:1: ZeroDivisionError"),
    ],
)
def test_a_per_file_normaliser_that_misbehaves_is_named(tmp_path, answer, message):
    class PerFile:
        @hookimpl
        def complianceengine_record_normaliser(self, path, ruleset):
            return answer(path, ruleset)

    path = tmp_path / "events.jsonl"
    path.write_text('{"id": "e1", "kind": "patrol", "time": "2026-08-03T09:00:00+08:00", "actor": "a", "unit": "d1"}\n')
    with pytest.raises(PluginError, match=message):
        read_events(path, base_ruleset(), plugins=Plugins([PerFile()], entry_points=False))


def test_hooks_are_called_through_pluggy_with_firstresult_wrappers_and_the_culprit_named(tmp_path):
    """pm.hook: the first normaliser answering wins, a hook wrapper runs around the call, and a
    normaliser that raises is named."""
    seen = []

    class Quiet:
        @hookimpl
        def complianceengine_normalise_record(self, record, path, ruleset):
            seen.append("quiet")  # answers None: the next plugin is asked

    class Renames:
        @hookimpl
        def complianceengine_normalise_record(self, record, path, ruleset):
            seen.append("renames")
            return {**record, "id": "renamed-" + record["id"]}

    class Wraps:
        @hookimpl(wrapper=True)
        def complianceengine_normalise_record(self, record, path, ruleset):
            seen.append("before")
            answer = yield
            seen.append("after")
            return answer

    class Raises:
        @hookimpl(trylast=True)
        def complianceengine_normalise_record(self, record, path, ruleset):
            raise ValueError("cannot read this platform")

    path = tmp_path / "events.jsonl"
    path.write_text('{"id": "e1", "kind": "patrol", "time": "2026-08-03T09:00:00+08:00", "actor": "a", "unit": "d1"}\n')
    log = read_events(path, base_ruleset(), plugins=Plugins([Raises(), Renames(), Quiet(), Wraps()], entry_points=False))
    assert [e.id for e in log.events] == ["renamed-e1"]
    assert seen == ["before", "quiet", "renames", "after"]  # Raises (trylast) is never asked: firstresult
    with pytest.raises(PluginError, match="plugin 'Raises' failed in complianceengine_normalise_record: ValueError: cannot read"):
        read_events(path, base_ruleset(), plugins=Plugins([Quiet(), Raises()], entry_points=False))


def test_the_same_plugin_twice_is_registered_once_and_name_clashes_are_named():
    import types

    module = types.ModuleType("dup_plugin")
    plugins = Plugins([module, module])
    assert [name for name, _ in plugins.describe()].count("dup_plugin") == 1
    with pytest.raises(PluginError, match="another plugin is registered under this name"):
        plugins.register(types.ModuleType("dup_plugin"))


def test_a_reader_giving_the_wrong_shape_is_named(tmp_path):
    class Pairs:
        @hookimpl
        def complianceengine_read_events(self, path, ruleset):
            return [(1, "raw")] if path.suffix == ".pairs" else None

    path = tmp_path / "events.pairs"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(PluginError, match="Pairs.*triples"):
        read_events(path, base_ruleset(), plugins=Plugins([Pairs()]))


def test_a_plugin_kind_naming_an_optional_calendar_is_not_judged_without_its_provider(tmp_path):
    text = PER_WINDOW_YAML.replace("{AT_LEAST}", "1").replace(
        "    windows: [{start: 2026-08-03, end: 2026-08-04}, {start: 2026-08-20, end: 2026-08-20}]",
        "    provider: typhoon-feed\n    optional: true")
    plugins = Plugins([PerWindowKind()])
    ruleset = load_ruleset(_write(tmp_path, text), plugins)
    report = audit(ruleset, base_registry(), [], first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 31), as_of=local(2026, 9, 1, 0),
                   plugins=plugins)
    assert {f.status for f in report.findings} == {"not_applicable"} and "typhoon-feed" in report.obligations[0].not_judged


def _lint_per_window(obligation, ruleset):
    if obligation.at_least > 1:
        return [("CE112", ("at_least",), f"{obligation.id}: more than one patrol in a one-day typhoon warning", "ask for one")]
    return []


def test_a_plugin_kind_gives_its_own_lint_hints_located_and_a_failing_one_is_named(tmp_path):
    from complianceengine.lint import check_ruleset_file

    class Hinting(PerWindowKind):
        def __init__(self, lint):
            super().__init__()
            self.lint = lint

        @hookimpl
        def complianceengine_obligation_kinds(self):
            return {"per_window": ObligationKind(model=PerWindow, judge=self.judge, check=_check_per_window, lint=self.lint)}

    path = _write(tmp_path, PER_WINDOW_YAML.replace("{AT_LEAST}", "2"))
    _, diagnostics = check_ruleset_file(path, Plugins([Hinting(_lint_per_window)], entry_points=False))
    hints = [(d.code, d.line, d.message) for d in diagnostics if d.code == "CE112"]
    assert hints == [("CE112", 21, "patrol-each-typhoon: more than one patrol in a one-day typhoon warning")]

    def broken(obligation, ruleset):
        raise KeyError("oops")

    with pytest.raises(PluginError, match="Hinting.*ObligationKind.lint.*KeyError"):
        check_ruleset_file(path, Plugins([Hinting(broken)], entry_points=False))


# --------------------------------------------------------------------------------------------
# Report formats: text, bytes, or written to a stream (the example of docs/plugins.md)

import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

from complianceengine import UsageError  # noqa: E402
from complianceengine.report import ReportFormat, write_report  # noqa: E402

from conftest import ROOT  # noqa: E402


def fake_pdf(report, stream):
    stream.write(b"%PDF-1.7\n")
    for finding in report.findings:
        stream.write(finding.id.encode("ascii") + b"\n")


class PortFormats:
    @hookimpl
    def complianceengine_reporters(self):
        return {
            "count": lambda report: f"{len(report.findings)}\n",
            "ndjson": ReportFormat(write=lambda report, stream: stream.writelines(f.model_dump_json() + "\n" for f in report.findings)),
            "stamp": ReportFormat(render=lambda report: report.ruleset.encode() + b"\0", binary=True),
            "pdf": ReportFormat(write=fake_pdf, binary=True),
        }


def small_report(plugins=None):
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d1")]
    return audit(base_ruleset(DAILY), base_registry(), events, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 1),
                 as_of=local(2026, 9, 1, 0), plugins=plugins)


def test_a_format_returns_text_or_bytes_or_writes_to_a_stream():
    plugins = Plugins([PortFormats()], entry_points=False)
    report = small_report(plugins)
    assert render(report, "count", plugins) == "2\n"
    assert [json.loads(line)["id"] for line in render(report, "ndjson", plugins).splitlines()] == [f.id for f in report.findings]
    stamped, pdf, text = io.BytesIO(), io.BytesIO(), io.BytesIO()
    write_report(report, "stamp", stamped, plugins)
    write_report(report, "pdf", pdf, plugins)
    write_report(report, "ndjson", text, plugins)  # a text format, as UTF-8
    assert stamped.getvalue() == b"mini\0"
    assert pdf.getvalue() == b"%PDF-1.7\n" + b"".join(f.id.encode() + b"\n" for f in report.findings)
    assert text.getvalue().decode("utf-8") == render(report, "ndjson", plugins) and not text.closed
    for binary in ("stamp", "pdf"):
        with pytest.raises(UsageError, match=f"report format '{binary}' is not text"):
            render(report, binary, plugins)


class Mislabelled:
    @hookimpl
    def complianceengine_reporters(self):
        return {"says-binary": ReportFormat(render=lambda report: "text", binary=True), "says-text": ReportFormat(render=lambda r: b"x"),
                "fails": ReportFormat(write=lambda report, stream: 1 / 0)}


class NotAFormat:
    @hookimpl
    def complianceengine_reporters(self):
        return {"nothing": "markdown"}


class BothWays:
    @hookimpl
    def complianceengine_reporters(self):
        return {"both": ReportFormat(render=lambda report: "", write=lambda report, stream: None)}


def test_a_format_that_does_not_do_what_it_says_is_named():
    plugins = Plugins([Mislabelled()], entry_points=False)
    report = small_report()
    with pytest.raises(PluginError, match="Mislabelled.*'says-binary'.*returned str, not bytes"):
        write_report(report, "says-binary", io.BytesIO(), plugins)
    with pytest.raises(PluginError, match="Mislabelled.*'says-text'.*returned bytes, not text"):
        render(report, "says-text", plugins)
    with pytest.raises(PluginError, match="Mislabelled.*'fails'.*ZeroDivisionError"):
        render(report, "fails", plugins)
    with pytest.raises(PluginError, match="NotAFormat.*'nothing': expected a function report -> str or a ReportFormat, got str"):
        render(report, "markdown", Plugins([NotAFormat()], entry_points=False))
    with pytest.raises(PluginError, match="BothWays.*ReportFormat takes render= or write=, one of them"):
        render(report, "markdown", Plugins([BothWays()], entry_points=False))


PLUGIN_MODULE = '''
from complianceengine import hookimpl
from complianceengine.report import ReportFormat

def pdf(report, stream):
    stream.write(b"%PDF-1.7\\n" + str(len(report.findings)).encode() + b"\\n")

def half(report, stream):
    stream.write(b"%PDF-1.7\\n")
    raise RuntimeError("font missing")

@hookimpl
def complianceengine_reporters():
    return {"pdf": ReportFormat(write=pdf, binary=True), "half": ReportFormat(write=half, binary=True)}
'''
SAMPLE = [
    "audit", "rulesets/xiangshan/ruleset.yaml", "--registry", "rulesets/xiangshan/sample/registry.yaml",
    "--events", "rulesets/xiangshan/sample/events.jsonl", "--from", "2026-08-01", "--to", "2026-10-31",
    "--as-of", "2026-11-01T00:00:00+08:00", "--fail-on", "none", "--quiet", "--plugin", "port_formats",
]


def command(tmp_path, *args, stdout=subprocess.PIPE):
    (tmp_path / "port_formats.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run([str(Path(sys.executable).parent / "complianceengine"), *SAMPLE, *args], cwd=ROOT, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=300, env=env)


def test_a_binary_plugin_format_on_the_command_line(tmp_path):
    assert command(tmp_path, "--format", "pdf", "--output", str(tmp_path / "report.pdf")).returncode == 0
    assert (tmp_path / "report.pdf").read_bytes() == b"%PDF-1.7\n739\n"
    piped = command(tmp_path, "--format", "pdf")  # standard output is a pipe, not a terminal
    assert piped.returncode == 0 and piped.stdout == b"%PDF-1.7\n739\n"


def test_a_format_failing_half_way_leaves_no_piece_of_its_report(tmp_path):
    """To a file: the previous file stays, the report is kept as JSON beside it. To standard output:
    the plugin's output was held, so the JSON report is all that comes out."""
    out = tmp_path / "report.pdf"
    out.write_bytes(b"last month's")
    failed = command(tmp_path, "--format", "half", "--output", str(out))
    assert failed.returncode == 2 and b"RuntimeError: font missing" in failed.stderr
    assert out.read_bytes() == b"last month's" and not list(tmp_path.glob(".report.pdf.*"))
    assert json.loads((tmp_path / "report.pdf.json").read_text(encoding="utf-8"))["ruleset"] == "xiangshan"
    piped = command(tmp_path, "--format", "half")
    assert piped.returncode == 2 and b"written as JSON to standard output" in piped.stderr
    assert json.loads(piped.stdout)["ruleset"] == "xiangshan"  # no "%PDF" before it


class ShortTable(HolidayCalendar):
    """A provider whose table starts on 1 August: asked for earlier days, it cannot answer."""

    @hookimpl
    def complianceengine_calendar_windows(self, name, calendar, first_day, last_day, timezone):
        if calendar.provider != "test-holidays":
            return None
        if first_day < dt.date(2026, 8, 1):
            raise ValueError(f"no table before 2026-08-01 (asked from {first_day})")
        return [(local(2026, 8, d, 0), local(2026, 8, d + 1, 0)) for d in calendar.options["days"]]


def test_a_provider_that_cannot_answer_for_the_lookback_is_named_in_the_warnings():
    # weekly: the week of Saturday 1 August starts on Monday 27 July, before the table
    weekly = {**WEEKLY_ON_HOLIDAYS, "period": "week"}
    report = audit(holiday_ruleset(weekly), base_registry(), [], first_day=dt.date(2026, 8, 1),
                   last_day=dt.date(2026, 8, 31), as_of=local(2026, 9, 1, 0), plugins=Plugins([ShortTable()], entry_points=False))
    assert any(w.startswith("calendar 'holidays': its provider gave windows for 2026-08-01 to 2026-09-01 only, not from 2026-07-27")
               for w in report.warnings), report.warnings
    whole = audit(holiday_ruleset(weekly), base_registry(), [], first_day=dt.date(2026, 8, 1),
                  last_day=dt.date(2026, 8, 31), as_of=local(2026, 9, 1, 0), plugins=Plugins([HolidayCalendar()], entry_points=False))
    assert not any("provider gave windows" in w for w in whole.warnings)
