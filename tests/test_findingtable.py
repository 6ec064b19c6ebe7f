"""Findings held as columns (:mod:`complianceengine.findingtable`) are the findings they stand for.

A table made of rows and objects is equal to the tuple of the same findings (built by validating
the same fields), slices, takes, pickles and serialises as that tuple does; the JSON texts put
together from pieces are byte for byte what pydantic writes for each finding, whatever the
characters, offsets and instants; and a report whose findings are a table has the summaries, the
failing findings and the rendered reports of the same report with a tuple.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import pickle
from typing import Any

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from complianceengine import audit, render
from complianceengine.evaluate import judge, summarise
from complianceengine.findings import Finding, Report, SubjectRef, field_values, shown
from complianceengine.findingtable import FAMILY, FindingColumns, FindingJSON, FindingTable
from complianceengine.model import Citation, Label
from complianceengine.renderers import _csv_row, _csv_rows, json_chunks
from complianceengine.timeframes import Period

from conftest import base_registry, base_ruleset, event, local
from test_explain import load_sample
from test_findings import BUNDLED

# any text, with what JSON escapes (quotes, backslashes, control characters) and beyond ASCII
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
IDS = st.one_of(st.from_regex(r"[A-Za-z0-9_.:-]{1,10}", fullmatch=True), TEXT)
ZONES = st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(hours=-3, minutes=-30)),
                         pendulum.timezone("Asia/Shanghai"), pendulum.timezone("Europe/Berlin"), pendulum.UTC])
INSTANTS = st.builds(lambda seconds, micro, zone: (dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
                                                   + dt.timedelta(seconds=seconds, microseconds=micro)).astimezone(zone),
                     st.integers(-10**8, 10**8), st.sampled_from([0, 0, 1, 500000, 999999]), ZONES)


@st.composite
def families(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "obligation": draw(IDS), "obligation_kind": draw(st.sampled_from(["frequency", "cadence", "x-plugin"])),
        "title": Label(en=draw(TEXT), zh=draw(st.none() | TEXT)),
        "citation": Citation(source=draw(IDS), article=draw(TEXT), quote=draw(st.none() | TEXT)),
        "cited": draw(TEXT), "assumed": draw(st.booleans()),
        "subject": SubjectRef(kind=draw(st.sampled_from(["person", "unit", "subject", "case"])), id=draw(IDS), name=draw(st.none() | TEXT),
                              role=draw(st.none() | IDS)),
        "unit": draw(st.none() | IDS),
    }


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(INSTANTS)
    period = Period(label=draw(TEXT), start=start, end=start + dt.timedelta(days=draw(st.integers(1, 40))))
    return {"id": draw(IDS), "period": period, "status": draw(st.sampled_from(["met", "missed", "open", "late", "excused"])),
            "required": draw(TEXT), "observed": draw(TEXT), "required_count": draw(st.integers(0, 10**6)),
            "observed_count": draw(st.integers(0, 10**6)), "evidence": tuple(draw(st.lists(IDS, max_size=4))),
            "decided": draw(st.sampled_from([period.end, period.start])) if draw(st.booleans()) else draw(INSTANTS),
            "window": draw(st.none() | IDS), "note": draw(st.none() | TEXT)}


@st.composite
def objects(draw: st.DrawFn) -> Finding:
    """Findings with any field set, as a kind builds them."""
    row = draw(rows())
    return Finding.model_validate({
        **draw(families()), **row, "step": draw(st.none() | IDS), "due": draw(st.none() | INSTANTS), "delay_seconds": draw(st.none() | st.integers(0, 10**7)),
        "excused_by": tuple(draw(st.lists(IDS, max_size=2))),
        "observed_amount": draw(st.none() | st.floats(allow_nan=False, allow_infinity=False)),
        "evidence_values": tuple(draw(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=2))),
        "flagged": tuple(draw(st.lists(IDS, max_size=2))),
    })


@st.composite
def gathered(draw: st.DrawFn) -> tuple[FindingTable, list[Finding]]:
    """A table of rows of a few families and objects, interleaved, and the findings it stands for."""
    columns, expected = FindingColumns(), []
    kin = draw(st.lists(families(), min_size=1, max_size=3))
    numbers = [columns.family(f) for f in kin]
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.booleans()):
            expected.append(finding := draw(objects()))
            columns.append(finding)
        else:
            which, row = draw(st.integers(0, len(kin) - 1)), draw(rows())
            columns.add(numbers[which], **row)
            expected.append(Finding.model_validate({**kin[which], **row}))
    return columns.table(), expected


@settings(max_examples=150, deadline=None)
@given(made=gathered())
def test_a_table_is_the_tuple_of_its_findings(made):
    table, expected = made
    assert table == tuple(expected) and tuple(expected) == table and list(table) == expected
    assert table != list(expected)  # as a tuple is: not equal to a list
    assert len(table) == len(expected)
    for i in range(-len(expected), len(expected)):
        assert table[i] == expected[i]
    with pytest.raises(IndexError):
        table[len(expected)]
    assert table[1:-1] == tuple(expected)[1:-1] and table[::2] == tuple(expected)[::2]
    assert table + tuple(expected[:1]) == tuple(expected) + tuple(expected[:1]) and table * 2 == tuple(expected) * 2
    picked = [i for i in range(len(expected)) if i % 3 != 1]
    assert table.take(picked) == tuple(expected[i] for i in picked)
    # drop: the other rows kept, objects renumbered and still the same objects
    gone = [i for i in range(len(expected)) if i % 3 == 1]
    dropped = FindingColumns()
    dropped.extend(table)
    dropped.drop(gone)
    left = dropped.table()
    assert left == tuple(expected[i] for i in picked)
    assert all(left[j] is table[i] for j, i in enumerate(picked) if not table.is_row(i))
    for name in (*FAMILY, "id", "status", "decided", "period", "evidence", "due", "step", "flagged", "observed_amount", "excused_by"):
        assert list(table.values(name)) == [getattr(f, name) for f in expected] == list(field_values(table, name))
    assert pickle.loads(pickle.dumps(table)) == table and copy.deepcopy(table) == table
    # rows stay rows when a table is added to another; objects stay the same objects
    more = FindingColumns()
    more.extend(expected[:1])
    more.extend(table)
    joined = more.table()
    assert joined == tuple(expected[:1]) + tuple(expected)
    assert all(joined[i + 1] is table[i] for i in table.objects)
    assert sum(joined.is_row(i) for i in range(len(joined))) == sum(table.is_row(i) for i in range(len(table)))


@st.composite
def alike(draw: st.DrawFn) -> tuple[FindingTable, list[Finding]]:
    """Rows that share their periods, instants, sentences and counts, as a frequency duty's targets
    do (so that what the JSON writer keeps of the fields rows share is used, and cleared)."""
    start = draw(INSTANTS)
    periods = [Period(label=draw(TEXT), start=start, end=start + dt.timedelta(days=d)) for d in (1, 2)]
    texts = draw(st.lists(TEXT, min_size=1, max_size=3))
    columns, expected = FindingColumns(), []
    kin = draw(st.lists(families(), min_size=1, max_size=2))
    numbers = [columns.family(f) for f in kin]
    for _ in range(draw(st.integers(1, 30))):
        period = draw(st.sampled_from(periods))
        row = {"id": draw(IDS), "period": period, "status": draw(st.sampled_from(["met", "missed"])), "required": draw(st.sampled_from(texts)),
               "observed": draw(st.sampled_from(texts)), "required_count": draw(st.integers(0, 2)), "observed_count": draw(st.integers(0, 2)),
               "evidence": tuple(draw(st.lists(IDS, max_size=3))), "decided": period.end, "window": draw(st.sampled_from([None, "w"])),
               "note": draw(st.sampled_from([None, *texts]))}
        which = draw(st.integers(0, len(kin) - 1))
        columns.add(numbers[which], **row)
        expected.append(Finding.model_validate({**kin[which], **row}))
    return columns.table(), expected


@settings(max_examples=100, deadline=None)
@given(made=alike(), limit=st.sampled_from([None, 0, 2]), remembered=st.sampled_from([1, 2, 1 << 16]))
def test_rows_that_share_fields_are_written_as_their_objects(made, limit, remembered):
    from complianceengine import findingtable

    table, expected = made
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(findingtable, "_REMEMBERED", remembered)
        writer = FindingJSON(table, limit)
        texts = [text.decode() for text in writer(0, len(table))]
        assert texts == [to_json(shown(f, limit), indent=2).decode() for f in expected]
        assert len(writer._heads) <= max(remembered, 1) and len(writer._tails) <= max(remembered, 1)


@settings(max_examples=150, deadline=None)
@given(made=gathered(), limit=st.sampled_from([None, None, 0, 1, 3]))
def test_the_json_and_csv_of_every_finding_are_those_of_the_object(made, limit):
    table, expected = made
    texts = [text.decode() for text in FindingJSON(table, limit)(0, len(table))]
    assert texts == [to_json(shown(f, limit), indent=2).decode() for f in expected]
    assert [json.loads(t) for t in texts] == [json.loads(shown(f, limit).model_dump_json()) for f in expected]
    if limit is None:
        assert texts == [to_json(f, indent=2).decode() for f in expected]
    assert list(_csv_rows(table, limit)) == [_csv_row(shown(f, limit)) for f in expected]


def test_a_report_lists_at_most_the_limit_of_evidence_ids_and_counts_the_rest(tmp_path):
    """Zhongshan's weekly quota findings count dozens of events: the reports list 20 ids and say
    how many more; with no limit every id; the findings in memory keep every id."""
    import csv
    import io
    import subprocess
    import sys
    from pathlib import Path

    ruleset, registry, events, args = load_sample("zhongshan")
    report = audit(ruleset, registry, events, **args, notify=False)
    long = [f for f in report.findings if len(f.evidence) > 20]
    assert long and report.evidence_limit == 20
    written = {f["id"]: f for f in json.loads(render(report, "json"))["findings"]}
    for finding in long:
        mine = written[finding.id]
        assert mine["evidence"] == list(finding.evidence[:20]) and mine["evidence_omitted"] == len(finding.evidence) - 20
        if finding.evidence_values:
            assert mine["evidence_values"] == list(finding.evidence_values[:20])
    assert all("evidence_omitted" not in f for i, f in written.items() if i not in {x.id for x in long})
    back = Report.model_validate_json(render(report, "json"))  # a capped report reads back as written
    assert [f.evidence_omitted for f in back.findings] == [max(len(f.evidence) - 20, 0) for f in report.findings]
    everything = report.model_copy(update={"evidence_limit": None})
    assert Report.model_validate_json(render(everything, "json")) == everything
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    assert [r["evidence"].split() for r in rows] == [list(f.evidence[:20]) for f in report.findings]
    assert [int(r["evidence_omitted"]) for r in rows] == [max(len(f.evidence) - 20, 0) for f in report.findings]
    markdown = render(report.model_copy(update={"evidence_limit": 2}), "markdown")
    assert "… (+" in markdown
    # the command line: --evidence-limit N|all
    exe = Path(sys.executable).parent / "complianceengine"
    folder = Path(__file__).resolve().parents[1] / "rulesets" / "zhongshan"
    base = [str(exe), "audit", str(folder / "ruleset.yaml"), "--registry", str(folder / "sample" / "registry.yaml"),
            "--events", str(folder / "sample" / "events.jsonl"), "--from", "2026-08-01", "--to", "2026-10-31",
            "--as-of", "2026-11-01T00:00:00+08:00", "--format", "json", "--fail-on", "none"]
    for limit, most in (("all", max(len(f.evidence) for f in long)), ("3", 3)):
        done = subprocess.run([*base, "--evidence-limit", limit], capture_output=True, text=True, check=True)
        assert max(len(f["evidence"]) for f in json.loads(done.stdout)["findings"]) == most
    refused = subprocess.run([*base, "--evidence-limit", "many"], capture_output=True, text=True)
    assert refused.returncode == 2 and "--evidence-limit" in refused.stderr


def test_the_columns_start_afresh_once_their_table_is_made():
    columns = FindingColumns()
    family = {"obligation": "o", "obligation_kind": "frequency", "title": Label(en="o"), "citation": Citation(source="s", article="1"), "cited": "S",
              "assumed": False, "subject": SubjectRef(kind="unit", id="u"), "unit": "u"}
    number = columns.family(family)
    start = dt.datetime(2026, 8, 1, tzinfo=dt.timezone.utc)
    period = Period(label="d", start=start, end=start + dt.timedelta(days=1))
    columns.add(number, "a", period, "met", "r", "o", 1, 1, ("e",), period.end, None)
    table = columns.table()
    assert len(columns) == 0
    columns.add(columns.family(family), "b", period, "missed", "r", "o", 1, 0, (), period.end, None)
    assert len(table) == 1 and [f.id for f in table] == ["a"] and [f.id for f in columns.table()] == ["b"]


@pytest.fixture(scope="module")
def xiangshan_report():
    ruleset, registry, events, args = load_sample("xiangshan")
    return audit(ruleset, registry, events, **args, notify=False)


def test_an_audit_keeps_most_findings_as_rows(xiangshan_report):
    findings = xiangshan_report.findings
    assert isinstance(findings, FindingTable)
    rows = sum(findings.is_row(i) for i in range(len(findings)))
    assert rows > len(findings) / 2 and len(findings.objects) > 0


@pytest.mark.parametrize("engine", ["reference", "duckdb"])
@pytest.mark.parametrize("name", BUNDLED)
def test_reports_of_a_table_are_those_of_the_tuple(name, engine):
    """Every rendering, summary and dump of a report is the same whether its findings are a
    table or the tuple of the same findings."""
    ruleset, registry, events, args = load_sample(name)
    judged = judge(ruleset, registry, events, **args, backend=None if engine == "reference" else _duckdb())
    table = summarise(judged.plans, judged.findings, judged.log, judged.warnings)
    objects = summarise(judged.plans, list(judged.findings), judged.log, judged.warnings)
    assert isinstance(table.findings, FindingTable) and type(objects.findings) is tuple
    assert table == objects and objects == table
    for threshold in ("met", "open", "late", "missed"):
        assert table.failing(threshold) == objects.failing(threshold)
    assert table.counts == objects.counts
    assert "".join(json_chunks(table)) == "".join(json_chunks(objects))
    for format in ("markdown", "csv"):
        assert render(table, format) == render(objects, format)
    assert table.model_dump() == objects.model_dump() and table.model_dump_json() == objects.model_dump_json()
    assert table.model_dump(include={"findings": {0: {"id"}}}) == objects.model_dump(include={"findings": {0: {"id"}}})
    assert Report.model_validate_json(table.model_dump_json()) == table
    assert pickle.loads(pickle.dumps(table)) == table


def _duckdb():
    from complianceengine.evaluate import backend_for

    pytest.importorskip("duckdb")
    return backend_for("duckdb")[1]


def test_a_plugin_that_processes_findings_gets_a_list_and_its_result_is_reported():
    from complianceengine import Plugins, hookimpl

    class Drop:
        @hookimpl
        def complianceengine_process_findings(self, findings, ruleset):
            assert type(findings) is list and all(isinstance(f, Finding) for f in findings)
            return [f for f in findings if f.status != "met"]

    daily = {"id": "daily", "kind": "frequency", "applies_to": {"roles": ["guard"]}, "match": {"kind": "patrol"}, "period": "day",
             "at_least": 1, "assumed": True}
    events = [event("e1", "patrol", local(2026, 8, 1), actor="a", unit="d1")]
    args = {"first_day": dt.date(2026, 8, 1), "last_day": dt.date(2026, 8, 2), "as_of": local(2026, 9, 1, 0)}
    plain = audit(base_ruleset(daily), base_registry(), events, **args)
    dropped = audit(base_ruleset(daily), base_registry(), events, **args, plugins=Plugins(plugins=[Drop()]))
    assert any(f.status == "met" for f in plain.findings)
    assert list(dropped.findings) == [f for f in plain.findings if f.status != "met"] and dropped.counts.met == 0


def test_the_arrow_table_has_every_finding_field():
    pa = pytest.importorskip("pyarrow")
    ruleset, registry, events, args = load_sample("zhangjiagang")
    findings = audit(ruleset, registry, events, **args, notify=False).findings
    assert isinstance(findings, FindingTable)
    arrow = findings.arrow()
    assert isinstance(arrow, pa.Table) and arrow.num_rows == len(findings)
    assert arrow.column("id").to_pylist() == [f.id for f in findings]
    assert arrow.column("evidence").to_pylist() == [list(f.evidence) for f in findings]
    assert arrow.column("subject_id").to_pylist() == [f.subject.id for f in findings]
    assert arrow.column("period_start").to_pylist() == [f.period.start.astimezone(dt.timezone.utc) for f in findings]
    assert arrow.column("decided").to_pylist() == [None if f.decided is None else f.decided.astimezone(dt.timezone.utc) for f in findings]


# --------------------------------------------------------------------------------------------
# from the review of the change


def test_a_finding_of_a_subclass_is_written_as_a_finding():
    """A plugin kind's findings may be of a subclass: the JSON report writes them as findings (as
    a tuple of findings is written), so the report reads back."""
    from pydantic.dataclasses import dataclass as pydantic_dataclass

    @pydantic_dataclass(frozen=True, kw_only=True)
    class Routed(Finding):
        route: str = "sea"

    start = dt.datetime(2026, 8, 1, tzinfo=dt.timezone.utc)
    period = Period(label="d", start=start, end=start + dt.timedelta(days=1))
    family = {"obligation": "o", "obligation_kind": "x-plugin", "title": Label(en="o"), "citation": Citation(source="s", article="1"),
              "cited": "S", "assumed": False, "subject": SubjectRef(kind="unit", id="u"), "unit": "u"}
    routed = Routed(**family, id="r", period=period, status="met", required="r", observed="o")
    columns = FindingColumns()
    columns.append(routed)
    text = next(FindingJSON(columns.table())(0, 1)).decode()
    assert "route" not in text and Finding.model_validate_json(text) == Finding(**family, id="r", period=period, status="met", required="r",
                                                                                 observed="o")


def test_markdown_and_html_say_how_many_ids_a_report_read_back_left_out():
    from complianceengine.findings import evidence_text

    ruleset, registry, events, args = load_sample("zhongshan")
    report = audit(ruleset, registry, events, **args, notify=False)
    back = Report.model_validate_json(render(report, "json"))
    assert back.evidence_limit == 20 and any(f.evidence_omitted for f in back.findings)
    assert "… (+" in render(back, "markdown") and "… (+" in render(back, "html")
    long = next(f for f in report.findings if len(f.evidence) > 20)
    assert evidence_text(long, 0, ", ") == f"… (+{len(long.evidence)})"
    assert evidence_text(long, 2, ", ") == f"{long.evidence[0]}, {long.evidence[1]}, … (+{len(long.evidence) - 2})"
    assert evidence_text(long, None, " ") == " ".join(long.evidence)
    with pytest.raises(ValueError, match="0 or more"):
        shown(long, -1)
    # a report written before there was a limit (no key) lists every id when written again
    old = json.loads(render(report.model_copy(update={"evidence_limit": None}), "json"))
    del old["evidence_limit"]
    assert Report.model_validate(old).evidence_limit is None


def test_columns_are_read_only_and_rows_are_checked():
    ruleset, registry, events, args = load_sample("zhangjiagang")
    findings = audit(ruleset, registry, events, **args, notify=False).findings
    assert isinstance(findings, FindingTable) and findings.objects
    statuses = field_values(findings, "status")
    assert isinstance(statuses, tuple)  # a copy: changing it cannot change the report
    assert list(field_values(findings, "severity")) == [f.severity for f in findings]
    assert hash(findings) == hash(tuple(findings))
    held = next(iter(findings.objects))
    with pytest.raises(IndexError):
        findings.take([-1])
    with pytest.raises(IndexError):
        findings.take([held, held])
    with pytest.raises(TypeError):
        findings[1.0]  # type: ignore[index]
    assert findings.take([held])[0] is findings[held]
    columns = FindingColumns()
    columns.extend(findings)
    with pytest.raises(IndexError):
        columns.drop([2, 1])
    with pytest.raises(IndexError):
        columns.drop([2, 2])


def test_the_json_schema_of_lazy_sequences_is_an_array_in_both_modes():
    from complianceengine.model import EventLog

    for model, field, item in ((Report, "findings", "Finding"), (EventLog, "events", "Event")):
        for mode in ("validation", "serialization"):
            schema = model.model_json_schema(mode=mode)["properties"][field]
            assert schema["type"] == "array" and schema["items"] == {"$ref": f"#/$defs/{item}"}, (model, mode, schema)
