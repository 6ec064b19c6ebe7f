import datetime as dt
import importlib.metadata
import sys
from pathlib import Path

import complianceengine_tides as tides
import pytest

import complianceengine as ce
from complianceengine.cli import main

HERE = Path(__file__).resolve().parent
TABLE = HERE.parent / "src" / "complianceengine_tides" / "tables" / "xiangshan-2026.csv"
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import base_registry, base_ruleset, event, local  # noqa: E402

ZONE = "Asia/Shanghai"


def test_windows_are_two_hours_either_side_of_each_low_water_of_the_station():
    got = tides.windows({"table": str(TABLE), "station": "shipu"}, dt.date(2026, 8, 1), dt.date(2026, 8, 1), ZONE, HERE)
    lows = [line.split(",")[1] for line in TABLE.read_text(encoding="utf-8").splitlines() if line.startswith("shipu,2026-08-01")
            and ",low," in line]
    assert lows == ["2026-08-01 05:03", "2026-08-01 17:31"]
    assert [(a.isoformat(), b.isoformat()) for a, b in got] == [
        ("2026-08-01T03:03:00+08:00", "2026-08-01T07:03:00+08:00"),
        ("2026-08-01T15:31:00+08:00", "2026-08-01T19:31:00+08:00"),
    ]
    high = tides.windows({"table": str(TABLE), "station": "dongmen", "water": "high", "before": "PT30M", "after": "PT1H"},
                         dt.date(2026, 8, 1), dt.date(2026, 8, 1), ZONE, HERE)
    assert all(b - a == dt.timedelta(minutes=90) for a, b in high) and len(high) == 3  # one reaches past midnight into the day


def test_a_window_across_midnight_counts_for_the_day_it_reaches():
    days = tides.windows({"table": str(TABLE), "station": "shipu"}, dt.date(2026, 8, 1), dt.date(2026, 12, 31), ZONE, HERE)
    one = tides.windows({"table": str(TABLE), "station": "shipu"}, dt.date(2026, 9, 10), dt.date(2026, 9, 10), ZONE, HERE)
    start = dt.datetime(2026, 9, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert one == [w for w in days if w[0] < start + dt.timedelta(days=1) and w[1] > start]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"station": "shipu"}, "option 'table' is required"),
        ({"table": "nope.csv", "station": "shipu"}, "cannot read tide table"),
        ({"table": str(TABLE), "station": "beilun"}, "no rows for station 'beilun'"),
        ({"table": str(TABLE), "station": "shipu", "water": "ebb"}, "must be low or high"),
        ({"table": str(TABLE), "station": "shipu", "before": "2h"}, "ISO 8601 duration"),
        ({"table": str(TABLE), "station": "shipu", "staton": "x"}, "unknown options ['staton']"),
    ],
)
def test_bad_options_say_what_is_wrong(options, message):
    with pytest.raises(tides.TideTableError, match=message.replace("[", r"\[").replace("]", r"\]")):
        tides.windows(options, dt.date(2026, 8, 1), dt.date(2026, 8, 2), ZONE, HERE)


def test_the_bundled_table_travels_inside_the_package():
    assert tides.bundled_tables() == ["xiangshan-2026"]
    assert Path(tides.__file__).parent / "tables" / "xiangshan-2026.csv" == TABLE
    span = (dt.date(2026, 8, 1), dt.date(2026, 9, 30), ZONE)
    by_name = tides.windows({"bundled": "xiangshan-2026", "station": "dongmen", "water": "high"}, *span, Path("/nowhere"))
    assert by_name and by_name == tides.windows({"table": str(TABLE), "station": "dongmen", "water": "high"}, *span, Path("/nowhere"))
    with pytest.raises(tides.TideTableError, match="no bundled tide table 'beilun-2026'; this plugin ships xiangshan-2026"):
        tides.windows({"bundled": "beilun-2026", "station": "shipu"}, *span, HERE)
    with pytest.raises(tides.TideTableError, match="not both"):
        tides.windows({"bundled": "xiangshan-2026", "table": str(TABLE), "station": "shipu"}, *span, HERE)


def test_a_range_the_table_does_not_cover_is_an_error_not_an_empty_calendar():
    with pytest.raises(tides.TideTableError, match="covers station 'shipu' from 2026-07-01 to 2026-12-31; the audit needs 2026-12-20 to 2027-01-05"):
        tides.windows({"table": str(TABLE), "station": "shipu"}, dt.date(2026, 12, 20), dt.date(2027, 1, 5), ZONE, HERE)


def test_a_bad_row_is_named_with_its_line(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("station,time,water,height_m\nshipu,2026-08-01 05:03,low,0.4\nshipu,2026-08-01 25:00,low,0.4\n", encoding="utf-8")
    with pytest.raises(tides.TideTableError, match=r"t.csv:3: time must be"):
        tides.read_table(table, ZONE)
    table.write_text("station,when,water\n", encoding="utf-8")
    with pytest.raises(tides.TideTableError, match="missing: time"):
        tides.read_table(table, ZONE)
    table.write_text("station,time,water\nshipu,2026-08-01 05:03,低潮\nshipu,2026-08-01T11:20:00+08:00,HW\n", encoding="utf-8")
    assert [(w.water, w.time.isoformat(), w.height) for w in tides.read_table(table, ZONE)] == [
        ("low", "2026-08-01T05:03:00+08:00", None), ("high", "2026-08-01T11:20:00+08:00", None)]


def test_a_by_tide_duty_counts_only_patrols_near_low_water(tmp_path):
    import json

    ruleset = base_ruleset(
        {"id": "by-tide", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol", "in_calendar": "low-water"},
         "period": "day", "at_least": 1},
        calendars={"low-water": {"label": {"en": "low water"}, "provider": "tide-table",
                                 "options": {"table": "tides.csv", "station": "shipu"}}},
    )
    (tmp_path / "tides.csv").write_text(TABLE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "ruleset.yaml").write_text(json.dumps(ruleset.model_dump(mode="json", by_alias=True, exclude_none=True)), encoding="utf-8")
    loaded = ce.load_ruleset(tmp_path / "ruleset.yaml")  # the table path is relative to the ruleset's folder
    events = [
        event("near", "patrol", local(2026, 8, 1, 6), actor="a", unit="d1"),  # low water 05:03
        event("far", "patrol", local(2026, 8, 1, 11), actor="b", unit="d2"),  # high water
    ]
    report = ce.audit(loaded, base_registry(), events, first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 8, 1),
                      as_of=local(2026, 9, 1, 0), plugins=ce.Plugins([tides]))
    assert {(f.subject.id, f.status, f.evidence) for f in report.findings} == {("a", "met", ("near",)), ("b", "missed", ())}
    assert report.findings[0].required == "at least 1 patrol (low water) (Aug 1, 2026)"


def test_the_bundled_xiangshan_ruleset_judges_its_by_tide_duty_with_the_plugin(capsys):
    ruleset_path = ROOT / "rulesets" / "xiangshan" / "ruleset.yaml"
    plugins = ce.Plugins([tides])
    ruleset = ce.load_ruleset(ruleset_path, plugins)
    registry = ce.load_registry(ROOT / "rulesets" / "xiangshan" / "sample" / "registry.yaml", ruleset)
    log = ce.read_events(ROOT / "rulesets" / "xiangshan" / "sample" / "events.jsonl", ruleset, registry, plugins)
    args = dict(first_day=dt.date(2026, 8, 1), last_day=dt.date(2026, 10, 31), as_of=local(2026, 11, 1, 0))
    judged = ce.audit(ruleset, registry, log, plugins=plugins, **args)
    by_tide = [f for f in judged.findings if f.obligation == "risk-point-tide-patrol"]
    assert sorted((f.subject.id, f.period.label) for f in by_tide if f.status == "missed") == [
        ("rp-dongmen-slipway", "2026-W43"), ("rp-xiaobai-beach", "2026-W38")]
    assert {f.status for f in by_tide} == {"met", "missed"}  # the week of 27 July is judged whole, with its July patrols
    unjudged = ce.audit(ruleset, registry, log, plugins=ce.Plugins(entry_points=False), **args)
    summary = {o.obligation: o for o in unjudged.obligations}
    assert "tide-table" in summary["risk-point-tide-patrol"].not_judged
    # everything else is judged the same with or without the plugin
    others = lambda report: [f for f in report.findings if f.obligation != "risk-point-tide-patrol"]  # noqa: E731
    assert others(judged) == others(unjudged)
    assert main(["--no-entry-points", "check", str(ruleset_path)]) == 1  # a warning: the duty will not be judged
    out = capsys.readouterr().out
    assert "warning CE110 optional-plugin-missing" in out and "obligations risk-point-tide-patrol will be reported not judged" in out
    assert main(["--no-entry-points", "check", str(ruleset_path), "--fail-on", "error"]) == 0


def test_entry_point_is_installed():
    assert "tides" in {e.name for e in importlib.metadata.entry_points(group="complianceengine")}
