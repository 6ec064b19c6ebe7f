"""``--format xlsx``: the workbook read back with openpyxl, compared cell by cell with the golden
JSON report of the Xiangshan sample; filters, frozen header rows, formula injection, the row limit."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from complianceengine import Plugins, UsageError, render
from complianceengine import renderers as report_module
from complianceengine.report import write_report
from complianceengine.timeframes import Period
from complianceengine.words import period_text

from conftest import ROOT
from test_outputs import hostile_report

EXE = Path(sys.executable).parent / "complianceengine"
SAMPLE = [
    "rulesets/xiangshan/ruleset.yaml", "--registry", "rulesets/xiangshan/sample/registry.yaml",
    "--events", "rulesets/xiangshan/sample/events.jsonl", "--from", "2026-08-01", "--to", "2026-10-31",
    "--as-of", "2026-11-01T00:00:00+08:00", "--fail-on", "none",
]
GOLDEN = json.loads((ROOT / "tests" / "golden" / "xiangshan.json").read_text(encoding="utf-8"))
STATUSES = ["met", "late", "missed", "open", "excused", "not_applicable"]
FINDING_HEADER = [
    "id", "obligation", "step", "kind", "cited", "assumed", "subject_kind", "subject", "subject_name", "role", "unit", "unit_path",
    "period", "period_name", "period_start", "period_end", "status", "required", "observed", "required_count", "observed_count", "due", "decided",
    "delay_seconds", "evidence", "window", "excused_by", "note", "observed_amount", "evidence_values", "flagged", "evidence_omitted",
]
PER_OBLIGATION = [h for h in FINDING_HEADER if h not in ("obligation", "kind", "cited", "assumed")]


@pytest.fixture(scope="module")
def workbook_path(tmp_path_factory) -> Path:
    """The Xiangshan sample's workbook, made through the real entry point."""
    path = tmp_path_factory.mktemp("xlsx") / "report.xlsx"
    result = subprocess.run([str(EXE), "audit", *SAMPLE, "--format", "xlsx", "--output", str(path)], cwd=ROOT, capture_output=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    return path


@pytest.fixture(scope="module")
def workbook(workbook_path):
    return openpyxl.load_workbook(workbook_path)


def rows(sheet, first=1):
    return [list(row) for row in sheet.iter_rows(min_row=first, values_only=True)]


def local(text: str | None) -> dt.datetime | None:
    """An instant of the JSON report as the workbook shows it: local (Asia/Shanghai), without zone."""
    if text is None:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone(dt.timedelta(hours=8))).replace(tzinfo=None)


def test_sheets_summary_units_findings_then_one_per_obligation(workbook):
    obligations = [o["obligation"] for o in GOLDEN["obligations"]]
    assert workbook.sheetnames == ["Summary", "Units", "Findings", *obligations]


def test_every_table_has_its_header_frozen_and_filters_on_it(workbook):
    findings = len(GOLDEN["findings"])
    assert workbook["Findings"].freeze_panes == "A2"
    assert workbook["Findings"].auto_filter.ref == f"A1:AF{findings + 1}"
    assert workbook["Summary"].freeze_panes == "B2" and workbook["Summary"].auto_filter.ref == f"A1:N{len(GOLDEN['obligations']) + 1}"
    assert workbook["Units"].freeze_panes == "B2" and workbook["Units"].auto_filter.ref == f"A1:K{len(GOLDEN['units']) + 1}"
    for o in GOLDEN["obligations"]:
        sheet = workbook[o["obligation"]]
        count = sum(o["counts"].values())
        assert sheet.freeze_panes == "A3"  # the title row and the header row
        assert sheet.auto_filter.ref == f"A2:AB{count + 2}"


def test_the_findings_sheet_is_the_golden_report_cell_by_cell(workbook):
    sheet = rows(workbook["Findings"])
    assert sheet[0] == FINDING_HEADER
    units = {u["unit"]: u for u in GOLDEN["units"]}
    assert len(sheet) - 1 == len(GOLDEN["findings"]) == 739
    for row, f in zip(sheet[1:], GOLDEN["findings"]):
        cells = dict(zip(FINDING_HEADER, row))
        path, at = [], f["unit"]
        while at is not None:
            path.insert(0, units[at]["name"]["zh"])
            at = units[at]["parent"]
        assert cells == {
            "id": f["id"], "obligation": f["obligation"], "step": f["step"], "kind": f["obligation_kind"], "cited": f["cited"],
            "assumed": f["assumed"], "subject_kind": f["subject"]["kind"], "subject": f["subject"]["id"],
            "subject_name": f["subject"]["name"], "role": f["subject"]["role"], "unit": f["unit"],
            "unit_path": " › ".join(path) or None, "period": f["period"]["label"],
            "period_name": period_text(Period.model_validate(f["period"]), "Asia/Shanghai"), "period_start": local(f["period"]["start"]),
            "period_end": local(f["period"]["end"]), "status": f["status"], "required": f["required"], "observed": f["observed"],
            "required_count": f["required_count"], "observed_count": f["observed_count"], "due": local(f["due"]),
            "decided": local(f["decided"]), "delay_seconds": f["delay_seconds"], "evidence": " ".join(f["evidence"]) or None,
            "window": f["window"], "excused_by": " ".join(f["excused_by"]) or None, "note": f["note"],
            "observed_amount": f["observed_amount"], "evidence_values": " ".join(str(v) for v in f["evidence_values"]) or None,
            "flagged": " ".join(f["flagged"]) or None, "evidence_omitted": f.get("evidence_omitted", 0),
        }, f["id"]
    assert workbook["Findings"]["O2"].number_format == "yyyy-mm-dd hh:mm"


def test_each_obligation_sheet_holds_its_findings_under_a_title(workbook):
    findings = rows(workbook["Findings"])[1:]
    for o in GOLDEN["obligations"]:
        sheet = rows(workbook[o["obligation"]])
        title = o["title"]
        assert sheet[0][0] == f"{o['obligation']}: {title['zh']} ({title['en']}); {o['cited']}{' (assumed)' if o['assumed'] else ''}"
        assert sheet[1] == PER_OBLIGATION
        expected = [[dict(zip(FINDING_HEADER, r))[h] for h in PER_OBLIGATION] for r in findings if r[1] == o["obligation"]]
        assert sheet[2:] == expected
        assert len(expected) == sum(o["counts"].values())


def test_the_summary_counts_and_rates_each_obligation(workbook):
    sheet = workbook["Summary"]
    table = rows(sheet)
    assert table[0] == ["obligation", "title", "kind", "cited", "assumed", *STATUSES, "rate", "not_judged", "assumptions"]
    for row, o in zip(table[1:], GOLDEN["obligations"]):
        assert row[:5] == [o["obligation"], f"{o['title']['zh']} ({o['title']['en']})", o["kind"], o["cited"], o["assumed"]]
        assert row[5:11] == [o["counts"][s] for s in STATUSES]
        assert row[11] == pytest.approx(o["rate"])
        assert row[13] == ("; ".join(o["assumptions"]) or None)
    for index, o in enumerate(GOLDEN["obligations"], 2):
        assert sheet.cell(index, 1).hyperlink.location == f"'{o['obligation']}'!A1"  # a click opens its sheet
        assert sheet.cell(index, 12).number_format == "0%"
    total = table[len(GOLDEN["obligations"]) + 2]
    assert total[0] == "all obligations" and total[5:11] == [706, 3, 24, 0, 6, 0] and total[11] == pytest.approx(706 / 733)
    facts = {row[0]: row[1] for row in table[len(GOLDEN["obligations"]) + 4:]}
    assert facts["ruleset"] == "xiangshan version 2022.1" and facts["as of"] == dt.datetime(2026, 11, 1)
    assert facts["events used"] == 725 and facts["rejected event lines"] == 3 and facts["duplicate event ids"] == 1


def test_the_units_sheet_rolls_up_the_hierarchy(workbook):
    table = rows(workbook["Units"])
    assert table[0] == ["unit", "id", "kind", "parent", *STATUSES, "rate"]
    for row, u in zip(table[1:], GOLDEN["units"]):
        assert row[:4] == [u["name"]["zh"], u["unit"], u["kind"], u["parent"]]
        assert row[4:10] == [u["counts"][s] for s in STATUSES]
    assert [workbook["Units"].cell(i + 2, 1).alignment.indent for i in range(3)] == [0, 1, 2]  # county, town, village


def test_written_in_constant_memory_mode(workbook_path):
    """Cells are written inline, row by row (XlsxWriter's constant-memory mode), with no table of
    shared strings that would hold every text of a million findings in memory."""
    with zipfile.ZipFile(workbook_path) as archive:
        names = archive.namelist()
        assert "xl/sharedStrings.xml" not in names
        assert b't="inlineStr"' in archive.read("xl/worksheets/sheet3.xml")


def test_the_same_report_makes_the_same_bytes(workbook_path, tmp_path):
    """Reproducible: the workbook's creation time is the audit's as-of time; and redirected standard
    output gets the same workbook as --output."""
    with open(tmp_path / "again.xlsx", "wb") as stream:
        result = subprocess.run([str(EXE), "audit", *SAMPLE, "--format", "xlsx"], cwd=ROOT, stdout=stream, stderr=subprocess.PIPE,
                                timeout=300)
    assert result.returncode == 0
    assert (tmp_path / "again.xlsx").read_bytes() == workbook_path.read_bytes()


def test_a_pipe_gets_a_workbook_too():
    result = subprocess.run([str(EXE), "audit", *SAMPLE, "--format", "xlsx", "--output", "-"], cwd=ROOT, capture_output=True, timeout=300)
    assert result.returncode == 0
    assert openpyxl.load_workbook(io.BytesIO(result.stdout)).sheetnames[:3] == ["Summary", "Units", "Findings"]


# ------------------------------------------------------------------ formula injection, limits


def hostile_workbook() -> openpyxl.Workbook:
    buffer = io.BytesIO()
    write_report(hostile_report(), "xlsx", buffer, Plugins(entry_points=False))
    return openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))


def test_cells_cannot_run_as_formulas():
    """Names and ids from the input are text cells, never formulas; those a spreadsheet would take
    for one carry Excel's quote prefix (its own "this is text" mark), so editing the cell keeps
    them text. Nothing is changed in what they say."""
    workbook = hostile_workbook()
    seen = set()
    for sheet in workbook:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value[:1] in ("=", "+", "@") and len(cell.value) > 1:
                    assert cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
                    seen.add(cell.value)
                elif isinstance(cell.value, str) and not cell.value.startswith("-"):
                    assert not cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
    assert "+cmd|' /C calc'!A0" in seen  # an event id, as evidence
    assert '=HYPERLINK("http://x")' in seen  # a person's name
    names = [row[8] for row in rows(workbook["Findings"], 2)]
    # kept as it was (a cell is not Markdown), the carriage return in OOXML's escape, which Excel
    # reads back as the character and openpyxl leaves as it is
    assert "<b>|x_x000D_\ny</b>" in names


def test_a_table_longer_than_a_sheet_goes_on_on_the_next(monkeypatch):
    monkeypatch.setattr(report_module, "XLSX_MAX_ROWS", 3)  # a header and two findings (an obligation's title row leaves one)
    report = hostile_report()
    assert len(report.findings) == 4
    workbook = hostile_workbook()
    assert workbook.sheetnames == ["Summary", "Units", "Findings", "Findings (2)", "daily", "daily (2)", "daily (3)", "daily (4)"]
    found = [r[0] for r in rows(workbook["Findings"], 2)] + [r[0] for r in rows(workbook["Findings (2)"], 2)]
    assert found == [f.id for f in report.findings]
    assert workbook["Findings (2)"].auto_filter.ref == "A1:AF3" and workbook["Findings (2)"].freeze_panes == "A2"
    assert [len(rows(workbook[name], 3)) for name in ("daily", "daily (2)", "daily (3)", "daily (4)")] == [1, 1, 1, 1]
    assert workbook["Summary"].cell(2, 1).hyperlink.location == "'daily'!A1"


@pytest.mark.parametrize(
    ("wanted", "taken", "name"),
    [
        ("dock-staff-daily-patrol", set(), "dock-staff-daily-patrol"),
        ("a" * 40, set(), "a" * 31),
        ("a" * 40, {"a" * 31}, "a" * 27 + " (2)"),
        ("summary", {"summary"}, "summary (2)"),
        ("History", set(), "History (2)"),  # Excel keeps that name for itself
        ("a/b[c]:d*?", set(), "a_b_c__d__"),
        ("'quoted'", set(), "quoted"),
    ],
)
def test_sheet_names_excel_accepts(wanted, taken, name):
    assert report_module._sheet_name(wanted, set(taken)) == name


def test_a_workbook_is_not_text():
    with pytest.raises(UsageError, match="not text.*write_report"):
        render(hostile_report(), "xlsx", Plugins(entry_points=False))


def test_a_chinese_workbook_titles_its_columns_in_chinese(tmp_path):
    path = tmp_path / "report.xlsx"
    result = subprocess.run([str(EXE), "audit", *SAMPLE, "--lang", "zh", "--format", "xlsx", "--output", str(path)], cwd=ROOT,
                            capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr
    book = openpyxl.load_workbook(path)
    header = rows(book["结论"])[0]
    assert header[:3] == ["编号", "职责", "步骤"] and "周期名称" in header and "状态" in header
    names = {row[FINDING_HEADER.index("period")]: row[FINDING_HEADER.index("period_name")] for row in rows(book["结论"])[1:]}
    assert names["2026-W38"] == "2026年9月第3周" and names["2026-09"] == "2026年9月"
