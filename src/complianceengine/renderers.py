"""The built-in report formats: a :class:`~complianceengine.findings.Report` as Markdown, JSON,
CSV, an Excel workbook or an HTML page (:data:`BUILTIN_FORMATS`, registered by complianceengine's
internal plugin), and the pieces other outputs share (the findings not met by unit, one-line
texts, column titles).

A format renders the whole report at once (text, or bytes) or writes it piece by piece to a stream
(the JSON report a finding at a time; the workbook, whose cells XlsxWriter keeps on disk, not in
memory): see :class:`~complianceengine.formats.ReportFormat`. Choosing a format through the
plugins and writing it is :mod:`complianceengine.report`'s.
"""

from __future__ import annotations

import csv
import datetime as dt

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from pydantic import TypeAdapter

from .findings import Finding, Report, StatusCounts, UnitSummary, evidence_text, field_values, shown
from .findingtable import FindingJSON, FindingTable
from .formats import ReportFormat
from .htmlreport import render_html
from .outputs import utf8_bytes
from .timeframes import zone
from .words import Lang, in_lang, number_text, period_text, status_text, subject_text, text, when_text

__all__ = ["BUILTIN_FORMATS", "NOT_MET", "UnitGroup", "column_title", "header_line", "json_bytes", "json_chunks", "not_met_by_unit", "one_line",
           "unit_label"]


def _write_json(report: Report, stream: IO[str]) -> None:
    under = utf8_bytes(stream)
    if under is not None:  # the bytes as they are (a million findings: no text made of them, none encoded again)
        stream.flush()
        under.writelines(json_bytes(report))
        under.flush()
        return
    stream.writelines(json_chunks(report))


def json_chunks(report: Report) -> Iterator[str]:
    """The JSON report a piece at a time, as text (:func:`json_bytes` decoded)."""
    return (chunk.decode("utf-8") for chunk in json_bytes(report))


def json_bytes(report: Report) -> Iterator[bytes]:
    """The JSON report a piece at a time, in UTF-8: everything but the findings, then one finding
    after another, so that writing the report of a million findings never holds all of its text."""
    head = report.model_dump_json(indent=2, exclude={"findings"})
    yield (head[: head.rindex("}")].rstrip() + ',\n  "findings": [').encode()
    findings = report.findings
    limit = report.evidence_limit
    texts = FindingJSON(findings, limit) if isinstance(findings, FindingTable) else None  # the rows' texts put together, no finding built
    for start in range(0, len(findings), _BATCH):
        stop = min(start + _BATCH, len(findings))
        if texts is not None:
            yield (b"," if start else b"") + b"\n" + b",\n".join(texts(start, stop))
            continue
        # a batch serialised in one call (a fifth faster than one call a finding), each finding
        # laid out as on its own: the batch's items are indented two more spaces (a line break
        # inside a JSON text is always escaped, so every raw one is layout)
        text = _FINDINGS.dump_json(tuple(shown(f, limit) for f in findings[start:stop]), indent=2)
        yield (b"," if start else b"") + text[1:-2].replace(b"\n  ", b"\n")
    yield b"\n  ]\n}\n"


_BATCH = 1000
_FINDINGS: TypeAdapter[tuple[Finding, ...]] = TypeAdapter(tuple[Finding, ...])


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _counts(counts: StatusCounts) -> list[str]:
    return [str(counts.met), str(counts.late), str(counts.missed), str(counts.open), str(counts.excused), str(counts.not_applicable)]


_CONTROL = dict.fromkeys([*range(0, 32), 127], " ")
_HTML = {ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;"}


def one_line(text: object) -> str:
    """``text`` with its control characters (line breaks, escape sequences) as spaces."""
    return str(text).translate(_CONTROL)


def _cell(text: object) -> str:
    """A Markdown table cell: control characters (line breaks included) become spaces, ``|`` is
    escaped, and ``<``, ``>``, ``&`` are entities, so names from the input cannot break the table
    or inject HTML."""
    return one_line(text).translate(_HTML).replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


#: the statuses of the findings that are not met
NOT_MET = ("open", "late", "missed")


@dataclass(frozen=True)
class UnitGroup:
    """The findings that are not met of one unit, in the index of a report: ``findings`` are those
    attributed to the unit itself, ``total`` counts them and those of every unit below it.
    ``summary`` is ``None`` for a unit the registry does not have, and ``unit`` is ``None`` for the
    findings of no unit (a case whose trigger names none)."""

    unit: str | None
    summary: UnitSummary | None
    findings: tuple[Finding, ...]
    total: int


def not_met_by_unit(report: Report) -> list[UnitGroup]:
    """The findings that are not met grouped by unit, in the order of the hierarchy (county down to
    dock, each unit followed by the units below it), each group's worst first. Units with nothing
    not met at or below them are left out; units the registry does not have, then the findings of
    no unit, come last."""
    own: dict[str | None, list[Finding]] = {}
    findings = report.findings
    for i, status in enumerate(field_values(findings, "status")):  # only those not met are built
        if status in NOT_MET:
            finding = findings[i]
            own.setdefault(finding.unit, []).append(finding)
    known = {u.unit: u for u in report.units}
    totals: Counter[str] = Counter()
    for unit, found in own.items():
        at, seen = unit, set()
        while at is not None and at in known and at not in seen:  # up to the county
            seen.add(at)
            totals[at] += len(found)
            at = known[at].parent

    def group(unit: str | None, summary: UnitSummary | None, total: int) -> UnitGroup:
        found = sorted(own.get(unit, []), key=lambda f: (-f.severity, f.obligation, f.period.start))
        return UnitGroup(unit, summary, tuple(found), total)

    groups = [group(u.unit, u, totals[u.unit]) for u in report.units if totals[u.unit]]
    groups += [group(unit, None, len(own[unit])) for unit in sorted(u for u in own if u is not None and u not in known)]
    if None in own:
        groups.append(group(None, None, len(own[None])))
    return groups


def unit_label(summary: UnitSummary) -> str:
    """A unit as every report names it (:attr:`UnitSummary.label`)."""
    return summary.label


def _inline(text: object) -> str:
    """Text outside a table (a heading, a list item): a cell's escaping, and brackets escaped so
    a name cannot make or break a link."""
    return _cell(text).replace("[", "\\[").replace("]", "\\]")


def _statuses(findings: tuple[Finding, ...], lang: Lang) -> str:
    counts = Counter(str(f.status) for f in findings)
    return ("，" if lang == "zh" else ", ").join(
        f"{status_text(status, lang)} {counts[status]}" if lang == "zh" else f"{counts[status]} {status}"
        for status in reversed(NOT_MET) if counts[status])


def _not_met_section(report: Report) -> list[str]:
    """"Findings that are not met", by unit: an index following the hierarchy, then each unit's
    own list, so a town chief finds the town's and its villages' lists together."""
    lang = report.lang
    groups = not_met_by_unit(report)
    count = sum(len(g.findings) for g in groups)
    out = ["", f"## {text('not_met', lang)} ({count})", ""]
    if not count:
        return [*out, text("none", lang)]
    position = {u.unit: index for index, u in enumerate(report.units, 1)}
    anchors = {
        g.unit: f"unit-{position[g.unit]}" if g.summary is not None and g.unit is not None else f"unit-other-{index}"
        for index, g in enumerate(groups, 1)
    }
    out += [text("not_met_index", lang), ""]
    for g in groups:
        name = _inline(unit_label(g.summary) if g.summary else g.unit or text("no_unit", lang))
        entry = f"[{name}](#{anchors[g.unit]})" if g.findings else name
        kind = f", {g.summary.kind}" if g.summary else (text("not_in_registry", lang) if g.unit else "")
        here = len(g.findings)
        counted = (str(here) if here == g.total else text("here_and_below", lang, here=here, total=g.total) if here
                   else text("below_only", lang, total=g.total))
        out.append("  " * (g.summary.depth if g.summary else 0) + f"- {entry}{kind}: {counted}")
    names = {u.unit: u for u in report.units}
    for g in groups:
        if not g.findings:
            continue
        if g.summary is not None:
            title, path = f"{unit_label(g.summary)}, {g.summary.kind}", list[str]()
            at = g.summary.parent
            while at is not None and at in names and len(path) <= len(names):
                path.insert(0, unit_label(names[at]))
                at = names[at].parent
            where = text("in_path", lang, path=" › ".join(path)) if path else ""
        else:
            title, where = ((f"{g.unit}{text('not_in_registry', lang)}", "") if g.unit
                            else (text("no_unit_title", lang), text("no_unit_where", lang)))
        out += ["", f'### <a id="{anchors[g.unit]}"></a>{_inline(title)}', "", _inline(f"{where}{_statuses(g.findings, lang)}."), ""]
        out += _table(
            [text(k, lang) for k in ("status", "obligation", "cited", "subject", "period", "required", "observed", "evidence")],
            [
                [status_text(f.status, lang), f.obligation + (f" / {f.step}" if f.step else ""), f.cited, subject_text(f.subject, report.roles, lang),
                 period_text(f.period, report.timezone, lang), f.required, f.observed, evidence_text(f, report.evidence_limit, ", ") or "-"]
                for f in g.findings
            ],
        )
    return out


def _count_headers(lang: Lang) -> list[str]:
    return [status_text(s, lang) if lang == "zh" else {"not_applicable": "n/a"}.get(s, s)
            for s in ("met", "late", "missed", "open", "excused", "not_applicable")]


def header_line(report: Report) -> str:
    """What was audited, in the report's language: ruleset, version, days, zone, as-of time and
    the engine that judged (the Markdown report's header and the terminal summary's)."""
    tz = report.timezone
    return text("md_header", report.lang, ruleset=report.ruleset, version=report.ruleset_version, first=report.first_day,
                last=report.last_day, tz=tz, as_of=when_text(report.as_of, tz), engine=report.engine)


def _markdown(report: Report) -> str:
    lang, tz = report.lang, report.timezone
    total = report.counts
    out = [
        f"# {text('title', lang, title=str(report.title) if lang == 'en' else in_lang(report.title, lang))}",
        "",
        header_line(report),
        text("md_events", lang, used=report.events_used, rejected=len(report.rejects), duplicates=len(report.duplicates))
        + (" " + text("looked_back", lang, when=when_text(report.looked_back_to, tz)) if report.looked_back_to is not None else ""),
        "",
        *[f"> {text('warning', lang)}: {_cell(w)}" for w in report.warnings],
        *([""] if report.warnings else []),
        f"**{text('headline', lang, counts=text('counts', lang, **total.model_dump()), raw=_rate(total.rate), weighted=_rate(report.weighted_rate))}**",
        "",
        text("rates_explained", lang),
        "",
        f"## {text('by_obligation', lang)}",
        "",
    ]
    out += _table(
        [text("obligation", lang), text("name", lang), text("kind", lang), text("cited", lang), *_count_headers(lang), text("rate", lang)],
        [
            [f"{o.obligation}{' (' + text('assumed', lang) + ')' if o.assumed else ''}", in_lang(o.title, lang), o.kind, o.cited,
             *_counts(o.counts), _rate(o.rate)]
            for o in report.obligations
        ],
    )
    out += ["", f"## {text('by_unit', lang)}", ""]
    out += _table(
        [text("unit", lang), text("kind", lang), *_count_headers(lang), text("rate", lang)],
        [["\u2003" * u.depth + unit_label(u), u.kind, *_counts(u.counts), _rate(u.rate)] for u in report.units],
    )
    out += _not_met_section(report)
    excused = [report.findings[i] for i, by in enumerate(field_values(report.findings, "excused_by")) if by]
    if excused:
        out += ["", f"## {text('exemptions_applied', lang, n=len(excused))}", ""]
        out += _table(
            [text(k, lang) for k in ("status", "obligation", "subject", "period", "excused_by", "note")],
            [[status_text(f.status, lang), f.obligation, subject_text(f.subject, report.roles, lang), period_text(f.period, tz, lang),
              ", ".join(f.excused_by), f.note or "-"]
             for f in excused],
        )
    unjudged = [o for o in report.obligations if o.not_judged]
    if unjudged:
        out += ["", f"## {text('not_judged', lang, n=len(unjudged))}", ""]
        out += [f"- `{o.obligation}` ({o.cited}): {o.not_judged}" for o in unjudged]
    assumed = [o for o in report.obligations if o.assumed]
    if assumed:
        out += ["", f"## {text('assumed_title', lang)}", "", text("assumed_intro", lang), ""]
        out += [f"- `{o.obligation}` ({o.cited}): {'; '.join(o.assumptions)}" for o in assumed]
    if report.rejects:
        out += ["", f"## {text('rejects', lang)} ({len(report.rejects)})", ""]
        out += _table([text(k, lang) for k in ("where", "reasons", "line")],
                      [[f"{r.file}:{r.line}", "; ".join(r.errors), r.raw[:120]] for r in report.rejects])
    if report.duplicates:
        out += ["", f"## {text('duplicates_title', lang)} ({len(report.duplicates)})", ""]
        out += _table(
            [text(k, lang) for k in ("id", "where", "first_seen", "handling")],
            [[d.id, f"{d.file}:{d.line}", f"{d.first_file}:{d.first_line}", text("counted_once" if d.identical else "rejected_different", lang)]
             for d in report.duplicates],
        )
    return "\n".join(out) + "\n"


CSV_COLUMNS = [
    "id", "obligation", "step", "kind", "cited", "assumed", "subject_kind", "subject", "role", "unit", "period",
    "period_start", "period_end", "status", "required", "observed", "required_count", "observed_count",
    "due", "decided", "delay_seconds", "evidence", "window", "excused_by", "note", "observed_amount", "evidence_values", "flagged",
    "evidence_omitted",
]


def _formula_like(text: str) -> bool:
    """Text a spreadsheet would run as a formula: starting with ``=``, ``+``, ``-``, ``@``, a tab
    or a carriage return, unless it is a number or a lone character (OWASP's advice)."""
    if len(text) < 2 or text[0] not in "=+-@\t\r":
        return False
    try:
        float(text)
        return False
    except ValueError:
        return True


def _inert(cell: object) -> object:
    """A CSV cell a spreadsheet will not run as a formula: formula-like text gets a leading
    apostrophe."""
    return "'" + cell if isinstance(cell, str) and _formula_like(cell) else cell


def _write_csv(report: Report, stream: IO[str]) -> None:
    """One row per finding, a thousand at a time: a table's rows from its columns (no finding
    built), any other finding from its fields."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    findings, limit = report.findings, report.evidence_limit
    rows = _csv_rows(findings, limit) if isinstance(findings, FindingTable) else (_csv_row(shown(f, limit)) for f in findings)
    while batch := list(itertools.islice(rows, _BATCH)):
        writer.writerows(batch)


def _csv_row(f: Finding) -> list[object]:
    """A finding's CSV row (:data:`CSV_COLUMNS`), formula-like cells made inert."""
    row: list[object] = [
        f.id, f.obligation, f.step or "", f.obligation_kind, f.cited, str(f.assumed).lower(), f.subject.kind, f.subject.id,
        f.subject.role or "", f.unit or "", f.period.label, f.period.start.isoformat(), f.period.end.isoformat(),
        f.status, f.required, f.observed, "" if f.required_count is None else f.required_count,
        "" if f.observed_count is None else f.observed_count, f.due.isoformat() if f.due else "",
        f.decided.isoformat() if f.decided else "", "" if f.delay_seconds is None else f.delay_seconds, " ".join(f.evidence), f.window or "",
        " ".join(f.excused_by), f.note or "", "" if f.observed_amount is None else f.observed_amount,
        " ".join(map(number_text, f.evidence_values)), " ".join(f.flagged), f.evidence_omitted,
    ]
    return [_inert(cell) for cell in row]


def _csv_rows(table: FindingTable, limit: int | None) -> Iterator[list[object]]:
    """The CSV rows of a table's findings (what :func:`_csv_row` gives for each, as the limit
    shows it): a row put together from the cells its family, period and texts share, each made
    once; a finding kept as an object from its fields."""
    families: dict[int, tuple[object, list[object]]] = {}
    periods: dict[int, tuple[object, list[object]]] = {}
    instants: dict[int, tuple[object, object]] = {}
    texts: dict[str | None, object] = {None: ""}
    ids, family_of, period_of, statuses = table.values("id"), table.family, table.values("period"), table.values("status")
    required, observed, wanted, counted = table.values("required"), table.values("observed"), table.values("required_count"), table.values("observed_count")
    evidence, decided, notes, objects = table.values("evidence"), table.values("decided"), table.values("note"), table.objects
    windows = table.values("window")

    def text(value: str | None) -> object:
        found = texts.get(value)
        if found is None:
            found = texts[value] = _inert(value)
        return found

    for i in range(len(table)):
        found = objects.get(i)
        if found is not None:
            yield _csv_row(shown(found, limit))
            continue
        f = family_of[i]
        family = families.get(f)
        if family is None:
            fields = table.families[f]
            subject = fields["subject"]
            family = families[f] = (fields, [_inert(cell) for cell in (
                fields["obligation"], fields["obligation_kind"], fields["cited"], str(fields["assumed"]).lower(), subject.kind, subject.id,
                subject.role or "", fields["unit"] or "")])
        cells = family[1]
        period = period_of[i]
        shared = periods.get(id(period))
        if shared is None or shared[0] is not period:
            shared = periods[id(period)] = (period, [_inert(cell) for cell in (period.label, period.start.isoformat(), period.end.isoformat())])
        when = decided[i]
        stamp = instants.get(id(when))
        if stamp is None or stamp[0] is not when:
            stamp = instants[id(when)] = (when, _inert(when.isoformat()))
        seen = evidence[i]
        kept = seen if limit is None else seen[:limit]
        yield [_inert(ids[i]), cells[0], "", *cells[1:], *shared[1], statuses[i], text(required[i]), text(observed[i]), wanted[i], counted[i],
               "", stamp[1], "", _inert(" ".join(kept)), text(windows[i]), "", text(notes[i]), "", "", "", len(seen) - len(kept)]


# ------------------------------------------------------------------------------ Excel workbook

#: rows in one Excel worksheet; a longer table goes on on a continuation sheet ("Findings (2)")
XLSX_MAX_ROWS = 1_048_576
#: the colour of each verdict in the workbook
XLSX_STATUS_COLOURS = {
    "missed": "#C00000", "late": "#C65911", "open": "#2F75B5", "excused": "#7030A0", "not_applicable": "#808080", "met": "#548235",
}
#: the columns of an obligation's own sheet leave out what the whole sheet shares
_SHARED_BY_OBLIGATION = frozenset({"obligation", "kind", "cited", "assumed"})

_Value = str | int | float | bool | dt.datetime | None


@dataclass(frozen=True)
class _Column:
    header: str
    width: float
    value: Callable[[Finding], _Value]


def _finding_columns(report: Report) -> list[_Column]:
    """The findings sheet's columns: the CSV's, with the subject's name and the unit's place in the
    hierarchy (filter ``unit_path`` on a town's name for everything below it), times as local
    date-times in the report's zone."""
    tz = zone(report.timezone)
    units = {u.unit: u for u in report.units}
    paths: dict[str, str] = {}

    def path(unit: str | None) -> str | None:
        if unit is None or unit not in units:
            return unit
        if unit not in paths:
            names, at = list[str](), units[unit]
            while True:
                names.insert(0, at.name.zh or at.name.en if at.name else at.unit)
                if at.parent is None or at.parent not in units or len(names) > len(units):
                    break
                at = units[at.parent]
            paths[unit] = " › ".join(names)
        return paths[unit]

    def when(instant: dt.datetime | None) -> dt.datetime | None:
        # a plain datetime (not pendulum's, whose arithmetic is slower) on the local wall clock
        return None if instant is None else dt.datetime.fromtimestamp(instant.timestamp(), tz).replace(tzinfo=None)

    return [
        _Column("id", 18, lambda f: f.id),
        _Column("obligation", 28, lambda f: f.obligation),
        _Column("step", 12, lambda f: f.step),
        _Column("kind", 13, lambda f: f.obligation_kind),
        _Column("cited", 24, lambda f: f.cited),
        _Column("assumed", 10, lambda f: f.assumed),
        _Column("subject_kind", 13, lambda f: f.subject.kind),
        _Column("subject", 20, lambda f: f.subject.id),
        _Column("subject_name", 20, lambda f: f.subject.name),
        _Column("role", 20, lambda f: f.subject.role),
        _Column("unit", 16, lambda f: f.unit),
        _Column("unit_path", 40, lambda f: path(f.unit)),
        _Column("period", 22, lambda f: f.period.label),
        _Column("period_name", 22, lambda f: period_text(f.period, report.timezone, report.lang)),
        _Column("period_start", 17, lambda f: when(f.period.start)),
        _Column("period_end", 17, lambda f: when(f.period.end)),
        _Column("status", 14, lambda f: f.status),
        _Column("required", 40, lambda f: f.required),
        _Column("observed", 40, lambda f: f.observed),
        _Column("required_count", 10, lambda f: f.required_count),
        _Column("observed_count", 10, lambda f: f.observed_count),
        _Column("due", 17, lambda f: when(f.due)),
        _Column("decided", 17, lambda f: when(f.decided)),
        _Column("delay_seconds", 10, lambda f: f.delay_seconds),
        _Column("evidence", 24, lambda f: " ".join(f.evidence) or None),
        _Column("window", 14, lambda f: f.window),
        _Column("excused_by", 16, lambda f: " ".join(f.excused_by) or None),
        _Column("note", 30, lambda f: f.note),
        _Column("observed_amount", 12, lambda f: f.observed_amount),
        _Column("evidence_values", 20, lambda f: " ".join(map(number_text, f.evidence_values)) or None),
        _Column("flagged", 16, lambda f: " ".join(f.flagged) or None),
        _Column("evidence_omitted", 10, lambda f: f.evidence_omitted),
    ]


#: the findings columns' Chinese titles (an English workbook keeps the column ids, as the CSV does)
_COLUMN_ZH = {
    "id": "编号", "obligation": "职责", "step": "步骤", "kind": "类型", "cited": "依据", "assumed": "自定", "subject_kind": "对象类型",
    "subject": "对象", "subject_name": "对象名称", "role": "岗位", "unit": "单位", "unit_path": "单位层级", "period": "周期",
    "period_name": "周期名称", "period_start": "周期开始", "period_end": "周期结束", "status": "状态", "required": "要求",
    "observed": "实际", "required_count": "要求数", "observed_count": "实际数", "due": "截止时间", "decided": "判定时间",
    "delay_seconds": "延迟（秒）", "evidence": "证据", "window": "时段", "excused_by": "免除依据", "note": "备注",
    "observed_amount": "实际合计", "evidence_values": "证据数值", "flagged": "间隔过近", "evidence_omitted": "未列出的证据数",
}


def column_title(column: str, lang: Lang) -> str:
    """A findings column's title in a workbook of ``lang``."""
    return _COLUMN_ZH.get(column, column) if lang == "zh" else column


def _sheet_name(wanted: str, taken: set[str]) -> str:
    """A worksheet name Excel accepts: no ``[]:*?/\\``, at most 31 characters, unique whatever the
    case (a repeat gets `` (2)``, `` (3)``, ...), never the reserved ``History``."""
    base = "".join("_" if c in "[]:*?/\\" else c for c in wanted).strip("'")[:31] or "Sheet"
    name, number = base, 1
    while name.lower() in taken or name.lower() == "history":
        number += 1
        suffix = f" ({number})"
        name = base[: 31 - len(suffix)] + suffix
    taken.add(name.lower())
    return name


class _Styles:
    """The workbook's cell formats, made once."""

    def __init__(self, workbook: Any) -> None:
        self.header = workbook.add_format({"bold": True, "bg_color": "#D9E1F2", "bottom": 1})
        self.title = workbook.add_format({"bold": True, "font_size": 12})
        self.when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.rate = workbook.add_format({"num_format": "0%"})
        self.bold = workbook.add_format({"bold": True})
        # Excel's own mark for "this is text" (the apostrophe typed before it), so that a name
        # such as "=HYPERLINK(...)" stays text even when someone edits the cell
        self.inert = workbook.add_format({"quote_prefix": True})
        self.status = {status: workbook.add_format({"font_color": colour, "bold": status in ("missed", "late")})
                       for status, colour in XLSX_STATUS_COLOURS.items()}
        self.indent = [workbook.add_format({"indent": depth}) for depth in range(8)]


def _put(sheet: Any, row: int, column: int, value: _Value, styles: _Styles, style: Any = None) -> None:
    """One typed cell: text always as text (never a formula, a number or a link), numbers, yes/no
    and local date-times as themselves, ``None`` as an empty cell."""
    if value is None:
        return
    if isinstance(value, str):
        sheet.write_string(row, column, value, styles.inert if _formula_like(value) else style)
    elif isinstance(value, bool):
        sheet.write_boolean(row, column, value, style)
    elif isinstance(value, (int, float)):
        sheet.write_number(row, column, value, style)
    else:
        sheet.write_datetime(row, column, value, style or styles.when)


class _Table:
    """One table of findings on as many worksheets as Excel's row limit needs (made at once, so the
    sheets keep their order), each with an optional title row, the header row frozen and filters
    on it. Rows are added in order, as XlsxWriter's constant-memory mode requires."""

    def __init__(self, workbook: Any, name: str, taken: set[str], columns: list[_Column], rows: int, styles: _Styles,
                 title: str | None = None, lang: Lang = "en") -> None:
        self.header = 1 if title else 0
        self.capacity = XLSX_MAX_ROWS - self.header - 1
        self.styles, self.status = styles, next((i for i, c in enumerate(columns) if c.header == "status"), None)
        self.sheets, self.row = [], 0
        for part in range(max(1, -(-rows // self.capacity))):
            sheet = workbook.add_worksheet(_sheet_name(name, taken))
            for index, column in enumerate(columns):
                sheet.set_column(index, index, column.width)
            if title:
                sheet.write_string(0, 0, title, styles.inert if _formula_like(title) else styles.title)
            for index, column in enumerate(columns):
                sheet.write_string(self.header, index, column_title(column.header, lang), styles.header)
            on_sheet = min(self.capacity, rows - part * self.capacity)
            sheet.autofilter(self.header, 0, self.header + max(on_sheet, 0), len(columns) - 1)
            sheet.freeze_panes(self.header + 1, 0)
            self.sheets.append(sheet)

    @property
    def first(self) -> str:
        return str(self.sheets[0].name)

    def add(self, values: list[_Value]) -> None:
        sheet = self.sheets[self.row // self.capacity]
        row = self.header + 1 + self.row % self.capacity
        for column, value in enumerate(values):
            style = self.styles.status.get(str(value)) if column == self.status else None
            _put(sheet, row, column, value, self.styles, style)
        self.row += 1


def _write_xlsx(report: Report, stream: IO[bytes]) -> None:
    """The report as an Excel workbook: a summary sheet (per obligation: citation, whether its
    numbers are assumed, counts by status, rate; then the audit's facts), a units sheet (the
    hierarchy's roll-up), a findings sheet with filters and a frozen header row, and one sheet per
    obligation with its findings. Written in XlsxWriter's constant-memory mode: each sheet's rows
    go to a temporary file as they are made, so a million findings never sit in memory as cells."""
    import xlsxwriter  # type: ignore[import-untyped]  # only when a workbook is asked for

    workbook = xlsxwriter.Workbook(stream, {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
    })
    workbook.set_properties({
        "title": f"Compliance audit: {report.title}", "subject": f"{report.ruleset} {report.ruleset_version}, "
        f"{report.first_day} to {report.last_day}", "created": report.as_of.astimezone(dt.timezone.utc).replace(tzinfo=None),
    })
    styles, taken = _Styles(workbook), set[str]()
    summary = workbook.add_worksheet(_sheet_name("Summary", taken))
    units = workbook.add_worksheet(_sheet_name("Units", taken))
    columns = _finding_columns(report)
    findings = _Table(workbook, "Findings" if report.lang == "en" else "结论", taken, columns, len(report.findings), styles, lang=report.lang)
    own = [i for i, c in enumerate(columns) if c.header not in _SHARED_BY_OBLIGATION]
    per_obligation = Counter(field_values(report.findings, "obligation"))
    titles = {o.obligation: f"{o.obligation}: {o.title}; {o.cited}{' (assumed)' if o.assumed else ''}" for o in report.obligations}
    tables = {
        obligation: _Table(workbook, obligation, taken, [columns[i] for i in own], per_obligation[obligation], styles,
                           title=titles.get(obligation, obligation), lang=report.lang)
        for obligation in [*titles, *sorted(set(per_obligation) - set(titles))]
    }
    for finding in report.findings:
        finding = shown(finding, report.evidence_limit)
        values = [column.value(finding) for column in columns]
        findings.add(values)
        tables[finding.obligation].add([values[i] for i in own])
    _summary_sheet(summary, report, {o: t.first for o, t in tables.items()}, styles)
    _units_sheet(units, report, styles)
    workbook.close()


_COUNT_HEADERS = ["met", "late", "missed", "open", "excused", "not_applicable"]


def _counted(sheet: Any, row: int, first: int, counts: StatusCounts, rate: float | None, styles: _Styles) -> None:
    for offset, status in enumerate(_COUNT_HEADERS):
        sheet.write_number(row, first + offset, getattr(counts, status))
    if rate is not None:
        sheet.write_number(row, first + len(_COUNT_HEADERS), rate, styles.rate)


def _summary_sheet(sheet: Any, report: Report, sheets: dict[str, str], styles: _Styles) -> None:
    header = ["obligation", "title", "kind", "cited", "assumed", *_COUNT_HEADERS, "rate", "not_judged", "assumptions"]
    widths = [28, 40, 13, 24, 10, 8, 8, 8, 8, 8, 14, 8, 30, 60]
    for index, (name, width) in enumerate(zip(header, widths)):
        sheet.set_column(index, index, width)
        sheet.write_string(0, index, name, styles.header)
    rate = header.index("rate")
    for row, o in enumerate(report.obligations, 1):
        if o.obligation in sheets:
            sheet.write_url(row, 0, f"internal:'{sheets[o.obligation]}'!A1", string=o.obligation)
        else:
            _put(sheet, row, 0, o.obligation, styles)
        title = str(o.title) if report.lang == "en" else in_lang(o.title, report.lang)
        for column, value in enumerate(list[_Value]([title, o.kind, o.cited, o.assumed]), 1):
            _put(sheet, row, column, value, styles)
        _counted(sheet, row, header.index("met"), o.counts, o.rate, styles)
        _put(sheet, row, rate + 1, o.not_judged, styles)
        _put(sheet, row, rate + 2, "; ".join(o.assumptions) or None, styles)
    last = len(report.obligations)
    sheet.autofilter(0, 0, last, len(header) - 1)
    sheet.freeze_panes(1, 1)
    total = report.counts
    sheet.write_string(last + 2, 0, "all obligations", styles.bold)
    _counted(sheet, last + 2, header.index("met"), total, total.rate, styles)
    tz = zone(report.timezone)
    facts: list[tuple[str, _Value]] = [
        ("ruleset", f"{report.ruleset} version {report.ruleset_version}"),
        ("title", str(report.title)),
        ("first day", report.first_day.isoformat()),
        ("last day", report.last_day.isoformat()),
        ("time zone", f"{report.timezone} (every time in this workbook is local to it)"),
        ("as of", report.as_of.astimezone(tz).replace(tzinfo=None)),
        ("engine", f"{report.engine} (the backend that answered which events count; the verdicts are the same on every engine)"),
        ("looked back to", None if report.looked_back_to is None else report.looked_back_to.astimezone(tz).replace(tzinfo=None)),
        ("events used", report.events_used),
        ("rejected event lines", len(report.rejects)),
        ("duplicate event ids", len(report.duplicates)),
        ("obligation-weighted rate", report.weighted_rate),
        ("rate", "met / (met + late + missed); open, excused and not applicable findings are not judged. "
                 "The obligation-weighted rate is the mean of the obligations' rates, each obligation weighing the same"),
        ("language", report.lang),
        *[(f"input ({i.kind})", f"{i.path} sha256 {i.sha256}") for i in report.inputs],
        *[("warning", warning) for warning in report.warnings],
    ]
    for row, (label, value) in enumerate(facts, last + 4):
        sheet.write_string(row, 0, label, styles.bold)
        _put(sheet, row, 1, value, styles, styles.rate if isinstance(value, float) else None)


def _units_sheet(sheet: Any, report: Report, styles: _Styles) -> None:
    header = ["unit", "id", "kind", "parent", *_COUNT_HEADERS, "rate"]
    for index, (name, width) in enumerate(zip(header, [36, 18, 10, 18, 8, 8, 8, 8, 8, 14, 8])):
        sheet.set_column(index, index, width)
        sheet.write_string(0, index, name, styles.header)
    for row, u in enumerate(report.units, 1):
        name = u.name.zh or u.name.en if u.name else u.unit
        _put(sheet, row, 0, name, styles, styles.indent[min(u.depth, len(styles.indent) - 1)])
        for column, value in enumerate([u.unit, u.kind, u.parent], 1):
            _put(sheet, row, column, value, styles)
        _counted(sheet, row, header.index("met"), u.counts, u.rate, styles)
    sheet.autofilter(0, 0, len(report.units), len(header) - 1)
    sheet.freeze_panes(1, 1)


#: the built-in report formats, registered by complianceengine's internal plugin
BUILTIN_FORMATS: dict[str, ReportFormat] = {
    "markdown": ReportFormat(render=_markdown),
    "json": ReportFormat(write=_write_json),
    "csv": ReportFormat(write=_write_csv),
    "xlsx": ReportFormat(write=_write_xlsx, binary=True),
    "html": ReportFormat(render=render_html),
}
