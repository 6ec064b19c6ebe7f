import copy
import datetime as dt
import importlib.metadata
import json
import sys
from pathlib import Path

import complianceengine_platform_csv as platform
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import complianceengine as ce
from complianceengine.cli import main

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import XIANGSHAN, local

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "xiangshan_export.csv"
RULESET = XIANGSHAN / "ruleset.yaml"
REGISTRY = XIANGSHAN / "sample" / "registry.yaml"
JSONL = XIANGSHAN / "sample" / "events.jsonl"

# (line, id, kind, local time) of every row of the sample that must be accepted
ACCEPTED = [
    (2, "PF-0001", "patrol", "2026-08-03T16:40:00"),
    (3, "PF-0002", "info_reported", "2026-08-10T10:15:00"),
    (4, "PF-0003", "lead_pushed", "2026-08-10T11:00:00"),
    (5, "PF-0004", "lead_response", "2026-08-10T15:30:00"),
    (6, "PF-0005", "lead_handled", "2026-08-12T09:00:00"),
    (7, "PF-0006", "patrol", "2026-08-15T08:10:00"),
    (8, "PF-0007", "patrol", "2026-08-15T09:00:00"),
    (9, "PF-0008", "visit", "2026-08-18T15:00:00"),
    (10, "PF-0009", "publicity", "2026-08-25T19:00:00"),
    (11, "PF-0010", "damage_reported", "2026-08-27T08:30:00"),  # its facility cell runs over two lines
    (13, "PF-0011", "repair_done", "2026-08-31T16:00:00"),
    (14, "PF-0012", "repair_feedback", "2026-09-01T10:00:00"),
    (16, "PF-0014", "patrol", "2026-09-05T08:30:00"),
    (17, "PF-0015", "leave", "2026-09-07T00:00:00"),
    (18, "PF-0016", "patrol", "2026-09-09T10:00:00"),
    (20, "PF-0018", "visit", "2026-09-16T14:30:00"),
    (22, "PF-0020", "typhoon_closure", "2026-09-28T06:00:00"),
    (23, "PF-0021", "patrol", "2026-10-02T09:00:00"),
    (24, "PF-0022", "patrol", "2026-10-08T10:30:00"),
    (25, "PF-0023", "visit", "2026-10-09T15:00:00"),
    (26, "PF-0024", "publicity", "2026-10-16T19:30:00"),
    (27, "PF-0025", "info_reported", "2026-10-20T21:40:00"),
    (28, "PF-0026", "lead_pushed", "2026-10-20T22:30:00"),
    (29, "PF-0027", "lead_response", "2026-10-21T08:00:00"),
    (30, "PF-0028", "lead_handled", "2026-10-22T17:00:00"),
    (31, "PF-0029", "patrol", "2026-10-25T07:50:00"),
    (32, "PF-0030", "patrol", "2026-10-30T20:15:00"),
]
DECLARED = ("patrol, visit, publicity, info_reported, lead_pushed, lead_response, lead_handled, damage_reported, repair_done, "
            "repair_feedback, leave, typhoon_closure")
REJECTED = [
    (15, "PF-0013,夜间巡逻,", (f"unknown event kind '夜间巡逻'; declared: {DECLARED}",)),
    (19, "PF-0017,巡查,2026/09/31 08:00,", ("time '2026/09/31 08:00' is not an ISO 8601 date-time such as 2026-08-01T09:30:00+08:00",)),
    (21, "PF-0019,巡查,", ("unknown person 'p-zhang-san' (not in the registry)",)),
]


@pytest.fixture(scope="module")
def ruleset():
    return ce.load_ruleset(RULESET)


@pytest.fixture(scope="module")
def registry(ruleset):
    return ce.load_registry(REGISTRY, ruleset)


def plugins():
    return ce.Plugins([platform])


def read(paths, ruleset, registry=None):
    """The log of ``paths``, read by the reference reader (row by row) and by DuckDB (a CSV file's
    records mapped in bulk by :func:`platform.normalise_table` and screened): the same log."""
    log = ce.read_events(paths, ruleset, registry, plugins=plugins(), engine="reference")
    screened = ce.read_events(paths, ruleset, registry, plugins=plugins(), engine="duckdb")
    assert screened.rejects == log.rejects and screened.duplicates == log.duplicates and screened.events == log.events
    assert [list(e.attributes) for e in screened.events] == [list(e.attributes) for e in log.events]  # in the same order
    return log


def test_sample_export_is_read_row_by_row(ruleset, registry):
    assert SAMPLE.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel-style BOM: the core reads with utf-8-sig
    log = read(SAMPLE, ruleset, registry)
    assert [(e.origin.line, e.id, e.kind, e.time.isoformat()) for e in log.events] == [
        (line, id, kind, time + "+08:00") for line, id, kind, time in ACCEPTED
    ]
    assert all(e.origin.file == str(SAMPLE) and e.time.utcoffset() == dt.timedelta(hours=8) for e in log.events)
    assert [(r.line, r.errors) for r in log.rejects] == [(line, errors) for line, _, errors in REJECTED]
    for reject, (_, start, _) in zip(log.rejects, REJECTED):
        assert reject.raw.startswith(start) and reject.file == str(SAMPLE)
    assert log.duplicates == ()

    events = {e.id: e for e in log.events}
    assert events["PF-0001"].model_dump(exclude={"origin", "time"}) == {
        "id": "PF-0001", "kind": "patrol", "actor": "p-yu-hong", "participants": (), "on_behalf_of": None,
        "unit": "dongmen-north", "subject": None, "attributes": {"mode": "field"},
    }
    assert events["PF-0007"].participants == ("p-ma-chao", "p-hu-gang")  # 、
    assert events["PF-0021"].participants == ("p-liang-wei", "p-guo-ping")  # ;
    assert events["PF-0022"].on_behalf_of == "p-lin-bo"
    assert events["PF-0022"].credited == ("p-ma-chao", "p-lin-bo")
    assert events["PF-0008"].subject == "kp-001" and events["PF-0008"].unit is None
    assert events["PF-0003"].attributes == {"info_id": "INFO-PF-01", "category": "abnormal_movement"}
    assert events["PF-0014"].attributes == {"mode": "online"}
    assert events["PF-0011"].actor is None and events["PF-0011"].attributes == {"report_id": "DMG-PF-01"}
    assert events["PF-0010"].attributes == {"report_id": "DMG-PF-01", "facility": "拦海防护网东段约20米倒伏\n（8月26日大风后巡查发现）"}
    # local times of datetime attributes get the zone's offset too
    assert events["PF-0015"].attributes == {"until": "2026-09-12T00:00:00+08:00"}
    assert events["PF-0020"].attributes == {"until": "2026-09-30T12:00:00+08:00"}


def test_without_the_plugin_every_row_is_rejected(ruleset, registry):
    log = ce.read_events(SAMPLE, ruleset, registry, ce.Plugins(entry_points=False))
    assert log.events == () and len(log.rejects) == 30
    assert log.rejects[0].errors == ("missing the event kind ('kind'); declared: " + DECLARED,)


def test_jsonl_and_standard_csv_read_identically_with_the_plugin(ruleset, registry, tmp_path):
    assert read(JSONL, ruleset, registry) == ce.read_events(JSONL, ruleset, registry)
    standard = tmp_path / "standard.csv"
    standard.write_text(
        "id,kind,time,actor,unit,participants,mode\n"
        "S-1,patrol,2026-08-03T09:30:00+08:00,p-yu-hong,dongmen-north,p-ma-chao;p-xu-jing,field\n"
        "S-2,patrl,2026-08-03T09:30:00,p-yu-hong,dongmen-north,,field\n",
        encoding="utf-8",
    )
    assert read(standard, ruleset, registry) == ce.read_events(standard, ruleset, registry)
    assert platform.normalise({"id": "S-1", "kind": "patrol", "attributes": {"mode": "field"}}, ruleset) is None


def test_the_record_handed_in_is_not_modified(ruleset):
    record = {
        "id": "X-1",
        "attributes": {"事件类型": " 巡查 ", "发生时间": "2026/08/03 09:30", "人员编号": "p-yu-hong", "单位编号": "dongmen-north",
                       "参与人员": "p-ma-chao、p-xu-jing", "mode": "field", "备注": "x"},
    }
    before = copy.deepcopy(record)
    out = platform.complianceengine_record_normaliser(path=Path("export.csv"), ruleset=ruleset)(record)
    assert record == before
    assert out == {
        "id": "X-1", "kind": "patrol", "time": "2026-08-03T09:30:00+08:00", "actor": "p-yu-hong", "unit": "dongmen-north",
        "participants": ["p-ma-chao", "p-xu-jing"], "attributes": {"mode": "field", "备注": "x"},
    }
    assert out["attributes"] is not record["attributes"]


@pytest.mark.parametrize(("text", "expected"), [
    ("2026/08/03 09:30", "2026-08-03T09:30:00+08:00"),
    ("2026-08-03 09:30:00", "2026-08-03T09:30:00+08:00"),
    ("2026/8/3 9:05", "2026-08-03T09:05:00+08:00"),
    ("2026.08.03 23:59:59", "2026-08-03T23:59:59+08:00"),
    (" 2026/08/03 09:30 ", "2026-08-03T09:30:00+08:00"),
    ("2026/09/31 08:00", None),  # no such day
    ("2026/08/03 24:00", None),
    ("2026/08-03 09:30", None),  # mixed separators
    ("2026/08/03", None),
    ("8月3日 09:30", None),
    ("2026-08-03T09:30:00+08:00", None),  # already ISO 8601: passed on to the core as it is
])
def test_local_time_formats(text, expected):
    assert platform.local_time(text, "Asia/Shanghai") == expected


def labelled(ruleset: ce.Ruleset) -> ce.Ruleset:
    """The Xiangshan ruleset with Chinese labels on the patrol's attributes, and two more of them."""
    data = ruleset.model_dump(by_alias=True, exclude_none=True)
    data["event_kinds"]["patrol"]["attributes"] = {
        "mode": {"type": "enum", "values": ["field", "online"], "required": True, "label": {"zh": "巡查方式", "en": "mode"}},
        "at_night": {"type": "boolean", "label": {"zh": "夜间巡查", "en": "at night"}},
        "vessels": {"type": "list", "label": {"zh": "检查船只", "en": "vessels checked"}},
    }
    data["event_kinds"]["leave"]["attributes"]["until"]["label"] = {"zh": "截止时间", "en": "until"}
    return ce.Ruleset.model_validate(data)


def test_attribute_columns_by_chinese_label_with_typed_values(ruleset, registry, tmp_path):
    export = tmp_path / "export.csv"
    export.write_text(
        "记录编号,事件类型,发生时间,人员编号,单位编号,巡查方式,夜间巡查,检查船只,截止时间,备注\n"
        "L-1,巡查,2026/08/03 21:30,p-yu-hong,dongmen-north,field,是,浙象渔01234、浙象渔05678；浙象渔09999,,\n"
        "L-2,patrol,2026/08/04 09:30,p-yu-hong,dongmen-north,online,否,,,\n"
        "L-3,巡查,2026/08/05 09:30,p-yu-hong,dongmen-north,实地,,,,\n"
        "L-4,巡查,2026/08/06 09:30,p-yu-hong,dongmen-north,field,,,,码头东侧\n"
        "L-5,请假,2026/08/07 00:00,p-yu-hong,,,,,2026/08/09 00:00,\n"
        "L-6,巡查,2026/08/08 09:30,p-yu-hong,dongmen-north,field,也许,,,\n"
        "L-7,巡查,2026/08/09 09:30,p-yu-hong,dongmen-north,  ,,,,\n"
        ",巡查,2026/08/10 09:30,p-yu-hong,dongmen-north,field,,,,\n",
        encoding="utf-8",
    )
    log = read(export, labelled(ruleset), registry)
    assert {e.id: e.attributes for e in log.events} == {
        "L-1": {"mode": "field", "at_night": True, "vessels": ("浙象渔01234", "浙象渔05678", "浙象渔09999")},
        "L-2": {"mode": "online", "at_night": False},
        "L-5": {"until": "2026-08-09T00:00:00+08:00"},
    }
    assert [(r.line, r.errors) for r in log.rejects] == [
        # enum values are not translated: the ruleset has no Chinese names for them
        (4, ("attribute 'mode': '实地' is not one of field, online",)),
        # unknown columns keep their header
        (5, ("unknown attribute '备注' for a patrol event (declared: mode, at_night, vessels)",)),
        (7, ("attribute 'at_night': expected true or false, got '也许'",)),
        # a blank cell is an absent value
        (8, ("a patrol event needs attribute 'mode'",)),
        (9, ("id: missing required field 'id'",)),
    ]


def test_a_column_given_twice_is_not_resolved_silently(ruleset, registry, tmp_path):
    export = tmp_path / "export.csv"
    export.write_text(
        "记录编号,事件类型,发生时间,人员编号,单位编号,unit,巡查方式,mode\n"
        "T-1,巡查,2026/08/03 09:30,p-yu-hong,dongmen-north,dongmen-north,field,field\n"
        "T-2,巡查,2026/08/03 10:30,p-yu-hong,dongmen-north,dongmen-south,field,\n"
        "T-3,巡查,2026/08/03 11:30,p-yu-hong,dongmen-north,,field,online\n",
        encoding="utf-8",
    )
    log = read(export, labelled(ruleset), registry)
    # the same value twice is one value; two different values are neither silently chosen nor dropped
    assert [(e.id, e.unit, e.attributes) for e in log.events] == [("T-1", "dongmen-north", {"mode": "field"})]
    assert [(r.line, r.errors) for r in log.rejects] == [
        (3, ("unknown attribute '单位编号' for a patrol event (declared: mode, at_night, vessels)",)),
        (4, ("unknown attribute '巡查方式' for a patrol event (declared: mode, at_night, vessels)",)),
    ]


def test_kind_names_leave_out_labels_shared_by_two_kinds(ruleset):
    data = ruleset.model_dump(by_alias=True, exclude_none=True)
    data["event_kinds"]["visit"]["label"]["zh"] = "巡查"
    twice = ce.Ruleset.model_validate(data)
    names = platform.kind_names(twice)
    assert "巡查" not in names and names["patrol"] == "patrol"
    assert platform.kind_names(ruleset)["巡查"] == "patrol"
    record = {"attributes": {"记录编号": "K-1", "事件类型": "巡查", "发生时间": "2026/08/03 09:30", "人员编号": "p-yu-hong"}}
    assert platform.normalise(record, twice)["kind"] == "巡查"


def test_audit_over_the_jsonl_sample_and_the_export(ruleset, registry):
    as_of = local(2026, 9, 1, 0)

    def audit(*paths):
        log = read(paths, ruleset, registry)
        report = ce.audit(ruleset, registry, log, first_day=dt.date(2026, 8, 10), last_day=dt.date(2026, 8, 16), as_of=as_of,
                          plugins=plugins())
        return {(f.obligation, f.subject.id, f.period.label, f.step): f for f in report.findings}

    alone, both = audit(JSONL), audit(JSONL, SAMPLE)
    # 余红 (dock staff, Dongmen north) skips 15 Aug in the JSONL sample; the platform recorded her patrol
    key = ("dock-staff-daily-patrol", "p-yu-hong", "2026-08-15", None)
    assert alone[key].status == "missed"
    assert (both[key].status, both[key].evidence) == ("met", ("PF-0006",))
    # the export's own lead runs its whole course in time
    assert not any("INFO-PF-01" in k[1] for k in alone)
    cases = {k[3]: (f.status, f.evidence) for k, f in both.items() if k[1] == "info_id=INFO-PF-01"}
    assert cases == {
        "pushed": ("met", ("PF-0002", "PF-0003")),
        "responded": ("met", ("PF-0003", "PF-0004")),
        "handled": ("met", ("PF-0003", "PF-0005")),
    }
    # a participant is credited: 马超 (inspector) joins 林波's patrol in week 33
    assert "PF-0007" in both[("dock-chief-weekly-patrol", "p-ma-chao", "2026-W33", None)].evidence


def test_entry_point_is_installed():
    entries = {e.name: e.value for e in importlib.metadata.entry_points(group="complianceengine")}
    assert entries.get("platform_csv") == "complianceengine_platform_csv"
    assert dict(ce.Plugins(entry_points=True).describe())["platform_csv"] == ["complianceengine_record_normaliser"]


@pytest.mark.parametrize("engine", ["reference", "duckdb"])
def test_command_line_audit_with_the_export(tmp_path, capsys, engine):
    output, rejects = tmp_path / "report.json", tmp_path / "rejects.jsonl"
    code = main([
        "--no-entry-points", "--plugin", "complianceengine_platform_csv",
        "audit", str(RULESET), "--registry", str(REGISTRY), "--events", str(SAMPLE), "--engine", engine,
        "--from", "2026-08-10", "--to", "2026-08-16", "--as-of", "2026-09-01T00:00:00+08:00",
        "--format", "json", "--output", str(output), "--rejects", str(rejects), "--fail-on", "none",
    ])
    assert code == 0
    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["engine"] == engine
    pushed = [f for f in report["findings"] if f["obligation"] == "info-push-realtime"]
    assert [(f["subject"]["id"], f["status"], f["evidence"]) for f in pushed] == [("info_id=INFO-PF-01", "met", ["PF-0002", "PF-0003"])]
    written = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [(r["file"], r["line"]) for r in written] == [(str(SAMPLE), line) for line, _, _ in REJECTED]
    err = capsys.readouterr().err
    assert f"warning: rejected event {SAMPLE}:21: unknown person 'p-zhang-san' (not in the registry)" in err

    # rejected rows fail the run unless --fail-on none; without the plugin no row is usable
    assert main(["--no-entry-points", "--plugin", "complianceengine_platform_csv", "audit", str(RULESET), "--registry", str(REGISTRY),
                 "--events", str(SAMPLE), "--from", "2026-08-10", "--to", "2026-08-16", "--as-of", "2026-09-01T00:00:00+08:00",
                 "--output", str(output)]) == 1
    capsys.readouterr()
    assert main(["--no-entry-points", "audit", str(RULESET), "--registry", str(REGISTRY), "--events", str(SAMPLE),
                 "--from", "2026-08-10", "--to", "2026-08-16", "--as-of", "2026-09-01T00:00:00+08:00", "--output", str(output),
                 "--fail-on", "none"]) == 0
    # all 30 rows are rejected without the plugin: 20 shown, the rest counted
    err = capsys.readouterr().err
    assert err.count("warning: rejected event") == 20 and "warning: 10 more rejected event lines" in err


# --------------------------------------------------------------------------------------------
# in bulk: normalise_table gives what normalise gives, for the rows it vouches for

CELLS = ["", " ", "x", " a ", "是", "否", " 是", "true", "2026/08/03 09:30", "2026-08-03 09:30:00", "2026/09/31 10:00", "2026.8.3 9:30",
         "a、b", "a; b", "a；b、", "p-yu-hong", "dongmen-north", "field", "online", "巡查", "请假", "patrol", "夜间巡逻", "info_id"]


@st.composite
def exports(draw: st.DrawFn) -> tuple[list[str], list[list[str | None]]]:
    """A few rows of an export: platform headers, core names and attribute names and labels
    (some twice under two names), cells of every sort the function converts."""
    ruleset = labelled(ce.load_ruleset(RULESET))
    attributes = sorted({a for k in ruleset.event_kinds.values() for a in k.attributes} | {"巡查方式", "夜间巡查", "检查船只", "截止时间", "备注"})
    names = [*platform.COLUMNS, "kind", "unit", "time", "participants", "id", *attributes]
    headers = draw(st.lists(st.sampled_from(names), min_size=1, max_size=7, unique=True))
    kinds = [k.label.zh for k in ruleset.event_kinds.values() if k.label.zh]
    cell = st.one_of(st.none(), st.sampled_from(CELLS + kinds), st.text(max_size=3))
    rows = draw(st.lists(st.lists(cell, min_size=len(headers), max_size=len(headers)), min_size=1, max_size=6))
    return headers, rows


@settings(max_examples=300, deadline=None)
@given(export=exports())
def test_the_bulk_function_gives_the_record_functions_records(export):
    import pyarrow as pa

    ruleset = labelled(ce.load_ruleset(RULESET))
    headers, rows = export
    columns = {}
    for i, name in enumerate(headers):
        cells = [None if row[i] in (None, "") else row[i] for row in rows]
        if name == "participants":  # the core splits its own participants column before any plugin sees it
            columns[name] = pa.array([None if c is None else [p.strip() for p in c.split(";") if p.strip()] for c in cells], pa.list_(pa.string()))
        else:
            columns[name] = pa.array(cells, pa.string())
    records = pa.table(columns)
    out, kept = platform.normalise_table(records, ruleset)
    assert out.num_rows == len(rows) and len(kept) == len(rows)
    given_rows = records.to_pylist()
    for row, made, vouched in zip(given_rows, out.to_pylist(), kept.to_pylist(), strict=True):
        record = {k: v for k, v in row.items() if v is not None and k in ce.model.CORE_EVENT_FIELDS}
        record["attributes"] = {k: v for k, v in row.items() if v is not None and k not in ce.model.CORE_EVENT_FIELDS}
        want = platform.normalise(record, ruleset)
        if not vouched:
            continue
        assert want is not None
        core = {k: v for k, v in made.items() if v is not None and k in ce.model.CORE_EVENT_FIELDS}
        attributes = {k: v for k, v in made.items() if v is not None and k not in ce.model.CORE_EVENT_FIELDS}
        # true and false as the core reads them from a CSV cell's text
        assert core == {k: v for k, v in want.items() if k != "attributes"}
        assert attributes == {k: ("true" if v is True else "false" if v is False else v) for k, v in want["attributes"].items()}
        assert list(attributes) == list(want["attributes"])  # in the record's order


def test_review_findings_on_the_bulk_function(ruleset, registry, tmp_path):
    """A review of the bulk function found: an attribute given by a later column when the earlier
    one naming it is blank came in another order than the per-record function's (the row is that
    function's now); an attribute named ``line`` made the DuckDB reader refuse the answer."""
    export = tmp_path / "export.csv"
    export.write_text("记录编号,事件类型,发生时间,人员编号,单位编号,巡查方式,夜间巡查,mode\n"
                      "A-1,巡查,2026/08/03 09:30,p-yu-hong,dongmen-north,,是,field\n"
                      "A-2,巡查,2026/08/03 10:30,p-yu-hong,dongmen-north,field,是,\n", encoding="utf-8")
    log = read(export, labelled(ruleset), registry)
    assert [list(e.attributes) for e in log.events] == [["at_night", "mode"], ["mode", "at_night"]]
    data = labelled(ruleset).model_dump(by_alias=True, exclude_none=True)
    data["event_kinds"]["patrol"]["attributes"]["line"] = {"type": "string", "label": {"zh": "巡逻路线", "en": "route"}}
    export.write_text("记录编号,事件类型,发生时间,人员编号,单位编号,mode,巡逻路线\n"
                      "L-1,巡查,2026/08/03 09:30,p-yu-hong,dongmen-north,field,east pier\n", encoding="utf-8")
    assert [e.attributes for e in read(export, ce.Ruleset.model_validate(data), registry).events] == [{"mode": "field", "line": "east pier"}]
